/* SPDX-License-Identifier: MIT */
/* syscalls.c - the Windows calls the backend makes through a table, so
 * that tests can make any of them fail at a chosen call (SQLite's
 * xSetSystemCall). Entries keep the Windows API's signatures. */
#include <stddef.h>

#include "win32.h"

static const w32_syscalls defaults = {CreateProcessW, CreateFileMappingW, MapViewOfFile, WriteFile};
w32_syscalls mproc__w32_sys = {CreateProcessW, CreateFileMappingW, MapViewOfFile, WriteFile};

/* The names tests use (mproc__be_syscalls; the core looks them up). */
#define ENTRY(field) {#field, offsetof(w32_syscalls, field)}
static const be_syscall_name names[] = {
    ENTRY(CreateProcessW), ENTRY(CreateFileMappingW), ENTRY(MapViewOfFile), ENTRY(WriteFile),
};

const be_syscall_table *mproc__be_syscalls(void)
{
    static const be_syscall_table table = {&mproc__w32_sys, &defaults, names, sizeof names / sizeof names[0]};
    return &table;
}
