/* SPDX-License-Identifier: MIT */
/* pool_handler.c - the pool's result thread: hands queued tasks to idle
 * workers, reads their replies, completes asyncs (running callbacks),
 * notices dead workers and replaces them, and shuts the workers down on
 * close or terminate. Only this thread talks to the workers. */
#include <stdlib.h>
#include <string.h>

#include "ipc/conn.h"
#include "proc/proc.h"
#include "pool/pool.h"

#define BATCH_MAX 64 /* apply tasks per message when the queue is long */

typedef struct outgoing {
    pool_worker *w;
    char *msg;
    size_t len;
    be_shm *segs[PW_POOL_SEGS]; /* handed over after msg, one per PT_SEGMENT in it */
    size_t nsegs;
} outgoing;

/* How long the hand-over of a segment may wait for room on a worker's
 * pipe (an idle worker is reading it). */
#define SEG_SEND_TIMEOUT 10.0

static int is_map_kind(const mproc_async *a) { return a->kind == A_MAP || a->kind == A_IMAP; }

/* A task's async was given up by its caller (a map or imap freed before it
 * ended): running it would be wasted. */
static int abandoned(const pool_task *t) { return t->async->user_freed && is_map_kind(t->async); }

static size_t task_bytes(const pool_task *t) { return sizeof t->w + t->w.modlen + (size_t)t->w.datalen; }

/* Appends the task's wire form to msg at *pos. */
static void put_task(char *msg, size_t *pos, const pool_task *t)
{
    memcpy(msg + *pos, &t->w, sizeof t->w);
    *pos += sizeof t->w;
    memcpy(msg + *pos, t->fn->ref.module, t->w.modlen);
    *pos += t->w.modlen;
    if (t->w.datalen)
        memcpy(msg + *pos, t->data, (size_t)t->w.datalen);
    *pos += (size_t)t->w.datalen;
}

static pool_task *pop(mproc_pool *p)
{
    pool_task *t = p->qhead;
    if (t) {
        p->qhead = t->next;
        if (!p->qhead)
            p->qtail = NULL;
        p->qlen--;
        t->next = NULL;
    }
    return t;
}

static void push_front(mproc_pool *p, pool_task *head, pool_task *tail, size_t n)
{
    tail->next = p->qhead;
    p->qhead = head;
    if (!p->qtail)
        p->qtail = tail;
    p->qlen += n;
}

/* Ends a task without running it (lock not held). */
static void fail_task(pool_task *t, int status)
{
    mproc_async *a = t->async;
    size_t slot = t->slot, start = (size_t)t->w.start;
    mproc__pool_task_free(t); /* first: it may live inside a */
    mproc__pool_async_task_done(a, slot, status, 0, start, NULL, 0);
}

/* The slot of w that holds t's pool segment; one not holding it yet gets
 * it in the least recently filled slot, announced in o (lock held). */
static uint64_t seg_slot(pool_worker *w, const pool_task *t, outgoing *o, pw_task *segrec)
{
    for (unsigned i = 0; i < PW_POOL_SEGS; i++)
        if (w->seg_ids[i] == t->w.seg_id)
            return i;
    unsigned i = w->seg_next;
    w->seg_next = (i + 1) % PW_POOL_SEGS;
    w->seg_ids[i] = t->w.seg_id;
    pw_task *r = &segrec[o->nsegs];
    memset(r, 0, sizeof *r);
    r->type = PT_SEGMENT;
    r->seg_id = t->w.seg_id;
    r->seg_slot = i;
    o->segs[o->nsegs++] = t->async->seg->map; /* alive while t is: t holds the async */
    return i;
}

/* Moves tasks from the queue to idle workers (lock held). Returns the
 * messages to send, and the abandoned tasks to end, through the lists. */
