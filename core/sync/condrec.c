/* SPDX-License-Identifier: MIT */
/* condrec.c - CPython's multiprocessing Condition (synchronize.py) over
 * three semaphores: sleepers announce themselves on `sleeping`, notify
 * hands out `wait` tokens and waits on `woken` until each one has woken.
 *
 * Unlike CPython, a sleeper killed in its wait does not stall the next
 * notify: sleepers hold a slot with their pid, and a notify whose ack is
 * late checks them; for a dead one it posts the `woken` the sleeper never
 * will, exactly as a sleeper that timed out does. The CAS on the slot
 * makes that post happen once, by the sleeper or for it. A sleeper killed
 * in the few instructions between its semaphore post and its slot update
 * is not seen; for it notify still gives up after NOTIFY_ACK_TIMEOUT. */
#include "base/spin.h"
#include "sync/sync.h"

#define NOTIFY_ACK_TIMEOUT 10.0
#define REAP_INTERVAL 0.02 /* a late ack: look for dead sleepers this often */

int mproc__condrec_init(condrec *c)
{
    for (int i = 0; i < CONDREC_SLOTS; i++)
        atomic_init(&c->sleeper[i], 0);
    int rc = mproc__be_sem_init(&c->sleeping, 0);
    if (!rc && (rc = mproc__be_sem_init(&c->woken, 0)))
        mproc__be_sem_destroy(&c->sleeping);
    if (!rc && (rc = mproc__be_sem_init(&c->wait, 0))) {
        mproc__be_sem_destroy(&c->sleeping);
        mproc__be_sem_destroy(&c->woken);
    }
    return rc;
}

void mproc__condrec_destroy(condrec *c)
{
    mproc__be_sem_destroy(&c->sleeping);
    mproc__be_sem_destroy(&c->woken);
    mproc__be_sem_destroy(&c->wait);
}

/* Condition waits spin briefly first (spin.h); one spinner for the
 * process: the records live in shared memory. */
static core_spinner cond_spin;

/* A free slot for this process (state "arriving"), or -1: none left. */
static int slot_claim(condrec *c, uint64_t pid)
{
    for (int i = 0; i < CONDREC_SLOTS; i++) {
        uint64_t free_ = 0;
        if (atomic_load_explicit(&c->sleeper[i], memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&c->sleeper[i], &free_, pid << 1))
            return i;
    }
    return -1;
}

/* Posts `woken` for a sleeper leaving, unless a notify did it for us. */
static void leave(condrec *c, int slot, uint64_t pid)
{
    uint64_t mine = pid << 1 | 1;
    if (slot < 0 || atomic_compare_exchange_strong(&c->sleeper[slot], &mine, 0))
        mproc__be_sem_post(&c->woken);
}

/* Frees the slots of sleepers whose process is gone, posting `woken` for
 * each that had been counted. */
static void reap_dead_sleepers(condrec *c)
{
    for (int i = 0; i < CONDREC_SLOTS; i++) {
        uint64_t v = atomic_load(&c->sleeper[i]);
        if (v == 0 || mproc__be_pid_alive((long)(v >> 1)))
            continue;
        if (atomic_compare_exchange_strong(&c->sleeper[i], &v, 0) && (v & 1))
            mproc__be_sem_post(&c->woken);
    }
}

int mproc__condrec_wait(condrec *c, lockrec *l, double timeout)
{
    if (!mproc__lockrec_is_mine(l))
        return MPROC_ESTATE; /* must acquire() condition before using wait() */
    uint64_t pid = (uint64_t)mproc__be_getpid();
    int slot = slot_claim(c, pid);
    /* Counted as a sleeper before the lock goes, as in CPython: a notify
     * that comes in between must see us, or its wake-up is lost. */
    mproc__be_sem_post(&c->sleeping);
    if (slot >= 0)
        atomic_store(&c->sleeper[slot], pid << 1 | 1);
    uint32_t levels = mproc__lockrec_release_all(l);
    int rc = mproc__core_wait_sem(&cond_spin, &c->wait, timeout);
    leave(c, slot, pid);
    int rc2 = mproc__lockrec_restore(l, levels);
    return rc ? rc : (rc2 == MPROC_EOWNERDEAD ? rc2 : 0);
}

int mproc__condrec_notify(condrec *c, lockrec *l, int n)
{
    if (!mproc__lockrec_is_mine(l))
        return MPROC_ESTATE; /* lock is not owned */
    /* Account for sleepers that timed out since the last notify. */
    while (mproc__be_sem_wait(&c->woken, 0) == 0)
        mproc__be_sem_wait(&c->sleeping, 0);
    int sleepers = 0;
    while ((n < 0 || sleepers < n) && mproc__be_sem_wait(&c->sleeping, 0) == 0) {
        mproc__be_sem_post(&c->wait);
        sleepers++;
    }
    if (sleepers) {
        double deadline = mproc__core_deadline(NOTIFY_ACK_TIMEOUT);
        for (int acked = 0; acked < sleepers;) {
            double rem = mproc__core_remaining(deadline);
            if (rem == 0)
                break;
            if (mproc__be_sem_wait(&c->woken, rem < REAP_INTERVAL ? rem : REAP_INTERVAL) == 0)
                acked++;
            else
                reap_dead_sleepers(c);
        }
        /* Tokens nobody took (their sleeper timed out meanwhile). */
        while (mproc__be_sem_wait(&c->wait, 0) == 0)
            ;
    }
    return 0;
}

int mproc__lockcond_init(lockrec *l, condrec *c)
{
    int rc = mproc__lockrec_init(l, 0);
    if (!rc && (rc = mproc__condrec_init(c)))
        mproc__lockrec_destroy(l);
    return rc;
}

void mproc__lockcond_destroy(lockrec *l, condrec *c)
{
    mproc__condrec_destroy(c);
    mproc__lockrec_destroy(l);
}
