/* SPDX-License-Identifier: MIT */
/* stream.c - byte streams (backend.h): connected stream sockets (socket
 * pairs, unix and tcp connections). Descriptors stay in blocking mode
 * (another process may share them and would see an O_NONBLOCK flag too):
 * a bounded call polls first, then reads or writes with MSG_DONTWAIT.
 * Writes never raise SIGPIPE: MSG_NOSIGNAL or SO_NOSIGPIPE where the
 * system has one, SIGPIPE held in the writing thread otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "posix.h"

/* Linux moves at most 0x7ffff000 bytes per call; stay well below. */
#define CHUNK_MAX ((size_t)1 << 30)
#define IOV_BATCH 16

struct be_stream {
    int fd;
};

int mproc__px_stream_wrap(int fd, be_stream **out)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
        return MPROC_EINVAL;
    be_stream *s = malloc(sizeof *s);
    if (!s)
        return MPROC_ENOMEM;
    s->fd = fd;
#if MPROC_HAVE_SO_NOSIGPIPE
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    *out = s;
    return 0;
}

int mproc__px_stream_fd(const be_stream *s) { return s->fd; }

/* Simplex pairs are socket pairs shut down one way rather than pipes: a
 * write to a socket can refuse SIGPIPE by itself (MSG_NOSIGNAL,
 * SO_NOSIGPIPE), where a pipe needs the signal masked around every write. */
int mproc__be_stream_pair(int duplex, be_stream **a, be_stream **b)
{
    int fds[2];
    if (mproc__px_socketpair(fds) != 0)
        return mproc__px_sys_error(errno);
    if (!duplex && (shutdown(fds[0], SHUT_WR) != 0 || shutdown(fds[1], SHUT_RD) != 0)) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return mproc__px_sys_error(e);
    }
    int rc = mproc__px_stream_wrap(fds[0], a);
    if (rc == 0 && (rc = mproc__px_stream_wrap(fds[1], b)) != 0) {
        free(*a);
        *a = NULL;
    }
    if (rc) {
        close(fds[0]);
        close(fds[1]);
    }
    return rc;
}

/* ------------------------------------------------------------------ read */

static ssize_t read_once(be_stream *s, void *buf, size_t len, int nonblocking)
{
    return recv(s->fd, buf, len > CHUNK_MAX ? CHUNK_MAX : len, nonblocking ? MSG_DONTWAIT : 0);
}

