/* SPDX-License-Identifier: MIT */
/* fault.c - the door to the backend's system-call table, for tests that
 * make a system call fail (be_syscall_set); declared in testhooks.h. */
#include "backend.h"
#include "base/testhooks.h"

int mproc_test_set_syscall(const char *name, mproc_syscall_fn fn) { return be_syscall_set(name, (be_fnptr)fn); }

mproc_syscall_fn mproc_test_get_syscall(const char *name) { return (mproc_syscall_fn)be_syscall_get(name); }
