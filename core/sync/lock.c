/* SPDX-License-Identifier: MIT */
/* lock.c - mproc_lock: Lock and RLock, shareable. */
#include <stdlib.h>

#include "base/hooks.h"
#include "sync/methods.h"
#include "sync/sync.h"

typedef struct lock_shared {
    core_rec rec;
    lockrec l;
} lock_shared;

struct mproc_lock {
    core_obj h;
    lock_shared *s;
};

static void destroy(core_rec *r)
{
    lock_shared *s = (lock_shared *)r;
    mproc__lockrec_destroy(&s->l);
    mproc__core_arena_free(s);
}

static const core_lock_methods lock_methods, rlock_methods;

/* A process that ends (returns from main, exit(), a child's target
 * returns) holding a lock would leave its waiters waiting while it waits
 * for its children, who may be among them: Python hangs there. The
 * exiting thread gives up what it holds first, as its death would. */
static void give_up(void *handle)
{
    mproc_lock *l = handle;
    if (l->h.methods == &lock_methods || l->h.methods == &rlock_methods)
        mproc__lockrec_abandon_if_mine(&l->s->l);
}

static void give_up_held(void)
{
    mproc__core_handles_each(K_LOCK, give_up);
    mproc__core_handles_each(K_RLOCK, give_up);
}

static core_hook held_hook = CORE_HOOK_INIT(give_up_held, CORE_EXIT_HELD);

static void *adopt(core_rec *rec, int *err)
{
    mproc__core_exit_hook_add(&held_hook);
    mproc_lock *l = mproc__core_handle_new(sizeof *l, rec->kind, err);
    if (l) {
        l->h.methods = rec->kind == K_RLOCK ? &rlock_methods : &lock_methods;
        l->s = (lock_shared *)rec;
    }
    return l;
}

static mproc_lock *create(int recursive, int *err)
{
    int rc;
    mproc__core_ensure_init();
    lock_shared *s = mproc__core_arena_alloc(sizeof *s, &rc);
    mproc_lock *l = NULL;
    if (s && (rc = mproc__lockrec_init(&s->l, recursive)) != 0) {
        mproc__core_arena_free(s);
        s = NULL;
    }
    if (s) {
        s->rec.kind = recursive ? K_RLOCK : K_LOCK;
        atomic_init(&s->rec.refs, 1);
        l = adopt(&s->rec, &rc);
        if (!l)
            destroy(&s->rec);
    }
    if (err)
        *err = l ? 0 : rc;
    return l;
}

mproc_lock *mproc_lock_new(int *err) { return create(0, err); }

mproc_lock *mproc_rlock_new(int *err) { return create(1, err); }

static lockrec *rec_of(const mproc_lock *l)
{
    core_kind k = core_obj_kind(l);
    return (k == K_LOCK || k == K_RLOCK) ? &l->s->l : NULL;
}

lockrec *mproc__core_lockrec_of(const mproc_lock *l) { return rec_of(l); }

/* ------------------------------------------------------------ local */

static int local_acquire(mproc_lock *l, double timeout) { return mproc__lockrec_acquire(&l->s->l, timeout); }

static int local_release(mproc_lock *l) { return mproc__lockrec_release(&l->s->l); }

static void local_free(mproc_lock *l)
{
    mproc__core_rec_release(&l->s->rec, destroy);
    mproc__core_handle_drop(l);
}

static int is_lock(const mproc_lock *l) { (void)l; return 0; }

static int is_rlock(const mproc_lock *l) { (void)l; return 1; }

/* One table per kind: the public calls below recognise a local Lock by its
 * table alone. */
static const core_lock_methods lock_methods = {
    .kind = K_LOCK,
    .acquire = local_acquire,
    .release = local_release,
    .is_rlock = is_lock,
    .free = local_free,
};
static const core_lock_methods rlock_methods = {
    .kind = K_LOCK,
    .acquire = local_acquire,
    .release = local_release,
    .is_rlock = is_rlock,
    .free = local_free,
};

/* ------------------------------------------------------------ public */

static const core_lock_methods *methods(const mproc_lock *l) { return core_obj_methods(l, K_LOCK); }

/* A local Lock is its mutex (lockrec.c): the public call goes straight to
 * the mutex, so that an uncontended acquire+release costs the mutex's own calls
 * and a few instructions (issue 19 measured each layer of calls). */
int mproc_lock_acquire(mproc_lock *l, double timeout)
{
    if (core_obj_uses(l, &lock_methods) && timeout < 0)
        return mproc__lockrec_acquire_plain(&l->s->l, timeout);
    if (core_obj_uses(l, &rlock_methods) && timeout < 0)
        return mproc__lockrec_acquire(&l->s->l, timeout); /* a Value's lock */
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_lock_methods *m = methods(l);
    return m ? m->acquire(l, timeout) : MPROC_EINVAL;
}

int mproc_lock_release(mproc_lock *l)
{
    if (core_obj_uses(l, &lock_methods))
        return mproc__lockrec_release_plain(&l->s->l);
    if (core_obj_uses(l, &rlock_methods))
        return mproc__lockrec_release(&l->s->l);
    const core_lock_methods *m = methods(l);
    return m ? m->release(l) : MPROC_EINVAL;
}

int mproc_lock_is_rlock(const mproc_lock *l)
{
    const core_lock_methods *m = methods(l);
    return m ? m->is_rlock(l) : MPROC_EINVAL;
}

void mproc_lock_free(mproc_lock *l)
{
    const core_lock_methods *m = methods(l);
    if (m && !core_obj_borrowed(l))
        m->free(l);
}

static core_rec *record(const void *obj) { return &((const mproc_lock *)obj)->s->rec; }

static void free_obj(void *obj) { mproc_lock_free(obj); }

const core_share_ops mproc__core_lock_ops = {
    .kind = K_LOCK,
    .record = record,
    .dep = mproc__core_no_dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
};
const core_share_ops mproc__core_rlock_ops = {
    .kind = K_RLOCK,
    .record = record,
    .dep = mproc__core_no_dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
};

/* A handle on the lock of a value or a condition, holding no reference:
 * its owner's record keeps the lock record alive, so a killed process
 * that had it leaves no reference of its own behind. Lent to its owner. */
mproc_lock *mproc__core_lock_view(core_rec *rec, int *err)
{
    mproc_lock *n = adopt(rec, err);
    if (n)
        core_obj_lend(n, 1);
    return n;
}

void mproc__core_lock_view_free(mproc_lock *l)
{
    if (l)
        mproc__core_handle_drop(l);
}

core_rec *mproc__core_lock_record(const mproc_lock *l) { return &l->s->rec; }


void mproc__core_lock_rec_release(core_rec *rec) { mproc__core_rec_release(rec, destroy); }
