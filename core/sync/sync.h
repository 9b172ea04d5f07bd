/* SPDX-License-Identifier: MIT */
/* sync.h - the building blocks every synchronisation object is made of,
 * as records placed inside larger shared records:
 *   lockrec: a Lock or RLock (a robust be_mutex + recursion count)
 *   condrec: CPython's Condition algorithm over three semaphores.
 *
 * Subsystem sync/ (docs/architecture.md): Lock, RLock, Semaphore,
 * Condition, Event and Barrier, their local methods tables (methods.h)
 * and share ops. May use: base/ and the backend. */
#ifndef MPROC_CORE_SYNC_H
#define MPROC_CORE_SYNC_H

#include "base/base.h"
#include "base/object.h"

typedef struct lockrec {
    be_mutex m;             /* knows its holder: mproc__be_mutex_held */
    _Atomic uint32_t count; /* RLock: recursion depth while held */
    uint32_t recursive;     /* RLock */
} lockrec;

int mproc__lockrec_init(lockrec *l, int recursive);
void mproc__lockrec_destroy(lockrec *l);
int mproc__lockrec_acquire(lockrec *l, double timeout); /* 0 | ETIMEDOUT | EOWNERDEAD */
int mproc__lockrec_release(lockrec *l);                 /* ESTATE if not held by this thread */
/* The same for a record known not to be recursive (a Lock is its mutex),
 * inline for the public calls' fast path. */
static inline int mproc__lockrec_acquire_plain(lockrec *l, double timeout) { return mproc__be_mutex_lock(&l->m, timeout); }
static inline int mproc__lockrec_release_plain(lockrec *l) { return mproc__be_mutex_unlock(&l->m); }
/* Takes an object's internal lock (Event, Barrier): a holder that died left
 * only single-field updates behind, so EOWNERDEAD counts as taken. */
int mproc__lockrec_take(lockrec *l);
int mproc__lockrec_is_mine(lockrec *l);
/* If the calling thread holds it (every level), gives it up as a dead
 * holder would: its next taker hears MPROC_EOWNERDEAD (lock.c, at exit). */
void mproc__lockrec_abandon_if_mine(lockrec *l);
/* Releases every level (for Condition.wait) and takes them back. */
uint32_t mproc__lockrec_release_all(lockrec *l);
int mproc__lockrec_restore(lockrec *l, uint32_t count);

/* Each sleeper also holds a slot naming its process (while there are free
 * ones), so that a notify waiting for a sleeper that was killed can tell
 * and stop waiting for it. */
#define CONDREC_SLOTS 32
typedef struct condrec {
    be_sem sleeping, woken, wait;
    _Atomic uint64_t sleeper[CONDREC_SLOTS]; /* pid << 1 | counted; 0 = free */
} condrec;

int mproc__condrec_init(condrec *c);
void mproc__condrec_destroy(condrec *c);
/* Caller holds l. 0 when notified, MPROC_ETIMEDOUT; l is held again on
 * return (MPROC_EOWNERDEAD if retaking it found its holder dead). */
int mproc__condrec_wait(condrec *c, lockrec *l, double timeout);
int mproc__condrec_notify(condrec *c, lockrec *l, int n); /* n < 0: all */

/* A plain lock with its condition (Event, Barrier). */
int mproc__lockcond_init(lockrec *l, condrec *c);
void mproc__lockcond_destroy(lockrec *l, condrec *c);

/* Lock handles, for the objects built on a user's lock (lock.c). */
lockrec *mproc__core_lockrec_of(const mproc_lock *l); /* NULL if not a lock */
core_rec *mproc__core_lock_record(const mproc_lock *l);
mproc_lock *mproc__core_lock_view(core_rec *rec, int *err);   /* lent handle, no reference */
void mproc__core_lock_view_free(mproc_lock *l);
void mproc__core_lock_rec_release(core_rec *rec);


#endif
