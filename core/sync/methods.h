/* SPDX-License-Identifier: MIT */
/* methods.h - the operations of each synchronisation kind, as tables. A
 * handle points at one (core_obj.methods): the local implementation here
 * in sync/, or one that something above fills in (a Manager's proxies).
 * The public functions check the arguments every implementation shares
 * (NaN timeouts, the handle's kind, borrowed handles on free) and then
 * call through the table once; an implementation checks only what is its
 * own. */
#ifndef MPROC_CORE_SYNC_METHODS_H
#define MPROC_CORE_SYNC_METHODS_H

#include "mproc.h"

#include "base/object.h"

typedef struct core_lock_methods {
    core_kind kind; /* K_LOCK, for Lock and RLock */
    int (*acquire)(mproc_lock *l, double timeout);
    int (*release)(mproc_lock *l);
    int (*is_rlock)(const mproc_lock *l);
    void (*free)(mproc_lock *l); /* never called on a borrowed handle */
} core_lock_methods;

typedef struct core_sem_methods {
    core_kind kind; /* K_SEM */
    int (*acquire)(mproc_sem *m, double timeout);
    int (*release)(mproc_sem *m);
    int (*get_value)(mproc_sem *m);
    void (*free)(mproc_sem *m);
} core_sem_methods;

typedef struct core_cond_methods {
    core_kind kind; /* K_COND */
    int (*acquire)(mproc_cond *c, double timeout);
    int (*release)(mproc_cond *c);
    int (*wait)(mproc_cond *c, double timeout);
    int (*wait_for)(mproc_cond *c, mproc_predicate pred, void *arg, double timeout); /* pred != NULL */
    int (*notify)(mproc_cond *c, int n);
    int (*notify_all)(mproc_cond *c);
    void (*free)(mproc_cond *c);
} core_cond_methods;

typedef struct core_event_methods {
    core_kind kind; /* K_EVENT */
    int (*set)(mproc_event *e);
    int (*clear)(mproc_event *e);
    int (*is_set)(mproc_event *e);
    int (*wait)(mproc_event *e, double timeout);
    void (*free)(mproc_event *e);
} core_event_methods;

typedef struct core_barrier_methods {
    core_kind kind; /* K_BARRIER */
    int (*wait)(mproc_barrier *b, double timeout);
    int (*reset)(mproc_barrier *b);
    int (*abort)(mproc_barrier *b);
    int (*broken)(mproc_barrier *b);
    int (*n_waiting)(mproc_barrier *b);
    int (*parties)(mproc_barrier *b);
    void (*free)(mproc_barrier *b);
} core_barrier_methods;

#endif
