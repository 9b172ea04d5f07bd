/* SPDX-License-Identifier: MIT */
/* manager_idmap.h - a hash map from 64-bit ids (never 0) to 64-bit
 * values, for the Manager's server: its objects by id, and the references
 * each client holds by object id. Open addressing with linear probing and
 * backward-shift deletion (no tombstones), so a map that shrinks stays
 * fast; it halves its table when it gets sparse. */
#ifndef MPROC_CORE_MANAGER_IDMAP_H
#define MPROC_CORE_MANAGER_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct mgr_idmap {
    uint64_t *keys; /* 0 = empty slot */
    uint64_t *vals;
    size_t cap;     /* a power of two, or 0 */
    size_t n;
} mgr_idmap;

/* 1 and *val when key is there, else 0. val may be NULL. */
int mproc__idmap_get(const mgr_idmap *m, uint64_t key, uint64_t *val);
/* Inserts or replaces: 0 or MPROC_ENOMEM (then m is unchanged). */
int mproc__idmap_put(mgr_idmap *m, uint64_t key, uint64_t val);
/* 1 if it was there. */
int mproc__idmap_del(mgr_idmap *m, uint64_t key);
void mproc__idmap_free(mgr_idmap *m);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->keys[i]) ...;
 * no changes to m meanwhile. */

#endif
