/* SPDX-License-Identifier: MIT */
/* thread.c - process-local threads, mutexes and doorbells for the core
 * (pool result handler). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "posix.h"

struct be_thread {
    pthread_t tid;
    void (*fn)(void *);
    void *arg;
};

static void *thread_main(void *p)
{
    be_thread *t = p;
    t->fn(t->arg);
    return NULL;
}

int mproc__be_thread_start(void (*fn)(void *), void *arg, be_thread **out)
{
    be_thread *t = calloc(1, sizeof *t);
    if (!t)
        return MPROC_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    /* The new thread inherits the creator's mask: block everything around
     * pthread_create (synchronous faults are delivered regardless). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t->tid, NULL, thread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        free(t);
        return mproc__px_sys_error(rc);
    }
    *out = t;
    return 0;
}

void mproc__be_thread_join(be_thread *t)
{
    if (!t)
        return;
    pthread_join(t->tid, NULL);
    free(t);
}

struct be_tlock {
    pthread_mutex_t mu;
};

int mproc__be_tlock_new(be_tlock **out)
{
    be_tlock *l = malloc(sizeof *l);
    if (!l)
        return MPROC_ENOMEM;
    pthread_mutex_init(&l->mu, NULL);
    *out = l;
    return 0;
}

void mproc__be_tlock_free(be_tlock *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

void mproc__be_tlock_lock(be_tlock *l) { pthread_mutex_lock(&l->mu); }

void mproc__be_tlock_unlock(be_tlock *l) { pthread_mutex_unlock(&l->mu); }

/* A non-blocking pipe: a ring writes one byte unless one is pending; a
 * wait polls the read end (poll is never restarted after a handler, which
 * is what lets a caught SIGINT end the wait) and drains it. */
struct be_bell {
    int fd[2];
};

int mproc__be_bell_new(be_bell **out)
{
    be_bell *b = malloc(sizeof *b);
    if (!b)
        return MPROC_ENOMEM;
    if (mproc__px_pipe(b->fd) != 0) {
        int e = errno;
        free(b);
        return mproc__px_sys_error(e);
    }
    fcntl(b->fd[0], F_SETFL, O_NONBLOCK);
    fcntl(b->fd[1], F_SETFL, O_NONBLOCK);
    *out = b;
    return 0;
}

void mproc__be_bell_free(be_bell *b)
{
    if (!b)
        return;
    close(b->fd[0]);
    close(b->fd[1]);
    free(b);
}

void mproc__be_bell_ring(be_bell *b)
{
    char c = 1;
    ssize_t n = write(b->fd[1], &c, 1); /* a full pipe means it rang already */
    (void)n;
}

static int drain(int fd)
{
    char buf[64];
    int got = 0;
    while (read(fd, buf, sizeof buf) > 0)
        got = 1;
    return got;
}

int mproc__be_bell_wait(be_bell *b, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    for (;;) {
        if (drain(b->fd[0]))
            return 0;
        double rem = mproc__core_remaining(deadline);
        if (rem == 0)
            return MPROC_ETIMEDOUT;
        int ms = (int)mproc__core_timeout_units(rem, 1000, INT_MAX);
        struct pollfd p = {b->fd[0], POLLIN, 0};
        int n = poll(&p, 1, ms);
        if (n < 0 && errno == EINTR)
            return drain(b->fd[0]) ? 0 : MPROC_EINTR;
        if (n < 0)
            return mproc__px_sys_error(errno);
    }
}

void mproc__be_ignore_interrupts(void) { signal(SIGINT, SIG_IGN); }
