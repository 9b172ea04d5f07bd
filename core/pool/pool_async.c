/* SPDX-License-Identifier: MIT */
/* pool_async.c - mproc_async: a pool call's outcome, its waiters and its
 * callbacks. One slot per task; the async is ready once every task ended
 * and the callbacks ran. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool.h"
#include "base/opts.h"

static _Atomic(be_tlock *) pool_mu;

void mproc__core_pool_lock(void)
{
    be_tlock *mu;
    while (!(mu = atomic_load_explicit(&pool_mu, memory_order_acquire))) {
        mproc__be_core_lock();
        if (!atomic_load_explicit(&pool_mu, memory_order_relaxed) && mproc__be_tlock_new(&mu) == 0)
            atomic_store_explicit(&pool_mu, mu, memory_order_release);
        mproc__be_core_unlock();
        if (!atomic_load_explicit(&pool_mu, memory_order_acquire))
            mproc__be_sleep(0.01); /* no memory for a mutex: wait for some */
    }
    mproc__be_tlock_lock(mu);
}

void mproc__core_pool_unlock(void) { mproc__be_tlock_unlock(atomic_load_explicit(&pool_mu, memory_order_relaxed)); }

/* Bells of finished waits, for the next (process-wide, under the lock). */
static pool_waiter *spare_waiters;

/* The async whose callback this thread is running: inside its callback an
 * async is already readable, though not ready yet. */
static _Thread_local mproc_async *in_callback;

static int readable(const mproc_async *a) { return a->ready || in_callback == a; }

/* A handle the caller may use: not freed, except inside its own callback
 * (the pool keeps it alive until the callback returned). */
int mproc__pool_async_usable(const mproc_async *a)
{
    return a && core_obj_kind(a) == K_ASYNC && (!a->user_freed || in_callback == a);
}

static int usable(const mproc_async *a) { return mproc__pool_async_usable(a); }

static _Thread_local struct {
    int set;
    size_t index;
    int code;
} last_failure;

void mproc__pool_set_failure(int rc, size_t index, int code)
{
    last_failure.set = rc == MPROC_ETASK || rc == MPROC_EWORKERLOST;
    last_failure.index = index;
    last_failure.code = code;
}

int mproc_pool_failure(size_t *index, int *code)
{
    if (!last_failure.set)
        return MPROC_ESTATE;
    if (index)
        *index = last_failure.index;
    if (code)
        *code = last_failure.code;
    return 0;
}

mproc_async *mproc__pool_async_new(int kind, size_t ntasks, const mproc_async_opts *opts, int *err)
{
    mproc_async_opts cb = MPROC_ASYNC_OPTS_INIT;
    if (opts && mproc__opts_read(&cb, sizeof cb, opts, NULL, 0)) {
        *err = MPROC_EINVAL;
        return NULL;
    }
    mproc_async *a = calloc(1, sizeof *a);
    if (a)
        a->slots = ntasks <= 1 ? &a->slot1 : calloc(ntasks, sizeof *a->slots);
    if (!a || !a->slots) {
        free(a);
        *err = MPROC_ENOMEM;
        return NULL;
    }
    a->hdr.magic = CORE_OBJ_MAGIC;
    a->hdr.kind = K_ASYNC;
    a->kind = kind;
    a->refs = 1;
    a->ntasks = ntasks;
    a->nslots = ntasks ? ntasks : 1;
    a->cb = cb;
    return a;
}

/* The last map's segment, kept for the next (lock held): workers still
 * have it mapped and its pages are in, so a map of the same size costs no
 * hand-over, no mapping and no page faults. */
#define SPARE_MAX ((size_t)256 << 20)
static pool_seg *spare;
static long spare_pid;
static uint64_t last_seg_id;

static void seg_drop(pool_seg *g)
{
    mproc__be_shm_close(g->map); /* the memory goes with the workers' mappings */
    free(g);
}

pool_seg *mproc__pool_seg_take(size_t size, int *err)
{
    if (spare && spare_pid != mproc__be_getpid())
        spare = NULL; /* a forked child: the parent's, not ours to touch */
    if (spare && mproc__be_shm_size(spare->map) >= size) {
        pool_seg *g = spare;
        spare = NULL;
        return g;
    }
    pool_seg *g = calloc(1, sizeof *g);
    int rc = g ? mproc__be_shm_create(size, &g->map) : MPROC_ENOMEM;
    if (rc) {
        free(g);
        *err = rc;
        return NULL;
    }
    g->id = ++last_seg_id;
    return g;
}

