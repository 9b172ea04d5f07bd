/* SPDX-License-Identifier: MIT */
/* ledger.c - see ledger.h. */
#include "proc/ledger.h"

#include "proc/args.h"
#include "base/object.h"

#define LEDGER_MAGIC 0x6c656467u /* "ledg" */

struct core_ledger {
    uint32_t magic;
    uint32_t n;
    _Atomic unsigned char held[];
};

static void count(core_rec *rec, void *ctx)
{
    (void)rec;
    (*(size_t *)ctx)++;
}

core_ledger *mproc__core_ledger_new(const mproc_args *a, int *err)
{
    size_t n = 0;
    *err = 0;
    mproc__core_args_each_obj(a, count, &n);
    if (n == 0 || n > UINT32_MAX)
        return NULL;
    core_ledger *l = mproc__core_arena_alloc(sizeof *l + n, err);
    if (!l)
        return NULL;
    l->magic = LEDGER_MAGIC;
    l->n = (uint32_t)n;
    for (size_t i = 0; i < n; i++)
        atomic_init(&l->held[i], 1);
    return l;
}

typedef struct settling {
    core_ledger *l;
    size_t i;
} settling;

static void settle_one(core_rec *rec, void *ctx)
{
    settling *s = ctx;
    if (s->i < s->l->n && atomic_exchange(&s->l->held[s->i], 0))
        mproc__core_rec_release_any(rec);
    s->i++;
}

void mproc__core_ledger_settle(core_ledger *l, const mproc_args *a)
{
    if (!l)
        return;
    settling s = {l, 0};
    mproc__core_args_each_obj(a, settle_one, &s);
    l->magic = 0;
    mproc__core_arena_free(l);
}

core_ledger *mproc__core_ledger_resolve(const core_ref *ref)
{
    core_ledger *l = mproc__core_arena_resolve(ref);
    return l && l->magic == LEDGER_MAGIC ? l : NULL;
}

_Atomic unsigned char *mproc__core_ledger_flag(core_ledger *l, size_t i) { return l && i < l->n ? &l->held[i] : NULL; }
