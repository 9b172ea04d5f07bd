/* SPDX-License-Identifier: MIT */
/* condition.c - mproc_cond: Condition over a user's Lock/RLock (or its own
 * RLock), shareable. The shared record holds a reference on the lock's
 * record, so the lock lives as long as any condition using it. */
#include <stdlib.h>

#include "sync/methods.h"
#include "sync/sync.h"

typedef struct cond_shared {
    core_rec rec;
    condrec c;
    core_ref lock_ref;
} cond_shared;

struct mproc_cond {
    core_obj h;
    cond_shared *s;
    mproc_lock *lock; /* our own handle on the lock */
};

static void destroy(core_rec *r)
{
    cond_shared *s = (cond_shared *)r;
    mproc__condrec_destroy(&s->c);
    core_rec *lock = mproc__core_arena_resolve(&s->lock_ref);
    if (lock)
        mproc__core_lock_rec_release(lock);
    mproc__core_arena_free(s);
}

static core_rec *dep(core_rec *rec) { return mproc__core_arena_resolve(&((cond_shared *)rec)->lock_ref); }

static const core_cond_methods local_methods;

/* Takes over one reference on rec; the lock is a view (no reference). */
static void *adopt(core_rec *rec, int *err)
{
    core_rec *lrec = dep(rec);
    if (!lrec) {
        *err = MPROC_EINVAL;
        return NULL;
    }
    mproc_cond *c = mproc__core_handle_new(sizeof *c, K_COND, err);
    if (c && !(c->lock = mproc__core_lock_view(lrec, err))) {
        mproc__core_handle_drop(c);
        c = NULL;
    }
    if (c) {
        c->h.methods = &local_methods;
        c->s = (cond_shared *)rec;
    }
    return c;
}

mproc_cond *mproc_cond_new(mproc_lock *lock, int *err)
{
    int rc = 0;
    mproc_cond *c = NULL;
    mproc__core_ensure_init();
    if (lock && !mproc__core_lockrec_of(lock)) {
        rc = MPROC_EINVAL;
        goto out;
    }
    mproc_lock *own = lock ? NULL : mproc_rlock_new(&rc);
    if (!lock && !own)
        goto out;
    mproc_lock *use = lock ? lock : own;
    cond_shared *s = mproc__core_arena_alloc(sizeof *s, &rc);
    if (s && (rc = mproc__condrec_init(&s->c)) != 0) {
        mproc__core_arena_free(s);
        s = NULL;
    }
    if (s) {
        mproc__core_arena_ref(mproc__core_lock_record(use), &s->lock_ref);
        mproc__core_rec_retain(mproc__core_lock_record(use)); /* the record's reference */
        s->rec.kind = K_COND;
        atomic_init(&s->rec.refs, 1);
        if (!(c = adopt(&s->rec, &rc)))
            destroy(&s->rec);
    }
    mproc_lock_free(own); /* the condition holds its own references */
out:
    if (err)
        *err = c ? 0 : rc;
    return c;
}

/* ------------------------------------------------------------ local */

/* The lock is always a local one (mproc_cond_new refuses others). */
static lockrec *lock_of(mproc_cond *c) { return mproc__core_lockrec_of(c->lock); }

static int local_acquire(mproc_cond *c, double timeout) { return mproc__lockrec_acquire(lock_of(c), timeout); }

static int local_release(mproc_cond *c) { return mproc__lockrec_release(lock_of(c)); }

static int local_wait(mproc_cond *c, double timeout) { return mproc__condrec_wait(&c->s->c, lock_of(c), timeout); }

static int local_wait_for(mproc_cond *c, mproc_predicate pred, void *arg, double timeout)
{
    if (!mproc__lockrec_is_mine(lock_of(c)))
        return MPROC_ESTATE;
    double deadline = mproc__core_deadline(timeout);
    int result = pred(arg);
    while (!result) {
        double rem = mproc__core_remaining(deadline);
        if (rem == 0)
            break;
        int rc = local_wait(c, rem);
        if (rc && rc != MPROC_ETIMEDOUT && rc != MPROC_EOWNERDEAD)
            return rc;
        result = pred(arg);
    }
    return result < 0 ? 1 : result; /* a negative "true" must not read as an error */
}

static int local_notify(mproc_cond *c, int n)
{
    return n < 0 ? MPROC_EINVAL : mproc__condrec_notify(&c->s->c, lock_of(c), n);
}

static int local_notify_all(mproc_cond *c) { return mproc__condrec_notify(&c->s->c, lock_of(c), -1); }

static void local_free(mproc_cond *c)
{
    mproc__core_lock_view_free(c->lock);
    mproc__core_rec_release(&c->s->rec, destroy);
    mproc__core_handle_drop(c);
}

static const core_cond_methods local_methods = {
    .kind = K_COND,
    .acquire = local_acquire,
    .release = local_release,
    .wait = local_wait,
    .wait_for = local_wait_for,
    .notify = local_notify,
    .notify_all = local_notify_all,
    .free = local_free,
};

/* ------------------------------------------------------------ public */

static const core_cond_methods *methods(const mproc_cond *c) { return core_obj_methods(c, K_COND); }

int mproc_cond_acquire(mproc_cond *c, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_cond_methods *m = methods(c);
    return m ? m->acquire(c, timeout) : MPROC_EINVAL;
}

int mproc_cond_release(mproc_cond *c)
{
    const core_cond_methods *m = methods(c);
    return m ? m->release(c) : MPROC_EINVAL;
}

int mproc_cond_wait(mproc_cond *c, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_cond_methods *m = methods(c);
    return m ? m->wait(c, timeout) : MPROC_EINVAL;
}

int mproc_cond_wait_for(mproc_cond *c, mproc_predicate pred, void *arg, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_cond_methods *m = methods(c);
    return m && pred ? m->wait_for(c, pred, arg, timeout) : MPROC_EINVAL;
}

int mproc_cond_notify(mproc_cond *c, int n)
{
    const core_cond_methods *m = methods(c);
    return m ? m->notify(c, n) : MPROC_EINVAL;
}

int mproc_cond_notify_all(mproc_cond *c)
{
    const core_cond_methods *m = methods(c);
    return m ? m->notify_all(c) : MPROC_EINVAL;
}

/* A proxy's lock lives in the Manager: NULL, as for a wrong handle. */
mproc_lock *mproc_cond_get_lock(mproc_cond *c) { return core_obj_kind(c) == K_COND ? c->lock : NULL; }

void mproc_cond_free(mproc_cond *c)
{
    const core_cond_methods *m = methods(c);
    if (m && !core_obj_borrowed(c))
        m->free(c);
}

static core_rec *record(const void *obj) { return &((const mproc_cond *)obj)->s->rec; }

static void free_obj(void *obj) { mproc_cond_free(obj); }

const core_share_ops mproc__core_cond_ops = {
    .kind = K_COND,
    .record = record,
    .dep = dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
};
