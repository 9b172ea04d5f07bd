/* SPDX-License-Identifier: MIT */
/* mproxy.h - the local sync and queue calls on a Manager proxy: lock.c,
 * semaphore.c, ... hand a proxy to these (manager_sync_proxy.c), so one
 * API serves local objects and manager ones, as in Python. */
#ifndef MPROC_CORE_MPROXY_H
#define MPROC_CORE_MPROXY_H

#include "base/object.h"

static inline int mgr_is_proxy(const void *p) { return core_obj_kind(p) == K_MPROXY; }

int mgr_acquire(void *obj, double timeout); /* lock, rlock, semaphore, condition */
int mgr_release(void *obj);
int mgr_is_rlock(const void *obj);
int mgr_sem_value(void *obj);
int mgr_cond_wait(void *obj, double timeout);
int mgr_cond_wait_for(void *obj, mproc_predicate pred, void *arg, double timeout);
int mgr_cond_notify(void *obj, int n); /* n < 0: all */
int mgr_event_op(void *obj, char what); /* 's'et, 'c'lear, 'i's_set */
int mgr_event_wait(void *obj, double timeout);
int mgr_barrier_wait(void *obj, double timeout);
int mgr_barrier_op(void *obj, char what); /* 'r'eset, 'a'bort, 'b'roken, 'n'_waiting, 'p'arties */
int mgr_queue_put(void *obj, const void *buf, size_t len, double timeout);
int mgr_queue_get(void *obj, void **buf, size_t *len, double timeout);
int mgr_queue_op(void *obj, char what); /* 'q'size, 'e'mpty, 'f'ull, 'c'lose, 'j'oin_thread, 'x' cancel, 't'ask_done */
int mgr_queue_join(void *obj, double timeout);
void mgr_proxy_free(void *obj); /* a handle owned by args: nothing */

#endif
