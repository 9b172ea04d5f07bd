/* SPDX-License-Identifier: MIT */
/* shmem.h - shared memory (see docs/architecture.md).
 *
 * shmem/ owns mproc_shm, named segments (shm.c), and Value/Array (value.c),
 * whose locks are views of sync/ locks.
 *
 * shmem/ may use: base/, sync/ and the backend. */
#ifndef MPROC_CORE_SHMEM_H
#define MPROC_CORE_SHMEM_H

#include "base/base.h"

/* The mproc_shm segment mapped here that holds [p, p + len): its name and
 * p's offset in it, or MPROC_ENOENT. */
int mproc__core_shm_locate(const void *p, size_t len, char name[BE_SHM_NAME_MAX + 1], size_t *offset);

#endif