int mproc__be_stream_read(be_stream *s, void *buf, size_t len, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    int bounded = timeout >= 0;
    char *p = buf;
    while (len) {
        /* Bounded: a read that does not wait first (the data is usually
         * there already), a poll only when it found nothing (below). */
        ssize_t n = read_once(s, p, len, bounded);
        if (n == 0)
            return MPROC_EOS;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* Nothing there yet (a bounded read), another reader
                 * took the data, or someone made the descriptor
                 * non-blocking: wait for more. */
                int r = mproc__px_poll_in(s->fd, mproc__core_remaining(deadline));
                if (r <= 0)
                    return r < 0 ? r : MPROC_ETIMEDOUT;
                continue;
            }
            if (errno == ECONNRESET)
                return MPROC_EOS;
            return mproc__px_sys_error(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mproc__be_stream_read_some(be_stream *s, void *buf, size_t cap, double timeout, size_t *got)
{
    double deadline = mproc__core_deadline(timeout);
    *got = 0;
    if (!buf || cap == 0)
        return MPROC_EINVAL;
    for (;;) {
        ssize_t n = read_once(s, buf, cap, 1);
        if (n > 0) {
            *got = (size_t)n;
            return 0;
        }
        if (n == 0)
            return MPROC_EOS;
        if (errno == EINTR)
            continue;
        if (errno == ECONNRESET)
            return MPROC_EOS;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return mproc__px_sys_error(errno);
        int r = mproc__px_poll_in(s->fd, mproc__core_remaining(deadline));
        if (r <= 0)
            return r < 0 ? r : MPROC_ETIMEDOUT;
    }
}

/* ----------------------------------------------------------------- write */

/* One buffer goes with send: cheaper for the kernel than an iovec. */
static ssize_t send_once(int fd, struct iovec *v, int k, int flags)
{
    if (k == 1)
        return mproc__px_sys.send(fd, v[0].iov_base, v[0].iov_len, flags);
    struct msghdr mh = {0};
    mh.msg_iov = v;
    mh.msg_iovlen = (size_t)k;
    return mproc__px_sys.sendmsg(fd, &mh, flags);
}

static ssize_t writev_once(be_stream *s, struct iovec *v, int k, int nonblocking)
{
    int flags = nonblocking ? MSG_DONTWAIT : 0;
#if MPROC_HAVE_MSG_NOSIGNAL
    flags |= MSG_NOSIGNAL;
#endif
#if MPROC_HAVE_MSG_NOSIGNAL || MPROC_HAVE_SO_NOSIGPIPE
    return send_once(s->fd, v, k, flags);
#else
    px_sigpipe st;
    mproc__px_sigpipe_hold(&st);
    ssize_t n = send_once(s->fd, v, k, flags);
    mproc__px_sigpipe_release(&st, n < 0 && errno == EPIPE);
    return n;
#endif
}

/* Up to IOV_BATCH iovecs from (*i, off), at most cap bytes in all. */
static int gather(const be_iov *iov, size_t n, size_t i, size_t off, size_t cap, struct iovec *v)
{
    int k = 0;
    for (; i < n && k < IOV_BATCH && cap > 0; i++, off = 0) {
        size_t len = iov[i].len - off;
        if (len == 0)
            continue;
        if (len > cap)
            len = cap;
        v[k].iov_base = (char *)iov[i].buf + off;
        v[k].iov_len = len;
        cap -= len;
        k++;
    }
    return k;
}

int mproc__be_stream_write(be_stream *s, const be_iov *iov, size_t n, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    int bounded = timeout >= 0;
    size_t i = 0, off = 0;
    for (;;) {
        while (i < n && off == iov[i].len) {
            i++;
            off = 0;
        }
        if (i == n)
            return 0;
        /* A bounded write tries at once (without blocking) and waits only
         * when the socket is full: one system call in the common case. */
        struct iovec v[IOV_BATCH];
        int k = gather(iov, n, i, off, CHUNK_MAX, v);
        ssize_t w = writev_once(s, v, k, bounded);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int r = mproc__px_poll_out(s->fd, mproc__core_remaining(deadline));
                if (r <= 0)
                    return r < 0 ? r : MPROC_ETIMEDOUT;
                continue;
            }
            if (errno == EPIPE || errno == ECONNRESET)
                return MPROC_EOS;
            return mproc__px_sys_error(errno);
        }
        /* Advance past what went out. */
        size_t done = (size_t)w;
        while (done > 0) {
            size_t left = iov[i].len - off;
            if (done < left) {
                off += done;
                done = 0;
            } else {
                done -= left;
                i++;
                off = 0;
            }
        }
    }
}

int mproc__be_stream_poll(be_stream *s, double timeout) { return mproc__px_poll_in(s->fd, timeout); }

/* POSIX streams keep no message boundaries: the core frames messages. */
int mproc__be_stream_is_message(const be_stream *s)
{
    (void)s;
    return 0;
}

int mproc__be_stream_next_message(be_stream *s, size_t *size, double timeout)
{
    (void)s;
    (void)size;
    (void)timeout;
    return MPROC_ENOSYS;
}

void mproc__be_stream_close(be_stream *s)
{
    if (!s)
        return;
    close(s->fd);
    free(s);
}

intptr_t mproc__be_stream_os_handle(const be_stream *s) { return s->fd; }

/* ------------------------------------------------------------ inheritance */

/* Streams handed to this process by its parent; -1 once taken. */
static int *inherited;
static size_t n_inherited;

void mproc__px_stream_set_inherited(const int *fds, size_t n)
{
    free(inherited);
    inherited = n ? malloc(n * sizeof *inherited) : NULL;
    n_inherited = inherited ? n : 0;
    for (size_t i = 0; i < n_inherited; i++) {
        inherited[i] = fds[i];
        mproc__px_cloexec(fds[i], 1);
    }
}

size_t mproc__be_stream_inherited_count(void) { return n_inherited; }

int mproc__be_stream_inherited(size_t index, be_stream **out)
{
    if (index >= n_inherited)
        return MPROC_EINVAL;
    int fd = inherited[index];
    if (fd < 0)
        return MPROC_ESTATE; /* taken already: its owner may have closed it */
    int rc = mproc__px_stream_wrap(fd, out);
    if (rc == 0)
        inherited[index] = -1;
    return rc;
}