static void seg_give(pool_seg *g)
{
    int ours = spare && spare_pid == mproc__be_getpid();
    if (mproc__be_shm_size(g->map) > SPARE_MAX || (ours && mproc__be_shm_size(spare->map) >= mproc__be_shm_size(g->map))) {
        seg_drop(g);
        return;
    }
    if (ours)
        seg_drop(spare);
    spare = g;
    spare_pid = mproc__be_getpid();
}

static mproc_async *live_asyncs;

void mproc__pool_async_track(mproc_async *a)
{
    if (a->live)
        return;
    a->live = 1;
    a->live_next = live_asyncs;
    if (live_asyncs)
        live_asyncs->live_prev = a;
    live_asyncs = a;
}

static void untrack(mproc_async *a)
{
    if (!a->live)
        return;
    if (a->live_prev)
        a->live_prev->live_next = a->live_next;
    else if (live_asyncs == a)
        live_asyncs = a->live_next;
    if (a->live_next)
        a->live_next->live_prev = a->live_prev;
}

static void destroy(mproc_async *a)
{
    untrack(a);
    for (size_t i = 0; i < a->nslots; i++)
        free(a->slots[i].data);
    if (a->slots != &a->slot1)
        free(a->slots);
    if (a->seg)
        seg_give(a->seg);
    a->hdr.magic = 0;
    free(a);
}

void mproc__pool_async_release(mproc_async *a)
{
    if (--a->refs == 0)
        destroy(a);
}

void mproc__pool_async_wake_all(mproc_async *a)
{
    mproc__pool_notify(); /* mproc_wait's view (pool_notify.c) */
    for (pool_waiter *w = a->waiters; w; w = w->next)
        mproc__be_bell_ring(w->bell);
}

/* Copies a map's output to the caller's buffer unless the caller gave up
 * or cancelled it (nothing ran: the buffer stays as it was). */
static void map_copy_out(mproc_async *a)
{
    if (a->kind != A_MAP || !a->seg || a->user_freed || a->cancelled || !a->out_total)
        return;
    memcpy(a->out, (char *)mproc__be_shm_addr(a->seg->map) + a->out_off, a->out_total);
}

void mproc__pool_async_task_done(mproc_async *a, size_t slot, int status, int code, size_t index, void *data,
                          size_t len)
{
    mproc__core_pool_lock();
    pool_slot *s = &a->slots[slot];
    free(s->data);
    *s = (pool_slot){1, status, code, index, data, len};
    if (status && !a->status) {
        a->status = status;
        a->fail_index = index;
        a->fail_code = code;
    }
    a->ndone++;
    int last = a->kind != A_IMAP && a->ndone == a->ntasks;
    if (a->kind == A_IMAP)
        mproc__pool_async_wake_all(a);
    if (!last) {
        mproc__pool_async_release(a);
        mproc__core_pool_unlock();
        return;
    }
    map_copy_out(a);
    mproc_async_opts cb = a->cb;
    int st = a->status;
    if (!cb.callback && !cb.error_callback) { /* ready at once, in the same hold */
        a->ready = 1;
        mproc__pool_async_wake_all(a);
        mproc__pool_async_release(a);
        mproc__core_pool_unlock();
        return;
    }
    mproc__core_pool_unlock();
    /* Python: ready() turns true only after the callback ran. */
    in_callback = a;
    if (st == 0 && cb.callback)
        cb.callback(a, cb.ctx);
    else if (st != 0 && cb.error_callback)
        cb.error_callback(a, st, cb.ctx);
    in_callback = NULL;
    mproc__core_pool_lock();
    a->ready = 1;
    mproc__pool_async_wake_all(a);
    mproc__pool_async_release(a);
    mproc__core_pool_unlock();
}

