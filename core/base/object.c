/* SPDX-License-Identifier: MIT */
/* object.c - shared reference counts, the live handles, and the lookup
 * in the table of kinds. */
#include <stdatomic.h>
#include <stdlib.h>

#include "base/object.h"

void mproc__core_rec_retain(core_rec *r) { atomic_fetch_add(&r->refs, 1); }

void mproc__core_rec_release(core_rec *r, void (*destroy)(core_rec *r))
{
    if (atomic_fetch_sub(&r->refs, 1) == 1)
        destroy(r);
}

core_rec *mproc__core_no_dep(core_rec *rec)
{
    (void)rec;
    return NULL;
}

/* Filled in at link time (core/kinds.c), as CPython's _PyImport_Inittab. */
extern const core_share_ops *const mproc__core_kinds[K_KIND_MAX];

const core_share_ops *mproc__core_share_ops_for(core_kind kind)
{
    return (unsigned)kind < K_KIND_MAX ? mproc__core_kinds[kind] : NULL;
}

void mproc__core_rec_handover(core_rec *r, enum core_handover step, long pid)
{
    const core_share_ops *ops = mproc__core_share_ops_for((core_kind)r->kind);
    if (ops && ops->handover)
        ops->handover(r, step, pid);
}

void mproc__core_rec_release_any(core_rec *r)
{
    const core_share_ops *ops = mproc__core_share_ops_for((core_kind)r->kind);
    if (ops && ops->destroy)
        mproc__core_rec_release(r, ops->destroy);
}

static core_obj *live_handles;      /* newest first */
static atomic_flag live_lock = ATOMIC_FLAG_INIT; /* held for a few instructions */

static void live_lock_take(void)
{
    while (atomic_flag_test_and_set_explicit(&live_lock, memory_order_acquire))
        ;
}

static void live_lock_give(void) { atomic_flag_clear_explicit(&live_lock, memory_order_release); }

void mproc__core_handles_after_fork(void) { atomic_flag_clear(&live_lock); }

void mproc__core_handles_each(core_kind kind, void (*fn)(void *handle))
{
    live_lock_take();
    for (core_obj *h = live_handles; h; h = h->live_next)
        if (h->kind == kind)
            fn(h);
    live_lock_give();
}

void *mproc__core_handle_new(size_t size, core_kind kind, int *err)
{
    core_obj *h = calloc(1, size);
    if (!h) {
        *err = MPROC_ENOMEM;
        return NULL;
    }
    h->magic = CORE_OBJ_MAGIC;
    h->kind = kind;
    live_lock_take();
    h->live_next = live_handles;
    if (live_handles)
        live_handles->live_prev = h;
    live_handles = h;
    live_lock_give();
    return h;
}

void mproc__core_handle_drop(void *handle)
{
    core_obj *h = handle;
    h->magic = 0;
    h->methods = NULL; /* core_obj_uses: no longer live */
    live_lock_take();
    if (h->live_prev)
        h->live_prev->live_next = h->live_next;
    else if (live_handles == h)
        live_handles = h->live_next;
    if (h->live_next)
        h->live_next->live_prev = h->live_prev;
    live_lock_give();
    free(handle);
}
