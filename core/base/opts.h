/* SPDX-License-Identifier: MIT */
/* opts.h - options structs that can grow (docs/abi.md). Each public
 * options struct starts with its size, which its _INIT macro fills in; the
 * library reads the caller's struct through mproc__opts_read, so that a
 * program built against other headers keeps working. A size beyond
 * MPROC__OPTS_SIZE_MAX is MPROC_EINVAL without reading past it. */
#ifndef MPROC_CORE_OPTS_H
#define MPROC_CORE_OPTS_H

#include <stddef.h>

/* Copies the caller's options *src into *dst, this library's version of
 * the struct (dst_size bytes, already holding the defaults of its _INIT
 * macro), by the size src declares in its first member:
 *   - dst_size: this version; copied whole;
 *   - larger (a caller built against newer headers): accepted when every
 *     byte past dst_size is zero (fields this library does not know, left
 *     at their defaults); else MPROC_EINVAL;
 *   - smaller: accepted when it is one of the n_older sizes of the
 *     struct's earlier versions in older[] (its fields are copied, the
 *     newer ones keep their defaults); else MPROC_EINVAL (0 among them: a
 *     struct not set up with its _INIT macro).
 * dst's size member is set to dst_size. Returns 0 or MPROC_EINVAL. */
#define MPROC__OPTS_SIZE_MAX 4096 /* larger sizes are refused unread */

int mproc__opts_read(void *dst, size_t dst_size, const void *src, const size_t *older, size_t n_older);

/* Earlier layouts of the options structs (docs/abi.md, rule 4). */
#include "mproc.h"
/* mproc_pool_opts before max_worker_rss (issue 20). */
typedef struct mproc_pool_opts_v1 {
    size_t size;
    int processes;
    mproc_pool_init_fn initializer;
    const mproc_args *initargs;
    unsigned maxtasksperchild;
    const char *start_method;
} mproc_pool_opts_v1;

#endif
