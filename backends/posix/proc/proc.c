/* SPDX-License-Identifier: MIT */
/* proc.c - starting, waiting for and signalling children (POSIX). fork is
 * here; spawn and forkserver have their own files. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"

/* Serialises reaping so two threads never both call waitpid for one child. */
static pthread_mutex_t reap_mu = PTHREAD_MUTEX_INITIALIZER;

void mproc__px_proc_after_fork(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    reap_mu = fresh;
}

int mproc__be_method_supported(int method)
{
    return method == BE_FORK || method == BE_SPAWN || method == BE_FORKSERVER;
}

/* A descriptor that turns readable when pid exits, if the system has one. */
static void attach_pidfd(be_proc *bp)
{
#if MPROC_HAVE_PIDFD
    if (mproc__px_pidfd_usable()) {
        int fd = (int)syscall(SYS_pidfd_open, bp->pid, 0);
        if (fd >= 0) {
            mproc__px_cloexec(fd, 1);
            if (bp->fd >= 0)
                close(bp->fd);
            bp->fd = fd;
            bp->kind = W_PIDFD;
        }
    }
#else
    (void)bp;
#endif
}

/* A forked child has the descriptors already; record which ones it got. */
static void inherit_segments(const be_start *how)
{
    int fds[64];
    uint64_t sizes[64];
    size_t n = how->nshms < 64 ? how->nshms : 64;
    int *pf = n == how->nshms ? fds : malloc(how->nshms * sizeof *pf);
    uint64_t *ps = n == how->nshms ? sizes : malloc(how->nshms * sizeof *ps);
    if (!pf || !ps) {
        mproc__px_shm_set_inherited(NULL, NULL, 0);
        return;
    }
    for (size_t i = 0; i < how->nshms; i++) {
        pf[i] = mproc__px_shm_fd(how->shms[i]);
        ps[i] = mproc__be_shm_size(how->shms[i]);
    }
    mproc__px_shm_set_inherited(pf, ps, how->nshms);
    if (pf != fds)
        free(pf);
    if (ps != sizes)
        free(ps);
}

/* Likewise for streams: the very descriptors, which the child now owns. */
static void inherit_streams(const be_start *how)
{
    int fds[64];
    int *pf = how->nstreams <= 64 ? fds : malloc(how->nstreams * sizeof *pf);
    if (!pf || how->nstreams == 0) {
        mproc__px_stream_set_inherited(NULL, 0);
        return;
    }
    for (size_t i = 0; i < how->nstreams; i++)
        pf[i] = mproc__px_stream_fd(how->streams[i]);
    mproc__px_stream_set_inherited(pf, how->nstreams);
    if (pf != fds)
        free(pf);
}

static int fork_start(const be_start *how, be_proc *bp)
{
    int sentinel[2] = {-1, -1};
    int use_pidfd = mproc__px_pidfd_usable();
    if (!use_pidfd && mproc__px_pipe(sentinel) != 0)
        return mproc__px_sys_error(errno);
    pid_t pid = mproc__px_sys.fork();
    if (pid < 0) {
        int e = errno;
        if (sentinel[0] >= 0) {
            close(sentinel[0]);
            close(sentinel[1]);
        }
        mproc__core_set_os_error(e);
        return MPROC_ESPAWN;
    }
    if (pid == 0) {
        mproc__px_after_fork_child();
        inherit_segments(how);
        inherit_streams(how);
        if (sentinel[0] >= 0) {
            close(sentinel[0]);
            mproc__px_child_fd = sentinel[1]; /* held until we exit */
        }
        mproc__core_child_main(how->payload, how->payload_len);
        _exit(BE_CHILD_BADTARGET); /* not reached */
    }
    bp->pid = pid;
    if (use_pidfd) {
        bp->kind = W_POLL;
        attach_pidfd(bp);
    } else {
        close(sentinel[1]);
        bp->fd = sentinel[0];
        bp->kind = W_FD;
    }
    return 0;
}

