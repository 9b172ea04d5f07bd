/* SPDX-License-Identifier: MIT */
/* barrier.c - mproc_barrier: Python's threading.Barrier (which
 * multiprocessing shares), on a lock and condition inside one shared
 * record. States: 0 filling, 1 draining, -1 resetting, -2 broken. The
 * action is found by module + offset in whichever process runs it. */
#include <stdlib.h>
#include <string.h>

#include "sync/methods.h"
#include "sync/sync.h"
#include "base/opts.h"

enum { FILLING = 0, DRAINING = 1, RESETTING = -1, BROKEN = -2 };

typedef struct barrier_shared {
    core_rec rec;
    lockrec l;
    condrec c;
    int32_t state;
    uint32_t count, parties;
    double timeout;
    int has_action;
    be_symref action;
} barrier_shared;

struct mproc_barrier {
    core_obj h;
    barrier_shared *s;
};

static void destroy(core_rec *r)
{
    barrier_shared *s = (barrier_shared *)r;
    mproc__lockcond_destroy(&s->l, &s->c);
    mproc__core_arena_free(s);
}

static const core_barrier_methods local_methods;

static void *adopt(core_rec *rec, int *err)
{
    mproc_barrier *b = mproc__core_handle_new(sizeof *b, K_BARRIER, err);
    if (b) {
        b->h.methods = &local_methods;
        b->s = (barrier_shared *)rec;
    }
    return b;
}

mproc_barrier *mproc_barrier_new(unsigned parties, const mproc_barrier_opts *opts, int *err)
{
    int rc = 0;
    mproc_barrier *b = NULL;
    mproc_barrier_opts o = MPROC_BARRIER_OPTS_INIT;
    mproc__core_ensure_init();
    if (opts && mproc__opts_read(&o, sizeof o, opts, NULL, 0)) {
        rc = MPROC_EINVAL;
        goto out;
    }
    opts = opts ? &o : NULL;
    if (parties == 0 || parties > INT32_MAX || (opts && mproc__core_timeout_invalid(opts->timeout))) {
        rc = MPROC_EINVAL;
        goto out;
    }
    be_symref action;
    memset(&action, 0, sizeof action);
    if (opts && opts->action && (rc = mproc__be_sym_locate((be_fnptr)opts->action, &action)))
        goto out;
    barrier_shared *s = mproc__core_arena_alloc(sizeof *s, &rc);
    if (s && (rc = mproc__lockcond_init(&s->l, &s->c)) != 0) {
        mproc__core_arena_free(s);
        s = NULL;
    }
    if (s) {
        s->parties = parties;
        s->timeout = opts ? opts->timeout : -1.0;
        s->has_action = opts && opts->action;
        s->action = action;
        s->rec.kind = K_BARRIER;
        atomic_init(&s->rec.refs, 1);
        if (!(b = adopt(&s->rec, &rc)))
            destroy(&s->rec);
    }
out:
    if (err)
        *err = b ? 0 : rc;
    return b;
}

/* ------------------------------------------------------------ local */

static void break_it(barrier_shared *s)
{
    s->state = BROKEN;
    mproc__condrec_notify(&s->c, &s->l, -1);
}

/* Waits (lock held) until the state leaves `from` or the deadline. */
static void wait_while(barrier_shared *s, int from1, int from2, double deadline)
{
    while ((s->state == from1 || s->state == from2) && mproc__core_remaining(deadline) != 0)
        mproc__condrec_wait(&s->c, &s->l, mproc__core_remaining(deadline));
}

static int run_action(barrier_shared *s)
{
    if (!s->has_action)
        return 0;
    be_fnptr f;
    if (mproc__be_sym_resolve(&s->action, &f) != 0)
        return MPROC_ESPAWN;
    return ((mproc_barrier_action)f)() != 0 ? MPROC_ETASK : 0;
}

