/* SPDX-License-Identifier: MIT */
/* lockrec.c - Lock and RLock on a robust be_mutex. The owner (process and
 * thread, in one word) is recorded so that RLock can count, Condition can
 * check that the caller holds the lock, and a release by anyone else is
 * refused. Owner and count are only ever written by the holder, under the
 * mutex, and a thread only needs to recognise its own writes: relaxed
 * loads and stores do, and no read-modify-write is needed (the fast path
 * of an uncontended Lock is the mutex's own two atomic operations and two
 * plain stores). */
#include "sync/sync.h"

/* This thread, as recorded in `owner`: process ids fit in 32 bits on both
 * backends (Linux's pid_max is at most 2^22, Windows ids are DWORDs), and
 * thread ids are unique within the process (a counter, or a DWORD). */
static _Thread_local uint64_t me_word; /* kept: the thread id is a call */

static inline uint64_t me(void)
{
    uint64_t pid = (uint64_t)mproc__be_getpid(); /* cached by the backend; new after fork */
    if (me_word >> 32 != pid)
        me_word = pid << 32 | (uint32_t)mproc__be_thread_id();
    return me_word;
}

static uint64_t owner(lockrec *l) { return atomic_load_explicit(&l->owner, memory_order_relaxed); }

static inline void take(lockrec *l, uint32_t count)
{
    atomic_store_explicit(&l->owner, me(), memory_order_relaxed);
    if (l->recursive)
        atomic_store_explicit(&l->count, count, memory_order_relaxed);
}

int mproc__lockrec_init(lockrec *l, int recursive)
{
    atomic_init(&l->owner, 0);
    atomic_init(&l->count, 0);
    l->recursive = recursive != 0;
    return mproc__be_mutex_init(&l->m);
}

void mproc__lockrec_destroy(lockrec *l) { mproc__be_mutex_destroy(&l->m); }

int mproc__lockrec_is_mine(lockrec *l) { return owner(l) == me(); }

int mproc__lockrec_acquire(lockrec *l, double timeout)
{
    if (!l->recursive) { /* a Lock, the hot path: the mutex, then who holds it */
        int rc = mproc__be_mutex_lock(&l->m, timeout);
        if (rc == 0 || rc == MPROC_EOWNERDEAD)
            atomic_store_explicit(&l->owner, me(), memory_order_relaxed);
        return rc;
    }
    if (mproc__lockrec_is_mine(l)) {
        uint32_t n = atomic_load_explicit(&l->count, memory_order_relaxed);
        if (n == UINT32_MAX)
            return MPROC_ESTATE;
        atomic_store_explicit(&l->count, n + 1, memory_order_relaxed);
        return 0;
    }
    int rc = mproc__be_mutex_lock(&l->m, timeout);
    if (rc == 0 || rc == MPROC_EOWNERDEAD)
        take(l, 1);
    return rc;
}

int mproc__lockrec_release(lockrec *l)
{
    if (!mproc__lockrec_is_mine(l))
        return MPROC_ESTATE; /* unlocked, or held by another thread/process */
    if (l->recursive) {
        uint32_t n = atomic_load_explicit(&l->count, memory_order_relaxed);
        atomic_store_explicit(&l->count, n - 1, memory_order_relaxed);
        if (n > 1)
            return 0;
    }
    atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
    return mproc__be_mutex_unlock(&l->m);
}

uint32_t mproc__lockrec_release_all(lockrec *l)
{
    uint32_t n = 1;
    if (l->recursive) {
        n = atomic_load_explicit(&l->count, memory_order_relaxed);
        atomic_store_explicit(&l->count, 1, memory_order_relaxed);
    }
    mproc__lockrec_release(l);
    return n;
}

int mproc__lockrec_restore(lockrec *l, uint32_t count)
{
    int rc = mproc__be_mutex_lock(&l->m, MPROC_FOREVER);
    if (rc == 0 || rc == MPROC_EOWNERDEAD)
        take(l, count);
    return rc;
}

int mproc__lockrec_take(lockrec *l)
{
    int rc = mproc__lockrec_acquire(l, MPROC_FOREVER);
    return rc == MPROC_EOWNERDEAD ? 0 : rc;
}
