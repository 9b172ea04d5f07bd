/* SPDX-License-Identifier: MIT */
/* wait.c - mproc_wait: Python's multiprocessing.connection.wait() over
 * connections, process sentinels and queues, any number of them. Each
 * kind says how it is waited on (core_share_ops, base/object.h): through
 * the backend (an OS stream or process), or, for objects with no OS handle
 * such as queues in shared memory, by a readable poll. While polled
 * objects are in the list the backend wait is cut into short slices
 * between which they are looked at (1 ms growing to 20 ms: one is noticed
 * within that). */
#include <stdlib.h>

#include "proc/proc.h"
#include "base/object.h"

#define POLL_SLICE_MIN 0.001
#define POLL_SLICE_MAX 0.02

static const core_share_ops *wait_ops(const void *obj) { return mproc__core_share_ops_for(core_obj_kind(obj)); }

/* What the backend waits on for object i; stays held until undone. */
static int prepare(void *obj, be_wait_item *it)
{
    const core_share_ops *ops = wait_ops(obj);
    if (ops && ops->readable)
        return 0; /* looked at by wait_slices */
    if (ops && ops->wait_prepare)
        return ops->wait_prepare(obj, it);
    return MPROC_EINVAL;
}

static void undo(void **objects, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const core_share_ops *ops = wait_ops(objects[i]);
        if (ops && !ops->readable && ops->wait_undo)
            ops->wait_undo(objects[i]);
    }
}

/* Marks the polled objects that are ready; returns how many. */
static int check_polled(void **objects, be_wait_item *items, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        const core_share_ops *ops = wait_ops(objects[i]);
        if (ops && ops->readable && (items[i].ready = ops->readable(objects[i]) > 0))
            k++;
    }
    return k;
}

/* The backend's wait over the items not polled (packed into `sub`). */
static int wait_backend(be_wait_item *items, be_wait_item *sub, size_t n, double timeout)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].stream || items[i].proc)
            sub[m++] = items[i];
    if (m == 0) {
        mproc__be_sleep(timeout);
        return 0;
    }
    int rc = mproc__be_wait(sub, m, timeout);
    for (size_t i = 0, j = 0; rc >= 0 && i < n; i++)
        if (items[i].stream || items[i].proc)
            items[i].ready = sub[j++].ready;
    return rc;
}

/* With polled objects in the list: slices of backend waits, polls in between. */
static int wait_slices(void **objects, be_wait_item *items, be_wait_item *sub, size_t n, double timeout)
{
    double deadline = mproc__core_deadline(timeout), slice = POLL_SLICE_MIN;
    for (;;) {
        int q = check_polled(objects, items, n);
        double rem = mproc__core_remaining(deadline);
        double t = q ? 0 : (rem >= 0 && rem < slice ? rem : slice);
        int rc = wait_backend(items, sub, n, t);
        if (rc < 0 || rc + q > 0)
            return rc; /* the caller counts the ready flags */
        if (mproc__core_remaining(deadline) == 0)
            return 0;
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
    be_wait_item *items = calloc(n ? 2 * n : 1, sizeof *items);
    if (!items)
        return MPROC_ENOMEM;
    int rc = 0, polled = 0;
    size_t prepared = 0;
    for (; prepared < n && rc == 0; prepared++) {
        const core_share_ops *ops = wait_ops(objects[prepared]);
        polled |= ops && ops->readable;
        if ((rc = prepare(objects[prepared], &items[prepared])) != 0)
            break;
    }
    if (rc == 0)
        rc = polled ? wait_slices(objects, items, items + n, n, timeout)
             : n ? mproc__be_wait(items, n, timeout)
                 : (mproc__be_sleep(timeout), 0); /* nothing to wait for; mproc__be_wait needs n >= 1 */
    undo(objects, prepared);
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
