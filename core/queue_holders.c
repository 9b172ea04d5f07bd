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
 * A slot also counts the references of the record its process owns
 * through its handles (a handle inherited across fork owns none). A process
 * killed never gives them back, so the record would outlive every live
 * user, each keeping its mapping of the ring (and, for a ring in a segment
 * of its own, a descriptor or handle). q_reclaim drops them once their
 * process is dead. A slot's refs never exceed what its process really owns,
 * so a reclaim never takes one that is still in use: they are counted only
 * where a handle is made (its reference is already there) and freed, never
 * at a hand-over, whose SENT may reach the table after the child has taken
 * the reference over and given it back. So a reference travelling to a
 * child killed before its handle existed stays uncounted (kept, as before),
 * as does one taken while the table was full.
 *
 * Slots are written one word at a time, in an order that leaves a killed
 * writer's slot free or valid, and a reference at worst counted nowhere
 * (kept, as before), never twice. */
#include "queue.h"

static q_holder *find(queue_shared *s, uint64_t pid)
{
    for (size_t i = 0; i < Q_HOLDERS; i++)
        if ((s->holders[i].count || s->holders[i].refs) && s->holders[i].pid == pid)
            return &s->holders[i];
    return NULL;
}

/* A free slot, else one whose process died (it has served its purpose:
 * `multi` remembers that there were peers, `orphans` its references). */
static q_holder *take_slot(queue_shared *s)
{
    for (size_t i = 0; i < Q_HOLDERS; i++)
        if (!s->holders[i].count && !s->holders[i].refs)
            return &s->holders[i];
    for (size_t i = 0; i < Q_HOLDERS; i++) {
        q_holder *h = &s->holders[i];
        if (!be_pid_alive((long)h->pid)) {
            uint64_t r = h->refs;
            h->refs = 0;
            s->orphans += r;
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
        h->count = h->refs = 0;
    }
    return h;
}

void q_hold(queue_shared *s, uint64_t pid, int delta)
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

void q_own(queue_shared *s, uint64_t pid, int delta)
{
    q_holder *h = delta < 0 ? find(s, pid) : slot_of(s, pid);
    if (!h)
        return; /* not counted: never reclaimed */
    if (delta > 0)
        h->refs++;
    else if (h->refs)
        h->refs--;
}

void q_reclaim(queue_shared *s)
{
    uint64_t me = (uint64_t)be_getpid(), dead = 0;
    for (size_t i = 0; i < Q_HOLDERS; i++) {
        q_holder *h = &s->holders[i];
        if (h->refs && h->pid != me && !be_pid_alive((long)h->pid)) {
            uint64_t r = h->refs;
            h->refs = 0;
            dead += r;
        }
    }
    dead += s->orphans;
    s->orphans = 0;
    /* The caller's own reference keeps the count above zero. */
    if (dead)
        atomic_fetch_sub(&s->rec.refs, (uint32_t)dead);
}

int q_peers_gone(queue_shared *s)
{
    if (!s->multi || s->transit || s->untracked)
        return 0;
    uint64_t me = (uint64_t)be_getpid();
    for (size_t i = 0; i < Q_HOLDERS; i++)
        if (s->holders[i].count && s->holders[i].pid != me && be_pid_alive((long)s->holders[i].pid))
            return 0;
    return 1;
}

void q_touch(mproc_queue *q)
{
    long me = be_getpid();
    long reg = atomic_load_explicit(&q->reg_pid, memory_order_relaxed);
    if (reg == me || atomic_load(&q->closed))
        return;
    if (!atomic_compare_exchange_strong(&q->reg_pid, &reg, me))
        return; /* another thread of ours did it */
    q_lock(q->s);
    q_hold(q->s, (uint64_t)me, 1);
    q_unlock(q->s);
}

void q_untouch(mproc_queue *q)
{
    long me = be_getpid();
    if (!atomic_compare_exchange_strong(&q->reg_pid, &me, 0))
        return;
    q_lock(q->s);
    q_hold(q->s, (uint64_t)me, -1);
    q_unlock(q->s);
}

void core_queue_handover(core_rec *r, enum core_handover step, long pid)
{
    queue_shared *s = (queue_shared *)r;
    q_lock(s);
    switch (step) {
    case CORE_HANDOVER_SEND:
        s->transit++;
        break;
    case CORE_HANDOVER_SENT:
        if (s->transit)
            s->transit--;
        if (pid > 0)
            q_hold(s, (uint64_t)pid, 1);
        break;
    case CORE_HANDOVER_RECEIVED: /* our new handle counts it now */
        q_hold(s, (uint64_t)be_getpid(), -1);
        break;
    }
    q_unlock(s);
}
