/* SPDX-License-Identifier: MIT */
/* syscalls.c - the system calls the POSIX backend makes through a table,
 * so that tests can make any of them fail at a chosen call (SQLite's
 * xSetSystemCall). Entries have the signatures of posix.h's px_syscalls;
 * "pipe" and "socketpair" are the close-on-exec forms the backend uses. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix.h"

static int sys_pipe(int fds[2])
{
#if MPROC_HAVE_PIPE2
    return pipe2(fds, O_CLOEXEC);
#else
    if (pipe(fds) != 0)
        return -1;
    mproc__px_cloexec(fds[0], 1);
    mproc__px_cloexec(fds[1], 1);
    return 0;
#endif
}

static int sys_socketpair(int fds[2])
{
#if MPROC_HAVE_SOCK_CLOEXEC
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
#else
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        return -1;
    mproc__px_cloexec(fds[0], 1);
    mproc__px_cloexec(fds[1], 1);
    return 0;
#endif
}

static int sys_memfd(const char *name)
{
#if MPROC_HAVE_MEMFD
    return memfd_create(name, MFD_CLOEXEC);
#else
    (void)name;
    errno = ENOSYS;
    return -1;
#endif
}

static const px_syscalls defaults = {fork, mmap, sys_memfd, shm_open, sys_pipe, sys_socketpair, sendmsg, send};
px_syscalls mproc__px_sys = {fork, mmap, sys_memfd, shm_open, sys_pipe, sys_socketpair, sendmsg, send};

/* The names tests use (mproc__be_syscalls; the core looks them up). */
#define ENTRY(field) {#field, offsetof(px_syscalls, field)}
static const be_syscall_name names[] = {
    ENTRY(fork), ENTRY(mmap), ENTRY(memfd_create), ENTRY(shm_open),
    ENTRY(pipe), ENTRY(socketpair), ENTRY(sendmsg), ENTRY(send),
};

const be_syscall_table *mproc__be_syscalls(void)
{
    static const be_syscall_table table = {&mproc__px_sys, &defaults, names, sizeof names / sizeof names[0]};
    return &table;
}
