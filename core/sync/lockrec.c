/* SPDX-License-Identifier: MIT */
/* lockrec.c - Lock and RLock on a robust be_mutex. The mutex knows its
 * holder (mproc__be_mutex_held, and unlock refuses anyone else), so a Lock
 * is its mutex and nothing more: an uncontended acquire+release is the
 * mutex's own two atomic operations (issue 19). An RLock adds a recursion
 * count, written only by the holder under the mutex: relaxed loads and
 * stores do, as a thread only needs to recognise its own writes. */
#include "sync/sync.h"

int mproc__lockrec_init(lockrec *l, int recursive)
{
    atomic_init(&l->count, 0);
    l->recursive = recursive != 0;
    return mproc__be_mutex_init(&l->m);
}

void mproc__lockrec_destroy(lockrec *l) { mproc__be_mutex_destroy(&l->m); }

int mproc__lockrec_is_mine(lockrec *l) { return mproc__be_mutex_held(&l->m); }

static uint32_t count(lockrec *l) { return atomic_load_explicit(&l->count, memory_order_relaxed); }

static void set_count(lockrec *l, uint32_t n) { atomic_store_explicit(&l->count, n, memory_order_relaxed); }

/* Takes the mutex; an RLock then has `levels` levels. */
static int lock_levels(lockrec *l, double timeout, uint32_t levels)
{
    int rc = mproc__be_mutex_lock(&l->m, timeout);
    if (l->recursive && (rc == 0 || rc == MPROC_EOWNERDEAD))
        set_count(l, levels);
    return rc;
}

int mproc__lockrec_acquire(lockrec *l, double timeout)
{
    if (l->recursive && mproc__be_mutex_held(&l->m)) {
        uint32_t n = count(l);
        if (n == UINT32_MAX)
            return MPROC_ESTATE;
        set_count(l, n + 1);
        return 0;
    }
    return lock_levels(l, timeout, 1);
}

int mproc__lockrec_release(lockrec *l)
{
    if (l->recursive) {
        if (!mproc__be_mutex_held(&l->m))
            return MPROC_ESTATE; /* unlocked, or held by another thread/process */
        uint32_t n = count(l);
        set_count(l, n - 1);
        if (n > 1)
            return 0;
    }
    return mproc__be_mutex_unlock(&l->m); /* MPROC_ESTATE if not this thread's */
}

uint32_t mproc__lockrec_release_all(lockrec *l)
{
    uint32_t n = 1;
    if (l->recursive) {
        n = count(l);
        set_count(l, 1);
    }
    mproc__lockrec_release(l);
    return n;
}

void mproc__lockrec_abandon_if_mine(lockrec *l)
{
    if (!mproc__be_mutex_held(&l->m))
        return;
    set_count(l, 0);
    mproc__be_mutex_abandon(&l->m);
}

int mproc__lockrec_restore(lockrec *l, uint32_t levels) { return lock_levels(l, MPROC_FOREVER, levels); }

int mproc__lockrec_take(lockrec *l)
{
    int rc = mproc__lockrec_acquire(l, MPROC_FOREVER);
    return rc == MPROC_EOWNERDEAD ? 0 : rc;
}