static size_t dispatch(mproc_pool *p, outgoing *out, pool_task **dropped)
{
    size_t nout = 0, idle = 0;
    for (int i = 0; i < p->nworkers; i++)
        idle += p->workers[i].state == W_READY && p->workers[i].nsent == 0;
    for (int i = 0; i < p->nworkers && p->qhead && idle; i++) {
        pool_worker *w = &p->workers[i];
        if (w->state != W_READY || w->nsent != 0)
            continue;
        unsigned budget = p->maxtasks ? p->maxtasks - w->tasks : BATCH_MAX;
        if (budget == 0)
            continue; /* it is about to exit */
        size_t want = (p->qlen + idle - 1) / idle;
        if (want > budget)
            want = budget;
        if (want > BATCH_MAX)
            want = BATCH_MAX;
        idle--;
        pool_task *head = NULL, *tail = NULL;
        size_t n = 0, bytes = 0;
        while (n < want && p->qhead) {
            pool_task *t = p->qhead;
            if (n > 0 && t->one_at_a_time)
                break;
            pop(p);
            if (abandoned(t)) {
                t->next = *dropped;
                *dropped = t;
                continue;
            }
            if (tail)
                tail->next = t;
            else
                head = t;
            tail = t;
            n++;
            t->async->ndispatched++; /* started: mproc_async_cancel now loses */
            bytes += task_bytes(t);
            if (t->one_at_a_time)
                break;
        }
        if (!n)
            continue;
        outgoing *o = &out[nout];
        *o = (outgoing){w, NULL, 0, {NULL}, 0};
        pw_task segrec[PW_POOL_SEGS];
        for (pool_task *t = head; t; t = t->next)
            if (t->w.type == PT_CHUNK_SHM && t->w.seg_id)
                t->w.seg_slot = seg_slot(w, t, o, segrec);
        bytes += o->nsegs * sizeof *segrec;
        char *msg = malloc(bytes);
        if (!msg) {
            memset(w->seg_ids, 0, sizeof w->seg_ids); /* none went */
            push_front(p, head, tail, n);
            break;
        }
        memcpy(msg, segrec, o->nsegs * sizeof *segrec); /* the announcements first */
        size_t pos = o->nsegs * sizeof *segrec;
        for (pool_task *t = head; t; t = t->next)
            put_task(msg, &pos, t);
        w->sent_head = head;
        w->sent_tail = tail;
        w->nsent = n;
        w->tasks += (unsigned)n;
        o->msg = msg;
        o->len = bytes;
        nout++;
    }
    return nout;
}

/* Hands seg to w after its message (lock not held). */
static int send_segment(pool_worker *w, be_shm *seg)
{
    be_stream *s;
    be_proc *peer = NULL; /* a transport's worker is served in this process */
    int rc = w->proc ? mproc__core_sentinel_proc(mproc_process_sentinel(w->proc), &peer) : 0;
    if (rc == 0 && (rc = mproc__core_conn_hold(w->conn, 0, &s, NULL)) == 0) {
        rc = mproc__be_shm_send(s, peer, seg, SEG_SEND_TIMEOUT);
        mproc__core_conn_unhold(w->conn);
    }
    return rc;
}

/* One reply from w (lock not held). */
static void on_reply(mproc_pool *p, pool_worker *w, const pw_reply *rep, const char *data)
{
    mproc__core_pool_lock();
    if (rep->id == 0) { /* a replacement's start report */
        if (rep->status == 0)
            w->state = W_READY;
        else if (!p->broken)
            p->broken = rep->status;
        mproc__core_pool_unlock();
        return;
    }
    pool_task *t = w->sent_head;
    if (!t || t->w.id != rep->id) { /* never happens: the worker answers in order */
        mproc__core_pool_unlock();
        return;
    }
    w->sent_head = t->next;
    if (!w->sent_head)
        w->sent_tail = NULL;
    w->nsent--;
    if (t->w.type == PT_CHUNK_SHM && rep->status && rep->status != MPROC_ETASK)
        memset(w->seg_ids, 0, sizeof w->seg_ids); /* it may not hold what we think */
    mproc__core_pool_unlock();
    int status = rep->status;
    void *copy = NULL;
    size_t len = (size_t)rep->datalen;
    if (len && (copy = malloc(len)) != NULL)
        memcpy(copy, data, len);
    else if (len)
        status = MPROC_ENOMEM;
    mproc_async *a = t->async;
    size_t slot = t->slot;
    mproc__pool_task_free(t); /* first: it may live inside a */
    mproc__pool_async_task_done(a, slot, status, rep->code, (size_t)rep->index, copy, copy ? len : 0);
}

/* A message from w: its replies back to back. */
static void on_message(mproc_pool *p, pool_worker *w, const char *msg, size_t len)
{
    size_t pos = 0;
    while (len - pos >= sizeof(pw_reply)) {
        pw_reply rep;
        memcpy(&rep, msg + pos, sizeof rep);
        pos += sizeof rep;
        if (rep.datalen > len - pos)
            return; /* corrupt; never happens */
        on_reply(p, w, &rep, msg + pos);
        pos += (size_t)rep.datalen;
    }
}

/* Reads what w has sent; 1 when its pipe ended. */
static int drain(mproc_pool *p, pool_worker *w)
{
    for (int i = 0; i < 256; i++) {
        if (mproc_conn_poll(w->conn, 0) != 1)
            return 0;
        void *msg;
        size_t len;
        if (mproc_conn_recv_bytes(w->conn, &msg, &len, MPROC_NOLIMIT) != 0)
            return 1;
        on_message(p, w, msg, len);
        mproc_free(msg);
    }
    return 0;
}

