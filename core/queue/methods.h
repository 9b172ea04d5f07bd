/* SPDX-License-Identifier: MIT */
/* methods.h - a queue's operations, as a table (sync/methods.h tells the
 * scheme): the local implementation in queue/, or one that something
 * above fills in (a Manager's queue proxies). The public functions check
 * NaN timeouts, the handle's kind, get's out-pointers and borrowed handles
 * on free; the rest is each implementation's own. */
#ifndef MPROC_CORE_QUEUE_METHODS_H
#define MPROC_CORE_QUEUE_METHODS_H

#include "mproc.h"

#include "base/object.h"

typedef struct core_queue_methods {
    core_kind kind; /* K_QUEUE, for Queue, SimpleQueue and JoinableQueue */
    int (*put)(mproc_queue *q, const void *buf, size_t len, double timeout);
    int (*get)(mproc_queue *q, void **buf, size_t *len, double timeout); /* buf, len != NULL */
    /* n >= 1 messages, all or none; the arrays are checked. */
    int (*put_many)(mproc_queue *q, const void *const *bufs, const size_t *lens, size_t n, double timeout);
    /* Up to max_messages (>= 1) messages of at most max_bytes in all: into
     * dest when it is not NULL (max_bytes is its size), else into one new
     * buffer *buf; lens[] and *count tell them. */
    int (*get_many)(mproc_queue *q, size_t max_messages, size_t max_bytes, void *dest, void **buf, size_t *lens,
                    size_t *count, double timeout);
    int (*qsize)(mproc_queue *q);
    int (*empty)(mproc_queue *q);
    int (*full)(mproc_queue *q);
    int (*close)(mproc_queue *q);
    int (*join_thread)(mproc_queue *q);
    int (*cancel_join_thread)(mproc_queue *q);
    int (*task_done)(mproc_queue *q);
    int (*join)(mproc_queue *q, double timeout);
    void (*free)(mproc_queue *q); /* never called on a borrowed handle */
} core_queue_methods;

static inline const core_queue_methods *core_queue_methods_of(const mproc_queue *q)
{
    return core_obj_methods(q, K_QUEUE);
}

#endif
