/* SPDX-License-Identifier: MIT */
/* manager_queue_proxy.c - Queue calls on Manager proxies: the operations
 * table mproxy.h names. */
#include <stdlib.h>
#include <string.h>

#include "manager/mproxy.h"

#define T_QUEUE (1u << MT_QUEUE)

static mgr_proxy *queue(void *obj) { return mproc__mgr_proxy_of(obj, T_QUEUE); }

/* close() is this handle's own business, as for a local queue. */
static int closed_flag(void *obj) { return atomic_load(&((mgr_proxy *)obj)->closed); }

static int put(mproc_queue *q, const void *buf, size_t len, double timeout)
{
    mgr_proxy *p = queue(q);
    if (!p || (!buf && len) || len > UINT32_MAX)
        return p && len > UINT32_MAX ? MPROC_EMSGSIZE : MPROC_EINVAL;
    if (closed_flag(q))
        return MPROC_ECLOSED;
    mgr_call c;
    mproc__mgr_call_begin(&c, OP_Q_PUT, p->id, 2);
    msgpack_pack_bin_with_body(&c.pk, buf, len);
    msgpack_pack_double(&c.pk, timeout < 0 ? -1.0 : timeout);
    int rc = mproc__mgr_proxy_call(&c, p, timeout);
    mproc__mgr_call_end(&c);
    return rc;
}

static int get(mproc_queue *q, void **buf, size_t *len, double timeout)
{
    mgr_proxy *p = queue(q);
    if (!p)
        return MPROC_EINVAL;
    if (closed_flag(q))
        return MPROC_ECLOSED;
    mgr_call c;
    mproc__mgr_call_begin(&c, OP_Q_GET, p->id, 1);
    msgpack_pack_double(&c.pk, timeout < 0 ? -1.0 : timeout);
    int rc = mproc__mgr_proxy_call(&c, p, timeout);
    if (rc == 0 && c.value->type != MSGPACK_OBJECT_BIN)
        rc = MPROC_EBROKEN;
    if (rc == 0) {
        size_t n = c.value->via.bin.size;
        if (!(*buf = malloc(n ? n : 1)))
            rc = MPROC_ENOMEM;
        else if (n)
            memcpy(*buf, c.value->via.bin.ptr, n);
        *len = n;
    }
    mproc__mgr_call_end(&c);
    return rc;
}

/* One round trip for the batch: [[bin...], timeout]. */
static int put_many(mproc_queue *q, const void *const *bufs, const size_t *lens, size_t n, double timeout)
{
    mgr_proxy *p = queue(q);
    if (!p)
        return MPROC_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!bufs[i] && lens[i])
            return MPROC_EINVAL;
    for (size_t i = 0, total = 0; i < n; i++)
        if (n > UINT32_MAX || lens[i] > UINT32_MAX || (total += lens[i]) > UINT32_MAX)
            return MPROC_EMSGSIZE;
    if (closed_flag(q))
        return MPROC_ECLOSED;
    mgr_call c;
    mproc__mgr_call_begin(&c, OP_Q_PUT_MANY, p->id, 2);
    msgpack_pack_array(&c.pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_bin_with_body(&c.pk, bufs[i], lens[i]);
    msgpack_pack_double(&c.pk, timeout < 0 ? -1.0 : timeout);
    int rc = mproc__mgr_proxy_call(&c, p, timeout);
    mproc__mgr_call_end(&c);
    return rc;
}

/* The reply's messages, checked against the limits asked for. */
static int take_reply(const msgpack_object *v, size_t max, size_t max_bytes, void *dest, void **buf, size_t *lens,
                      size_t *count)
{
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0 || v->via.array.size > max)
        return MPROC_EBROKEN;
    size_t k = v->via.array.size, total = 0;
    for (size_t i = 0; i < k; i++) {
        const msgpack_object *b = &v->via.array.ptr[i];
        if (b->type != MSGPACK_OBJECT_BIN || b->via.bin.size > max_bytes - total)
            return MPROC_EBROKEN;
        total += b->via.bin.size;
    }
    char *out = dest;
    if (!out && !(out = malloc(total ? total : 1)))
        return MPROC_ENOMEM;
    for (size_t i = 0, off = 0; i < k; off += lens[i], i++) {
        lens[i] = v->via.array.ptr[i].via.bin.size;
        if (lens[i])
            memcpy(out + off, v->via.array.ptr[i].via.bin.ptr, lens[i]);
    }
    if (!dest)
        *buf = out;
    *count = k;
    return 0;
}

static int get_many(mproc_queue *q, size_t max, size_t max_bytes, void *dest, void **buf, size_t *lens, size_t *count,
                    double timeout)
{
    mgr_proxy *p = queue(q);
    if (!p)
        return MPROC_EINVAL;
    if (closed_flag(q))
        return MPROC_ECLOSED;
    mgr_call c;
    mproc__mgr_call_begin(&c, OP_Q_GET_MANY, p->id, 3);
    msgpack_pack_uint64(&c.pk, max > INT64_MAX ? INT64_MAX : max);
    msgpack_pack_uint64(&c.pk, max_bytes > INT64_MAX ? INT64_MAX : max_bytes);
    msgpack_pack_double(&c.pk, timeout < 0 ? -1.0 : timeout);
    int64_t too_long;
    int rc = mproc__mgr_proxy_call(&c, p, timeout);
    if (rc == 0)
        rc = take_reply(c.value, max, max_bytes, dest, buf, lens, count);
    else if (rc == MPROC_EMSGSIZE && mproc__mgr_obj_int(c.value, &too_long) == 0)
        lens[0] = (size_t)too_long;
    mproc__mgr_call_end(&c);
    return rc;
}

/* A call whose reply is a count or a flag (or nothing: v stays 0). */
static int int_call(mproc_queue *q, int op, int has_value)
{
    int64_t v = 0;
    int rc = mproc__mgr_sync_call(q, T_QUEUE, op, 0, 0, NULL, 0, has_value ? &v : NULL);
    return mproc__mgr_int_result(rc, v);
}

static int qsize(mproc_queue *q) { return int_call(q, OP_Q_QSIZE, 1); }

static int empty(mproc_queue *q) { return closed_flag(q) ? MPROC_ECLOSED : int_call(q, OP_Q_EMPTY, 1); }

static int full(mproc_queue *q) { return int_call(q, OP_Q_FULL, 1); }

static int close_q(mproc_queue *q)
{
    atomic_store(&((mgr_proxy *)q)->closed, 1);
    return 0;
}

static int join_thread(mproc_queue *q) { return closed_flag(q) ? 0 : MPROC_ESTATE; }

static int cancel_join_thread(mproc_queue *q)
{
    (void)q;
    return 0;
}

static int task_done(mproc_queue *q) { return int_call(q, OP_Q_TASK_DONE, 0); }

static int join(mproc_queue *q, double timeout)
{
    return mproc__mgr_sync_call(q, T_QUEUE, OP_Q_JOIN, 1, timeout, NULL, 0, NULL);
}

/* The public functions only reach this with a queue proxy. */
static void free_q(mproc_queue *q) { mproc__mgr_proxy_release((mgr_proxy *)q); }

const core_queue_methods mproc__mgr_queue_methods = {
    .kind = K_QUEUE,
    .put = put,
    .get = get,
    .put_many = put_many,
    .get_many = get_many,
    .qsize = qsize,
    .empty = empty,
    .full = full,
    .close = close_q,
    .join_thread = join_thread,
    .cancel_join_thread = cancel_join_thread,
    .task_done = task_done,
    .join = join,
    .free = free_q,
};
