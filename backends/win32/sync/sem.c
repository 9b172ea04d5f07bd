/* SPDX-License-Identifier: MIT */
/* sem.c - be_sem: a counting semaphore between processes. The count lives
 * in the record, so it is exact and outlives every process that used it;
 * the record's auto-reset event (wake.c) only wakes sleepers. Waiting takes
 * a unit with a compare-and-swap and posting adds one, with no system call
 * unless someone sleeps. Two posts may set the event once: a sleeper that
 * got a unit and sees more units and more sleepers passes the wake-up on. */
#include <stdatomic.h>

#include "win32.h"

typedef struct w32_sem {
    w32_sync_id id;
    _Atomic int32_t value;
    _Atomic int32_t sleepers;
} w32_sem;
_Static_assert(sizeof(w32_sem) <= sizeof(be_sem), "be_sem too small");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "shared records need address-free atomics");
#define SEM(s) ((w32_sem *)(void *)(s)->opaque)

/* Longest sleep between looks at the count: a safety net should a post
 * fail to open the event (no handles left). */
#define RECHECK_MS 1000

int mproc__be_sem_init(be_sem *bs, unsigned value)
{
    if (value > BE_SEM_VALUE_MAX)
        return MPROC_EINVAL;
    w32_sem *s = SEM(bs);
    atomic_init(&s->value, (int32_t)value);
    atomic_init(&s->sleepers, 0);
    return mproc__w32_sync_id_init(&s->id);
}

static int try_take(w32_sem *s)
{
    int32_t v = atomic_load(&s->value);
    while (v > 0)
        if (atomic_compare_exchange_weak(&s->value, &v, v - 1))
            return 1;
    return 0;
}

static int wait_slow(w32_sem *s, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    HANDLE wake = mproc__w32_wake_event(s, &s->id);
    if (!wake)
        return MPROC_ESYS;
    int rc;
    /* Announced before looking: a post from now on sees us. */
    atomic_fetch_add(&s->sleepers, 1);
    for (;;) {
        if (try_take(s)) {
            rc = 0;
            break;
        }
        DWORD ms = mproc__w32_remaining_ms(deadline);
        if (ms == 0) {
            rc = MPROC_ETIMEDOUT;
            break;
        }
        if (WaitForSingleObject(wake, ms < RECHECK_MS ? ms : RECHECK_MS) == WAIT_FAILED) {
            rc = mproc__w32_last_error(MPROC_ESYS);
            break;
        }
    }
    atomic_fetch_sub(&s->sleepers, 1);
    if (rc == 0 && atomic_load(&s->value) > 0 && atomic_load(&s->sleepers) > 0)
        SetEvent(wake);
    return rc;
}

int mproc__be_sem_wait(be_sem *bs, double timeout)
{
    w32_sem *s = SEM(bs);
    if (try_take(s))
        return 0;
    return timeout == 0 ? MPROC_ETIMEDOUT : wait_slow(s, timeout);
}

int mproc__be_sem_post(be_sem *bs)
{
    w32_sem *s = SEM(bs);
    int32_t v = atomic_load(&s->value);
    do {
        if (v >= BE_SEM_VALUE_MAX)
            return MPROC_ESTATE;
    } while (!atomic_compare_exchange_weak(&s->value, &v, v + 1));
    if (atomic_load(&s->sleepers) > 0) {
        HANDLE h = mproc__w32_wake_event(s, &s->id);
        if (h)
            SetEvent(h);
    }
    return 0;
}

int mproc__be_sem_value(be_sem *bs) { return atomic_load(&SEM(bs)->value); }

void mproc__be_sem_destroy(be_sem *bs) { mproc__w32_wake_forget(SEM(bs)); }
