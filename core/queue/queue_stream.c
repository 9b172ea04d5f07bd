/* SPDX-License-Identifier: MIT */
/* queue_stream.c - messages bigger than the ring.
 *
 * The writer waits until no other stream is in the ring, writes a header
 * [Q_FRAME_STREAM | length] and then the bytes, as fast as the room allows.
 * While it writes, other putters wait (nothing may interleave with it).
 * The first getter that finds the header at the head claims the message
 * and takes the bytes out as they come; other getters wait for it to
 * finish. Both copy with the mutex released: the writer's bytes are past
 * the tail, the reader's before it, and nobody else touches either while
 * the stream is theirs. So a message of any size goes through whenever a
 * consumer reads, but never without one.
 *
 * The message exists whole only in the writer's buffer until its reader has
 * the last byte: the ring holds at most its last `cap` bytes, the rest is in
 * the reader's private memory. So the writer's put returns only once the
 * reader has taken all of it (S_TAKEN); until then the writer can send it
 * again, and a message put accepted is never lost with a reader.
 *
 * Ending early:
 * - the writer's timeout (or close, or no live peer left): if no reader
 *   claimed the message it is unwritten (tail goes back); otherwise it is
 *   cancelled and its reader drops what it got, then looks for the next
 *   message. The put fails; nobody ever sees part of the message. Once the
 *   reader has taken it all, the put succeeds whatever happens next.
 * - the reader dies or closes its handle before it has all of it: what of
 *   the message is in the ring is dropped; the writer sees the cancel and
 *   sends the message again, from the start, to the next reader.
 * - the writer or reader dies: whoever waits on the queue notices (checks
 *   every Q_CHECK_INTERVAL) and ends the stream as above on its behalf. */
#include <stdlib.h>

#include "queue/queue.h"

static uint64_t stream_end(const qstate *n) { return n->s_pos + 8 + q_round8(n->s_written); }

/* A cancelled stream nobody reads: what of it is in the ring is dropped;
 * once its writer let go too, the stream is over. */
static void tidy(qstate *n)
{
    if (!(n->s_flags & S_ACTIVE) || !(n->s_flags & S_CANCELLED) || n->s_rpid)
        return;
    n->s_read = n->s_written;
    n->head = stream_end(n);
    if (!n->s_wpid)
        n->s_flags = 0;
}

/* Under mu, on the spare state: the writer is gone or gives up. */
static void writer_gone(qstate *n)
{
    if (n->s_flags & S_TAKEN) {
        n->s_flags = 0; /* its reader has it all: delivered */
    } else if (!(n->s_flags & S_CANCELLED) && !n->s_rpid) {
        /* Nobody saw any of it (and nothing follows it): as if never put. */
        n->tail = n->s_pos;
        n->count--;
        n->nput--;
        n->s_flags = 0;
    } else {
        n->s_flags |= S_CANCELLED;
    }
    n->s_wpid = n->s_wtid = 0;
    tidy(n);
}

/* ... the reader is gone or gives up before it has all of it. */
static void reader_gone(qstate *n)
{
    n->s_flags |= S_CANCELLED;
    n->s_rpid = n->s_rtid = 0;
    tidy(n);
}

void mproc__q_stream_repair(queue_shared *s)
{
    qstate *st = q_st(s);
    if (!(st->s_flags & (S_ACTIVE | S_TAKEN)))
        return;
    int wdead = st->s_wpid && !mproc__be_pid_alive((long)st->s_wpid);
    int rdead = st->s_rpid && !mproc__be_pid_alive((long)st->s_rpid);
    if (!wdead && !rdead)
        return;
    qstate *n = mproc__q_edit(s);
    if (wdead)
        writer_gone(n);
    if (rdead && n->s_rpid)
        reader_gone(n);
    mproc__q_commit(s);
    mproc__q_wake_everyone(s);
}

/* ------------------------------------------------------------- reader */

/* Under mu: the reader has every byte; the message is its, and the writer
 * may return. */
static void reader_took_all(queue_shared *s)
{
    qstate *n = mproc__q_edit(s);
    n->s_flags = S_TAKEN;
    n->s_rpid = n->s_rtid = 0;
    if (s->variant == Q_JOINABLE)
        n->unfinished++;
    mproc__q_commit(s);
    mproc__q_wake_one(s, W_SWRITE);
}

