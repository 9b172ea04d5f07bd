/* SPDX-License-Identifier: MIT */
/* shmem.h - shared memory (see docs/architecture.md).
 *
 * shmem/ owns mproc_shm, named segments (shm.c), ShareableList in one
 * (shareable_list.c), and Value/Array (value.c), whose locks are views of
 * sync/ locks.
 *
 * shmem/ may use: base/, sync/ and the backend. */
#ifndef MPROC_CORE_SHMEM_H
#define MPROC_CORE_SHMEM_H

#include "base/base.h"

/* The mproc_shm segment mapped here that holds [p, p + len): its name and
 * p's offset in it, or MPROC_ENOENT. */
int mproc__core_shm_locate(const void *p, size_t len, char name[BE_SHM_NAME_MAX + 1], size_t *offset);

/* ShareableList, for the manager's SharedMemoryManager role: the segment
 * size n items need (MPROC_EINVAL / MPROC_EMSGSIZE for items a list cannot
 * hold), and a list laid out in a segment of at least that size (on
 * success the list owns shm; on failure the caller still does). */
int mproc__core_sharelist_size(const mproc_mval *items, size_t n, size_t *size);
mproc_sharelist *mproc__core_sharelist_format(mproc_shm *shm, const mproc_mval *items, size_t n, int *err);

#endif
