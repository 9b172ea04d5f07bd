/* SPDX-License-Identifier: MIT */
/* wait.c - mproc_wait: Python's multiprocessing.connection.wait() over
 * connections, process sentinels, queues and pool results, any number of
 * them. Each kind says how it is waited on (core_share_ops, base/object.h):
 *  - through the backend (an OS stream or process);
 *  - by a notifier (pool results and imap iterators, made ready by a
 *    thread of this process): the kind's notifier gives one stream per
 *    wait that turns readable when any such object may have become ready,
 *    and a generation counter; the objects are asked again only when the
 *    generation moved, so a wait on the first of 1,000 results sleeps in
 *    the backend and costs one rescan per completion, not 1,000 polls per
 *    slice. The notifier is registered by the kind's own table (kinds.c),
 *    so this file knows nothing of pools;
 *  - by a readable poll, for objects with no OS handle such as queues in
 *    shared memory: while they are in the list the backend wait is cut into
 *    short slices between which they are looked at (1 ms growing to 20 ms:
 *    one is noticed within that). */
#include <stdatomic.h>
#include <stdlib.h>

#include "proc/proc.h"
#include "base/object.h"
#include "base/testhooks.h"

#define POLL_SLICE_MIN 0.001
#define POLL_SLICE_MAX 0.02
#define NOTIFIERS_MAX 4 /* distinct notifiers in one wait (the pool's is the only one) */

static const core_share_ops *wait_ops(const void *obj) { return mproc__core_share_ops_for(core_obj_kind(obj)); }

enum { BY_BACKEND, BY_POLL, BY_NOTIFIER };

static atomic_ulong looks; /* mproc_test_wait_looks */

unsigned long mproc_test_wait_looks(void) { return atomic_load(&looks); }

static int how(const core_share_ops *ops)
{
    if (ops && ops->readable)
        return ops->notifier ? BY_NOTIFIER : BY_POLL;
    return BY_BACKEND;
}

typedef struct notified {
    const core_wait_notifier *nt;
    void *sub;
    be_wait_item item;
    uint64_t gen;
} notified;

typedef struct waitset {
    void **objects;
    size_t n;
    be_wait_item *items; /* n: one per object */
    be_wait_item *sub;   /* n + NOTIFIERS_MAX: what the backend waits on */
    notified nts[NOTIFIERS_MAX];
    size_t nnts;
    int polled, notified_objs;
} waitset;

/* What the backend waits on for object i; stays held until undone. */
static int prepare(void *obj, be_wait_item *it)
{
    const core_share_ops *ops = wait_ops(obj);
    if (how(ops) != BY_BACKEND)
        return 0; /* looked at between backend waits */
    if (ops && ops->wait_prepare)
        return ops->wait_prepare(obj, it);
    return MPROC_EINVAL;
}

static void undo(void **objects, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const core_share_ops *ops = wait_ops(objects[i]);
        if (how(ops) == BY_BACKEND && ops && ops->wait_undo)
            ops->wait_undo(objects[i]);
    }
}

/* Subscribes to obj's notifier unless this wait already has. */
static int subscribe(waitset *ws, const core_wait_notifier *nt)
{
    for (size_t i = 0; i < ws->nnts; i++)
        if (ws->nts[i].nt == nt)
            return 0;
    if (ws->nnts == NOTIFIERS_MAX)
        return MPROC_EINVAL; /* never: kinds.c has one notifier */
    notified *x = &ws->nts[ws->nnts];
    *x = (notified){nt, NULL, {0}, 0};
    int rc = nt->subscribe(&x->item, &x->sub);
    if (rc == 0)
        ws->nnts++;
    return rc;
}

/* Looks at the polled objects, and at the notified ones when their
 * notifier's generation moved (or on the first pass); returns how many of
 * all objects are ready. */
