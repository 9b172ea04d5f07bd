/* SPDX-License-Identifier: MIT */
/* fault.c - the door to the backend's system-call table, for tests that
 * make a system call fail; declared in testhooks.h. The lookup by name is
 * done here once for every backend (mproc__be_syscalls gives the table). */
#include <string.h>

#include "backend.h"
#include "base/testhooks.h"

/* The slot named name in table (the live one or the defaults), or NULL. */
static be_fnptr *slot(const be_syscall_table *t, const void *table, const char *name)
{
    for (size_t i = 0; t && name && i < t->n; i++)
        if (strcmp(t->names[i].name, name) == 0)
            return (be_fnptr *)((char *)table + t->names[i].offset);
    return NULL;
}

int mproc_test_set_syscall(const char *name, mproc_syscall_fn fn)
{
    const be_syscall_table *t = mproc__be_syscalls();
    be_fnptr *s = slot(t, t ? t->live : NULL, name);
    if (!s)
        return MPROC_EINVAL;
    *s = fn ? (be_fnptr)fn : *slot(t, t->defaults, name);
    return 0;
}

mproc_syscall_fn mproc_test_get_syscall(const char *name)
{
    const be_syscall_table *t = mproc__be_syscalls();
    be_fnptr *s = slot(t, t ? t->live : NULL, name);
    return s ? (mproc_syscall_fn)*s : NULL;
}
