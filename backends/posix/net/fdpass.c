/* SPDX-License-Identifier: MIT */
/* fdpass.c - descriptors over a unix socket (SCM_RIGHTS), used to hand
 * shared-memory segments and streams to spawn and forkserver children:
 *   segments: u32 n, u64 sizes[n], then the n descriptors
 *   streams:  u32 n, then the n descriptors
 * with the descriptors up to FDS_PER_MSG per one-byte message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix.h"

#define FDS_PER_MSG 64
#define MAX_SEGMENTS 4096
#define MAX_STREAMS 4096

/* A reader that died must give EPIPE here, not kill us with SIGPIPE. */
static ssize_t send_nosigpipe(int sock, const struct msghdr *mh)
{
#if MPROC_HAVE_MSG_NOSIGNAL
    return mproc__px_sys.sendmsg(sock, mh, MSG_NOSIGNAL);
#else
    px_sigpipe st;
    mproc__px_sigpipe_hold(&st);
    ssize_t r = mproc__px_sys.sendmsg(sock, mh, 0);
    mproc__px_sigpipe_release(&st, r < 0 && errno == EPIPE);
    return r;
#endif
}

int mproc__px_send_fds(int sock, const void *buf, size_t len, const int *fds, size_t n)
{
    struct iovec iov = {(void *)buf, len};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(FDS_PER_MSG * sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (n > FDS_PER_MSG)
        return MPROC_EINVAL;
    if (n) {
        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n * sizeof(int));
    }
    ssize_t r;
    do
        r = send_nosigpipe(sock, &mh);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno == EPIPE || errno == ECONNRESET ? MPROC_EOS : mproc__px_sys_error(errno);
    /* The descriptors went with the first byte; the rest is plain data. */
    return (size_t)r < len ? mproc__px_write_full(sock, (const char *)buf + r, len - (size_t)r) : 0;
}

static int send_chunk(int sock, const int *fds, size_t n) { return mproc__px_send_fds(sock, "F", 1, fds, n); }

/* The n descriptors that fd_at(list, i) gives, in chunks. */
static int send_fd_list(int sock, const void *list, int (*fd_at)(const void *list, size_t i), size_t n)
{
    int fds[FDS_PER_MSG];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i += FDS_PER_MSG) {
        size_t k = n - i < FDS_PER_MSG ? n - i : FDS_PER_MSG;
        for (size_t j = 0; j < k; j++)
            fds[j] = fd_at(list, i + j);
        rc = send_chunk(sock, fds, k);
    }
    return rc;
}

static int shm_fd_at(const void *list, size_t i) { return mproc__px_shm_fd(((be_shm *const *)list)[i]); }

static int stream_fd_at(const void *list, size_t i) { return mproc__px_stream_fd(((be_stream *const *)list)[i]); }

int mproc__px_send_segments(int sock, be_shm *const *shms, size_t n)
{
    uint32_t n32 = (uint32_t)n;
    int rc = n > MAX_SEGMENTS ? MPROC_EINVAL : mproc__px_write_full(sock, &n32, sizeof n32);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint64_t size = mproc__be_shm_size(shms[i]);
        rc = mproc__px_write_full(sock, &size, sizeof size);
    }
    return rc ? rc : send_fd_list(sock, shms, shm_fd_at, n);
}

int mproc__px_send_streams(int sock, be_stream *const *streams, size_t n)
{
    uint32_t n32 = (uint32_t)n;
    int rc = n > MAX_STREAMS ? MPROC_EINVAL : mproc__px_write_full(sock, &n32, sizeof n32);
    return rc ? rc : send_fd_list(sock, streams, stream_fd_at, n);
}

int mproc__px_recv_fds(int sock, void *buf, size_t len, int *fds, size_t maxfds, size_t *nfds, double timeout)
{
    *nfds = 0;
    int r0 = mproc__px_poll_in(sock, timeout);
    if (r0 <= 0)
        return r0 < 0 ? r0 : MPROC_ETIMEDOUT;
    struct iovec iov = {buf, len};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(FDS_PER_MSG * sizeof(int))];
    } ctl;
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof ctl.buf;
    ssize_t r;
    do
        r = recvmsg(sock, &mh, 0);
    while (r < 0 && errno == EINTR);
    if (r <= 0)
        return r == 0 ? MPROC_EOS : mproc__px_sys_error(errno);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int tmp[FDS_PER_MSG];
        memcpy(tmp, CMSG_DATA(c), (k > FDS_PER_MSG ? FDS_PER_MSG : k) * sizeof(int));
        for (size_t j = 0; j < k && j < FDS_PER_MSG; j++) {
            mproc__px_cloexec(tmp[j], 1);
            if (*nfds < maxfds)
                fds[(*nfds)++] = tmp[j];
            else
                close(tmp[j]); /* more than asked for */
        }
    }
    int rc = (size_t)r < len ? mproc__px_read_full(sock, (char *)buf + r, len - (size_t)r, timeout) : 0;
    if (rc) {
        mproc__px_close_fds(fds, *nfds);
        *nfds = 0;
    }
    return rc;
}

static int recv_chunk(int sock, int *fds, size_t n, double timeout)
{
    char byte;
    size_t got;
    int rc = mproc__px_recv_fds(sock, &byte, 1, fds, n, &got, timeout);
    if (rc == 0 && got != n) {
        mproc__px_close_fds(fds, got);
        rc = MPROC_EINVAL;
    }
    return rc;
}

/* n descriptors into fds, in chunks; on failure none stay open. */
static int recv_fd_list(int sock, int *fds, size_t n, double timeout)
{
    size_t done = 0;
    int rc = 0;
    while (rc == 0 && done < n) {
        size_t k = n - done < FDS_PER_MSG ? n - done : FDS_PER_MSG;
        rc = recv_chunk(sock, fds + done, k, timeout);
        if (rc == 0)
            done += k;
    }
    if (rc)
        mproc__px_close_fds(fds, done);
    return rc;
}

int mproc__px_recv_segments(int sock, int **fds_out, uint64_t **sizes_out, size_t *n_out, double timeout)
{
    uint32_t n;
    int rc = mproc__px_read_full(sock, &n, sizeof n, timeout);
    if (rc)
        return rc;
    if (n > MAX_SEGMENTS)
        return MPROC_EINVAL;
    int *fds = calloc(n ? n : 1, sizeof *fds);
    uint64_t *sizes = calloc(n ? n : 1, sizeof *sizes);
    if (!fds || !sizes)
        rc = MPROC_ENOMEM;
    if (rc == 0 && n)
        rc = mproc__px_read_full(sock, sizes, n * sizeof *sizes, timeout);
    if (rc == 0)
        rc = recv_fd_list(sock, fds, n, timeout);
    if (rc) {
        free(fds);
        free(sizes);
        return rc;
    }
    *fds_out = fds;
    *sizes_out = sizes;
    *n_out = n;
    return 0;
}

int mproc__px_recv_streams(int sock, int **fds_out, size_t *n_out, double timeout)
{
    uint32_t n;
    int rc = mproc__px_read_full(sock, &n, sizeof n, timeout);
    if (rc)
        return rc;
    if (n > MAX_STREAMS)
        return MPROC_EINVAL;
    int *fds = calloc(n ? n : 1, sizeof *fds);
    if (!fds)
        return MPROC_ENOMEM;
    if ((rc = recv_fd_list(sock, fds, n, timeout)) != 0) {
        free(fds);
        return rc;
    }
    *fds_out = fds;
    *n_out = n;
    return 0;
}

void mproc__px_close_fds(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}
