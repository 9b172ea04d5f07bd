/* SPDX-License-Identifier: MIT */
/* mutex.c - be_mutex: a non-recursive lock between processes, recovered
 * from a holder that died (MPROC_EOWNERDEAD).
 *
 * The record holds the holder's owner word (owner.c), 0 when free, and a
 * count of sleepers: taking a free lock is one compare-and-swap, releasing
 * one an exchange, with no system call unless someone sleeps. Sleepers
 * wait on the record's auto-reset event (wake.c), which a release sets
 * when the count says someone sleeps, and on the holder's life mutex,
 * which tells them it died; the first to see that takes the lock over.
 * A sleeper also looks again now and then: the lock may have changed hands
 * to a holder it does not watch, who may die too. */
#include <stdatomic.h>

#include "win32.h"

typedef struct w32_mutex {
    w32_sync_id id;
    _Atomic uint64_t owner;   /* 0 = free */
    _Atomic int32_t sleepers; /* a sleeper killed here leaves it too high: */
} w32_mutex;                  /* then releases just set the event needlessly */
_Static_assert(sizeof(w32_mutex) <= sizeof(be_mutex), "be_mutex too small");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "shared records need address-free atomics");
#define MX(m) ((w32_mutex *)(void *)(m)->opaque)

#define SPINS 100          /* brief busy wait before sleeping */
#define ABANDONED UINT64_MAX /* owner of a lock given up at its holder's exit (no thread's word) */
#define WATCH_AFTER 0.01   /* seconds a sleeper waits before it watches the holder */
#define RECHECK_MS 100     /* longest sleep before looking at the holder again */

int mproc__be_mutex_init(be_mutex *bm)
{
    w32_mutex *m = MX(bm);
    atomic_init(&m->owner, 0);
    atomic_init(&m->sleepers, 0);
    return mproc__w32_sync_id_init(&m->id);
}

static int try_lock(w32_mutex *m, uint64_t me, uint64_t *cur)
{
    *cur = 0;
    return atomic_compare_exchange_strong(&m->owner, cur, me);
}

/* The holder `dead` died: take its place unless another waiter was first. */
static int take_over(w32_mutex *m, uint64_t dead, uint64_t me)
{
    return atomic_compare_exchange_strong(&m->owner, &dead, me);
}

static int lock_slow(w32_mutex *m, uint64_t me, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    /* Whether the holder lives costs system calls to find out and most
     * waits end sooner: a sleeper asks once it has slept WATCH_AFTER, a
     * try-lock at once (to report a dead holder). */
    double watch_from = timeout == 0 ? 0 : mproc__be_monotonic() + WATCH_AFTER;
    uint64_t cur, watched = 0; /* the holder whose life mutex we hold, if any */
    HANDLE wake = NULL, life = NULL;
    for (int i = 0; i < SPINS && timeout != 0; i++) {
        YieldProcessor();
        if (atomic_load_explicit(&m->owner, memory_order_relaxed) == 0 && try_lock(m, me, &cur))
            return 0;
    }
    int rc;
    for (;;) {
        if (try_lock(m, me, &cur)) {
            rc = 0;
            break;
        }
        if (cur == ABANDONED) {
            if (take_over(m, cur, me)) {
                rc = MPROC_EOWNERDEAD;
                break;
            }
            continue; /* someone else took it: look again */
        }
        if (cur != watched && mproc__be_monotonic() >= watch_from) { /* a holder not checked yet */
            if (life)
                CloseHandle(life);
            watched = cur;
            if (mproc__w32_owner_watch(cur, &life) == W32_OWNER_DEAD) {
                if (take_over(m, cur, me)) {
                    rc = MPROC_EOWNERDEAD;
                    break;
                }
                continue; /* someone else took it: look at the new holder */
            }
        }
        DWORD ms = mproc__w32_remaining_ms(deadline);
        if (ms == 0) {
            rc = MPROC_ETIMEDOUT;
            break;
        }
        if (!wake && !(wake = mproc__w32_wake_event(m, &m->id))) {
            rc = MPROC_ESYS;
            break;
        }
        if (ms > RECHECK_MS)
            ms = RECHECK_MS;
        if (cur != watched) { /* not watching yet: sleep until we would */
            DWORD until = mproc__w32_remaining_ms(watch_from);
            ms = until == 0 ? 1 : until < ms ? until : ms;
        }
        /* Announce ourselves, then look once more: a release from now on
         * sees us and sets the event. */
        atomic_fetch_add(&m->sleepers, 1);
        int got = try_lock(m, me, &cur);
        DWORD r = WAIT_TIMEOUT;
        if (!got && (cur == watched || !life)) { /* else: a new holder to watch first */
            HANDLE hs[2] = {wake, life};
            r = WaitForMultipleObjects(life ? 2 : 1, hs, FALSE, ms);
        }
        atomic_fetch_sub(&m->sleepers, 1);
        if (got) {
            rc = 0;
            break;
        }
        if (r == WAIT_OBJECT_0 + 1 || r == WAIT_ABANDONED_0 + 1) { /* the holder died */
            mproc__w32_owner_dead(life);
            if (take_over(m, watched, me)) {
                rc = MPROC_EOWNERDEAD;
                break;
            }
        } else if (r == WAIT_FAILED) {
            rc = mproc__w32_last_error(MPROC_ESYS);
            break;
        }
    }
    if (life)
        CloseHandle(life);
    return rc;
}

int mproc__be_mutex_lock(be_mutex *bm, double timeout)
{
    w32_mutex *m = MX(bm);
    uint64_t me = mproc__w32_owner_self(), cur;
    if (!me)
        return MPROC_ESYS;
    if (try_lock(m, me, &cur))
        return 0;
    if (cur == ABANDONED && take_over(m, cur, me))
        return MPROC_EOWNERDEAD;
    if (cur == me) {
        /* This thread holds it already: waiting forever would never end;
         * a bounded wait times out, as on POSIX. */
        if (timeout < 0)
            return MPROC_ESTATE;
        mproc__be_sleep(timeout);
        return MPROC_ETIMEDOUT;
    }
    return lock_slow(m, me, timeout);
}

int mproc__be_mutex_held(be_mutex *bm)
{
    uint64_t me = mproc__w32_owner_peek(); /* 0: this thread never took a lock */
    return me && atomic_load_explicit(&MX(bm)->owner, memory_order_relaxed) == me;
}

/* Lets go as `next` (0: free; ABANDONED: its next taker hears
 * MPROC_EOWNERDEAD), waking a sleeper. */
static int let_go(be_mutex *bm, uint64_t next)
{
    w32_mutex *m = MX(bm);
    if (!mproc__be_mutex_held(bm))
        return MPROC_ESTATE;
    atomic_store(&m->owner, next);
    if (atomic_load(&m->sleepers) > 0) {
        /* Without an event (no handles left) sleepers still look again
         * within RECHECK_MS. */
        HANDLE h = mproc__w32_wake_event(m, &m->id);
        if (h)
            SetEvent(h);
    }
    return 0;
}

int mproc__be_mutex_unlock(be_mutex *bm) { return let_go(bm, 0); }

int mproc__be_mutex_abandon(be_mutex *bm) { return let_go(bm, ABANDONED); }

void mproc__be_mutex_destroy(be_mutex *bm) { mproc__w32_wake_forget(MX(bm)); }
