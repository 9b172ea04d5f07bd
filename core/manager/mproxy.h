/* SPDX-License-Identifier: MIT */
/* mproxy.h - the proxies of the Manager types that have a local
 * implementation too (Lock, RLock, Semaphore, Condition, Event, Barrier,
 * Queue): their operations tables (sync/methods.h, queue/methods.h).
 * mproc__mgr_proxy_new puts the one for its type into the handle, so the public
 * calls (mproc_lock_acquire, mproc_queue_put, ...) reach the Manager
 * without sync/ or queue/ knowing it exists. */
#ifndef MPROC_CORE_MPROXY_H
#define MPROC_CORE_MPROXY_H

#include "manager/manager.h"
#include "queue/methods.h"
#include "sync/methods.h"

extern const core_lock_methods mproc__mgr_lock_methods; /* Lock and RLock */
extern const core_sem_methods mproc__mgr_sem_methods;
extern const core_cond_methods mproc__mgr_cond_methods;
extern const core_event_methods mproc__mgr_event_methods;
extern const core_barrier_methods mproc__mgr_barrier_methods;
extern const core_queue_methods mproc__mgr_queue_methods; /* manager_queue_proxy.c */

/* The table for proxies of this type (enum mgr_type), or NULL for the
 * types that only the Manager's own API serves (list, dict, ...). */
const void *mproc__mgr_proxy_methods(uint32_t type);

/* [op, id, (timeout), ints...] on a proxy of one of `types` (mask of
 * 1u << type); the reply's integer in *out if asked. */
int mproc__mgr_sync_call(const void *obj, unsigned types, int op, int timed, double timeout, const int64_t *ints,
                  size_t n, int64_t *out);
/* A call's status, or its integer reply (MPROC_EBROKEN if out of range). */
int mproc__mgr_int_result(int rc, int64_t v);

#endif
