/* SPDX-License-Identifier: MIT */
/* lockrec.c - Lock and RLock on a robust be_mutex. The owner (process and
 * thread) is recorded so that RLock can count, Condition can check that
 * the caller holds the lock, and a release by anyone else is refused.
 * Owner and count are only ever written by the holder, under the mutex, and
 * a thread only needs to recognise its own writes: relaxed atomics do. */
#include "sync/sync.h"

static int mine(lockrec *l)
{
    return atomic_load_explicit(&l->owner_pid, memory_order_relaxed) == (uint64_t)mproc__be_getpid() &&
           atomic_load_explicit(&l->owner_tid, memory_order_relaxed) == mproc__be_thread_id();
}

int mproc__lockrec_init(lockrec *l, int recursive)
{
    atomic_init(&l->owner_pid, 0);
    atomic_init(&l->owner_tid, 0);
    atomic_init(&l->count, 0);
    l->recursive = recursive != 0;
    return mproc__be_mutex_init(&l->m);
}

void mproc__lockrec_destroy(lockrec *l) { mproc__be_mutex_destroy(&l->m); }

int mproc__lockrec_is_mine(lockrec *l) { return atomic_load_explicit(&l->count, memory_order_relaxed) > 0 && mine(l); }

int mproc__lockrec_acquire(lockrec *l, double timeout)
{
    if (l->recursive && mproc__lockrec_is_mine(l)) {
        if (atomic_load_explicit(&l->count, memory_order_relaxed) == UINT32_MAX)
            return MPROC_ESTATE;
        atomic_fetch_add_explicit(&l->count, 1, memory_order_relaxed);
        return 0;
    }
    int rc = mproc__be_mutex_lock(&l->m, timeout);
    if (rc == 0 || rc == MPROC_EOWNERDEAD) {
        atomic_store_explicit(&l->owner_pid, (uint64_t)mproc__be_getpid(), memory_order_relaxed);
        atomic_store_explicit(&l->owner_tid, mproc__be_thread_id(), memory_order_relaxed);
        atomic_store_explicit(&l->count, 1, memory_order_relaxed);
    }
    return rc;
}

int mproc__lockrec_release(lockrec *l)
{
    if (!mproc__lockrec_is_mine(l))
        return MPROC_ESTATE; /* unlocked, or held by another thread/process */
    if (atomic_fetch_sub_explicit(&l->count, 1, memory_order_relaxed) > 1)
        return 0;
    atomic_store_explicit(&l->owner_tid, 0, memory_order_relaxed);
    atomic_store_explicit(&l->owner_pid, 0, memory_order_relaxed);
    return mproc__be_mutex_unlock(&l->m);
}

uint32_t mproc__lockrec_release_all(lockrec *l)
{
    uint32_t n = atomic_load_explicit(&l->count, memory_order_relaxed);
    atomic_store_explicit(&l->count, 1, memory_order_relaxed);
    mproc__lockrec_release(l);
    return n;
}

int mproc__lockrec_restore(lockrec *l, uint32_t count)
{
    int rc = mproc__be_mutex_lock(&l->m, MPROC_FOREVER);
    if (rc == 0 || rc == MPROC_EOWNERDEAD) {
        atomic_store_explicit(&l->owner_pid, (uint64_t)mproc__be_getpid(), memory_order_relaxed);
        atomic_store_explicit(&l->owner_tid, mproc__be_thread_id(), memory_order_relaxed);
        atomic_store_explicit(&l->count, count, memory_order_relaxed);
    }
    return rc;
}

int mproc__lockrec_take(lockrec *l)
{
    int rc = mproc__lockrec_acquire(l, MPROC_FOREVER);
    return rc == MPROC_EOWNERDEAD ? 0 : rc;
}
