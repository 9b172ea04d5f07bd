/* SPDX-License-Identifier: MIT */
/* base.h - the bottom of the core (see docs/architecture.md).
 *
 * base/ owns what every subsystem needs and no subsystem defines: error
 * codes and the OS error of the last failure (errors.c), fault injection
 * (fault.c), digests (digest.c), the shared-memory arena of records
 * (arena.c), handles and shared reference counts (object.c), the table of
 * kinds that can cross into a child (object.h, filled in by core/kinds.c),
 * bounded decoding (unpack.c), spinning and deadlines (spin.c, timeout.c),
 * options structs (opts.c), the lazy init and start methods (init.c), and
 * the lists of exit and after-fork hooks (hooks.c).
 *
 * base/ may use: the backend (backend.h) and the C library. Nothing in
 * base/ includes a header of another core folder. */
#ifndef MPROC_CORE_BASE_H
#define MPROC_CORE_BASE_H

#include "backend.h"

/* Once per program image, whether or not the user called mproc_init:
 * registers the exit path and starts the backend (mproc__be_init), which tells
 * this process's role; a child's payload comes back in *payload (the
 * caller frees it). Later calls return BE_ROLE_MAIN and touch nothing. */
int mproc__core_init_once(int *argc, char ***argv, void **payload, size_t *len);
void mproc__core_ensure_init(void); /* lazy init for callers that skipped mproc_init */

int mproc__core_default_method(void);
void mproc__core_set_default_method(int method);
const char *mproc__core_method_name(int method);
int mproc__core_method_from_name(const char *name); /* 0 if unknown */

/* The program's argv as mproc_init saw it (a spawn child's: the parent's). */
void mproc__core_saved_argv(int *argc, char ***argv);
void mproc__core_save_argv(int argc, char **argv);

/* Runs the exit hooks in their phases, then the backend's teardown. */
void mproc__core_exit_path(void);

char *mproc__core_strdup(const char *s);

#endif
