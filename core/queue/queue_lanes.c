/* SPDX-License-Identifier: MIT */
/* queue_lanes.c - plain puts and gets under one side's mutex (queue.h).
 *
 * A producer holds only mu, a consumer only mu_get: they never wait for
 * each other, and each touches the other's cache line only to read its
 * word. The producer writes its frames past the tail, then stores pw; the
 * consumer copies frames out before the head, then stores cw. Either store
 * is the commit: a process killed before it leaves the old word, and the
 * bytes it wrote (or read) are as if never touched.
 *
 * The whole lock's state changes only under both mutexes, so one side's
 * mutex is enough to read it: a lane leaves the call to the whole lock
 * whenever a stream is under way (its frames are not plain), for a
 * JoinableQueue's put (unfinished tasks live in the state), and when busy
 * says a whole-lock holder died inside (queue_state.c repairs that).
 *
 * Waiting: a lane with nothing to do spins briefly watching the other
 * side's word, then hands the call to the whole lock, which sleeps on the
 * semaphores. Sleepers register under the whole lock, so a lane, holding
 * one of its mutexes, always sees them and posts. */
#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"

size_t mproc__q_scan(queue_shared *s, uint64_t pos, uint64_t end, size_t max, uint64_t max_bytes, size_t *lens,
                     uint64_t *total, uint64_t *next)
{
    size_t k = 0;
    uint64_t t = 0;
    while (k < max && pos != end) {
        uint64_t l = mproc__q_ring_header(s, pos);
        if ((l & Q_FRAME_STREAM) || l > max_bytes - t)
            break;
        t += l;
        lens[k++] = (size_t)l;
        pos += q_frame(l);
    }
    *total = t;
    *next = pos;
    return k;
}

int mproc__q_copy_out(queue_shared *s, uint64_t pos, size_t k, const size_t *lens, uint64_t total, void *dest,
                      void **buf)
{
    char *out = dest;
    if (!out && !(out = malloc(total ? (size_t)total : 1)))
        return MPROC_ENOMEM;
    for (size_t i = 0, off = 0; i < k; off += lens[i], pos += q_frame(lens[i]), i++)
        if (lens[i])
            mproc__q_ring_read(s, pos + 8, out + off, lens[i]);
    if (!dest)
        *buf = out;
    return 0;
}

/* Spinning: until the other side's word moves. */
typedef struct watch {
    _Atomic uint64_t *word;
    uint64_t seen;
} watch;

static int moved(void *arg)
{
    watch *w = arg;
    return atomic_load_explicit(w->word, memory_order_relaxed) != w->seen;
}

/* 1 when the word moved within the spin window (look again), 0 not. */
static int spin_on(mproc_queue *q, _Atomic uint64_t *word, uint64_t seen, double timeout)
{
    watch w = {word, seen};
    return timeout != 0 && mproc__core_spin(&q->lane_spin, timeout, moved, &w) > 0;
}

/* Is there room for n messages of f bytes in all, by these words? A
 * consumers' word seen earlier only shows less room than there is. */
static int room(const queue_shared *s, uint64_t pw, uint64_t cw, size_t n, uint64_t f)
{
    uint64_t used = q_word_gap(cw, pw);
    uint32_t count = q_word_n(pw) - q_word_n(cw);
    return used <= s->cap && s->cap - used >= f && (!s->maxsize || count + (uint64_t)n <= s->maxsize);
}

/* Bytes of messages between the head and the tail, by these words (a
 * producers' word seen earlier shows fewer than there are). */
static uint64_t waiting_bytes(const queue_shared *s, uint64_t pw, uint64_t cw)
{
    uint64_t b = q_word_gap(cw, pw);
    return b <= s->cap ? b : 0; /* more would be nonsense: look again */
}

/* Takes one side's mutex: 1 if this side may go on alone (it holds mu
 * then), 0 if the call needs the whole lock (mu let go again). */
static int lane_enter(queue_shared *s, be_mutex *mu)
{
    mproc__q_lock_side(mu);
    const qstate *st = q_st(s);
    if (!s->busy && !st->s_flags && !st->s_wpid)
        return 1;
    mproc__be_mutex_unlock(mu);
    return 0;
}

int mproc__q_lane_put(mproc_queue *q, const void *const *bufs, const size_t *lens, size_t n, uint64_t f,
                      double timeout)
{
    queue_shared *s = q->s;
    if (!s->lanes || s->variant == Q_JOINABLE)
        return Q_SLOW;
    for (;;) {
        if (!lane_enter(s, &s->mu))
            return Q_SLOW;
        uint64_t pw = atomic_load_explicit(&s->pw, memory_order_relaxed), cw = q->cw_seen;
        if (pw != q->pw_left || !room(s, pw, cw, n, f))
            q->cw_seen = cw = atomic_load_explicit(&s->cw, memory_order_acquire); /* its reads are done */
        if (room(s, pw, cw, n, f)) {
            uint64_t pos = q_word_pos(pw);
            for (size_t i = 0; i < n; i++) {
                mproc__q_ring_set_header(s, pos, lens[i]);
                if (lens[i])
                    mproc__q_ring_write(s, pos + 8, bufs[i], lens[i]);
                pos += q_frame(lens[i]);
            }
            q->pw_left = q_word(q_word_n(pw) + (uint32_t)n, pos);
            atomic_store_explicit(&s->pw, q->pw_left, memory_order_release);
            mproc__q_wake_one(s, W_ITEMS);
            mproc__be_mutex_unlock(&s->mu);
            return 0;
        }
        mproc__be_mutex_unlock(&s->mu);
        if (!spin_on(q, &s->cw, cw, timeout))
            return Q_SLOW;
    }
}

int mproc__q_lane_get(mproc_queue *q, size_t max, uint64_t max_bytes, void *dest, void **buf, size_t *lens,
                      size_t *count, double timeout)
{
    queue_shared *s = q->s;
    if (!s->lanes)
        return Q_SLOW;
    for (;;) {
        if (!lane_enter(s, &s->mu_get))
            return Q_SLOW;
        uint64_t cw = atomic_load_explicit(&s->cw, memory_order_relaxed), pw = q->pw_seen;
        if (cw != q->cw_left || !waiting_bytes(s, pw, cw))
            q->pw_seen = pw = atomic_load_explicit(&s->pw, memory_order_acquire); /* its frames are written */
        uint64_t head = q_word_pos(cw), tail = head + waiting_bytes(s, pw, cw);
        if (head != tail) {
            uint64_t total, pos;
            size_t k = mproc__q_scan(s, head, tail, max, max_bytes, lens, &total, &pos);
            int rc = MPROC_EMSGSIZE;
            if (k == 0)
                lens[0] = (size_t)mproc__q_ring_header(s, head); /* too long: it stays */
            else if ((rc = mproc__q_copy_out(s, head, k, lens, total, dest, buf)) == 0) {
                q->cw_left = q_word(q_word_n(cw) + (uint32_t)k, pos);
                atomic_store_explicit(&s->cw, q->cw_left, memory_order_release);
                mproc__q_wake_all(s, W_SPACE);
                if (pos != tail) /* wake-ups are one at a time: pass it on */
                    mproc__q_wake_one(s, W_ITEMS);
                *count = k;
            }
            mproc__be_mutex_unlock(&s->mu_get);
            return rc;
        }
        mproc__be_mutex_unlock(&s->mu_get);
        if (!spin_on(q, &s->pw, pw, timeout))
            return Q_SLOW;
    }
}
