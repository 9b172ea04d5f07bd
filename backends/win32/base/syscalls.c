/* SPDX-License-Identifier: MIT */
/* syscalls.c - the Windows calls the backend makes through a table, so
 * that tests can make any of them fail at a chosen call (SQLite's
 * xSetSystemCall). Entries keep the Windows API's signatures. */
#include <stddef.h>
#include <string.h>

#include "win32.h"

static const w32_syscalls defaults = {CreateProcessW, CreateFileMappingW, MapViewOfFile, WriteFile};
w32_syscalls w32_sys = {CreateProcessW, CreateFileMappingW, MapViewOfFile, WriteFile};

#define ENTRY(field) {#field, offsetof(w32_syscalls, field)}
static const struct {
    const char *name;
    size_t offset;
} entries[] = {ENTRY(CreateProcessW), ENTRY(CreateFileMappingW), ENTRY(MapViewOfFile), ENTRY(WriteFile)};

static be_fnptr *slot(w32_syscalls *t, const char *name)
{
    for (size_t i = 0; name && i < sizeof entries / sizeof entries[0]; i++)
        if (strcmp(entries[i].name, name) == 0)
            return (be_fnptr *)((char *)t + entries[i].offset);
    return NULL;
}

int be_syscall_set(const char *name, be_fnptr fn)
{
    be_fnptr *s = slot(&w32_sys, name);
    if (!s)
        return MPROC_EINVAL;
    *s = fn ? fn : *slot((w32_syscalls *)&defaults, name);
    return 0;
}

be_fnptr be_syscall_get(const char *name)
{
    be_fnptr *s = slot(&w32_sys, name);
    return s ? *s : NULL;
}
