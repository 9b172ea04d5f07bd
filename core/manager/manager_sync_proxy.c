/* SPDX-License-Identifier: MIT */
/* manager_sync_proxy.c - Lock, Semaphore, Condition, Event, Barrier and
 * Queue calls on Manager proxies (mproxy.h). A lock's holder is this
 * process's token and the calling thread, as for a local lock. */
#include <stdlib.h>
#include <string.h>

#include "manager/manager.h"
#include "manager/mproxy.h"

#define BIT(t) (1u << (t))
#define LOCKS (BIT(MT_LOCK) | BIT(MT_RLOCK))
#define ACQUIRABLE (LOCKS | BIT(MT_SEM) | BIT(MT_COND))

/* [op, id, (timeout), ints...]; the reply's integer in *out if asked. */
static int sync_call(const void *obj, unsigned types, int op, int timed, double timeout, const int64_t *ints,
                     size_t n, int64_t *out)
{
    mgr_proxy *p = mgr_proxy_of(obj, types);
    if (!p)
        return MPROC_EINVAL;
    mgr_call c;
    mgr_call_begin(&c, op, p->id, n + (timed ? 1 : 0));
    if (timed)
        msgpack_pack_double(&c.pk, timeout < 0 ? -1.0 : timeout);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_int64(&c.pk, ints[i]);
    int rc = mgr_proxy_call(&c, p, timed ? timeout : MGR_NOW);
    if (rc == 0 && out && mgr_obj_int(c.value, out) != 0)
        rc = MPROC_EBROKEN;
    mgr_call_end(&c);
    return rc;
}

static int int_result(int rc, int64_t v) { return rc ? rc : v < 0 || v > INT32_MAX ? MPROC_EBROKEN : (int)v; }

static int64_t tid(void) { return (int64_t)be_thread_id(); }

int mgr_acquire(void *obj, double timeout)
{
    int64_t t = tid();
    return sync_call(obj, ACQUIRABLE, OP_ACQUIRE, 1, timeout, &t, 1, NULL);
}

int mgr_release(void *obj)
{
    int64_t t = tid();
    return sync_call(obj, ACQUIRABLE, OP_RELEASE, 0, 0, &t, 1, NULL);
}

int mgr_is_rlock(const void *obj)
{
    int64_t v = 0;
    int rc = sync_call(obj, LOCKS, OP_IS_RLOCK, 0, 0, NULL, 0, &v);
    return int_result(rc, v);
}

int mgr_sem_value(void *obj)
{
    int64_t v = 0;
    int rc = sync_call(obj, BIT(MT_SEM), OP_SEM_VALUE, 0, 0, NULL, 0, &v);
    return int_result(rc, v);
}

int mgr_cond_wait(void *obj, double timeout)
{
    int64_t t = tid();
    return sync_call(obj, BIT(MT_COND), OP_COND_WAIT, 1, timeout, &t, 1, NULL);
}

/* The predicate runs here, between waits (Python's wait_for does the same). */
int mgr_cond_wait_for(void *obj, mproc_predicate pred, void *arg, double timeout)
{
    if (!pred || !mgr_proxy_of(obj, BIT(MT_COND)))
        return MPROC_EINVAL;
    double deadline = core_deadline(timeout);
    int r;
    while (!(r = pred(arg))) {
        double left = core_remaining(deadline);
        if (left == 0)
            break;
        int rc = mgr_cond_wait(obj, left);
        if (rc && rc != MPROC_ETIMEDOUT)
            return rc;
    }
    return r;
}

int mgr_cond_notify(void *obj, int n)
{
    int64_t a[2] = {n, tid()};
    return sync_call(obj, BIT(MT_COND), OP_COND_NOTIFY, 0, 0, a, 2, NULL);
}

int mgr_event_op(void *obj, char what)
{
    int64_t v = 0;
    int op = what == 's' ? OP_EV_SET : what == 'c' ? OP_EV_CLEAR : OP_EV_IS_SET;
    int rc = sync_call(obj, BIT(MT_EVENT), op, 0, 0, NULL, 0, op == OP_EV_IS_SET ? &v : NULL);
    return int_result(rc, v);
}

int mgr_event_wait(void *obj, double timeout)
{
    return sync_call(obj, BIT(MT_EVENT), OP_EV_WAIT, 1, timeout, NULL, 0, NULL);
}

