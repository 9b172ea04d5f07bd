/* SPDX-License-Identifier: MIT */
/* shm.c - shared memory segments. Anonymous ones are a memfd (Linux) or a
 * shm_open name unlinked at once, so nothing is left behind even when every
 * user is SIGKILLed; named ones are Python's SharedMemory (/dev/shm/NAME).
 * Children get anonymous segments as descriptors: inherited over fork, sent
 * with SCM_RIGHTS for spawn and forkserver (see fdpass.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "posix.h"

struct be_shm {
    void *addr;
    size_t size;
    int fd; /* anonymous segments keep theirs to hand to children; -1 if named */
};

static int map_fd(int fd, size_t size, int keep_fd, be_shm **out)
{
    be_shm *s = calloc(1, sizeof *s);
    if (!s)
        return MPROC_ENOMEM;
    void *addr = mproc__px_sys.mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        int e = errno;
        free(s);
        return e == ENOMEM ? MPROC_ENOMEM : mproc__px_sys_error(e);
    }
    s->addr = addr;
    s->size = size;
    s->fd = keep_fd ? fd : -1;
    *out = s;
    return 0;
}

static int anon_fd(void)
{
#if MPROC_HAVE_MEMFD
    return mproc__px_sys.memfd_create("mproc");
#else
    for (int tries = 0; tries < 16; tries++) {
        unsigned char r[8];
        if (mproc__be_random(r, sizeof r))
            return -1;
        char name[48];
        snprintf(name, sizeof name, "/mproc-%ld-%02x%02x%02x%02x%02x%02x%02x%02x", (long)getpid(), r[0],
                 r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
        int fd = mproc__px_sys.shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) {
            shm_unlink(name); /* nameless from now on */
            mproc__px_cloexec(fd, 1);
            return fd;
        }
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
#endif
}

int mproc__be_shm_create(size_t size, be_shm **out)
{
    if (size == 0)
        return MPROC_EINVAL;
    int fd = anon_fd();
    if (fd < 0)
        return mproc__px_sys_error(errno);
    int rc = ftruncate(fd, (off_t)size) == 0 ? map_fd(fd, size, 1, out) : mproc__px_sys_error(errno);
    if (rc)
        close(fd);
    return rc;
}

static int errno_code(int e)
{
    if (e == EEXIST)
        return MPROC_EEXIST;
    if (e == ENOENT)
        return MPROC_ENOENT;
    if (e == EINVAL || e == ENAMETOOLONG)
        return MPROC_EINVAL;
    return mproc__px_sys_error(e);
}

int mproc__be_shm_open(const char *name, size_t size, int create, be_shm **out)
{
    if (!mproc__core_shm_name_valid(name) || (create && size == 0))
        return MPROC_EINVAL;
    char path[BE_SHM_NAME_MAX + 2] = "/";
    strcat(path, name);
    int fd = mproc__px_sys.shm_open(path, create ? (O_RDWR | O_CREAT | O_EXCL) : O_RDWR, 0600);
    if (fd < 0)
        return errno_code(errno);
    int rc = 0;
    if (create) {
        if (ftruncate(fd, (off_t)size) != 0) {
            rc = mproc__px_sys_error(errno);
            shm_unlink(path);
        }
    } else {
        struct stat st;
        if (fstat(fd, &st) != 0)
            rc = mproc__px_sys_error(errno);
        else if (st.st_size <= 0)
            rc = MPROC_EINVAL;
        else
            size = (size_t)st.st_size; /* Python ignores the size on attach */
    }
    if (rc == 0) {
        rc = map_fd(fd, size, 0, out);
        if (rc && create)
            shm_unlink(path);
    }
    close(fd);
    return rc;
}

int mproc__be_shm_unlink(const char *name)
{
    if (!mproc__core_shm_name_valid(name))
        return MPROC_EINVAL;
    char path[BE_SHM_NAME_MAX + 2] = "/";
    strcat(path, name);
    return shm_unlink(path) == 0 ? 0 : errno_code(errno);
}

void *mproc__be_shm_addr(const be_shm *s) { return s->addr; }

size_t mproc__be_shm_size(const be_shm *s) { return s->size; }

void mproc__be_shm_close(be_shm *s)
{
    if (!s)
        return;
    munmap(s->addr, s->size);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

int mproc__px_shm_fd(const be_shm *s) { return s->fd; }

/* ---------------------------------------------------------------- handoff */

/* A segment handed to a running process: this header on the stream, with
 * the descriptor attached to its first byte (SCM_RIGHTS). The magic
 * catches a reader that is out of step. */
typedef struct handoff {
    uint64_t magic;
    uint64_t size;
} handoff;
#define HANDOFF_MAGIC 0x6d70726f63736567ull /* "mprocseg" */

int mproc__be_shm_send(be_stream *st, be_proc *peer, const be_shm *s, double timeout)
{
    (void)peer; /* a descriptor in flight belongs to no process */
    if (!st || !s || s->fd < 0)
        return MPROC_EINVAL;
    /* Room for the header means the one sendmsg below does not block. */
    int r = mproc__px_poll_out(mproc__px_stream_fd(st), timeout);
    if (r <= 0)
        return r < 0 ? r : MPROC_ETIMEDOUT;
    handoff h = {HANDOFF_MAGIC, s->size};
    return mproc__px_send_fds(mproc__px_stream_fd(st), &h, sizeof h, &s->fd, 1);
}

int mproc__be_shm_recv(be_stream *st, double timeout, be_shm **out)
{
    if (!st || !out)
        return MPROC_EINVAL;
    handoff h;
    int fd = -1;
    size_t n = 0;
    int rc = mproc__px_recv_fds(mproc__px_stream_fd(st), &h, sizeof h, &fd, 1, &n, timeout);
    if (rc)
        return rc;
    if (n != 1 || h.magic != HANDOFF_MAGIC || h.size == 0 || h.size > SIZE_MAX) {
        mproc__px_close_fds(&fd, n);
        return MPROC_EINVAL;
    }
    rc = map_fd(fd, (size_t)h.size, 0, out); /* the mapping is all we need */
    close(fd);
    return rc;
}

/* ------------------------------------------------------------ inheritance */

/* Segments handed to this process by its parent: descriptor + size. */
static struct {
    int fd;
    size_t size;
} *inherited;
static size_t n_inherited;

void mproc__px_shm_set_inherited(const int *fds, const uint64_t *sizes, size_t n)
{
    free(inherited);
    inherited = n ? calloc(n, sizeof *inherited) : NULL;
    n_inherited = inherited ? n : 0;
    for (size_t i = 0; i < n_inherited; i++) {
        inherited[i].fd = fds[i];
        inherited[i].size = (size_t)sizes[i];
        mproc__px_cloexec(fds[i], 1);
    }
}

size_t mproc__be_shm_inherited_count(void) { return n_inherited; }

int mproc__be_shm_inherited(size_t index, be_shm **out)
{
    if (index >= n_inherited)
        return MPROC_EINVAL;
    int fd = dup(inherited[index].fd);
    if (fd < 0)
        return mproc__px_sys_error(errno);
    mproc__px_cloexec(fd, 1);
    int rc = map_fd(fd, inherited[index].size, 1, out);
    if (rc)
        close(fd);
    return rc;
}
