/* SPDX-License-Identifier: MIT */
/* io.c - descriptor helpers for the POSIX backend: close-on-exec pipes,
 * full reads/writes with timeouts, and writes that never raise SIGPIPE. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix.h"

int mproc__px_sys_error(int err)
{
    mproc__core_set_os_error(err);
    return MPROC_ESYS;
}

int mproc__px_cloexec(int fd, int on)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0)
        return -1;
    fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
    return fcntl(fd, F_SETFD, fl);
}

int mproc__px_pipe(int fds[2]) { return mproc__px_sys.pipe(fds); }

int mproc__px_socketpair(int fds[2]) { return mproc__px_sys.socketpair(fds); }

double mproc__be_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Waits until fd is ready for `events` (POLLIN/POLLOUT; end of stream and
 * errors count as ready): 1, 0 at the timeout, or a negative error. */
static int poll_for(int fd, short events, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    for (;;) {
        double rem = mproc__core_remaining(deadline);
        int ms = (int)mproc__core_timeout_units(rem, 1000, INT_MAX);
        struct pollfd p = {fd, events, 0};
        int n = poll(&p, 1, ms);
        if (n > 0)
            return 1;
        if (n == 0) {
            if (mproc__core_remaining(deadline) <= 0)
                return 0;
            continue; /* woke early by rounding */
        }
        if (errno != EINTR)
            return mproc__px_sys_error(errno);
    }
}

int mproc__px_poll_in(int fd, double timeout) { return poll_for(fd, POLLIN, timeout); }

int mproc__px_poll_out(int fd, double timeout) { return poll_for(fd, POLLOUT, timeout); }

int mproc__px_read_full(int fd, void *buf, size_t len, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    char *p = buf;
    while (len) {
        int r = mproc__px_poll_in(fd, mproc__core_remaining(deadline));
        if (r < 0)
            return r;
        if (r == 0)
            return MPROC_ETIMEDOUT;
        ssize_t n = read(fd, p, len);
        if (n == 0)
            return MPROC_EOS;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (errno == ECONNRESET)
                return MPROC_EOS;
            return mproc__px_sys_error(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void mproc__px_sigpipe_hold(px_sigpipe *st)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    st->was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &st->old);
}

void mproc__px_sigpipe_release(px_sigpipe *st, int got_epipe)
{
    int saved = errno;
    if (got_epipe && !st->was_pending) {
        /* Consume the SIGPIPE our write raised, so it is never delivered. */
        sigset_t pipe_set, pending;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        sigpending(&pending);
        int sig;
        if (sigismember(&pending, SIGPIPE))
            sigwait(&pipe_set, &sig);
    }
    pthread_sigmask(SIG_SETMASK, &st->old, NULL);
    errno = saved;
}

/* One write that reports EPIPE instead of killing the process. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
#if MPROC_HAVE_MSG_NOSIGNAL
    ssize_t sent = mproc__px_sys.send(fd, buf, len, MSG_NOSIGNAL);
    if (sent >= 0 || errno != ENOTSOCK)
        return sent;
#endif
    px_sigpipe st;
    mproc__px_sigpipe_hold(&st);
    ssize_t n = write(fd, buf, len);
    mproc__px_sigpipe_release(&st, n < 0 && errno == EPIPE);
    return n;
}

int mproc__px_write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write_nosigpipe(fd, p, len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (errno == EPIPE || errno == ECONNRESET)
                return MPROC_EOS;
            return mproc__px_sys_error(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mproc__px_exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    return 0;
}
