/* SPDX-License-Identifier: MIT */
/* pool_notify.c - the pool's completion notifier for mproc_wait
 * (core_wait_notifier, base/object.h), and the wait ops of results and
 * imap iterators.
 *
 * Design: one process-wide completion generation (asyncs outlive their
 * pool and every pool shares one lock, so one counter serves them all),
 * bumped under the pool lock whenever a result becomes ready or an imap
 * item arrives (mproc__pool_async_wake_all). Each mproc_wait that holds
 * results subscribes once: it gets a pipe of its own whose read end it
 * sleeps on in the backend's wait beside its connections and sentinels.
 * A bump writes one byte to each subscriber not yet told (at most one byte
 * is ever in a pipe), and the waiter rescans its results only when the
 * generation moved. Pipes are kept for the next wait (a small free list),
 * so a wait costs no pipe creation after the first. */
#include <stdlib.h>

#include "base/object.h"
#include "ipc/conn.h"
#include "pool/pool.h"

typedef struct notify_sub {
    mproc_conn *r, *w; /* r: the waiter's end, w: the notifier's */
    int signalled;     /* a byte is in the pipe (or being written) */
    struct notify_sub *next;
} notify_sub;

/* Under the pool lock. */
static uint64_t generation;
static notify_sub *subs, *spares;
static long subs_pid; /* the process they belong to: a forked child starts afresh */

static void forget_if_forked(void)
{
    long pid = mproc__be_getpid();
    if (subs_pid != pid) {
        subs = spares = NULL; /* the parent's; their pipes are closed here (parent_only) */
        subs_pid = pid;
    }
}

void mproc__pool_notify(void)
{
    forget_if_forked();
    generation++;
    static const char byte = 1;
    for (notify_sub *s = subs; s; s = s->next)
        if (!s->signalled) {
            s->signalled = 1;
            mproc_conn_send_bytes(s->w, &byte, 1); /* never blocks: at most one byte waits */
        }
}

static void sub_free(notify_sub *s)
{
    mproc_conn_free(s->r);
    mproc_conn_free(s->w);
    free(s);
}

static int subscribe(be_wait_item *it, void **out)
{
    mproc__core_pool_lock();
    forget_if_forked();
    notify_sub *s = spares;
    if (s)
        spares = s->next;
    mproc__core_pool_unlock();
    if (!s) {
        if (!(s = calloc(1, sizeof *s)))
            return MPROC_ENOMEM;
        int rc = mproc_pipe(0, &s->r, &s->w);
        if (rc == 0 && !(rc = mproc__core_conn_parent_only(s->r)))
            rc = mproc__core_conn_parent_only(s->w);
        if (rc) {
            sub_free(s);
            return rc;
        }
    }
    int rc = mproc__core_conn_hold(s->r, 1, &it->stream, NULL);
    if (rc) {
        sub_free(s);
        return rc;
    }
    mproc__core_pool_lock();
    s->signalled = 0;
    s->next = subs;
    subs = s;
    mproc__core_pool_unlock();
    *out = s;
    return 0;
}

/* Takes the byte out of a pipe that was signalled (lock not held). */
static void drain(notify_sub *s)
{
    char b;
    size_t len;
    mproc_conn_recv_bytes_into(s->r, &b, 1, &len);
}

static uint64_t rearm(void *sub)
{
    notify_sub *s = sub;
    mproc__core_pool_lock();
    int was = s->signalled;
    s->signalled = 0;
    uint64_t g = generation;
    mproc__core_pool_unlock();
    if (was)
        drain(s); /* written under the lock we just held: it is there */
    return g;
}

static void unsubscribe(void *sub)
{
    notify_sub *s = sub;
    mproc__core_conn_unhold(s->r);
    mproc__core_pool_lock();
    notify_sub **pp = &subs;
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    int was = s->signalled;
    s->signalled = 0;
    mproc__core_pool_unlock();
    if (was)
        drain(s);
    mproc__core_pool_lock();
    s->next = spares;
    spares = s;
    mproc__core_pool_unlock();
}

static const core_wait_notifier pool_notifier = {subscribe, rearm, unsubscribe};

static int async_readable(void *obj) { return mproc_async_ready(obj); }
static int imap_readable(void *obj) { return mproc__pool_imap_readable(obj); }

const core_share_ops mproc__core_async_ops = {.kind = K_ASYNC, .readable = async_readable, .notifier = &pool_notifier};
const core_share_ops mproc__core_imap_ops = {.kind = K_IMAP, .readable = imap_readable, .notifier = &pool_notifier};
