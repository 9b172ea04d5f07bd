/* SPDX-License-Identifier: MIT */
/* pool_cancel.c - mproc_async_cancel: concurrent.futures' Future.cancel()
 * for pool calls. A call is cancelled only while every one of its tasks is
 * still in its pool's queue; the result thread takes tasks from that queue
 * under the same lock (pool_handler.c, dispatch), so a task is either
 * handed to a worker or cancelled, never both. */
#include "pool/pool.h"

/* Takes a's tasks out of its pool's queue when all of them are there
 * (none reached a worker): 1 and the list, else 0 (lock held). */
static int unqueue(mproc_async *a, pool_task **out)
{
    mproc_pool *p = a->pool;
    if (!p || a->ready || a->ndone || a->ndispatched || !a->ntasks || p->creator_pid != mproc__be_getpid())
        return 0;
    size_t found = 0;
    for (pool_task *t = p->qhead; t; t = t->next)
        found += t->async == a;
    if (found != a->ntasks)
        return 0; /* some are elsewhere: a worker's, or ended */
    pool_task **pp = &p->qhead, *last = NULL, **tail = out;
    while (*pp) {
        pool_task *t = *pp;
        if (t->async == a) {
            *pp = t->next;
            p->qlen--;
            t->next = NULL;
            *tail = t;
            tail = &t->next;
        } else {
            last = t;
            pp = &t->next;
        }
    }
    p->qtail = last;
    return 1;
}

int mproc_async_cancel(mproc_async *a)
{
    if (!mproc__pool_async_usable(a) || a->kind == A_IMAP || a->kind == A_DONE)
        return MPROC_EINVAL;
    mproc__core_pool_lock();
    if (a->cancelled) {
        mproc__core_pool_unlock();
        return 1; /* Python: cancel() of a cancelled future is True */
    }
    pool_task *tasks = NULL;
    int won = unqueue(a, &tasks);
    if (won)
        a->cancelled = 1; /* the dispatcher no longer sees them: nothing runs */
    mproc__core_pool_unlock();
    /* Each task ends with MPROC_ECANCELLED; the last one makes the result
     * ready and runs the error callback, here, as concurrent.futures runs
     * a cancelled future's done-callbacks in the cancelling thread. */
    while (tasks) {
        pool_task *t = tasks;
        tasks = t->next;
        size_t slot = t->slot;
        mproc__pool_task_free(t); /* first: it may live inside a */
        mproc__pool_async_task_done(a, slot, MPROC_ECANCELLED, 0, 0, NULL, 0);
    }
    return won;
}

int mproc_async_cancelled(mproc_async *a)
{
    if (!mproc__pool_async_usable(a))
        return MPROC_EINVAL;
    mproc__core_pool_lock();
    int r = a->cancelled;
    mproc__core_pool_unlock();
    return r;
}