static int check(waitset *ws, int first)
{
    int moved = first;
    for (size_t j = 0; j < ws->nnts; j++) {
        uint64_t g = ws->nts[j].nt->rearm(ws->nts[j].sub); /* before the look: no change is missed */
        moved |= g != ws->nts[j].gen;
        ws->nts[j].gen = g;
    }
    int k = 0;
    for (size_t i = 0; i < ws->n; i++) {
        const core_share_ops *ops = wait_ops(ws->objects[i]);
        int h = how(ops);
        if (h == BY_NOTIFIER && moved)
            atomic_fetch_add_explicit(&looks, 1, memory_order_relaxed);
        if (h == BY_POLL || (h == BY_NOTIFIER && moved))
            ws->items[i].ready = ops->readable(ws->objects[i]) > 0;
        k += ws->items[i].ready;
    }
    return k;
}

/* The backend's wait over the items not looked at by check, and the
 * notifiers' streams. */
static int wait_backend(waitset *ws, double timeout)
{
    size_t m = 0;
    for (size_t i = 0; i < ws->n; i++)
        if (ws->items[i].stream || ws->items[i].proc)
            ws->sub[m++] = ws->items[i];
    for (size_t j = 0; j < ws->nnts; j++)
        ws->sub[m++] = ws->nts[j].item;
    if (m == 0) {
        mproc__be_sleep(timeout);
        return 0;
    }
    int rc = mproc__be_wait(ws->sub, m, timeout);
    for (size_t i = 0, j = 0; rc >= 0 && i < ws->n; i++)
        if (ws->items[i].stream || ws->items[i].proc)
            ws->items[i].ready = ws->sub[j++].ready;
    return rc;
}

static int wait_loop(waitset *ws, double timeout)
{
    if (!ws->polled && !ws->notified_objs)
        return ws->n ? mproc__be_wait(ws->items, ws->n, timeout) : (mproc__be_sleep(timeout), 0);
    double deadline = mproc__core_deadline(timeout), slice = POLL_SLICE_MIN;
    for (int first = 1;; first = 0) {
        int q = check(ws, first);
        double rem = mproc__core_remaining(deadline);
        /* some are ready: only a look at the OS ones; with only notified
         * objects besides OS ones, sleep the whole time */
        double t = q ? 0 : !ws->polled || (rem >= 0 && rem < slice) ? rem : slice;
        int rc = wait_backend(ws, t);
        if (rc < 0)
            return rc;
        int k = 0;
        for (size_t i = 0; i < ws->n; i++)
            k += ws->items[i].ready;
        if (k)
            return k;
        if (mproc__core_remaining(deadline) == 0)
            return check(ws, 0); /* the last look (the OS ones had theirs) */
        if (slice < POLL_SLICE_MAX)
            slice *= 2;
    }
}

int mproc_wait(void **objects, size_t n, double timeout, void **ready)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    if ((!objects && n) || (n == 0 && timeout < 0))
        return MPROC_EINVAL;
    mproc__core_ensure_init();
    be_wait_item *items = calloc(2 * n + NOTIFIERS_MAX, sizeof *items);
    if (!items)
        return MPROC_ENOMEM;
    waitset ws = {objects, n, items, items + n, {{0}}, 0, 0, 0};
    int rc = 0;
    size_t prepared = 0;
    for (; prepared < n && rc == 0; prepared++) {
        const core_share_ops *ops = wait_ops(objects[prepared]);
        int h = how(ops);
        ws.polled |= h == BY_POLL;
        ws.notified_objs |= h == BY_NOTIFIER;
        if (h == BY_NOTIFIER)
            rc = subscribe(&ws, ops->notifier);
        else
            rc = prepare(objects[prepared], &items[prepared]);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        rc = wait_loop(&ws, timeout);
    undo(objects, prepared);
    for (size_t j = 0; j < ws.nnts; j++)
        ws.nts[j].nt->unsubscribe(ws.nts[j].sub);
    if (rc >= 0) {
        int k = 0;
        for (size_t i = 0; i < n; i++)
            if (items[i].ready) {
                if (ready)
                    ready[k] = objects[i];
                k++;
            }
        rc = k;
    }
    free(items);
    return rc;
}
