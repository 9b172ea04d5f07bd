/* SPDX-License-Identifier: MIT */
/* queue.c - mproc_queue: making, sharing and freeing queues, and put/get
 * of messages that fit in the ring (queue.h tells the layout). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/methods.h"
#include "queue/queue.h"
#include "base/opts.h"

static void destroy(core_rec *r)
{
    queue_shared *s = (queue_shared *)r;
    for (int w = 0; w < W_COUNT; w++)
        mproc__be_sem_destroy(&s->sem[w]);
    mproc__be_mutex_destroy(&s->mu_get);
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
    if ((rc = mproc__be_mutex_init(&s->mu_get)) != 0) {
        mproc__be_mutex_destroy(&s->mu);
        return rc;
    }
    for (int w = 0; w < W_COUNT; w++)
        if ((rc = mproc__be_sem_init(&s->sem[w], 0)) != 0) {
            while (w-- > 0)
                mproc__be_sem_destroy(&s->sem[w]);
            mproc__be_mutex_destroy(&s->mu_get);
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
    s->mask = (cap & (cap - 1)) == 0 ? cap - 1 : 0;
    s->lanes = s->mask && cap <= Q_LANE_MAX_CAP; /* pw and cw start at 0, as the state */
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

/* Under mu: puts n messages whose frames (f bytes in all) fit in the ring,
 * one after another, once there is room for all of them: one state change,
 * one wake-up. */
static int put_frames(mproc_queue *q, q_waiter *wt, const void *const *bufs, const size_t *lens, size_t n, uint64_t f)
{
    queue_shared *s = q->s;
    for (;;) {
        qstate *st = q_st(s);
        /* No room while a stream is being written: it must not be interleaved. */
        if (!st->s_wpid && (!s->maxsize || st->count + n <= s->maxsize) && s->cap - (st->tail - st->head) >= f) {
            uint64_t pos = st->tail;
            for (size_t i = 0; i < n; i++) {
                mproc__q_ring_set_header(s, pos, lens[i]);
                if (lens[i])
                    mproc__q_ring_write(s, pos + 8, bufs[i], lens[i]);
                pos += q_frame(lens[i]);
            }
            qstate *nx = mproc__q_edit(s);
            nx->tail = pos;
            nx->count += n;
            nx->nput += n;
            if (s->variant == Q_JOINABLE)
                nx->unfinished += n;
            mproc__q_commit(s);
            mproc__q_wake_one(s, W_ITEMS); /* a getter that finds more passes it on */
            return 0;
        }
        int rc = mproc__q_block(q, wt, W_SPACE, Q_EOS);
        if (rc)
            return rc;
    }
}

/* Frames that fit in the ring go through the producers' lane if it can
 * take them, else (or once the lane has waited its spin) under the whole
 * lock, which waits for room until the deadline; a single message bigger
 * than the ring (f > cap) is streamed under the whole lock. */
static int put_any(mproc_queue *q, const void *const *bufs, const size_t *lens, size_t n, uint64_t f, double timeout)
{
    if (atomic_load(&q->closed))
        return MPROC_ECLOSED;
    mproc__q_touch(q);
    q_waiter wt = {mproc__core_deadline(timeout), 0};
    int stream = f > q->s->cap;
    int rc = stream ? Q_SLOW : mproc__q_lane_put(q, bufs, lens, n, f, timeout);
    if (rc != Q_SLOW)
        return rc;
    mproc__q_lock(q->s);
    rc = stream ? mproc__q_stream_put(q, &wt, bufs[0], lens[0]) : put_frames(q, &wt, bufs, lens, n, f);
    mproc__q_unlock(q->s);
    return rc == MPROC_ETIMEDOUT ? MPROC_EFULL : rc;
}

static int local_put(mproc_queue *q, const void *buf, size_t len, double timeout)
{
    if (!buf && len)
        return MPROC_EINVAL;
    if ((uint64_t)len > Q_MAX_MESSAGE)
        return MPROC_EMSGSIZE;
    return put_any(q, &buf, &len, 1, q_frame(len), timeout);
}

/* All or none: a batch that could never fit (bigger than the ring, or more
 * messages than maxsize) is refused rather than waited for. */
static int local_put_many(mproc_queue *q, const void *const *bufs, const size_t *lens, size_t n, double timeout)
{
    uint64_t f = 0;
    for (size_t i = 0; i < n; i++) {
        if (!bufs[i] && lens[i])
            return MPROC_EINVAL;
        if ((uint64_t)lens[i] > q->s->cap || (f += q_frame(lens[i])) > q->s->cap)
            return MPROC_EMSGSIZE;
    }
    if (q->s->maxsize && n > q->s->maxsize)
        return MPROC_EMSGSIZE;
    return put_any(q, bufs, lens, n, f, timeout);
}

