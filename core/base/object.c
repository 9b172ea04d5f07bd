/* SPDX-License-Identifier: MIT */
/* object.c - shared reference counts and the table of shareable kinds. */
#include <stdatomic.h>
#include <stdlib.h>

#include "base/object.h"

void core_rec_retain(core_rec *r) { atomic_fetch_add(&r->refs, 1); }

void core_rec_release(core_rec *r, void (*destroy)(core_rec *r))
{
    if (atomic_fetch_sub(&r->refs, 1) == 1)
        destroy(r);
}

core_rec *core_no_dep(core_rec *rec)
{
    (void)rec;
    return NULL;
}

extern const core_share_ops core_lock_ops, core_rlock_ops, core_sem_ops, core_cond_ops,
    core_event_ops, core_barrier_ops, core_value_ops, core_array_ops, core_shm_ops, core_queue_ops;

const core_share_ops *core_share_ops_for(core_kind kind)
{
    static const core_share_ops *const table[] = {
        &core_lock_ops, &core_rlock_ops, &core_sem_ops,   &core_cond_ops, &core_event_ops,
        &core_barrier_ops, &core_value_ops, &core_array_ops, &core_shm_ops, &core_queue_ops,
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i]->kind == kind)
            return table[i];
    return NULL;
}

/* The kinds that track their holders. */
static const struct {
    core_kind kind;
    void (*handover)(core_rec *r, enum core_handover step, long pid);
} holder_kinds[] = {
    {K_QUEUE, core_queue_handover},
};

void core_rec_handover(core_rec *r, enum core_handover step, long pid)
{
    for (size_t i = 0; i < sizeof holder_kinds / sizeof holder_kinds[0]; i++)
        if (holder_kinds[i].kind == (core_kind)r->kind)
            holder_kinds[i].handover(r, step, pid);
}

void core_rec_release_any(core_rec *r)
{
    const core_share_ops *ops = core_share_ops_for((core_kind)r->kind);
    if (ops)
        core_rec_release(r, ops->destroy);
}

static core_obj *live_handles;      /* newest first */
static atomic_flag live_lock = ATOMIC_FLAG_INIT; /* held for a few instructions */

static void live_lock_take(void)
{
    while (atomic_flag_test_and_set_explicit(&live_lock, memory_order_acquire))
        ;
}

static void live_lock_give(void) { atomic_flag_clear_explicit(&live_lock, memory_order_release); }

void core_handles_after_fork(void) { atomic_flag_clear(&live_lock); }

void *core_handle_new(size_t size, core_kind kind, int *err)
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

void core_handle_drop(void *handle)
{
    core_obj *h = handle;
    h->magic = 0;
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