static int local_wait(mproc_barrier *b, double timeout)
{
    barrier_shared *s = b->s;
    if (timeout < 0)
        timeout = s->timeout;
    double deadline = mproc__core_deadline(timeout);
    int rc = mproc__lockrec_take(&s->l);
    if (rc)
        return rc;
    /* Block while the barrier drains or resets. */
    wait_while(s, DRAINING, RESETTING, deadline);
    if (s->state != FILLING) {
        if (s->state != BROKEN)
            break_it(s); /* timed out while it drained */
        mproc__lockrec_release(&s->l);
        return MPROC_EBROKEN;
    }
    int index = (int)s->count++;
    int result = index;
    if ((uint32_t)index + 1 == s->parties) {
        int arc = run_action(s);
        if (arc == 0) {
            s->state = DRAINING;
            mproc__condrec_notify(&s->c, &s->l, -1);
        } else {
            break_it(s);
            result = arc;
        }
    } else {
        wait_while(s, FILLING, FILLING, deadline);
        if (s->state == FILLING) /* timed out: breaks it for everyone */
            break_it(s);
        if (s->state < 0)
            result = MPROC_EBROKEN;
    }
    /* Leave; the last one out lets the next round in. */
    if (--s->count == 0 && (s->state == RESETTING || s->state == DRAINING)) {
        s->state = FILLING;
        mproc__condrec_notify(&s->c, &s->l, -1);
    }
    mproc__lockrec_release(&s->l);
    return result;
}

static int local_reset(mproc_barrier *b)
{
    barrier_shared *s = b->s;
    int rc = mproc__lockrec_take(&s->l);
    if (rc)
        return rc;
    if (s->count > 0) {
        if (s->state == FILLING || s->state == BROKEN)
            s->state = RESETTING;
    } else {
        s->state = FILLING;
    }
    mproc__condrec_notify(&s->c, &s->l, -1);
    return mproc__lockrec_release(&s->l);
}

static int local_abort(mproc_barrier *b)
{
    barrier_shared *s = b->s;
    int rc = mproc__lockrec_take(&s->l);
    if (rc)
        return rc;
    break_it(s);
    return mproc__lockrec_release(&s->l);
}

static int local_broken(mproc_barrier *b)
{
    barrier_shared *s = b->s;
    int rc = mproc__lockrec_take(&s->l);
    if (rc)
        return rc;
    int broken = s->state == BROKEN;
    mproc__lockrec_release(&s->l);
    return broken;
}

static int local_n_waiting(mproc_barrier *b)
{
    barrier_shared *s = b->s;
    int rc = mproc__lockrec_take(&s->l);
    if (rc)
        return rc;
    int n = s->state == FILLING ? (int)s->count : 0;
    mproc__lockrec_release(&s->l);
    return n;
}

static int local_parties(mproc_barrier *b) { return (int)b->s->parties; }

static void local_free(mproc_barrier *b)
{
    mproc__core_rec_release(&b->s->rec, destroy);
    mproc__core_handle_drop(b);
}

static const core_barrier_methods local_methods = {
    .kind = K_BARRIER,
    .wait = local_wait,
    .reset = local_reset,
    .abort = local_abort,
    .broken = local_broken,
    .n_waiting = local_n_waiting,
    .parties = local_parties,
    .free = local_free,
};

/* ------------------------------------------------------------ public */

static const core_barrier_methods *methods(const mproc_barrier *b) { return core_obj_methods(b, K_BARRIER); }

int mproc_barrier_wait(mproc_barrier *b, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_barrier_methods *m = methods(b);
    return m ? m->wait(b, timeout) : MPROC_EINVAL;
}

int mproc_barrier_reset(mproc_barrier *b)
{
    const core_barrier_methods *m = methods(b);
    return m ? m->reset(b) : MPROC_EINVAL;
}

int mproc_barrier_abort(mproc_barrier *b)
{
    const core_barrier_methods *m = methods(b);
    return m ? m->abort(b) : MPROC_EINVAL;
}

int mproc_barrier_broken(mproc_barrier *b)
{
    const core_barrier_methods *m = methods(b);
    return m ? m->broken(b) : MPROC_EINVAL;
}

int mproc_barrier_n_waiting(mproc_barrier *b)
{
    const core_barrier_methods *m = methods(b);
    return m ? m->n_waiting(b) : MPROC_EINVAL;
}

int mproc_barrier_parties(mproc_barrier *b)
{
    const core_barrier_methods *m = methods(b);
    return m ? m->parties(b) : MPROC_EINVAL;
}

void mproc_barrier_free(mproc_barrier *b)
{
    const core_barrier_methods *m = methods(b);
    if (m && !core_obj_borrowed(b))
        m->free(b);
}

static core_rec *record(const void *obj) { return &((const mproc_barrier *)obj)->s->rec; }

static void free_obj(void *obj) { mproc_barrier_free(obj); }

const core_share_ops mproc__core_barrier_ops = {
    .kind = K_BARRIER,
    .record = record,
    .dep = mproc__core_no_dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
};
