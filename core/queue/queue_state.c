/* SPDX-License-Identifier: MIT */
/* queue_state.c - a queue's whole lock, its two copies of the ring state, its
 * wake-ups, and how a call that cannot go on waits.
 *
 * Wake-ups: a sleeper registers in waiting[w] under the whole lock, then
 * sleeps on sem[w] with the lock released. Whoever changes something a
 * sleeper waits for posts, under the whole lock or its lane's mutex, only
 * while sleepers exist and the semaphore is at 0 (wake one) or below their
 * number (wake all); so a semaphore never holds more than a few stale
 * tokens (two lanes may post at once), and a sleeper that wakes for
 * nothing just looks and sleeps again. Sleeps are cut into
 * slices of Q_CHECK_INTERVAL, at which a blocked call looks for dead peers
 * (which also bounds the cost of any wake-up a dead process swallowed). */
#include "queue/queue.h"

#define Q_LOCK_TRIES 100

/* Waiting forever can only fail when the OS is out of resources (the
 * arena's lock makes the same assumption): try again rather than return
 * with the state unguarded. A holder that died is fine: the state is
 * whole, as the holder only ever published complete copies. */
void mproc__q_lock_side(be_mutex *mu)
{
    /* Held for a few dozen ns at a time: trying again a little beats
     * sleeping in the kernel (and being woken) by far when the peer runs on
     * another CPU. */
    for (int i = 0; i < Q_LOCK_TRIES; i++) {
        int rc = mproc__be_mutex_lock(mu, 0);
        if (rc == 0 || rc == MPROC_EOWNERDEAD)
            return;
        if (rc != MPROC_ETIMEDOUT)
            break;
    }
    for (;;) {
        int rc = mproc__be_mutex_lock(mu, MPROC_FOREVER);
        if (rc == 0 || rc == MPROC_EOWNERDEAD)
            return;
        mproc__be_sleep(0.001);
    }
}

/* ------------------------------------------- the state and the lanes' words
 *
 * The lanes move the tail and the head and count messages in pw and cw;
 * the whole lock's code works on the state. So the whole lock, once held,
 * brings the state up to the words (refresh), and before it lets go writes
 * the words from the state (publish). The words keep positions modulo
 * 2^35 bytes, which the capacity divides: a position rebuilt from them
 * is the true one modulo 2^35, and tail - head is exact.
 *
 * busy is set while the whole lock is held. A holder killed inside may
 * have committed a new state and not published it (or published half):
 * the next holder finds busy still set and publishes the committed state
 * again, which is right because no lane ran since (a lane, holding its
 * side's mutex, looks at busy first and leaves such a queue to the whole
 * lock). */

static void refresh(queue_shared *s)
{
    uint64_t pw = atomic_load_explicit(&s->pw, memory_order_relaxed);
    uint64_t cw = atomic_load_explicit(&s->cw, memory_order_relaxed);
    const qstate *st = q_st(s);
    uint64_t head = st->head + q_word_gap(q_word(0, st->head), cw);
    uint64_t tail = head + q_word_gap(cw, pw);
    uint64_t nput = q_word_n(pw), count = (uint32_t)(q_word_n(pw) - q_word_n(cw));
    if (head == st->head && tail == st->tail && count == st->count && nput == (uint32_t)st->nput)
        return; /* the lanes did nothing since */
    qstate *n = mproc__q_edit(s);
    n->head = head;
    n->tail = tail;
    n->count = count;
    n->nput = nput;
    mproc__q_commit(s);
}

static void publish(queue_shared *s)
{
    const qstate *st = q_st(s);
    atomic_store_explicit(&s->pw, q_word((uint32_t)st->nput, st->tail), memory_order_release);
    atomic_store_explicit(&s->cw, q_word((uint32_t)(st->nput - st->count), st->head), memory_order_release);
}

void mproc__q_lock(queue_shared *s)
{
    mproc__q_lock_side(&s->mu); /* always producers' first: one order */
    mproc__q_lock_side(&s->mu_get);
    if (!s->lanes)
        return; /* the state alone is the truth */
    if (s->busy)
        publish(s); /* the last holder died inside */
    else
        refresh(s);
    s->busy = 1;
}

void mproc__q_unlock(queue_shared *s)
{
    if (s->lanes) {
        publish(s);
        s->busy = 0;
    }
    mproc__be_mutex_unlock(&s->mu_get);
    mproc__be_mutex_unlock(&s->mu);
}

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
