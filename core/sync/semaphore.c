/* SPDX-License-Identifier: MIT */
/* semaphore.c - mproc_sem: Semaphore and BoundedSemaphore, shareable. The
 * bounded check and the post happen under a mutex, so two releasers can
 * never push the value past its bound together. */
#include <stdlib.h>

#include "sync/methods.h"
#include "sync/sync.h"

typedef struct sem_shared {
    core_rec rec;
    be_sem s;
    be_mutex bound_mu;
    uint32_t bounded, maxvalue;
} sem_shared;

struct mproc_sem {
    core_obj h;
    sem_shared *s;
};

static void destroy(core_rec *r)
{
    sem_shared *s = (sem_shared *)r;
    mproc__be_sem_destroy(&s->s);
    mproc__be_mutex_destroy(&s->bound_mu);
    mproc__core_arena_free(s);
}

static const core_sem_methods local_methods;

static void *adopt(core_rec *rec, int *err)
{
    mproc_sem *m = mproc__core_handle_new(sizeof *m, K_SEM, err);
    if (m) {
        m->h.methods = &local_methods;
        m->s = (sem_shared *)rec;
    }
    return m;
}

mproc_sem *mproc_sem_new(unsigned value, int bounded, int *err)
{
    int rc = 0;
    mproc_sem *m = NULL;
    mproc__core_ensure_init();
    if (value > BE_SEM_VALUE_MAX) {
        rc = MPROC_EINVAL;
        goto out;
    }
    sem_shared *s = mproc__core_arena_alloc(sizeof *s, &rc);
    if (!s)
        goto out;
    if ((rc = mproc__be_sem_init(&s->s, value))) {
        mproc__core_arena_free(s);
        goto out;
    }
    if ((rc = mproc__be_mutex_init(&s->bound_mu))) {
        mproc__be_sem_destroy(&s->s);
        mproc__core_arena_free(s);
        goto out;
    }
    s->bounded = bounded != 0;
    s->maxvalue = value;
    s->rec.kind = K_SEM;
    atomic_init(&s->rec.refs, 1);
    if (!(m = adopt(&s->rec, &rc)))
        destroy(&s->rec);
out:
    if (err)
        *err = m ? 0 : rc;
    return m;
}

/* ------------------------------------------------------------ local */

static int local_acquire(mproc_sem *m, double timeout) { return mproc__be_sem_wait(&m->s->s, timeout); }

static int local_release(mproc_sem *m)
{
    sem_shared *s = m->s;
    if (!s->bounded)
        return mproc__be_sem_post(&s->s);
    int rc = mproc__be_mutex_lock(&s->bound_mu, MPROC_FOREVER);
    if (rc && rc != MPROC_EOWNERDEAD)
        return rc;
    /* semaphore or lock released too many times */
    rc = (unsigned)mproc__be_sem_value(&s->s) >= s->maxvalue ? MPROC_ESTATE : mproc__be_sem_post(&s->s);
    mproc__be_mutex_unlock(&s->bound_mu);
    return rc;
}

static int local_get_value(mproc_sem *m) { return mproc__be_sem_value(&m->s->s); }

static void local_free(mproc_sem *m)
{
    mproc__core_rec_release(&m->s->rec, destroy);
    mproc__core_handle_drop(m);
}

static const core_sem_methods local_methods = {
    .kind = K_SEM,
    .acquire = local_acquire,
    .release = local_release,
    .get_value = local_get_value,
    .free = local_free,
};

/* ------------------------------------------------------------ public */

static const core_sem_methods *methods(const mproc_sem *m) { return core_obj_methods(m, K_SEM); }

int mproc_sem_acquire(mproc_sem *m, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    const core_sem_methods *t = methods(m);
    return t ? t->acquire(m, timeout) : MPROC_EINVAL;
}

int mproc_sem_release(mproc_sem *m)
{
    const core_sem_methods *t = methods(m);
    return t ? t->release(m) : MPROC_EINVAL;
}

int mproc_sem_get_value(mproc_sem *m)
{
    const core_sem_methods *t = methods(m);
    return t ? t->get_value(m) : MPROC_EINVAL;
}

void mproc_sem_free(mproc_sem *m)
{
    const core_sem_methods *t = methods(m);
    if (t && !core_obj_borrowed(m))
        t->free(m);
}

static core_rec *record(const void *obj) { return &((const mproc_sem *)obj)->s->rec; }

static void free_obj(void *obj) { mproc_sem_free(obj); }

const core_share_ops mproc__core_sem_ops = {
    .kind = K_SEM,
    .record = record,
    .dep = mproc__core_no_dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
};
