/* SPDX-License-Identifier: MIT */
/* queue_state.c - a queue's mutex, its two copies of the ring state, its
 * wake-ups, and how a call that cannot go on waits.
 *
 * Wake-ups: a sleeper registers in waiting[w] under the mutex, then sleeps
 * on sem[w] with the mutex released. Whoever changes something a sleeper
 * waits for posts, under the mutex, only while sleepers exist and the
 * semaphore is at 0 (wake one) or below their number (wake all); so a
 * semaphore never holds more than a few stale tokens, and a sleeper that
 * wakes for nothing just looks and sleeps again. Sleeps are cut into
 * slices of Q_CHECK_INTERVAL, at which a blocked call looks for dead peers
 * (which also bounds the cost of any wake-up a dead process swallowed). */
#include "queue/queue.h"

#define Q_LOCK_TRIES 100

/* Waiting forever can only fail when the OS is out of resources (the
 * arena's lock makes the same assumption): try again rather than return
 * with the state unguarded. A holder that died is fine: the state is
 * whole, as the holder only ever published complete copies. */
void mproc__q_lock(queue_shared *s)
{
    /* Held for a few dozen ns at a time: trying again a little beats
     * sleeping in the kernel (and being woken) by far when the peer runs on
     * another CPU. */
    for (int i = 0; i < Q_LOCK_TRIES; i++) {
        int rc = mproc__be_mutex_lock(&s->mu, 0);
        if (rc == 0 || rc == MPROC_EOWNERDEAD)
            return;
        if (rc != MPROC_ETIMEDOUT)
            break;
    }
    for (;;) {
        int rc = mproc__be_mutex_lock(&s->mu, MPROC_FOREVER);
        if (rc == 0 || rc == MPROC_EOWNERDEAD)
            return;
        mproc__be_sleep(0.001);
    }
}

void mproc__q_unlock(queue_shared *s) { mproc__be_mutex_unlock(&s->mu); }

qstate *mproc__q_edit(queue_shared *s)
{
    uint32_t c = atomic_load_explicit(&s->cur, memory_order_relaxed);
    s->st[!c] = s->st[c];
    return &s->st[!c];
}

/* The release store keeps every write to the spare copy (and to the ring)
 * before the switch, for the compiler too: a process killed anywhere leaves
 * the old state or the new one. */
void mproc__q_commit(queue_shared *s)
{
    uint32_t c = atomic_load_explicit(&s->cur, memory_order_relaxed);
    atomic_store_explicit(&s->cur, !c, memory_order_release);
}

void mproc__q_wake_one(queue_shared *s, enum q_wait w)
{
    if (s->waiting[w] && mproc__be_sem_value(&s->sem[w]) == 0)
        mproc__be_sem_post(&s->sem[w]);
}

void mproc__q_wake_all(queue_shared *s, enum q_wait w)
{
    if (!s->waiting[w])
        return; /* the common case: nobody asleep, no call to make */
    int v = mproc__be_sem_value(&s->sem[w]);
    for (int64_t k = (int64_t)s->waiting[w] - v; k > 0; k--)
        mproc__be_sem_post(&s->sem[w]);
}

void mproc__q_wake_everyone(queue_shared *s)
{
    for (int w = 0; w < W_COUNT; w++)
        mproc__q_wake_all(s, (enum q_wait)w);
}

int mproc__q_block(mproc_queue *q, q_waiter *wt, enum q_wait w, int flags)
{
    queue_shared *s = q->s;
    if (!(flags & Q_OPEN_OR_NOT) && atomic_load(&q->closed))
        return MPROC_ECLOSED;
    double rem = mproc__core_remaining(wt->deadline);
    if (rem == 0)
        return MPROC_ETIMEDOUT;
    double now = mproc__be_monotonic();
    if (wt->next_check == 0) {
        /* Most waits are short: the first look for dead peers comes only
         * after a full interval, so a busy queue never pays for it. */
        wt->next_check = now + Q_CHECK_INTERVAL;
    } else if (now >= wt->next_check) {
        wt->next_check = now + Q_CHECK_INTERVAL;
        mproc__q_stream_repair(s);
        /* A getter's queue must be empty too: another thread of ours may be
         * reading a stream with messages behind it. */
        if ((flags & Q_EOS) && !(w == W_ITEMS && q_st(s)->count) && mproc__q_peers_gone(s))
            return MPROC_EOS;
        return 0; /* the repair may have changed what the caller waits for */
    }
    double slice = wt->next_check - now;
    if (rem > 0 && rem < slice)
        slice = rem;
    s->waiting[w]++;
    mproc__q_unlock(s);
    mproc__core_wait_sem(&q->spin, &s->sem[w], slice);
    mproc__q_lock(s);
    s->waiting[w]--;
    return 0;
}
