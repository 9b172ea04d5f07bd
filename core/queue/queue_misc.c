/* SPDX-License-Identifier: MIT */
/* queue_misc.c - the rest of the Queue API: sizes, close and the feeder
 * thread calls (mproc has no feeder thread: put copies into shared memory
 * before it returns, so there is never anything left to flush), and
 * JoinableQueue's task_done/join. */
#include <limits.h>

#include "queue/methods.h"
#include "queue/queue.h"
#include "base/testhooks.h"

/* ------------------------------------------------ local (queue.c's table) */

int mproc__q_local_qsize(mproc_queue *q)
{
    queue_shared *s = q->s;
    mproc__q_lock(s);
    uint64_t n = q_st(s)->count;
    mproc__q_unlock(s);
    return n > INT_MAX ? INT_MAX : (int)n;
}

int mproc__q_local_empty(mproc_queue *q)
{
    queue_shared *s = q->s;
    if (atomic_load(&q->closed))
        return MPROC_ECLOSED;
    mproc__q_lock(s);
    int empty = q_st(s)->count == 0;
    mproc__q_unlock(s);
    return empty;
}

int mproc__q_local_full(mproc_queue *q)
{
    queue_shared *s = q->s;
    mproc__q_lock(s);
    int full = s->maxsize && q_st(s)->count >= s->maxsize;
    mproc__q_unlock(s);
    return full;
}

/* testhooks.h: local queues only (their qsize is ours). */
int mproc_test_queue_skip(mproc_queue *q, uint64_t bytes, uint64_t messages)
{
    const core_queue_methods *m = core_queue_methods_of(q);
    if (!m || m->qsize != mproc__q_local_qsize || bytes % 8)
        return MPROC_EINVAL;
    queue_shared *s = q->s;
    int rc = 0;
    mproc__q_lock(s);
    const qstate *st = q_st(s);
    if (st->count || st->head != st->tail || st->s_flags || st->s_wpid) {
        rc = MPROC_ESTATE;
    } else {
        qstate *n = mproc__q_edit(s);
        n->head += bytes;
        n->tail += bytes;
        n->nput += messages;
        mproc__q_commit(s);
    }
    mproc__q_unlock(s);
    return rc;
}

/* This handle stops working; its process no longer counts as a holder
 * through it (so peers blocked on the queue may learn that nobody is left). */
int mproc__q_local_close(mproc_queue *q)
{
    atomic_store(&q->closed, 1);
    mproc__q_untouch(q);
    return 0;
}

int mproc__q_local_join_thread(mproc_queue *q)
{
    if (q->s->variant == Q_SIMPLE)
        return MPROC_EINVAL;
    return atomic_load(&q->closed) ? 0 : MPROC_ESTATE; /* Queue.join_thread() before close() */
}

int mproc__q_local_cancel_join_thread(mproc_queue *q)
{
    return q->s->variant == Q_SIMPLE ? MPROC_EINVAL : 0;
}

static queue_shared *joinable(mproc_queue *q) { return q->s->variant == Q_JOINABLE ? q->s : NULL; }

int mproc__q_local_task_done(mproc_queue *q)
{
    queue_shared *s = joinable(q);
    if (!s)
        return MPROC_EINVAL;
    int rc = 0;
    mproc__q_lock(s);
    if (q_st(s)->unfinished == 0) {
        rc = MPROC_ESTATE; /* task_done() called too many times */
    } else {
        qstate *n = mproc__q_edit(s);
        n->unfinished--;
        mproc__q_commit(s);
        if (n->unfinished == 0)
            mproc__q_wake_all(s, W_TASKS);
    }
    mproc__q_unlock(s);
    return rc;
}

int mproc__q_local_join(mproc_queue *q, double timeout)
{
    queue_shared *s = joinable(q);
    if (!s)
        return MPROC_EINVAL;
    mproc__q_touch(q);
    q_waiter wt = {mproc__core_deadline(timeout), 0};
    int rc = 0;
    mproc__q_lock(s);
    while (q_st(s)->unfinished && (rc = mproc__q_block(q, &wt, W_TASKS, Q_EOS | Q_OPEN_OR_NOT)) == 0)
        ;
    mproc__q_unlock(s);
    return rc;
}

/* ------------------------------------------------------------ public */

int mproc_queue_qsize(mproc_queue *q)
{
    const core_queue_methods *m = core_queue_methods_of(q);
    return m ? m->qsize(q) : MPROC_EINVAL;
}

int mproc_queue_empty(mproc_queue *q)
{
    const core_queue_methods *m = core_queue_methods_of(q);
    return m ? m->empty(q) : MPROC_EINVAL;
}

int mproc_queue_full(mproc_queue *q)
{
    const core_queue_methods *m = core_queue_methods_of(q);
    return m ? m->full(q) : MPROC_EINVAL;
}

int mproc_queue_close(mproc_queue *q)
{
    const core_queue_methods *m = core_queue_methods_of(q);
    return m ? m->close(q) : MPROC_EINVAL;
}

int mproc_queue_join_thread(mproc_queue *q)
{
    const core_queue_methods *m = core_queue_methods_of(q);
    return m ? m->join_thread(q) : MPROC_EINVAL;
}

int mproc_queue_cancel_join_thread(mproc_queue *q)
{
    const core_queue_methods *m = core_queue_methods_of(q);
    return m ? m->cancel_join_thread(q) : MPROC_EINVAL;
}

int mproc_queue_task_done(mproc_queue *q)
{
    const core_queue_methods *m = core_queue_methods_of(q);
    return m ? m->task_done(q) : MPROC_EINVAL;
}

int mproc_queue_join(mproc_queue *q, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_queue_methods *m = core_queue_methods_of(q);
    return m ? m->join(q, timeout) : MPROC_EINVAL;
}
