/* SPDX-License-Identifier: MIT */
/* manager_sync_proxy.c - Lock, Semaphore, Condition, Event and Barrier
 * calls on Manager proxies: the operations tables mproxy.h names. A lock's
 * holder is this process's token and the calling thread, as for a local
 * lock. */
#include <stdlib.h>
#include <string.h>

#include "manager/mproxy.h"

#define BIT(t) (1u << (t))
#define LOCKS (BIT(MT_LOCK) | BIT(MT_RLOCK))
#define ACQUIRABLE (LOCKS | BIT(MT_SEM) | BIT(MT_COND))

int mproc__mgr_sync_call(const void *obj, unsigned types, int op, int timed, double timeout, const int64_t *ints,
                  size_t n, int64_t *out)
{
    mgr_proxy *p = mproc__mgr_proxy_of(obj, types);
    if (!p)
        return MPROC_EINVAL;
    mgr_call c;
    mproc__mgr_call_begin(&c, op, p->id, n + (timed ? 1 : 0));
    if (timed)
        msgpack_pack_double(&c.pk, timeout < 0 ? -1.0 : timeout);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_int64(&c.pk, ints[i]);
    int rc = mproc__mgr_proxy_call(&c, p, timed ? timeout : MGR_NOW);
    if (rc == 0 && out && mproc__mgr_obj_int(c.value, out) != 0)
        rc = MPROC_EBROKEN;
    mproc__mgr_call_end(&c);
    return rc;
}

int mproc__mgr_int_result(int rc, int64_t v) { return rc ? rc : v < 0 || v > INT32_MAX ? MPROC_EBROKEN : (int)v; }

static int64_t tid(void) { return (int64_t)mproc__be_thread_id(); }

/* The public functions only reach these with a proxy of the table's type. */
static void proxy_free(void *obj) { mproc__mgr_proxy_release(obj); }

/* ------------------------------------------------------------ lock, semaphore */

static int acquire(void *obj, double timeout)
{
    int64_t t = tid();
    return mproc__mgr_sync_call(obj, ACQUIRABLE, OP_ACQUIRE, 1, timeout, &t, 1, NULL);
}

static int release(void *obj)
{
    int64_t t = tid();
    return mproc__mgr_sync_call(obj, ACQUIRABLE, OP_RELEASE, 0, 0, &t, 1, NULL);
}

static int lock_acquire(mproc_lock *l, double timeout) { return acquire(l, timeout); }

static int lock_release(mproc_lock *l) { return release(l); }

static int lock_is_rlock(const mproc_lock *l)
{
    int64_t v = 0;
    int rc = mproc__mgr_sync_call(l, LOCKS, OP_IS_RLOCK, 0, 0, NULL, 0, &v);
    return mproc__mgr_int_result(rc, v);
}

static void lock_free(mproc_lock *l) { proxy_free(l); }

const core_lock_methods mproc__mgr_lock_methods = {
    .kind = K_LOCK,
    .acquire = lock_acquire,
    .release = lock_release,
    .is_rlock = lock_is_rlock,
    .free = lock_free,
};

static int sem_acquire(mproc_sem *m, double timeout) { return acquire(m, timeout); }

static int sem_release(mproc_sem *m) { return release(m); }

static int sem_get_value(mproc_sem *m)
{
    int64_t v = 0;
    int rc = mproc__mgr_sync_call(m, BIT(MT_SEM), OP_SEM_VALUE, 0, 0, NULL, 0, &v);
    return mproc__mgr_int_result(rc, v);
}

static void sem_free(mproc_sem *m) { proxy_free(m); }

const core_sem_methods mproc__mgr_sem_methods = {
    .kind = K_SEM,
    .acquire = sem_acquire,
    .release = sem_release,
    .get_value = sem_get_value,
    .free = sem_free,
};

/* ------------------------------------------------------------ condition */

static int cond_acquire(mproc_cond *c, double timeout) { return acquire(c, timeout); }

static int cond_release(mproc_cond *c) { return release(c); }

static int cond_wait(mproc_cond *c, double timeout)
{
    int64_t t = tid();
    return mproc__mgr_sync_call(c, BIT(MT_COND), OP_COND_WAIT, 1, timeout, &t, 1, NULL);
}

/* The predicate runs here, between waits (Python's wait_for does the same). */
static int cond_wait_for(mproc_cond *c, mproc_predicate pred, void *arg, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    int r;
    while (!(r = pred(arg))) {
        double left = mproc__core_remaining(deadline);
        if (left == 0)
            break;
        int rc = cond_wait(c, left);
        if (rc && rc != MPROC_ETIMEDOUT)
            return rc;
    }
    return r;
}

