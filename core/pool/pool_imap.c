/* SPDX-License-Identifier: MIT */
/* pool_imap.c - imap and imap_unordered: the input is read lazily by the
 * consumer's own thread, a chunk at a time, and at most `ahead` chunks
 * are in flight or waiting to be consumed (CPython's imap reads its whole
 * input at once, gh-84291). Chunk k lives in ring slot k % ahead of the
 * async, whose slot data holds the outputs then one int32 code per item. */
#include <stdlib.h>
#include <string.h>

#include "base/object.h"
#include "pool/pool.h"

struct mproc_imap {
    core_obj hdr;        /* K_IMAP: mproc_wait takes it (pool_notify.c) */
    mproc_pool *pool;
    mproc_async *a;      /* A_IMAP, `ahead` slots */
    mproc_map_fn fn;
    mproc_input_fn next;
    void *ctx;
    size_t in_size, out_size, chunksize, ahead;
    int ordered;
    size_t submitted;    /* chunks handed to the pool */
    size_t consumed;     /* ordered: chunks fully consumed (the next to read) */
    size_t *count;       /* per slot: items in its chunk */
    size_t *taken;       /* per slot: items consumed */
    size_t *first;       /* per slot: index of its first item */
    int input_done, input_err, err_reported;
    size_t items_read;
    char *buf;           /* one chunk of input */
};

/* Is slot s's chunk in use (submitted, not fully consumed)? */
static int slot_busy(const mproc_imap *m, size_t s) { return m->count[s] != 0 && m->taken[s] < m->count[s]; }

/* Reads one chunk of input and queues it (lock not held). 1 queued, 0 no
 * room or no more input, < 0 an error that is not the input's. */
static int feed_one(mproc_imap *m)
{
    mproc__core_pool_lock();
    size_t s = m->submitted % m->ahead;
    int room = !m->input_done && !slot_busy(m, s) && !(m->ordered && m->submitted - m->consumed >= m->ahead);
    mproc__core_pool_unlock();
    if (!room)
        return 0;
    size_t n = 0;
    while (n < m->chunksize) {
        int r = m->next(m->ctx, m->buf + n * m->in_size);
        if (r <= 0) {
            m->input_done = 1;
            m->input_err = r < 0 ? r : 0;
            break;
        }
        n++;
    }
    if (!n)
        return 0;
    int rc = 0;
    void *data = malloc(n * m->in_size);
    mproc__core_pool_lock();
    pool_task *t = data ? mproc__pool_task_new(m->pool, PT_CHUNK_INLINE, (be_fnptr)m->fn, m->a, s, &rc) : NULL;
    if (!t) {
        free(data);
        mproc__core_pool_unlock();
        return data ? rc : MPROC_ENOMEM;
    }
    memcpy(data, m->buf, n * m->in_size);
    t->data = data;
    t->w.datalen = n * m->in_size;
    t->w.start = m->items_read;
    t->w.count = n;
    t->w.in_size = m->in_size;
    t->w.out_size = m->out_size;
    t->one_at_a_time = 1;
    pool_slot *sl = &m->a->slots[s];
    free(sl->data);
    *sl = (pool_slot){0};
    m->count[s] = n;
    m->taken[s] = 0;
    m->first[s] = m->items_read;
    if ((rc = mproc__pool_submit(m->pool, t)) != 0) {
        m->count[s] = 0;
        mproc__pool_task_free(t); /* first: a task may live inside its async */
        mproc__pool_async_release(m->a);
    } else {
        m->items_read += n;
        m->submitted++;
    }
    mproc__core_pool_unlock();
    return rc ? rc : 1;
}

static int feed(mproc_imap *m)
{
    int r;
    while ((r = feed_one(m)) == 1)
        ;
    return r;
}

static mproc_imap *imap_new(mproc_pool *p, mproc_map_fn fn, mproc_input_fn next, void *ctx, size_t in_size,
                            size_t out_size, size_t chunksize, int ordered, int *err)
{
    int rc = 0;
    mproc_imap *m = NULL;
    if (!p || !fn || !next || !in_size || !out_size)
        rc = MPROC_EINVAL;
    else if (p->creator_pid != mproc__be_getpid())
        rc = MPROC_ESTATE;
    if (!chunksize)
        chunksize = 1;
    if (!rc && (chunksize > SIZE_MAX / 4 / in_size || chunksize > SIZE_MAX / 4 / out_size))
        rc = MPROC_EINVAL;
    if (!rc && !(m = calloc(1, sizeof *m)))
        rc = MPROC_ENOMEM;
    if (rc)
        goto out;
    m->hdr.magic = CORE_OBJ_MAGIC;
    m->hdr.kind = K_IMAP;
    m->pool = p;
    m->fn = fn;
    m->next = next;
    m->ctx = ctx;
    m->in_size = in_size;
    m->out_size = out_size;
    m->chunksize = chunksize;
    m->ordered = ordered;
    m->ahead = 2 * (size_t)p->nworkers + 1;
    m->count = calloc(m->ahead, sizeof *m->count);
    m->taken = calloc(m->ahead, sizeof *m->taken);
    m->first = calloc(m->ahead, sizeof *m->first);
    m->buf = malloc(chunksize * in_size);
    if (!m->count || !m->taken || !m->first || !m->buf || !(m->a = mproc__pool_async_new(A_IMAP, m->ahead, NULL, &rc))) {
        rc = rc ? rc : MPROC_ENOMEM;
        goto out;
    }
    mproc__core_pool_lock();
    rc = p->state != POOL_RUNNING ? MPROC_ESTATE : 0;
    mproc__core_pool_unlock();
    if (!rc) {
        rc = feed(m);
        rc = rc == 1 ? 0 : rc;
    }
out:
    if (rc && m) {
        mproc_imap_free(m);
        m = NULL;
    }
    if (err)
        *err = rc;
    return m;
}

