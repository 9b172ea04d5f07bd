/* SPDX-License-Identifier: MIT */
/* arena.h - shared-memory arena: segments from mproc__be_shm_create, carved into
 * blocks, so that small records don't cost a mapping each (CPython's
 * heap.py). Any process that maps a segment may allocate or free in it:
 * the segment's header holds its free list and a robust mutex.
 *
 * A block is named across processes by core_ref: the segment's id (its
 * creator's pid and a sequence number) and the offset in it. */
#ifndef MPROC_CORE_ARENA_H
#define MPROC_CORE_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

typedef struct core_ref {
    uint64_t seg_pid, seg_seq, offset;
} core_ref;

typedef struct core_seg core_seg; /* process-local view of one segment */

/* Zeroed block of at least size bytes, 16-aligned. */
void *mproc__core_arena_alloc(size_t size, int *err);
void mproc__core_arena_free(void *p);
/* The reference of a block / the block of a reference (NULL if its segment
 * is not mapped here). */
int mproc__core_arena_ref(const void *p, core_ref *out);
void *mproc__core_arena_resolve(const core_ref *ref);
/* Bytes in blocks of this process's own segments that are still in use
 * (by any process): what records not yet destroyed occupy. For tests. */
size_t mproc__core_arena_in_use(void);
/* The segment holding p (NULL if none), for handing it to a child. */
be_shm *mproc__core_arena_shm_of(const void *p, uint64_t *pid, uint64_t *seq);
/* In a child: maps the index-th inherited segment under the given id,
 * unless already mapped (after fork it is). */
int mproc__core_arena_adopt(size_t index, uint64_t pid, uint64_t seq);

#endif
