/* SPDX-License-Identifier: MIT */
/* lockrec.c - Lock and RLock on a robust be_mutex. The owner (process and
 * thread) is recorded so that RLock can count, Condition can check that
 * the caller holds the lock, and a release by anyone else is refused.
 * Owner and count are only ever written by the holder, under the mutex, and
 * a thread only needs to recognise its own writes: relaxed atomics do. */
#include "sync/sync.h"

static int mine(lockrec *l)
{
    return atomic_load_explicit(&l->owner_pid, memory_order_relaxed) == (uint64_t)be_getpid() &&
           atomic_load_explicit(&l->owner_tid, memory_order_relaxed) == be_thread_id();
}

int lockrec_init(lockrec *l, int recursive)
{
    atomic_init(&l->owner_pid, 0);
    atomic_init(&l->owner_tid, 0);
    atomic_init(&l->count, 0);
    l->recursive = recursive != 0;
    return be_mutex_init(&l->m);
}

void lockrec_destroy(lockrec *l) { be_mutex_destroy(&l->m); }

int lockrec_is_mine(lockrec *l) { return atomic_load_explicit(&l->count, memory_order_relaxed) > 0 && mine(l); }

int lockrec_acquire(lockrec *l, double timeout)
{
    if (l->recursive && lockrec_is_mine(l)) {
        if (atomic_load_explicit(&l->count, memory_order_relaxed) == UINT32_MAX)
            return MPROC_ESTATE;
        atomic_fetch_add_explicit(&l->count, 1, memory_order_relaxed);
        return 0;
    }
    int rc = be_mutex_lock(&l->m, timeout);
    if (rc == 0 || rc == MPROC_EOWNERDEAD) {
        atomic_store_explicit(&l->owner_pid, (uint64_t)be_getpid(), memory_order_relaxed);
        atomic_store_explicit(&l->owner_tid, be_thread_id(), memory_order_relaxed);
        atomic_store_explicit(&l->count, 1, memory_order_relaxed);
    }
    return rc;
}

int lockrec_release(lockrec *l)
{
    if (!lockrec_is_mine(l))
        return MPROC_ESTATE; /* unlocked, or held by another thread/process */
    if (atomic_fetch_sub_explicit(&l->count, 1, memory_order_relaxed) > 1)
        return 0;
    atomic_store_explicit(&l->owner_tid, 0, memory_order_relaxed);
    atomic_store_explicit(&l->owner_pid, 0, memory_order_relaxed);
    return be_mutex_unlock(&l->m);
}

uint32_t lockrec_release_all(lockrec *l)
{
    uint32_t n = atomic_load_explicit(&l->count, memory_order_relaxed);
    atomic_store_explicit(&l->count, 1, memory_order_relaxed);
    lockrec_release(l);
    return n;
}

int lockrec_restore(lockrec *l, uint32_t count)
{
    int rc = be_mutex_lock(&l->m, MPROC_FOREVER);
    if (rc == 0 || rc == MPROC_EOWNERDEAD) {
        atomic_store_explicit(&l->owner_pid, (uint64_t)be_getpid(), memory_order_relaxed);
        atomic_store_explicit(&l->owner_tid, be_thread_id(), memory_order_relaxed);
        atomic_store_explicit(&l->count, count, memory_order_relaxed);
    }
    return rc;
}

int lockrec_take(lockrec *l)
{
    int rc = lockrec_acquire(l, MPROC_FOREVER);
    return rc == MPROC_EOWNERDEAD ? 0 : rc;
}