mproc_imap *mproc_pool_imap(mproc_pool *p, mproc_map_fn fn, mproc_input_fn next, void *ctx, size_t in_size,
                            size_t out_size, size_t chunksize, int *err)
{
    return imap_new(p, fn, next, ctx, in_size, out_size, chunksize, 1, err);
}

mproc_imap *mproc_pool_imap_unordered(mproc_pool *p, mproc_map_fn fn, mproc_input_fn next, void *ctx,
                                      size_t in_size, size_t out_size, size_t chunksize, int *err)
{
    return imap_new(p, fn, next, ctx, in_size, out_size, chunksize, 0, err);
}

/* The slot to read from next, or -1 (lock held). */
static long ready_slot(mproc_imap *m)
{
    if (m->ordered) {
        if (m->consumed == m->submitted)
            return -1;
        size_t s = m->consumed % m->ahead;
        return m->a->slots[s].done ? (long)s : -1;
    }
    for (size_t s = 0; s < m->ahead; s++)
        if (slot_busy(m, s) && m->a->slots[s].done)
            return (long)s;
    return -1;
}

static int some_ready(mproc_async *a, void *ctx)
{
    (void)a;
    return ready_slot(ctx) >= 0;
}

static int in_flight(const mproc_imap *m)
{
    for (size_t s = 0; s < m->ahead; s++)
        if (slot_busy(m, s))
            return 1;
    return 0;
}

/* mproc_wait's question: would mproc_imap_next return without waiting
 * for a worker (an item is there, or nothing is in flight: the end, an
 * error, or input to read)? */
int mproc__pool_imap_readable(mproc_imap *m)
{
    if (!m || core_obj_kind(m) != K_IMAP)
        return MPROC_EINVAL;
    mproc__core_pool_lock();
    int r = ready_slot(m) >= 0 || !in_flight(m);
    mproc__core_pool_unlock();
    return r;
}

/* Takes the next item of slot s (lock held). */
static int take(mproc_imap *m, size_t s, void *out, size_t *index)
{
    pool_slot *sl = &m->a->slots[s];
    size_t i = m->taken[s]++;
    if (index)
        *index = m->first[s] + i;
    int rc = sl->status;
    if (rc == 0) {
        size_t outlen = m->count[s] * m->out_size;
        int32_t code;
        if (!sl->data || sl->len < outlen + m->count[s] * sizeof code) {
            rc = MPROC_EBROKEN; /* a short reply: never happens */
        } else {
            memcpy(&code, (char *)sl->data + outlen + i * sizeof code, sizeof code);
            if (code) {
                rc = MPROC_ETASK;
                mproc__pool_set_failure(rc, m->first[s] + i, code);
            } else if (out) {
                memcpy(out, (char *)sl->data + i * m->out_size, m->out_size);
            }
        }
    } else if (rc == MPROC_EWORKERLOST) {
        mproc__pool_set_failure(rc, m->first[s] + i, 0);
    }
    if (m->taken[s] == m->count[s]) {
        free(sl->data);
        *sl = (pool_slot){0};
        m->count[s] = m->taken[s] = 0;
        if (m->ordered)
            m->consumed++;
    }
    return rc;
}

int mproc_imap_next(mproc_imap *m, void *out, size_t *index, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    if (!m)
        return MPROC_EINVAL;
    double deadline = mproc__core_deadline(timeout);
    int rc = feed(m);
    if (rc < 0)
        return rc;
    mproc__core_pool_lock();
    for (;;) {
        long s = ready_slot(m);
        if (s >= 0) {
            rc = take(m, (size_t)s, out, index);
            break;
        }
        if (!in_flight(m)) {
            if (m->input_err && !m->err_reported) {
                m->err_reported = 1;
                rc = m->input_err;
            } else {
                rc = MPROC_EOS;
            }
            break;
        }
        rc = mproc__pool_async_wait_locked(m->a, deadline, some_ready, m);
        if (rc)
            break;
    }
    mproc__core_pool_unlock();
    if (rc != MPROC_ETIMEDOUT && rc != MPROC_EINTR && feed(m) < 0)
        return rc ? rc : 0; /* the next call reports a feeding error again */
    return rc;
}

void mproc_imap_free(mproc_imap *m)
{
    if (!m)
        return;
    if (m->a) {
        mproc__core_pool_lock();
        m->a->user_freed = 1; /* its queued chunks are dropped */
        mproc__pool_async_release(m->a);
        mproc__core_pool_unlock();
    }
    free(m->count);
    free(m->taken);
    free(m->first);
    free(m->buf);
    m->hdr.magic = 0;
    free(m);
}
