/* SPDX-License-Identifier: MIT */
/* queue.c - mproc_queue: making, sharing and freeing queues, and put/get
 * of messages that fit in the ring (queue.h tells the layout). */
#include <stdlib.h>

#include "queue/methods.h"
#include "queue/queue.h"
#include "base/opts.h"

static void destroy(core_rec *r)
{
    queue_shared *s = (queue_shared *)r;
    for (int w = 0; w < W_COUNT; w++)
        mproc__be_sem_destroy(&s->sem[w]);
    mproc__be_mutex_destroy(&s->mu);
    mproc__core_arena_free(s);
}

static const core_queue_methods local_methods;

/* A handle around a record that holds a reference for us; registers this
 * process as a holder. */
static void *adopt(core_rec *rec, int *err)
{
    mproc_queue *q = mproc__core_handle_new(sizeof *q, K_QUEUE, err);
    if (!q)
        return NULL;
    long me = mproc__be_getpid();
    q->h.methods = &local_methods;
    q->s = (queue_shared *)rec;
    q->owner_pid = me;
    atomic_init(&q->reg_pid, me);
    atomic_init(&q->closed, 0);
    mproc__q_lock(q->s);
    mproc__q_hold(q->s, (uint64_t)me, 1);
    mproc__q_unlock(q->s);
    return q;
}

static int init_sync(queue_shared *s)
{
    int rc = mproc__be_mutex_init(&s->mu);
    if (rc)
        return rc;
    for (int w = 0; w < W_COUNT; w++)
        if ((rc = mproc__be_sem_init(&s->sem[w], 0)) != 0) {
            while (w-- > 0)
                mproc__be_sem_destroy(&s->sem[w]);
            mproc__be_mutex_destroy(&s->mu);
            return rc;
        }
    return 0;
}

mproc_queue *mproc_queue_new_ex(const mproc_queue_opts *opts, int *err)
{
    mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
    mproc_queue *q = NULL;
    int rc = 0;
    mproc__core_ensure_init();
    if (opts && mproc__opts_read(&o, sizeof o, opts, NULL, 0)) {
        rc = MPROC_EINVAL;
        goto out;
    }
    uint64_t cap = o.capacity ? q_round8(o.capacity) : MPROC_QUEUE_DEFAULT_CAPACITY;
    if ((o.kind != MPROC_QUEUE_PLAIN && o.kind != MPROC_QUEUE_SIMPLE && o.kind != MPROC_QUEUE_JOINABLE) ||
        (o.kind == MPROC_QUEUE_SIMPLE && o.maxsize) || o.capacity > Q_MAX_CAPACITY || cap < Q_MIN_CAPACITY) {
        rc = MPROC_EINVAL;
        goto out;
    }
    /* Zeroed: both state copies start empty. Past 64 KiB the block gets a
     * segment of its own, whose pages cost nothing until the ring uses them. */
    queue_shared *s = mproc__core_arena_alloc(sizeof *s + (size_t)cap, &rc);
    if (!s)
        goto out;
    if ((rc = init_sync(s))) {
        mproc__core_arena_free(s);
        goto out;
    }
    s->variant = (uint32_t)o.kind;
    s->maxsize = o.maxsize;
    s->cap = cap;
    s->rec.kind = K_QUEUE;
    atomic_init(&s->rec.refs, 1);
    if (!(q = adopt(&s->rec, &rc)))
        destroy(&s->rec);
out:
    if (err)
        *err = q ? 0 : rc;
    return q;
}

mproc_queue *mproc_queue_new(size_t maxsize, int *err)
{
    mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
    o.maxsize = maxsize;
    return mproc_queue_new_ex(&o, err);
}

mproc_queue *mproc_simplequeue_new(int *err)
{
    mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
    o.kind = MPROC_QUEUE_SIMPLE;
    return mproc_queue_new_ex(&o, err);
}

mproc_queue *mproc_joinablequeue_new(size_t maxsize, int *err)
{
    mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
    o.kind = MPROC_QUEUE_JOINABLE;
    o.maxsize = maxsize;
    return mproc_queue_new_ex(&o, err);
}

static void local_free(mproc_queue *q)
{
    mproc__q_untouch(q);
    /* A handle inherited across fork holds no reference of this process. */
    if (q->owner_pid == mproc__be_getpid())
        mproc__core_rec_release(&q->s->rec, destroy);
    mproc__core_handle_drop(q);
}

/* ------------------------------------------------------------ local put, get */

