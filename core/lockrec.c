/* lockrec.c - Lock and RLock on a robust be_mutex. The owner (process and
 * thread) is recorded so that RLock can count, Condition can check that
 * the caller holds the lock, and a release by anyone else is refused. */
#include "sync.h"

static int mine(lockrec *l)
{
    return atomic_load(&l->owner_pid) == (uint64_t)be_getpid() &&
           atomic_load(&l->owner_tid) == be_thread_id();
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

int lockrec_is_mine(lockrec *l) { return atomic_load(&l->count) > 0 && mine(l); }

int lockrec_acquire(lockrec *l, double timeout)
{
    if (l->recursive && lockrec_is_mine(l)) {
        if (atomic_load(&l->count) == UINT32_MAX)
            return MPROC_ESTATE;
        atomic_fetch_add(&l->count, 1);
        return 0;
    }
    int rc = be_mutex_lock(&l->m, timeout);
    if (rc == 0 || rc == MPROC_EOWNERDEAD) {
        atomic_store(&l->owner_pid, (uint64_t)be_getpid());
        atomic_store(&l->owner_tid, be_thread_id());
        atomic_store(&l->count, 1);
    }
    return rc;
}

int lockrec_release(lockrec *l)
{
    if (!lockrec_is_mine(l))
        return MPROC_ESTATE; /* unlocked, or held by another thread/process */
    if (atomic_fetch_sub(&l->count, 1) > 1)
        return 0;
    atomic_store(&l->owner_tid, 0);
    atomic_store(&l->owner_pid, 0);
    return be_mutex_unlock(&l->m);
}

uint32_t lockrec_release_all(lockrec *l)
{
    uint32_t n = atomic_load(&l->count);
    atomic_store(&l->count, 1);
    lockrec_release(l);
    return n;
}

int lockrec_restore(lockrec *l, uint32_t count)
{
    int rc = be_mutex_lock(&l->m, MPROC_FOREVER);
    if (rc == 0 || rc == MPROC_EOWNERDEAD) {
        atomic_store(&l->owner_pid, (uint64_t)be_getpid());
        atomic_store(&l->owner_tid, be_thread_id());
        atomic_store(&l->count, count);
    }
    return rc;
}
