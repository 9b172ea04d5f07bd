/* SPDX-License-Identifier: MIT */
/* condition.c - mproc_cond: Condition over a user's Lock/RLock (or its own
 * RLock), shareable. The shared record holds a reference on the lock's
 * record, so the lock lives as long as any condition using it. */
#include <stdlib.h>

#include "sync/sync.h"
#include "manager/mproxy.h"

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
    condrec_destroy(&s->c);
    core_rec *lock = core_arena_resolve(&s->lock_ref);
    if (lock)
        core_lock_rec_release(lock);
    core_arena_free(s);
}

static core_rec *dep(core_rec *rec) { return core_arena_resolve(&((cond_shared *)rec)->lock_ref); }

/* Takes over one reference on rec; the lock is a view (no reference). */
static void *adopt(core_rec *rec, int *err)
{
    core_rec *lrec = dep(rec);
    if (!lrec) {
        *err = MPROC_EINVAL;
        return NULL;
    }
    mproc_cond *c = core_handle_new(sizeof *c, K_COND, err);
    if (c && !(c->lock = core_lock_view(lrec, err))) {
        core_handle_drop(c);
        c = NULL;
    }
    if (c)
        c->s = (cond_shared *)rec;
    return c;
}

mproc_cond *mproc_cond_new(mproc_lock *lock, int *err)
{
    int rc = 0;
    mproc_cond *c = NULL;
    core_ensure_init();
    if (lock && !core_lockrec_of(lock)) {
        rc = MPROC_EINVAL;
        goto out;
    }
    mproc_lock *own = lock ? NULL : mproc_rlock_new(&rc);
    if (!lock && !own)
        goto out;
    mproc_lock *use = lock ? lock : own;
    cond_shared *s = core_arena_alloc(sizeof *s, &rc);
    if (s && (rc = condrec_init(&s->c)) != 0) {
        core_arena_free(s);
        s = NULL;
    }
    if (s) {
        core_arena_ref(core_lock_record(use), &s->lock_ref);
        core_rec_retain(core_lock_record(use)); /* the record's reference */
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

static mproc_cond *valid(mproc_cond *c) { return core_obj_kind(c) == K_COND ? c : NULL; }

int mproc_cond_acquire(mproc_cond *c, double timeout)
{
    if (core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    if (mgr_is_proxy(c))
        return mgr_acquire(c, timeout);
    return valid(c) ? mproc_lock_acquire(c->lock, timeout) : MPROC_EINVAL;
}

int mproc_cond_release(mproc_cond *c)
{
    if (mgr_is_proxy(c))
        return mgr_release(c);
    return valid(c) ? mproc_lock_release(c->lock) : MPROC_EINVAL;
}

int mproc_cond_wait(mproc_cond *c, double timeout)
{
    if (core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    if (mgr_is_proxy(c))
        return mgr_cond_wait(c, timeout);
    return valid(c) ? condrec_wait(&c->s->c, core_lockrec_of(c->lock), timeout) : MPROC_EINVAL;
}

int mproc_cond_wait_for(mproc_cond *c, mproc_predicate pred, void *arg, double timeout)
{
    if (core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    if (mgr_is_proxy(c))
        return mgr_cond_wait_for(c, pred, arg, timeout);
    if (!valid(c) || !pred)
        return MPROC_EINVAL;
    if (!lockrec_is_mine(core_lockrec_of(c->lock)))
        return MPROC_ESTATE;
    double deadline = core_deadline(timeout);
    int result = pred(arg);
    while (!result) {
        double rem = core_remaining(deadline);
        if (rem == 0)
            break;
        int rc = mproc_cond_wait(c, rem);
        if (rc && rc != MPROC_ETIMEDOUT && rc != MPROC_EOWNERDEAD)
            return rc;
        result = pred(arg);
    }
    return result < 0 ? 1 : result; /* a negative "true" must not read as an error */
}

int mproc_cond_notify(mproc_cond *c, int n)
{
    if (mgr_is_proxy(c))
        return mgr_cond_notify(c, n);
    if (!valid(c) || n < 0)
        return MPROC_EINVAL;
    return condrec_notify(&c->s->c, core_lockrec_of(c->lock), n);
}

int mproc_cond_notify_all(mproc_cond *c)
{
    if (mgr_is_proxy(c))
        return mgr_cond_notify(c, -1);
    return valid(c) ? condrec_notify(&c->s->c, core_lockrec_of(c->lock), -1) : MPROC_EINVAL;
}

mproc_lock *mproc_cond_get_lock(mproc_cond *c) { return valid(c) ? c->lock : NULL; }

void mproc_cond_free(mproc_cond *c)
{
    if (mgr_is_proxy(c)) {
        mgr_proxy_free(c);
        return;
    }
    if (core_obj_borrowed(c))
        return;
    if (!valid(c))
        return;
    core_lock_view_free(c->lock);
    core_rec_release(&c->s->rec, destroy);
    core_handle_drop(c);
}

static core_rec *record(const void *obj) { return &((const mproc_cond *)obj)->s->rec; }

static void free_obj(void *obj) { mproc_cond_free(obj); }

const core_share_ops core_cond_ops = {
    .kind = K_COND,
    .record = record,
    .dep = dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
};