int mgr_barrier_wait(void *obj, double timeout)
{
    int64_t v = 0;
    /* A negative timeout means the barrier's default, unknown here: the
     * reply may take as long as the server lets it. */
    mgr_proxy *p = mgr_proxy_of(obj, BIT(MT_BARRIER));
    if (!p)
        return MPROC_EINVAL;
    mgr_call c;
    mgr_call_begin(&c, OP_B_WAIT, p->id, 1);
    msgpack_pack_double(&c.pk, timeout < 0 ? -1.0 : timeout);
    int rc = mgr_proxy_call(&c, p, -1);
    if (rc == 0 && mgr_obj_int(c.value, &v) != 0)
        rc = MPROC_EBROKEN;
    mgr_call_end(&c);
    return int_result(rc, v);
}

int mgr_barrier_op(void *obj, char what)
{
    static const struct {
        char what;
        int op, has_value;
    } ops[] = {{'r', OP_B_RESET, 0}, {'a', OP_B_ABORT, 0}, {'b', OP_B_BROKEN, 1}, {'n', OP_B_N_WAITING, 1},
               {'p', OP_B_PARTIES, 1}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].what == what) {
            int64_t v = 0;
            int rc = sync_call(obj, BIT(MT_BARRIER), ops[i].op, 0, 0, NULL, 0, ops[i].has_value ? &v : NULL);
            return int_result(rc, v);
        }
    return MPROC_EINVAL;
}

/* ------------------------------------------------------------ queue */

static mgr_proxy *queue(void *obj) { return mgr_proxy_of(obj, BIT(MT_QUEUE)); }

/* close() is this handle's own business, as for a local queue. */
static int queue_closed_flag(void *obj) { return atomic_load(&((mgr_proxy *)obj)->closed); }

int mgr_queue_put(void *obj, const void *buf, size_t len, double timeout)
{
    mgr_proxy *p = queue(obj);
    if (!p || (!buf && len) || len > UINT32_MAX)
        return p && len > UINT32_MAX ? MPROC_EMSGSIZE : MPROC_EINVAL;
    if (queue_closed_flag(obj))
        return MPROC_ECLOSED;
    mgr_call c;
    mgr_call_begin(&c, OP_Q_PUT, p->id, 2);
    msgpack_pack_bin_with_body(&c.pk, buf, len);
    msgpack_pack_double(&c.pk, timeout < 0 ? -1.0 : timeout);
    int rc = mgr_proxy_call(&c, p, timeout);
    mgr_call_end(&c);
    return rc;
}

int mgr_queue_get(void *obj, void **buf, size_t *len, double timeout)
{
    mgr_proxy *p = queue(obj);
    if (!p || !buf || !len)
        return MPROC_EINVAL;
    if (queue_closed_flag(obj))
        return MPROC_ECLOSED;
    mgr_call c;
    mgr_call_begin(&c, OP_Q_GET, p->id, 1);
    msgpack_pack_double(&c.pk, timeout < 0 ? -1.0 : timeout);
    int rc = mgr_proxy_call(&c, p, timeout);
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
    mgr_call_end(&c);
    return rc;
}

int mgr_queue_join(void *obj, double timeout)
{
    return sync_call(obj, BIT(MT_QUEUE), OP_Q_JOIN, 1, timeout, NULL, 0, NULL);
}

int mgr_queue_op(void *obj, char what)
{
    int64_t v = 0;
    int op, rc;
    switch (what) {
    case 'q': op = OP_Q_QSIZE; break;
    case 'e': op = OP_Q_EMPTY; break;
    case 'f': op = OP_Q_FULL; break;
    case 't': op = OP_Q_TASK_DONE; break;
    case 'c':
        if (!queue(obj))
            return MPROC_EINVAL;
        atomic_store(&((mgr_proxy *)obj)->closed, 1);
        return 0;
    case 'j': return !queue(obj) ? MPROC_EINVAL : queue_closed_flag(obj) ? 0 : MPROC_ESTATE;
    case 'x': return queue(obj) ? 0 : MPROC_EINVAL;
    default: return MPROC_EINVAL;
    }
    if (what == 'e' && queue_closed_flag(obj))
        return MPROC_ECLOSED;
    rc = sync_call(obj, BIT(MT_QUEUE), op, 0, 0, NULL, 0, op == OP_Q_TASK_DONE ? NULL : &v);
    return int_result(rc, v);
}

void mgr_proxy_free(void *obj)
{
    if (core_obj_borrowed(obj) || !mgr_is_proxy(obj))
        return;
    mgr_proxy_release(obj);
}