/* Under mu, with plain messages at the head: takes up to max of them, of
 * at most max_bytes in all, into dest (or a new *buf). MPROC_EMSGSIZE
 * (lens[0] = its length, the message kept) when the first is too long. */
static int take(queue_shared *s, size_t max, uint64_t max_bytes, void *dest, void **buf, size_t *lens, size_t *count)
{
    qstate *st = q_st(s);
    uint64_t total, pos, end = (st->s_flags & S_ACTIVE) ? st->s_pos : st->tail;
    size_t k = mproc__q_scan(s, st->head, end, max, max_bytes, lens, &total, &pos);
    if (k == 0) {
        lens[0] = (size_t)mproc__q_ring_header(s, st->head);
        return MPROC_EMSGSIZE;
    }
    int rc = mproc__q_copy_out(s, st->head, k, lens, total, dest, buf);
    if (rc)
        return rc;
    qstate *n = mproc__q_edit(s);
    n->head = pos;
    n->count -= k;
    mproc__q_commit(s);
    mproc__q_wake_all(s, W_SPACE);
    if (n->count) /* wake-ups are one at a time: pass it on */
        mproc__q_wake_one(s, W_ITEMS);
    *count = k;
    return 0;
}

/* Under mu, the stream at the head: its reader takes all of it. */
static int take_stream(mproc_queue *q, uint64_t max_bytes, void *dest, void **buf, size_t *lens, size_t *count)
{
    qstate *st = q_st(q->s);
    if (st->s_len > max_bytes && !st->s_rpid && !(st->s_flags & S_CANCELLED)) {
        lens[0] = (size_t)st->s_len;
        return MPROC_EMSGSIZE;
    }
    void *b;
    size_t len;
    int rc = mproc__q_stream_get(q, &b, &len);
    if (rc)
        return rc;
    if (dest) { /* the caller's buffer: one copy more, for messages bigger than the ring */
        memcpy(dest, b, len);
        free(b);
    } else {
        *buf = b;
    }
    lens[0] = len;
    *count = 1;
    return 0;
}

static int local_get_many(mproc_queue *q, size_t max, size_t max_bytes, void *dest, void **buf, size_t *lens,
                          size_t *count, double timeout)
{
    if (atomic_load(&q->closed))
        return MPROC_ECLOSED;
    mproc__q_touch(q);
    queue_shared *s = q->s;
    q_waiter wt = {mproc__core_deadline(timeout), 0};
    int rc = mproc__q_lane_get(q, max, max_bytes, dest, buf, lens, count, timeout);
    if (rc != Q_SLOW)
        return rc;
    mproc__q_lock(s);
    for (;;) {
        qstate *st = q_st(s);
        if (q_stream_at_head(st)) {
            rc = take_stream(q, max_bytes, dest, buf, lens, count);
            if (rc == Q_RETRY)
                continue;
            if (rc != Q_BUSY)
                break;
        } else if (st->head != st->tail) {
            rc = take(s, max, max_bytes, dest, buf, lens, count);
            break;
        }
        if ((rc = mproc__q_block(q, &wt, W_ITEMS, Q_EOS)) != 0)
            break;
    }
    mproc__q_unlock(s);
    return rc == MPROC_ETIMEDOUT ? MPROC_EEMPTY : rc;
}

static int local_get(mproc_queue *q, void **buf, size_t *len, double timeout)
{
    size_t count;
    return local_get_many(q, 1, SIZE_MAX, NULL, buf, len, &count, timeout);
}

static const core_queue_methods local_methods = {
    .kind = K_QUEUE,
    .put = local_put,
    .get = local_get,
    .put_many = local_put_many,
    .get_many = local_get_many,
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

int mproc_queue_put_many(mproc_queue *q, const void *const *bufs, const size_t *lens, size_t n, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_queue_methods *m = core_queue_methods_of(q);
    return m && bufs && lens && n ? m->put_many(q, bufs, lens, n, timeout) : MPROC_EINVAL;
}

int mproc_queue_get_many(mproc_queue *q, size_t max_messages, size_t max_bytes, void **buf, size_t *lens,
                         size_t *count, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_queue_methods *m = core_queue_methods_of(q);
    if (!m || !buf || !lens || !count || !max_messages)
        return MPROC_EINVAL;
    return m->get_many(q, max_messages, max_bytes ? max_bytes : SIZE_MAX, NULL, buf, lens, count, timeout);
}

int mproc_queue_get_into(mproc_queue *q, void *buf, size_t cap, size_t *len, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_queue_methods *m = core_queue_methods_of(q);
    if (!m || (!buf && cap) || !len)
        return MPROC_EINVAL;
    size_t count;
    char none;
    return m->get_many(q, 1, cap, buf ? buf : &none, NULL, len, &count, timeout);
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
