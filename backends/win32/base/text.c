/* SPDX-License-Identifier: MIT */
/* text.c - UTF-8 (the core's strings) <-> UTF-16 (the W functions). */
#include <stdlib.h>

#include "win32.h"

wchar_t *mproc__w32_wide(const char *utf8)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, w, n) != n) {
        free(w);
        w = NULL;
    }
    return w;
}

int mproc__w32_utf8(const wchar_t *wide, char *out, size_t cap)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, wide, -1, NULL, 0, NULL, NULL);
    if (n <= 0 || (size_t)n > cap)
        return MPROC_EINVAL;
    if (WideCharToMultiByte(CP_UTF8, 0, wide, -1, out, n, NULL, NULL) != n)
        return MPROC_EINVAL;
    return 0;
}

wchar_t *mproc__w32_module_path(HMODULE mod)
{
    /* GetModuleFileNameW truncates silently: grow until the name fits. */
    for (DWORD cap = MAX_PATH; cap <= 32768; cap *= 2) {
        wchar_t *buf = malloc(cap * sizeof *buf);
        if (!buf)
            return NULL;
        DWORD n = GetModuleFileNameW(mod, buf, cap);
        if (n > 0 && n < cap)
            return buf;
        DWORD err = GetLastError();
        free(buf);
        if (n == 0) { /* a real failure, not truncation */
            SetLastError(err);
            return NULL;
        }
    }
    SetLastError(ERROR_FILENAME_EXCED_RANGE);
    return NULL;
}

size_t mproc__w32_hex(wchar_t *out, uint64_t v)
{
    wchar_t tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = L"0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = L'\0';
    return n;
}