static int work_left(mproc_pool *p)
{
    if (p->qhead)
        return 1;
    for (int i = 0; i < p->nworkers; i++)
        if (p->workers[i].nsent)
            return 1;
    return 0;
}

/* Ends a list of tasks without running them (lock not held). */
static void fail_list(pool_task *t, int status)
{
    while (t) {
        pool_task *next = t->next;
        fail_task(t, status);
        t = next;
    }
}

/* Fails every queued task (lock held on entry, released on return). */
static void fail_queue(mproc_pool *p, int status)
{
    pool_task *t = p->qhead;
    p->qhead = p->qtail = NULL;
    p->qlen = 0;
    mproc__core_pool_unlock();
    fail_list(t, status);
}

/* A replacement that cannot start is tried again, a little later each
 * time: the cause may pass (a forkserver killed just as it was asked for a
 * child, a moment without memory or processes). START_TRIES failures in a
 * row (tried again after 0.05, 0.1, 0.2, 0.4, 0.8 s: about a second and a
 * half) mark the pool broken and the worker gone (mproc_pool_processes
 * no longer counts it); a transport's MPROC_EWORKERLOST (an MPI rank that
 * is lost) does at once. start_failures and retry_at are this thread's
 * alone. */
#define START_TRIES 6
#define START_BACKOFF 0.05

/* Starts a replacement for the dead worker w if the pool still wants one. */
static void replace(mproc_pool *p, pool_worker *w)
{
    w->retry_at = 0;
    mproc__core_pool_lock();
    int wanted = p->state != POOL_TERMINATED && !p->broken && (p->state == POOL_RUNNING || p->qhead);
    mproc__core_pool_unlock();
    int rc = wanted ? mproc__pool_worker_start(p, w) : 0;
    int for_good = p->tr && rc == MPROC_EWORKERLOST; /* a transport's worker that is gone (an MPI rank lost) */
    if (rc == 0)
        w->start_failures = 0;
    else if (!for_good && ++w->start_failures < START_TRIES)
        w->retry_at = mproc__be_monotonic() + START_BACKOFF * (double)(1u << (w->start_failures - 1));
    mproc__core_pool_lock();
    if ((rc && !w->retry_at) || (!wanted && p->broken)) /* a broken pool starts no replacement */
        w->gone = 1;
    if (rc && !w->retry_at && !p->broken)
        p->broken = rc;
    if (p->broken && mproc__pool_live_workers(p) == 0)
        fail_queue(p, MPROC_EBROKEN);
    else
        mproc__core_pool_unlock();
}

/* Starts the replacements that are due; returns the seconds until the
 * next one (-1: none waits). */
static double replace_due(mproc_pool *p)
{
    double next = -1;
    for (int i = 0; i < p->nworkers; i++) {
        pool_worker *w = &p->workers[i];
        if (w->retry_at > 0 && w->retry_at <= mproc__be_monotonic())
            replace(p, w);
        if (w->retry_at > 0) {
            double left = w->retry_at - mproc__be_monotonic();
            if (next < 0 || left < next)
                next = left > 0 ? left : 0;
        }
    }
    return next;
}

/* w's process ended. Of the tasks it had and did not answer, those up to
 * the one it had started (its progress slot says which) fail with
 * MPROC_EWORKERLOST: that one was running, any before it had ended but
 * their results died with the worker (it flushes them within FLUSH_AFTER,
 * pool_worker.c). The ones after go back to the queue. A replacement
 * starts unless the pool is done. */
static void on_death(mproc_pool *p, pool_worker *w)
{
    drain(p, w);
    mproc__core_pool_lock();
    int64_t started = ((int64_t *)mproc_array_ptr(p->progress))[w - p->workers];
    pool_task *lost = NULL, **lost_tail = &lost;
    while (w->sent_head && (int64_t)w->sent_head->w.id <= started) {
        pool_task *t = w->sent_head;
        w->sent_head = t->next;
        w->nsent--;
        t->next = NULL;
        *lost_tail = t;
        lost_tail = &t->next;
    }
    if (w->sent_head)
        push_front(p, w->sent_head, w->sent_tail, w->nsent);
    w->sent_head = w->sent_tail = NULL;
    w->nsent = 0;
    mproc__core_pool_unlock();
    fail_list(lost, MPROC_EWORKERLOST);
    mproc__pool_worker_stop(p, w, 0);
    replace(p, w);
}

