/* SPDX-License-Identifier: MIT */
/* syscalls.c - the system calls the POSIX backend makes through a table,
 * so that tests can make any of them fail at a chosen call (SQLite's
 * xSetSystemCall). Entries have the signatures of posix.h's px_syscalls;
 * "pipe" and "socketpair" are the close-on-exec forms the backend uses. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
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
    px_cloexec(fds[0], 1);
    px_cloexec(fds[1], 1);
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
    px_cloexec(fds[0], 1);
    px_cloexec(fds[1], 1);
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
px_syscalls px_sys = {fork, mmap, sys_memfd, shm_open, sys_pipe, sys_socketpair, sendmsg, send};

#define ENTRY(field) {#field, offsetof(px_syscalls, field)}
static const struct {
    const char *name;
    size_t offset;
} entries[] = {
    ENTRY(fork), ENTRY(mmap), ENTRY(memfd_create), ENTRY(shm_open),
    ENTRY(pipe), ENTRY(socketpair), ENTRY(sendmsg), ENTRY(send),
};

static be_fnptr *slot(px_syscalls *t, const char *name)
{
    for (size_t i = 0; name && i < sizeof entries / sizeof entries[0]; i++)
        if (strcmp(entries[i].name, name) == 0)
            return (be_fnptr *)((char *)t + entries[i].offset);
    return NULL;
}

int be_syscall_set(const char *name, be_fnptr fn)
{
    be_fnptr *s = slot(&px_sys, name);
    if (!s)
        return MPROC_EINVAL;
    *s = fn ? fn : *slot((px_syscalls *)&defaults, name);
    return 0;
}

be_fnptr be_syscall_get(const char *name)
{
    be_fnptr *s = slot(&px_sys, name);
    return s ? *s : NULL;
}
