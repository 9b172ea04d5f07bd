/* SPDX-License-Identifier: MIT */
/* event.c - mproc_event: a flag and a condition on an internal lock, all in
 * one shared record (CPython's Event, without the extra semaphore). */
#include <stdlib.h>

#include "sync/methods.h"
#include "sync/sync.h"

typedef struct event_shared {
    core_rec rec;
    lockrec l;
    condrec c;
    _Atomic int flag;
} event_shared;

struct mproc_event {
    core_obj h;
    event_shared *s;
};

static void destroy(core_rec *r)
{
    event_shared *s = (event_shared *)r;
    mproc__lockcond_destroy(&s->l, &s->c);
    mproc__core_arena_free(s);
}

static const core_event_methods local_methods;

static void *adopt(core_rec *rec, int *err)
{
    mproc_event *e = mproc__core_handle_new(sizeof *e, K_EVENT, err);
    if (e) {
        e->h.methods = &local_methods;
        e->s = (event_shared *)rec;
    }
    return e;
}

mproc_event *mproc_event_new(int *err)
{
    int rc = 0;
    mproc_event *e = NULL;
    mproc__core_ensure_init();
    event_shared *s = mproc__core_arena_alloc(sizeof *s, &rc);
    if (s && (rc = mproc__lockcond_init(&s->l, &s->c)) != 0) {
        mproc__core_arena_free(s);
        s = NULL;
    }
    if (s) {
        atomic_init(&s->flag, 0);
        s->rec.kind = K_EVENT;
        atomic_init(&s->rec.refs, 1);
        if (!(e = adopt(&s->rec, &rc)))
            destroy(&s->rec);
    }
    if (err)
        *err = e ? 0 : rc;
    return e;
}

/* ------------------------------------------------------------ local */

static int local_set(mproc_event *e)
{
    event_shared *s = e->s;
    int rc = mproc__lockrec_take(&s->l);
    if (rc)
        return rc;
    atomic_store(&s->flag, 1);
    mproc__condrec_notify(&s->c, &s->l, -1);
    return mproc__lockrec_release(&s->l);
}

static int local_clear(mproc_event *e)
{
    event_shared *s = e->s;
    int rc = mproc__lockrec_take(&s->l);
    if (rc)
        return rc;
    atomic_store(&s->flag, 0);
    return mproc__lockrec_release(&s->l);
}

static int local_is_set(mproc_event *e) { return atomic_load(&e->s->flag); }

static int local_wait(mproc_event *e, double timeout)
{
    event_shared *s = e->s;
    if (atomic_load(&s->flag))
        return 0;
    int rc = mproc__lockrec_acquire(&s->l, timeout);
    if (rc && rc != MPROC_EOWNERDEAD)
        return rc;
    /* As in Python: one wait; a set that was cleared again before we
     * looked counts as not set. */
    if (!atomic_load(&s->flag))
        mproc__condrec_wait(&s->c, &s->l, timeout);
    int set = atomic_load(&s->flag);
    mproc__lockrec_release(&s->l);
    return set ? 0 : MPROC_ETIMEDOUT;
}

static void local_free(mproc_event *e)
{
    mproc__core_rec_release(&e->s->rec, destroy);
    mproc__core_handle_drop(e);
}

static const core_event_methods local_methods = {
    .kind = K_EVENT,
    .set = local_set,
    .clear = local_clear,
    .is_set = local_is_set,
    .wait = local_wait,
    .free = local_free,
};

/* ------------------------------------------------------------ public */

static const core_event_methods *methods(const mproc_event *e) { return core_obj_methods(e, K_EVENT); }

int mproc_event_set(mproc_event *e)
{
    const core_event_methods *m = methods(e);
    return m ? m->set(e) : MPROC_EINVAL;
}

int mproc_event_clear(mproc_event *e)
{
    const core_event_methods *m = methods(e);
    return m ? m->clear(e) : MPROC_EINVAL;
}

int mproc_event_is_set(mproc_event *e)
{
    const core_event_methods *m = methods(e);
    return m ? m->is_set(e) : MPROC_EINVAL;
}

int mproc_event_wait(mproc_event *e, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_event_methods *m = methods(e);
    return m ? m->wait(e, timeout) : MPROC_EINVAL;
}

void mproc_event_free(mproc_event *e)
{
    const core_event_methods *m = methods(e);
    if (m && !core_obj_borrowed(e))
        m->free(e);
}

static core_rec *record(const void *obj) { return &((const mproc_event *)obj)->s->rec; }

static void free_obj(void *obj) { mproc_event_free(obj); }

const core_share_ops mproc__core_event_ops = {
    .kind = K_EVENT,
    .record = record,
    .dep = mproc__core_no_dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
};