/* Terminate: stop every worker at once, fail whatever did not end. */
static void terminate_all(mproc_pool *p)
{
    for (int i = 0; i < p->nworkers; i++)
        if (p->workers[i].proc)
            mproc_process_terminate(p->workers[i].proc);
    for (int i = 0; i < p->nworkers; i++) {
        pool_worker *w = &p->workers[i];
        mproc__core_pool_lock();
        pool_task *t = w->sent_head;
        w->sent_head = w->sent_tail = NULL;
        w->nsent = 0;
        mproc__core_pool_unlock();
        fail_list(t, MPROC_ECLOSED);
        mproc__pool_worker_stop(p, w, BE_TERMINATE);
    }
    mproc__core_pool_lock();
    fail_queue(p, MPROC_ECLOSED);
}

/* Close: every task has ended; workers exit when their pipe closes. */
static void close_all(mproc_pool *p)
{
    for (int i = 0; i < p->nworkers; i++)
        if (p->workers[i].conn)
            mproc_conn_close(p->workers[i].conn);
    for (int i = 0; i < p->nworkers; i++)
        mproc__pool_worker_stop(p, &p->workers[i], 0);
}

static void drain_wake(mproc_pool *p)
{
    while (mproc_conn_poll(p->wake_r, 0) == 1) {
        char c[16];
        size_t len;
        if (mproc_conn_recv_bytes_into(p->wake_r, c, sizeof c, &len) != 0)
            break;
    }
    mproc__core_pool_lock();
    p->wake_pending = 0;
    mproc__core_pool_unlock();
}

void mproc__pool_handler_main(void *arg)
{
    mproc_pool *p = arg;
    mproc__core_pool_lock();
    p->handler_tid = mproc__be_thread_id(); /* an exit() from a callback runs here */
    mproc__core_pool_unlock();
    size_t cap = 1 + 2 * (size_t)p->nworkers;
    void **objs = calloc(cap, sizeof *objs), **ready = calloc(cap, sizeof *ready);
    outgoing *out = calloc((size_t)p->nworkers, sizeof *out);
    for (;;) {
        pool_task *dropped = NULL;
        mproc__core_pool_lock();
        int state = p->state;
        if (state == POOL_TERMINATED || (state == POOL_CLOSED && !work_left(p)) || !objs || !ready || !out) {
            mproc__core_pool_unlock();
            if (state == POOL_CLOSED)
                close_all(p);
            else
                terminate_all(p);
            break;
        }
        size_t nout = dispatch(p, out, &dropped);
        mproc__core_pool_unlock();
        int any_dropped = dropped != NULL;
        fail_list(dropped, MPROC_ECLOSED);
        for (size_t i = 0; i < nout; i++) {
            pool_worker *w = out[i].w;
            int rc = mproc_conn_send_bytes(w->conn, out[i].msg, out[i].len); /* a dead worker shows below */
            free(out[i].msg);
            for (size_t k = 0; rc == 0 && k < out[i].nsegs; k++)
                if ((rc = send_segment(w, out[i].segs[k])) != 0) {
                    /* It waits for a segment that will not come: its
                     * stream is out of step. Replace it. */
                    if (w->proc)
                        mproc_process_kill(w->proc);
                    on_death(p, w);
                }
        }
        if (any_dropped)
            continue; /* the queue changed: look again before waiting */
        double wait_for = replace_due(p); /* first: a worker it starts is waited on below */
        size_t n = 0;
        objs[n++] = p->wake_r;
        for (int i = 0; i < p->nworkers; i++) {
            if (p->workers[i].conn)
                objs[n++] = p->workers[i].conn;
            if (p->workers[i].proc)
                objs[n++] = mproc_process_sentinel(p->workers[i].proc);
        }
        int nr = mproc_wait(objs, n, wait_for, ready);
        for (int k = 0; k < nr; k++) {
            if (ready[k] == p->wake_r) {
                drain_wake(p);
                continue;
            }
            for (int i = 0; i < p->nworkers; i++) {
                pool_worker *w = &p->workers[i];
                if (!w->conn)
                    continue;
                if (ready[k] == w->conn) {
                    if (drain(p, w) && !w->proc) /* a transport's worker: its end is its death */
                        on_death(p, w);
                } else if (w->proc && ready[k] == mproc_process_sentinel(w->proc)) {
                    on_death(p, w);
                }
            }
        }
        if (nr < 0)
            mproc__be_sleep(0.001); /* a worker's handle went bad: its death shows next time */
    }
    free(objs);
    free(ready);
    free(out);
    mproc__pool_async_task_done(p->done, 0, 0, 0, 0, NULL, 0);
}
