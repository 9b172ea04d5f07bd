/* SPDX-License-Identifier: MIT */
/* symbols.c - a function as (module, offset, digest) and back, so that a
 * re-executed program finds the parent's target whatever address its
 * modules were loaded at (ASLR), and refuses to run anything else.
 *
 * The module is the executable ("") or a DLL, by its full path; the offset
 * is from the module's base; the digest covers up to 64 bytes of code, never
 * past the end of the PE section holding the function, which must be
 * executable. A DLL the child has not loaded (a plugin the parent opened at
 * run time) is loaded with LoadLibraryExW and stays loaded. */
#include <stdlib.h>
#include <string.h>

#include "win32.h"



/* Bytes from rva to the end of the executable section of mod containing
 * it; 0 if rva is not in an executable section of the image. */
static size_t exec_span(HMODULE mod, uint64_t rva)
{
    const unsigned char *base = (const unsigned char *)mod;
    const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)base;
    if (dos->e_magic != IMAGE_DOS_SIGNATURE)
        return 0;
    const IMAGE_NT_HEADERS *nt = (const IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
    if (nt->Signature != IMAGE_NT_SIGNATURE || rva >= nt->OptionalHeader.SizeOfImage)
        return 0;
    const IMAGE_SECTION_HEADER *s = IMAGE_FIRST_SECTION(nt);
    for (WORD i = 0; i < nt->FileHeader.NumberOfSections; i++, s++) {
        uint64_t start = s->VirtualAddress;
        uint64_t size = s->Misc.VirtualSize ? s->Misc.VirtualSize : s->SizeOfRawData;
        if (rva < start || rva >= start + size)
            continue;
        if (!(s->Characteristics & IMAGE_SCN_MEM_EXECUTE))
            return 0;
        return (size_t)(start + size - rva);
    }
    return 0;
}

static uint64_t code_digest(HMODULE mod, uint64_t rva, size_t span)
{
    size_t n = span < BE_DIGEST_BYTES ? span : BE_DIGEST_BYTES;
    return mproc__core_code_digest((const unsigned char *)mod + rva, n);
}

int mproc__be_sym_locate(be_fnptr fn, be_symref *out)
{
    HMODULE mod;
    DWORD how = GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT;
    if (!GetModuleHandleExW(how, (LPCWSTR)(void *)fn, &mod))
        return mproc__w32_last_error(MPROC_ESPAWN); /* not in any module: heap, JIT, ... */
    uint64_t rva = (uint64_t)((uintptr_t)(void *)fn - (uintptr_t)mod);
    size_t span = exec_span(mod, rva);
    if (!span)
        return mproc__w32_fail(MPROC_ESPAWN, ERROR_INVALID_ADDRESS); /* data, not code */
    memset(out, 0, sizeof *out);
    if (mod != GetModuleHandleW(NULL)) {
        wchar_t *path = mproc__w32_module_path(mod);
        if (!path)
            return mproc__w32_last_error(MPROC_ESPAWN);
        int rc = mproc__w32_utf8(path, out->module, sizeof out->module);
        free(path);
        if (rc)
            return mproc__w32_fail(MPROC_ESPAWN, ERROR_FILENAME_EXCED_RANGE);
    }
    out->offset = rva;
    out->digest = code_digest(mod, rva, span);
    return 0;
}

/* The module named by ref, loading it if this process lacks it. */
static HMODULE find_module(const char *name)
{
    if (!name[0])
        return GetModuleHandleW(NULL);
    wchar_t *path = mproc__w32_wide(name);
    if (!path) {
        SetLastError(ERROR_NO_UNICODE_TRANSLATION);
        return NULL;
    }
    HMODULE mod = NULL;
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT, path, &mod))
        mod = LoadLibraryExW(path, NULL, LOAD_WITH_ALTERED_SEARCH_PATH); /* its own folder for its DLLs */
    DWORD err = GetLastError();
    free(path);
    SetLastError(err);
    return mod;
}

int mproc__be_sym_resolve(const be_symref *ref, be_fnptr *fn)
{
    HMODULE mod = find_module(ref->module);
    if (!mod)
        return mproc__w32_last_error(MPROC_ESPAWN); /* e.g. ERROR_MOD_NOT_FOUND: the file is gone */
    size_t span = exec_span(mod, ref->offset);
    if (!span)
        return mproc__w32_fail(MPROC_ESPAWN, ERROR_INVALID_ADDRESS);
    if (code_digest(mod, ref->offset, span) != ref->digest)
        return mproc__w32_fail(MPROC_ESPAWN, ERROR_REVISION_MISMATCH); /* the module changed: other code there */
    *fn = (be_fnptr)(void *)((unsigned char *)mod + ref->offset);
    return 0;
}
