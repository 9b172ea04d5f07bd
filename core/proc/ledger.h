/* SPDX-License-Identifier: MIT */
/* ledger.h - the references a child was handed with its arguments, kept
 * in shared memory, so that its parent can give back the ones the child
 * never released because it was killed (each object record would
 * otherwise live on: a killed lock holder used to leak its lock's record).
 *
 * One flag per record-bearing argument, in mproc__core_args_each_obj order. The
 * child clears a flag just before it releases that reference; the parent,
 * once the child has ended, releases every reference still flagged. A
 * child killed between the two steps leaks that one reference, never
 * releases it twice. */
#ifndef MPROC_CORE_LEDGER_H
#define MPROC_CORE_LEDGER_H

#include <stdatomic.h>
#include <stddef.h>

#include "base/arena.h"
#include "mproc.h"

typedef struct core_ledger core_ledger;

/* Parent, before the start: a ledger for a's records with every flag set,
 * or NULL (and 0 in *err) when a has none. */
core_ledger *mproc__core_ledger_new(const mproc_args *a, int *err);
/* Parent, after the child ended (or never started): releases the
 * references still flagged and frees the ledger. NULL is ignored. */
void mproc__core_ledger_settle(core_ledger *l, const mproc_args *a);

/* Child: the ledger its parent named, and the flag of the i-th record
 * (NULL past the end). */
core_ledger *mproc__core_ledger_resolve(const core_ref *ref);
_Atomic unsigned char *mproc__core_ledger_flag(core_ledger *l, size_t i);

#endif
