/* SPDX-License-Identifier: MIT */
/* kinds.c - the table of every kind of object, indexed by kind: how it
 * crosses into a child and how mproc_wait waits on it (core_share_ops,
 * base/object.h). It sits at the top of the core, above every subsystem,
 * so that nothing below has to know the kinds above it (as CPython's
 * config.c lists the built-in modules in _PyImport_Inittab). A new kind
 * plugs in with its table, defined in its own folder, and one line here.
 * Kinds missing here (a listener, a Manager handle) are not shareable. */
#include "base/object.h"

extern const core_share_ops mproc__core_sentinel_ops;                      /* proc/process.c */
extern const core_share_ops mproc__core_lock_ops, mproc__core_rlock_ops;           /* sync/lock.c */
extern const core_share_ops mproc__core_sem_ops;                            /* sync/semaphore.c */
extern const core_share_ops mproc__core_cond_ops;                           /* sync/condition.c */
extern const core_share_ops mproc__core_event_ops;                          /* sync/event.c */
extern const core_share_ops mproc__core_barrier_ops;                        /* sync/barrier.c */
extern const core_share_ops mproc__core_value_ops, mproc__core_array_ops;          /* shmem/value.c */
extern const core_share_ops mproc__core_shm_ops;                            /* shmem/shm.c */
extern const core_share_ops mproc__core_sharelist_ops;                      /* shmem/shareable_list.c */
extern const core_share_ops mproc__core_conn_share_ops;                     /* ipc/conn_share.c */
extern const core_share_ops mproc__core_queue_ops;                          /* queue/queue.c */
extern const core_share_ops mproc__core_mproxy_share_ops;                   /* manager/manager_share.c */
extern const core_share_ops mproc__core_async_ops, mproc__core_imap_ops;         /* pool/pool_notify.c */

const core_share_ops *const mproc__core_kinds[K_KIND_MAX] = {
    [K_SENTINEL] = &mproc__core_sentinel_ops,
    [K_LOCK] = &mproc__core_lock_ops,
    [K_RLOCK] = &mproc__core_rlock_ops,
    [K_SEM] = &mproc__core_sem_ops,
    [K_COND] = &mproc__core_cond_ops,
    [K_EVENT] = &mproc__core_event_ops,
    [K_BARRIER] = &mproc__core_barrier_ops,
    [K_VALUE] = &mproc__core_value_ops,
    [K_ARRAY] = &mproc__core_array_ops,
    [K_SHM] = &mproc__core_shm_ops,
    [K_SHARELIST] = &mproc__core_sharelist_ops,
    [K_CONN] = &mproc__core_conn_share_ops,
    [K_QUEUE] = &mproc__core_queue_ops,
    [K_MPROXY] = &mproc__core_mproxy_share_ops,
    [K_ASYNC] = &mproc__core_async_ops,
    [K_IMAP] = &mproc__core_imap_ops,
};