/* n < 0: all (the server takes it so; only a local notify refuses it). */
static int cond_notify(mproc_cond *c, int n)
{
    int64_t a[2] = {n, tid()};
    return mproc__mgr_sync_call(c, BIT(MT_COND), OP_COND_NOTIFY, 0, 0, a, 2, NULL);
}

static int cond_notify_all(mproc_cond *c) { return cond_notify(c, -1); }

static void cond_free(mproc_cond *c) { proxy_free(c); }

const core_cond_methods mproc__mgr_cond_methods = {
    .kind = K_COND,
    .acquire = cond_acquire,
    .release = cond_release,
    .wait = cond_wait,
    .wait_for = cond_wait_for,
    .notify = cond_notify,
    .notify_all = cond_notify_all,
    .free = cond_free,
};

/* ------------------------------------------------------------ event */

static int event_op(mproc_event *e, int op, int has_value)
{
    int64_t v = 0;
    int rc = mproc__mgr_sync_call(e, BIT(MT_EVENT), op, 0, 0, NULL, 0, has_value ? &v : NULL);
    return mproc__mgr_int_result(rc, v);
}

static int event_set(mproc_event *e) { return event_op(e, OP_EV_SET, 0); }

static int event_clear(mproc_event *e) { return event_op(e, OP_EV_CLEAR, 0); }

static int event_is_set(mproc_event *e) { return event_op(e, OP_EV_IS_SET, 1); }

static int event_wait(mproc_event *e, double timeout)
{
    return mproc__mgr_sync_call(e, BIT(MT_EVENT), OP_EV_WAIT, 1, timeout, NULL, 0, NULL);
}

static void event_free(mproc_event *e) { proxy_free(e); }

const core_event_methods mproc__mgr_event_methods = {
    .kind = K_EVENT,
    .set = event_set,
    .clear = event_clear,
    .is_set = event_is_set,
    .wait = event_wait,
    .free = event_free,
};

/* ------------------------------------------------------------ barrier */

static int barrier_wait(mproc_barrier *b, double timeout)
{
    int64_t v = 0;
    /* A negative timeout means the barrier's default, unknown here: the
     * reply may take as long as the server lets it. */
    mgr_proxy *p = mproc__mgr_proxy_of(b, BIT(MT_BARRIER));
    if (!p)
        return MPROC_EINVAL;
    mgr_call c;
    mproc__mgr_call_begin(&c, OP_B_WAIT, p->id, 1);
    msgpack_pack_double(&c.pk, timeout < 0 ? -1.0 : timeout);
    int rc = mproc__mgr_proxy_call(&c, p, -1);
    if (rc == 0 && mproc__mgr_obj_int(c.value, &v) != 0)
        rc = MPROC_EBROKEN;
    mproc__mgr_call_end(&c);
    return mproc__mgr_int_result(rc, v);
}

static int barrier_op(mproc_barrier *b, int op, int has_value)
{
    int64_t v = 0;
    int rc = mproc__mgr_sync_call(b, BIT(MT_BARRIER), op, 0, 0, NULL, 0, has_value ? &v : NULL);
    return mproc__mgr_int_result(rc, v);
}

static int barrier_reset(mproc_barrier *b) { return barrier_op(b, OP_B_RESET, 0); }

static int barrier_abort(mproc_barrier *b) { return barrier_op(b, OP_B_ABORT, 0); }

static int barrier_broken(mproc_barrier *b) { return barrier_op(b, OP_B_BROKEN, 1); }

static int barrier_n_waiting(mproc_barrier *b) { return barrier_op(b, OP_B_N_WAITING, 1); }

static int barrier_parties(mproc_barrier *b) { return barrier_op(b, OP_B_PARTIES, 1); }

static void barrier_free(mproc_barrier *b) { proxy_free(b); }

const core_barrier_methods mproc__mgr_barrier_methods = {
    .kind = K_BARRIER,
    .wait = barrier_wait,
    .reset = barrier_reset,
    .abort = barrier_abort,
    .broken = barrier_broken,
    .n_waiting = barrier_n_waiting,
    .parties = barrier_parties,
    .free = barrier_free,
};

/* ------------------------------------------------------------ by type */

const void *mproc__mgr_proxy_methods(uint32_t type)
{
    switch (type) {
    case MT_LOCK:
    case MT_RLOCK: return &mproc__mgr_lock_methods;
    case MT_SEM: return &mproc__mgr_sem_methods;
    case MT_COND: return &mproc__mgr_cond_methods;
    case MT_EVENT: return &mproc__mgr_event_methods;
    case MT_BARRIER: return &mproc__mgr_barrier_methods;
    case MT_QUEUE: return &mproc__mgr_queue_methods;
    default: return NULL;
    }
}
