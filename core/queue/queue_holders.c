/* SPDX-License-Identifier: MIT */
/* queue_holders.c - which processes hold a queue, so that a call blocked on
 * it can tell when no other live process could ever unblock it (CPython
 * gh-87971: a Queue whose peer died hangs).
 *
 * Each process counts its handles in one slot of the record's table (a
 * handle inherited across fork registers on first use). A reference given
 * to a child is counted in `transit` from before the child exists until
 * the parent knows its pid, then in the child's slot, which the child's own
 * handle takes over. A process that dies keeps its slot, now dead.
 *
 * Peers are gone when a second process has held the queue at some point
 * (a queue used by the threads of one process never reports it) and every
 * process but the caller that still counts handles is dead, with none on
 * its way.
 *
 * The references of a holder that was killed are given back by its
 * parent's ledger (ledger.h) once the parent has reaped it, as for every
 * kind of record: the last live user then destroys the queue, and every
 * process's mapping of the ring (and a segment's descriptor) goes.
 *
 * Slots are pid and count, written one word at a time, in an order that
 * leaves a killed writer's slot free or valid. */
#include "queue/queue.h"

static q_holder *find(queue_shared *s, uint64_t pid)
{
    for (size_t i = 0; i < Q_HOLDERS; i++)
        if (s->holders[i].count && s->holders[i].pid == pid)
            return &s->holders[i];
    return NULL;
}

/* A free slot, else one whose process died (it has served its purpose:
 * `multi` remembers that there were peers). */
static q_holder *take_slot(queue_shared *s)
{
    for (size_t i = 0; i < Q_HOLDERS; i++)
        if (!s->holders[i].count)
            return &s->holders[i];
    for (size_t i = 0; i < Q_HOLDERS; i++) {
        q_holder *h = &s->holders[i];
        if (!mproc__be_pid_alive((long)h->pid)) {
            h->count = 0;
            return h;
        }
    }
    return NULL;
}

/* pid's slot, made if need be; NULL when the table is full. */
static q_holder *slot_of(queue_shared *s, uint64_t pid)
{
    q_holder *h = find(s, pid);
    if (!h && (h = take_slot(s)) != NULL) {
        h->pid = pid;
        h->count = 0;
    }
    return h;
}

void mproc__q_hold(queue_shared *s, uint64_t pid, int delta)
{
    q_holder *h = find(s, pid);
    if (delta < 0) {
        if (h && h->count)
            h->count--;
        else if (s->untracked)
            s->untracked--;
        return;
    }
    if (!s->first_pid)
        s->first_pid = pid;
    else if (pid != s->first_pid)
        s->multi = 1;
    if ((h = slot_of(s, pid)) != NULL)
        h->count++;
    else
        s->untracked++; /* never reports peers gone while it counts */
}

int mproc__q_peers_gone(queue_shared *s)
{
    if (!s->multi || s->transit || s->untracked)
        return 0;
    uint64_t me = (uint64_t)mproc__be_getpid();
    for (size_t i = 0; i < Q_HOLDERS; i++)
        if (s->holders[i].count && s->holders[i].pid != me && mproc__be_pid_alive((long)s->holders[i].pid))
            return 0;
    return 1;
}

void mproc__q_touch(mproc_queue *q)
{
    long me = mproc__be_getpid();
    long reg = atomic_load_explicit(&q->reg_pid, memory_order_relaxed);
    if (reg == me || atomic_load(&q->closed))
        return;
    if (!atomic_compare_exchange_strong(&q->reg_pid, &reg, me))
        return; /* another thread of ours did it */
    mproc__q_lock(q->s);
    mproc__q_hold(q->s, (uint64_t)me, 1);
    mproc__q_unlock(q->s);
}

void mproc__q_untouch(mproc_queue *q)
{
    long me = mproc__be_getpid();
    if (!atomic_compare_exchange_strong(&q->reg_pid, &me, 0))
        return;
    mproc__q_lock(q->s);
    mproc__q_hold(q->s, (uint64_t)me, -1);
    mproc__q_unlock(q->s);
}

void mproc__core_queue_handover(core_rec *r, enum core_handover step, long pid)
{
    queue_shared *s = (queue_shared *)r;
    mproc__q_lock(s);
    switch (step) {
    case CORE_HANDOVER_SEND:
        s->transit++;
        break;
    case CORE_HANDOVER_SENT:
        if (s->transit)
            s->transit--;
        if (pid > 0)
            mproc__q_hold(s, (uint64_t)pid, 1);
        break;
    case CORE_HANDOVER_RECEIVED: /* our new handle counts it now */
        mproc__q_hold(s, (uint64_t)mproc__be_getpid(), -1);
        break;
    }
    mproc__q_unlock(s);
}