static int local_put(mproc_queue *q, const void *buf, size_t len, double timeout)
{
    if (!buf && len)
        return MPROC_EINVAL;
    if ((uint64_t)len > Q_MAX_MESSAGE)
        return MPROC_EMSGSIZE;
    if (atomic_load(&q->closed))
        return MPROC_ECLOSED;
    mproc__q_touch(q);
    queue_shared *s = q->s;
    uint64_t f = q_frame(len);
    q_waiter wt = {mproc__core_deadline(timeout), 0};
    int rc;
    mproc__q_lock(s);
    if (f > s->cap) {
        rc = mproc__q_stream_put(q, &wt, buf, len);
    } else {
        for (;;) {
            qstate *st = q_st(s);
            /* No room while a stream is being written: it must not be interleaved. */
            if (!st->s_wpid && (!s->maxsize || st->count < s->maxsize) && s->cap - (st->tail - st->head) >= f) {
                mproc__q_ring_set_header(s, st->tail, len);
                if (len)
                    mproc__q_ring_write(s, st->tail + 8, buf, len);
                qstate *n = mproc__q_edit(s);
                n->tail += f;
                n->count++;
                if (s->variant == Q_JOINABLE)
                    n->unfinished++;
                mproc__q_commit(s);
                mproc__q_wake_one(s, W_ITEMS);
                rc = 0;
                break;
            }
            if ((rc = mproc__q_block(q, &wt, W_SPACE, Q_EOS)) != 0)
                break;
        }
    }
    mproc__q_unlock(s);
    return rc == MPROC_ETIMEDOUT ? MPROC_EFULL : rc;
}

/* Under mu: takes the message at the head (not a stream). */
static int take(queue_shared *s, void **buf, size_t *len)
{
    qstate *st = q_st(s);
    uint64_t l = mproc__q_ring_header(s, st->head);
    void *out = malloc(l ? (size_t)l : 1);
    if (!out)
        return MPROC_ENOMEM;
    if (l)
        mproc__q_ring_read(s, st->head + 8, out, l);
    qstate *n = mproc__q_edit(s);
    n->head += q_frame(l);
    n->count--;
    mproc__q_commit(s);
    mproc__q_wake_all(s, W_SPACE);
    if (n->count) /* wake-ups are one at a time: pass it on */
        mproc__q_wake_one(s, W_ITEMS);
    *buf = out;
    *len = (size_t)l;
    return 0;
}

static int local_get(mproc_queue *q, void **buf, size_t *len, double timeout)
{
    if (atomic_load(&q->closed))
        return MPROC_ECLOSED;
    mproc__q_touch(q);
    queue_shared *s = q->s;
    q_waiter wt = {mproc__core_deadline(timeout), 0};
    int rc;
    mproc__q_lock(s);
    for (;;) {
        qstate *st = q_st(s);
        if (q_stream_at_head(st)) {
            rc = mproc__q_stream_get(q, buf, len);
            if (rc == Q_RETRY)
                continue;
            if (rc != Q_BUSY)
                break;
        } else if (st->head != st->tail) {
            rc = take(s, buf, len);
            break;
        }
        if ((rc = mproc__q_block(q, &wt, W_ITEMS, Q_EOS)) != 0)
            break;
    }
    mproc__q_unlock(s);
    return rc == MPROC_ETIMEDOUT ? MPROC_EEMPTY : rc;
}

static const core_queue_methods local_methods = {
    .kind = K_QUEUE,
    .put = local_put,
    .get = local_get,
    .qsize = mproc__q_local_qsize,
    .empty = mproc__q_local_empty,
    .full = mproc__q_local_full,
    .close = mproc__q_local_close,
    .join_thread = mproc__q_local_join_thread,
    .cancel_join_thread = mproc__q_local_cancel_join_thread,
    .task_done = mproc__q_local_task_done,
    .join = mproc__q_local_join,
    .free = local_free,
};

/* ------------------------------------------------------------ public */

int mproc_queue_put(mproc_queue *q, const void *buf, size_t len, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_queue_methods *m = core_queue_methods_of(q);
    return m ? m->put(q, buf, len, timeout) : MPROC_EINVAL;
}

int mproc_queue_get(mproc_queue *q, void **buf, size_t *len, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_queue_methods *m = core_queue_methods_of(q);
    return m && buf && len ? m->get(q, buf, len, timeout) : MPROC_EINVAL;
}

void mproc_queue_free(mproc_queue *q)
{
    const core_queue_methods *m = core_queue_methods_of(q);
    if (m && !core_obj_borrowed(q))
        m->free(q);
}

int mproc_queue_put_nowait(mproc_queue *q, const void *buf, size_t len)
{
    return mproc_queue_put(q, buf, len, 0);
}

int mproc_queue_get_nowait(mproc_queue *q, void **buf, size_t *len)
{
    return mproc_queue_get(q, buf, len, 0);
}

int mproc__core_queue_readable(void *obj)
{
    if (core_obj_kind(obj) != K_QUEUE)
        return MPROC_EINVAL;
    mproc_queue *q = obj;
    mproc__q_lock(q->s);
    qstate *st = q_st(q->s);
    int ready = st->count > 0 && !(q_stream_at_head(st) && (st->s_rpid || (st->s_flags & S_CANCELLED)));
    mproc__q_unlock(q->s);
    return ready;
}

/* ------------------------------------------------------------- sharing */

static core_rec *record(const void *obj) { return &((const mproc_queue *)obj)->s->rec; }

static void free_obj(void *obj) { mproc_queue_free(obj); }

const core_share_ops mproc__core_queue_ops = {
    .kind = K_QUEUE,
    .record = record,
    .dep = mproc__core_no_dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
    .handover = mproc__core_queue_handover,
    .readable = mproc__core_queue_readable,
};