int mproc__be_proc_start(const be_start *how, be_proc **out)
{
    be_proc *bp = calloc(1, sizeof *bp);
    if (!bp)
        return MPROC_ENOMEM;
    bp->fd = -1;
    int rc;
    switch (how->method) {
    case BE_FORK:
        rc = fork_start(how, bp);
        break;
    case BE_SPAWN:
        rc = mproc__px_spawn_start(how, bp);
        if (rc == 0 && bp->kind == W_FD)
            attach_pidfd(bp); /* prefer a pidfd to the socket sentinel */
        break;
    case BE_FORKSERVER:
        rc = mproc__px_forkserver_start(how, bp);
        break;
    default:
        rc = MPROC_ENOSYS;
    }
    if (rc) {
        free(bp);
        return rc;
    }
    *out = bp;
    return 0;
}

long mproc__be_proc_pid(const be_proc *bp) { return (long)bp->pid; }

/* Non-blocking: reaps the child if it has ended. 1 reaped, 0 not yet. */
static int try_reap(be_proc *bp)
{
    if (bp->reaped)
        return 1;
    if (bp->kind == W_KEEPER) {
        /* The child holds the connection too: it is readable once the
         * child has ended, with its code unless the keeper was killed. */
        if (mproc__px_poll_in(bp->fd, 0) != 1)
            return 0;
        int32_t code;
        int rc = mproc__px_read_full(bp->fd, &code, sizeof code, 1.0);
        bp->exitcode = rc == 0 ? code : PX_FS_CODE_LOST;
        bp->reaped = 1;
        return 1;
    }
    int status;
    pid_t r;
    do
        r = waitpid(bp->pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    /* ECHILD: someone else (a SIGCHLD handler) reaped it; the code is lost. */
    bp->exitcode = r > 0 ? mproc__px_exit_code(status) : 0;
    bp->reaped = 1;
    return 1;
}

int mproc__be_proc_wait(be_proc *bp, double timeout, int *exitcode)
{
    double deadline = mproc__core_deadline(timeout);
    double step = 0.0005;
    int fd_useful = bp->fd >= 0;
    for (;;) {
        pthread_mutex_lock(&reap_mu);
        int done = try_reap(bp);
        pthread_mutex_unlock(&reap_mu);
        if (done) {
            *exitcode = bp->exitcode;
            return 0;
        }
        double rem = mproc__core_remaining(deadline);
        if (rem == 0)
            return MPROC_ETIMEDOUT;
        if (fd_useful) {
            int r = mproc__px_poll_in(bp->fd, rem);
            if (r < 0)
                return r;
            if (r == 0)
                return MPROC_ETIMEDOUT;
            /* A pidfd or keeper message is final; a sentinel may fire a
             * moment before the zombie exists: then fall back to polling. */
            if (bp->kind == W_FD)
                fd_useful = 0;
            continue;
        }
        mproc__be_sleep(rem < 0 || rem > step ? step : rem);
        if (step < 0.01)
            step *= 2;
    }
}

int mproc__px_proc_wait_fd(const be_proc *bp) { return bp->fd; }

int mproc__px_proc_ended(be_proc *bp)
{
    pthread_mutex_lock(&reap_mu);
    int ended = bp->reaped || (bp->fd < 0 && mproc__px_pid_gone(bp->pid));
    pthread_mutex_unlock(&reap_mu);
    return ended;
}

int mproc__be_proc_signal(be_proc *bp, int how)
{
    pthread_mutex_lock(&reap_mu);
    int done = try_reap(bp);
    pthread_mutex_unlock(&reap_mu);
    if (done)
        return 0;
    int sig = how == BE_KILL ? SIGKILL : SIGTERM;
    if (kill(bp->pid, sig) != 0 && errno != ESRCH)
        return mproc__px_sys_error(errno);
    return 0;
}

void mproc__be_proc_free(be_proc *bp)
{
    if (!bp)
        return;
    if (bp->fd >= 0)
        close(bp->fd);
    free(bp);
}