int mproc__pool_async_wait_locked(mproc_async *a, double deadline, int (*done)(mproc_async *a, void *ctx), void *ctx)
{
    if (done(a, ctx))
        return 0;
    pool_waiter *w = spare_waiters;
    if (w) {
        spare_waiters = w->next;
    } else {
        w = calloc(1, sizeof *w);
        if (!w || mproc__be_bell_new(&w->bell) != 0) {
            free(w);
            return MPROC_ENOMEM;
        }
    }
    w->next = a->waiters;
    a->waiters = w;
    int rc = 0;
    while (!done(a, ctx)) {
        double rem = mproc__core_remaining(deadline);
        if (rem == 0) {
            rc = MPROC_ETIMEDOUT;
            break;
        }
        mproc__core_pool_unlock();
        int r = mproc__be_bell_wait(w->bell, rem);
        mproc__core_pool_lock();
        if (r == MPROC_EINTR && !done(a, ctx)) {
            rc = r;
            break;
        }
        if (r != 0 && r != MPROC_ETIMEDOUT && r != MPROC_EINTR) {
            rc = r;
            break;
        }
    }
    pool_waiter **pp = &a->waiters;
    while (*pp != w)
        pp = &(*pp)->next;
    *pp = w->next;
    w->next = spare_waiters;
    spare_waiters = w;
    return rc;
}

static int is_ready(mproc_async *a, void *ctx)
{
    (void)ctx;
    return readable(a);
}

static int copy_bytes(const void *src, size_t n, void **out, size_t *len)
{
    if (out) {
        *out = NULL;
        if (n) {
            if (!(*out = malloc(n)))
                return MPROC_ENOMEM;
            memcpy(*out, src, n);
        }
    }
    if (len)
        *len = n;
    return 0;
}

int mproc_async_get(mproc_async *a, double timeout, void **out, size_t *len)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    if (!usable(a) || a->kind == A_IMAP || a->kind == A_DONE)
        return MPROC_EINVAL;
    mproc__core_pool_lock();
    int rc = mproc__pool_async_wait_locked(a, mproc__core_deadline(timeout), is_ready, NULL);
    if (rc == 0)
        rc = a->status;
    if (rc == 0 && a->kind == A_APPLY)
        rc = copy_bytes(a->slots[0].data, a->slots[0].len, out, len);
    else if (len)
        *len = 0;
    if (rc != 0 && out)
        *out = NULL;
    mproc__core_pool_unlock();
    return rc;
}

int mproc_async_item(mproc_async *a, size_t i, void **out, size_t *len)
{
    if (!usable(a) || a->kind != A_STARMAP)
        return MPROC_EINVAL;
    mproc__core_pool_lock();
    int rc = !readable(a) ? MPROC_ESTATE : i >= a->ntasks ? MPROC_EINVAL : a->status;
    if (rc == 0)
        rc = copy_bytes(a->slots[i].data, a->slots[i].len, out, len);
    mproc__core_pool_unlock();
    return rc;
}

int mproc_async_wait(mproc_async *a, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    if (!usable(a) || a->kind == A_IMAP || a->kind == A_DONE)
        return MPROC_EINVAL;
    mproc__core_pool_lock();
    int rc = mproc__pool_async_wait_locked(a, mproc__core_deadline(timeout), is_ready, NULL);
    mproc__core_pool_unlock();
    return rc;
}

int mproc_async_ready(mproc_async *a)
{
    if (!usable(a))
        return MPROC_EINVAL;
    mproc__core_pool_lock();
    int r = a->ready;
    mproc__core_pool_unlock();
    return r;
}

int mproc_async_successful(mproc_async *a)
{
    if (!usable(a))
        return MPROC_EINVAL;
    mproc__core_pool_lock();
    int r = !readable(a) ? MPROC_ESTATE : a->status == 0;
    mproc__core_pool_unlock();
    return r;
}

int mproc_async_failure(mproc_async *a, size_t *index, int *code)
{
    if (!usable(a))
        return MPROC_EINVAL;
    mproc__core_pool_lock();
    int rc = !readable(a) || (a->status != MPROC_ETASK && a->status != MPROC_EWORKERLOST) ? MPROC_ESTATE : 0;
    if (rc == 0) {
        if (index)
            *index = a->fail_index;
        if (code)
            *code = a->fail_code;
    }
    mproc__core_pool_unlock();
    return rc;
}

void mproc_async_free(mproc_async *a)
{
    if (!a)
        return;
    mproc__core_pool_lock();
    if (!a->user_freed) {
        a->user_freed = 1;
        mproc__pool_async_release(a);
    }
    mproc__core_pool_unlock();
}
