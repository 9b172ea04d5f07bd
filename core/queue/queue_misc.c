/* SPDX-License-Identifier: MIT */
/* queue_misc.c - the rest of the Queue API: sizes, close and the feeder
 * thread calls (mproc has no feeder thread: put copies into shared memory
 * before it returns, so there is never anything left to flush), and
 * JoinableQueue's task_done/join. */
#include <limits.h>

#include "queue/queue.h"
#include "manager/mproxy.h"

static queue_shared *rec_of(mproc_queue *q) { return core_obj_kind(q) == K_QUEUE ? q->s : NULL; }

int mproc_queue_qsize(mproc_queue *q)
{
    if (mgr_is_proxy(q))
        return mgr_queue_op(q, 'q');
    queue_shared *s = rec_of(q);
    if (!s)
        return MPROC_EINVAL;
    q_lock(s);
    uint64_t n = q_st(s)->count;
    q_unlock(s);
    return n > INT_MAX ? INT_MAX : (int)n;
}

int mproc_queue_empty(mproc_queue *q)
{
    if (mgr_is_proxy(q))
        return mgr_queue_op(q, 'e');
    queue_shared *s = rec_of(q);
    if (!s)
        return MPROC_EINVAL;
    if (atomic_load(&q->closed))
        return MPROC_ECLOSED;
    q_lock(s);
    int empty = q_st(s)->count == 0;
    q_unlock(s);
    return empty;
}

int mproc_queue_full(mproc_queue *q)
{
    if (mgr_is_proxy(q))
        return mgr_queue_op(q, 'f');
    queue_shared *s = rec_of(q);
    if (!s)
        return MPROC_EINVAL;
    q_lock(s);
    int full = s->maxsize && q_st(s)->count >= s->maxsize;
    q_unlock(s);
    return full;
}

/* This handle stops working; its process no longer counts as a holder
 * through it (so peers blocked on the queue may learn that nobody is left). */
int mproc_queue_close(mproc_queue *q)
{
    if (mgr_is_proxy(q))
        return mgr_queue_op(q, 'c');
    if (!rec_of(q))
        return MPROC_EINVAL;
    atomic_store(&q->closed, 1);
    q_untouch(q);
    return 0;
}

int mproc_queue_join_thread(mproc_queue *q)
{
    if (mgr_is_proxy(q))
        return mgr_queue_op(q, 'j');
    queue_shared *s = rec_of(q);
    if (!s || s->variant == Q_SIMPLE)
        return MPROC_EINVAL;
    return atomic_load(&q->closed) ? 0 : MPROC_ESTATE; /* Queue.join_thread() before close() */
}

int mproc_queue_cancel_join_thread(mproc_queue *q)
{
    if (mgr_is_proxy(q))
        return mgr_queue_op(q, 'x');
    queue_shared *s = rec_of(q);
    return (!s || s->variant == Q_SIMPLE) ? MPROC_EINVAL : 0;
}

static queue_shared *joinable(mproc_queue *q)
{
    queue_shared *s = rec_of(q);
    return s && s->variant == Q_JOINABLE ? s : NULL;
}

int mproc_queue_task_done(mproc_queue *q)
{
    if (mgr_is_proxy(q))
        return mgr_queue_op(q, 't');
    queue_shared *s = joinable(q);
    if (!s)
        return MPROC_EINVAL;
    int rc = 0;
    q_lock(s);
    if (q_st(s)->unfinished == 0) {
        rc = MPROC_ESTATE; /* task_done() called too many times */
    } else {
        qstate *n = q_edit(s);
        n->unfinished--;
        q_commit(s);
        if (n->unfinished == 0)
            q_wake_all(s, W_TASKS);
    }
    q_unlock(s);
    return rc;
}

int mproc_queue_join(mproc_queue *q, double timeout)
{
    if (core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    if (mgr_is_proxy(q))
        return mgr_queue_join(q, timeout);
    queue_shared *s = joinable(q);
    if (!s)
        return MPROC_EINVAL;
    q_touch(q);
    q_waiter wt = {core_deadline(timeout), 0};
    int rc = 0;
    q_lock(s);
    while (q_st(s)->unfinished && (rc = q_block(q, &wt, W_TASKS, Q_EOS | Q_OPEN_OR_NOT)) == 0)
        ;
    q_unlock(s);
    return rc;
}