int mproc__q_stream_get(mproc_queue *q, void **buf, size_t *len)
{
    queue_shared *s = q->s;
    qstate *st = q_st(s);
    if (st->s_rpid || (st->s_flags & S_CANCELLED))
        return Q_BUSY; /* another reader's, or dropped and waiting for its writer to let go */
    char *out = malloc(st->s_len ? (size_t)st->s_len : 1);
    if (!out)
        return MPROC_ENOMEM;
    qstate *n = mproc__q_edit(s);
    n->s_rpid = (uint64_t)mproc__be_getpid();
    n->s_rtid = mproc__be_thread_id();
    n->count--;
    n->head = n->s_pos + 8;
    mproc__q_commit(s);
    mproc__q_wake_one(s, W_SWRITE);
    /* As Python's get, which reads a whole message once it has begun: the
     * timeout bounded the wait for a message, not its transfer. The writer
     * is alive and moving (else the repair ends the stream), or it gives up
     * at its own timeout. */
    q_waiter rw = {-1.0, 0};
    for (;;) {
        st = q_st(s);
        if (st->s_flags & S_CANCELLED) { /* its writer gave up or died */
            n = mproc__q_edit(s);
            n->s_rpid = n->s_rtid = 0;
            tidy(n);
            mproc__q_commit(s);
            mproc__q_wake_all(s, W_ITEMS);
            mproc__q_wake_all(s, W_SPACE);
            free(out);
            return Q_RETRY;
        }
        uint64_t avail = st->s_written - st->s_read;
        if (avail) {
            uint64_t from = st->head, off = st->s_read;
            mproc__q_unlock(s);
            mproc__q_ring_read(s, from, out + off, avail);
            mproc__q_lock(s);
            n = mproc__q_edit(s);
            n->s_read += avail;
            n->head = n->s_pos + 8 + q_round8(n->s_read);
            mproc__q_commit(s);
            mproc__q_wake_one(s, W_SWRITE);
            continue;
        }
        if (st->s_read == st->s_len) {
            *len = (size_t)st->s_len;
            *buf = out;
            reader_took_all(s);
            return 0;
        }
        int rc = mproc__q_block(q, &rw, W_SREAD, 0);
        if (rc) { /* closed meanwhile: the writer will send it again */
            n = mproc__q_edit(s);
            reader_gone(n);
            mproc__q_commit(s);
            mproc__q_wake_everyone(s);
            free(out);
            return rc;
        }
    }
}

/* ------------------------------------------------------------- writer */

static int can_start(const queue_shared *s, const qstate *st)
{
    return !(st->s_flags & S_ACTIVE) && !st->s_wpid && (!s->maxsize || st->count < s->maxsize) &&
           s->cap - (st->tail - st->head) >= 8;
}

/* Under mu: the writer lets go of its stream (delivered, or given up on
 * with rc) and returns rc. */
static int let_go(queue_shared *s, int rc)
{
    qstate *n = mproc__q_edit(s);
    writer_gone(n);
    mproc__q_commit(s);
    mproc__q_wake_everyone(s); /* putters waited for us; a reader may have to drop it */
    return rc;
}

/* After the header: 0 once a reader has all of it, Q_RETRY if the reader
 * went away first (start again), or the error that made us give up. */
static int send_bytes(mproc_queue *q, q_waiter *wt, const char *buf, uint64_t len)
{
    queue_shared *s = q->s;
    for (;;) {
        qstate *st = q_st(s), *n;
        if (st->s_flags & S_TAKEN)
            return let_go(s, 0);
        if (st->s_flags & S_CANCELLED)
            return let_go(s, Q_RETRY);
        /* Positions are multiples of 8 and so is the room: only the last
         * chunk can end unaligned. */
        uint64_t room = s->cap - (st->tail - st->head), done = st->s_written;
        if (done < len && room) {
            uint64_t chunk = len - done < room ? len - done : room, at = st->tail;
            mproc__q_unlock(s);
            mproc__q_ring_write(s, at, buf + done, chunk);
            mproc__q_lock(s);
            if (q_st(s)->s_flags & S_CANCELLED)
                continue;
            n = mproc__q_edit(s);
            n->s_written += chunk;
            n->tail += q_round8(chunk);
            mproc__q_commit(s);
            mproc__q_wake_one(s, W_SREAD);
            continue;
        }
        /* The ring is full, or all of it is in and its reader has yet to
         * take the rest. A reader that took it all meanwhile wins over our
         * timeout: the message is delivered. */
        int rc = mproc__q_block(q, wt, W_SWRITE, Q_EOS);
        if (rc && !(q_st(s)->s_flags & S_TAKEN))
            return let_go(s, rc);
    }
}

int mproc__q_stream_put(mproc_queue *q, q_waiter *wt, const void *buf, size_t len)
{
    queue_shared *s = q->s;
    for (;;) {
        qstate *st;
        while (!can_start(s, st = q_st(s))) {
            int rc = mproc__q_block(q, wt, W_SPACE, Q_EOS);
            if (rc)
                return rc;
        }
        mproc__q_ring_set_header(s, st->tail, Q_FRAME_STREAM | (uint64_t)len);
        qstate *n = mproc__q_edit(s);
        n->s_pos = n->tail;
        n->tail += 8;
        n->s_len = len;
        n->s_written = n->s_read = 0;
        n->s_wpid = (uint64_t)mproc__be_getpid();
        n->s_wtid = mproc__be_thread_id();
        n->s_rpid = n->s_rtid = 0;
        n->s_flags = S_ACTIVE;
        n->count++;
        n->nput++;
        mproc__q_commit(s);
        mproc__q_wake_one(s, W_ITEMS);
        int rc = send_bytes(q, wt, buf, len);
        if (rc != Q_RETRY)
            return rc;
    }
}
