/* SPDX-License-Identifier: MIT */
/* symbols.c - a function as (module, offset, digest) and back, so that a
 * re-executed program (spawn, forkserver) finds the parent's target even
 * with address-space randomisation, and refuses to run anything else.
 *
 * Modules are enumerated with dl_iterate_phdr (Linux, the BSDs, Solaris) or
 * the dyld image list (macOS). A module the child has not loaded (a plugin
 * the parent opened at run time) is loaded with APR's DSO loader. */
#include <apr_dso.h>
#include <apr_pools.h>
#include <string.h>

#include "posix.h"



typedef struct found {
    uintptr_t addr;       /* in: address to locate (locate) */
    const char *module;   /* in: module to find (resolve) */
    uint64_t offset;      /* in (resolve) / out (locate) */
    char name[BE_MODULE_MAX];
    uintptr_t fn;         /* out: absolute address */
    size_t avail;         /* out: bytes from fn to the end of its segment */
    size_t index;         /* modules visited so far */
    int ok;
} found;

#if MPROC_HAVE_DL_ITERATE_PHDR
#include <link.h>

/* The main program comes first and has an empty name on every system that
 * has dl_iterate_phdr; we store it as "". */
static const char *module_name(struct dl_phdr_info *info, size_t index)
{
    return (index == 0 || !info->dlpi_name) ? "" : info->dlpi_name;
}

/* Looks for an executable segment of this module containing want. */
static int in_exec_segment(struct dl_phdr_info *info, uintptr_t want, size_t *avail)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        uintptr_t end = start + ph->p_memsz;
        if (want >= start && want < end) {
            *avail = end - want;
            return 1;
        }
    }
    return 0;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    found *f = data;
    size_t my = f->index++;
    if (f->module) { /* resolve */
        if (strcmp(module_name(info, my), f->module) != 0)
            return 0;
        f->fn = info->dlpi_addr + (uintptr_t)f->offset;
        f->ok = in_exec_segment(info, f->fn, &f->avail);
        return 1;
    }
    if (!in_exec_segment(info, f->addr, &f->avail))
        return 0;
    const char *name = module_name(info, my);
    if (strlen(name) >= sizeof f->name)
        return 1;
    strcpy(f->name, name);
    f->offset = f->addr - info->dlpi_addr;
    f->fn = f->addr;
    f->ok = 1;
    return 1;
}

static void iterate(found *f) { dl_iterate_phdr(visit, f); }
#elif MPROC_HAVE_DYLD
#include <dlfcn.h>
#include <mach-o/dyld.h>

static void iterate(found *f)
{
    if (!f->module) {
        Dl_info info;
        if (!dladdr((void *)f->addr, &info) || !info.dli_fbase)
            return;
        const char *name = info.dli_fname ? info.dli_fname : "";
        if (_dyld_get_image_header(0) == info.dli_fbase)
            name = "";
        if (strlen(name) >= sizeof f->name)
            return;
        strcpy(f->name, name);
        f->offset = f->addr - (uintptr_t)info.dli_fbase;
        f->fn = f->addr;
        f->avail = BE_DIGEST_BYTES; /* code pages are whole: reading 64 is safe */
        f->ok = 1;
        return;
    }
    uint32_t n = _dyld_image_count();
    for (uint32_t i = 0; i < n; i++) {
        const char *name = i == 0 ? "" : _dyld_get_image_name(i);
        if (!name || strcmp(name, f->module) != 0)
            continue;
        f->fn = (uintptr_t)_dyld_get_image_header(i) + (uintptr_t)f->offset;
        f->avail = BE_DIGEST_BYTES;
        f->ok = 1;
        return;
    }
}
#else
#error "mproc: this system has neither dl_iterate_phdr nor dyld: no way to locate spawn targets"
#endif

int mproc__be_sym_locate(be_fnptr fn, be_symref *out)
{
    found f;
    memset(&f, 0, sizeof f);
    f.addr = (uintptr_t)fn;
    iterate(&f);
    if (!f.ok)
        return MPROC_ESPAWN;
    memset(out, 0, sizeof *out);
    strcpy(out->module, f.name);
    out->offset = f.offset;
    size_t n = f.avail < BE_DIGEST_BYTES ? f.avail : BE_DIGEST_BYTES;
    out->digest = mproc__core_code_digest((const unsigned char *)f.fn, n);
    return 0;
}

/* Loads a module the parent had and we don't (kept loaded for good). */
static void load_module(const char *path)
{
    static apr_pool_t *pool;
    /* A managed pool (apr_terminate frees it): only spawned and forkserver
     * children load modules, single-threaded at that point. */
    if (!pool && apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return;
    apr_dso_handle_t *h;
    apr_dso_load(&h, path, pool);
}

int mproc__be_sym_resolve(const be_symref *ref, be_fnptr *fn)
{
    found f;
    for (int attempt = 0; attempt < 2; attempt++) {
        memset(&f, 0, sizeof f);
        f.module = ref->module;
        f.offset = ref->offset;
        iterate(&f);
        if (f.ok || attempt || !ref->module[0])
            break;
        load_module(ref->module);
    }
    if (!f.ok)
        return MPROC_ESPAWN;
    size_t n = f.avail < BE_DIGEST_BYTES ? f.avail : BE_DIGEST_BYTES;
    if (mproc__core_code_digest((const unsigned char *)f.fn, n) != ref->digest)
        return MPROC_ESPAWN;
    *fn = (be_fnptr)f.fn;
    return 0;
}
