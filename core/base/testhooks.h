/* SPDX-License-Identifier: MIT */
/* testhooks.h - test-only entry points of libmproc. Not part of the public
 * API: not in mproc.h and not installed; the test suites include it
 * (tests/CMakeLists.txt puts core/ on their include path). The functions
 * are exported by the library all the same, so that a test may also use
 * the shared one. */
#ifndef MPROC_CORE_TESTHOOKS_H
#define MPROC_CORE_TESTHOOKS_H

#include "mproc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fault injection: the backend's system calls go through a table that a
 * test may change by name (SQLite's xSetSystemCall) to make a call fail at
 * a chosen point. fn must have the signature of the call it replaces
 * (POSIX: "fork", "mmap", "shm_open", "sendmsg", "send" as in libc;
 * "memfd_create" takes a name only, "pipe" and "socketpair" take int[2] and
 * make close-on-exec descriptors; Windows: "CreateProcessW",
 * "CreateFileMappingW", "MapViewOfFile", "WriteFile" as in the Windows
 * API). NULL restores the original. MPROC_EINVAL / NULL for a name the
 * backend does not have. Not thread-safe: change the table while no other
 * thread calls mproc. */
typedef void (*mproc_syscall_fn)(void);
MPROC_API int mproc_test_set_syscall(const char *name, mproc_syscall_fn fn);
MPROC_API mproc_syscall_fn mproc_test_get_syscall(const char *name);

/* How many times mproc_wait has asked a notified object (a pool result or
 * imap iterator) whether it is ready, in this process so far: a wait on n
 * results that nothing completes looks at each at most twice (at the
 * start and at the timeout), however long it sleeps. */
MPROC_API unsigned long mproc_test_wait_looks(void);

/* Moves an empty local queue's positions on by bytes (a multiple of 8) and
 * its count of messages ever put by messages, as if that much had gone
 * through it: a test reaches the ends of the counters' ranges (the lanes'
 * 32-bit words wrap) without moving terabytes. MPROC_ESTATE when q holds a
 * message or a stream, MPROC_EINVAL for bad input. */
MPROC_API int mproc_test_queue_skip(mproc_queue *q, uint64_t bytes, uint64_t messages);

#ifdef __cplusplus
}
#endif
#endif
