/* SPDX-License-Identifier: MIT */
/* aprlife.c - APR's lifetime in this process: initialised by mproc__be_init,
 * torn down by mproc__be_shutdown as the very last step of the process's end.
 *
 * Each use of APR's pools (polling, sockets, spawning) is bracketed by
 * mproc__px_apr_enter/mproc__px_apr_leave. A program may end while threads of its own
 * are still inside mproc (exit() from one thread while another waits):
 * such a use either finishes before APR goes, or fails with MPROC_ESTATE
 * without touching it. */
#include <apr_general.h>
#include <apr_pools.h>
#include <stdatomic.h>
#include <time.h>

#include "posix.h"

#define SHUTDOWN_WAIT_MS 100 /* for uses still in flight */

static atomic_int users; /* threads inside APR now */
static atomic_int gone;  /* mproc__be_shutdown ran */
static int started;

int mproc__px_apr_start(void)
{
    if (apr_initialize() != APR_SUCCESS)
        return MPROC_ESYS;
    started = 1;
    return 0;
}

/* Every pool of ours is unmanaged: it has its own allocator and no parent,
 * so making one never takes APR's global pool mutex. That mutex is not
 * fork-safe: a child forked while another thread of its parent held it
 * (a pool's result thread inside mproc__be_wait) would block forever on its first
 * pool (seen: a Manager server forked by such a program, registering with
 * the resource tracker). */
int mproc__px_apr_pool(apr_pool_t **pool)
{
    return apr_pool_create_unmanaged_ex(pool, NULL, NULL) == APR_SUCCESS ? 0 : MPROC_ENOMEM;
}

int mproc__px_apr_enter(void)
{
    atomic_fetch_add(&users, 1);
    if (atomic_load(&gone)) {
        atomic_fetch_sub(&users, 1);
        return MPROC_ESTATE;
    }
    return 0;
}

void mproc__px_apr_leave(void) { atomic_fetch_sub(&users, 1); }

/* The forking thread was the only one here: the others' uses are theirs. */
void mproc__px_apr_after_fork(void) { atomic_store(&users, 0); }

void mproc__be_shutdown(void)
{
    mproc__px_forkserver_shutdown(); /* before APR goes: it sleeps while it waits */
    mproc__px_net_unlink_all();      /* listeners never closed: their socket files */
    atomic_store(&gone, 1);
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < SHUTDOWN_WAIT_MS && atomic_load(&users) > 0; i++)
        nanosleep(&ms, NULL);
    /* A use that never ends (a wait with no timeout in a thread the
     * program left running) keeps APR: process exit reclaims it. */
    if (started && atomic_load(&users) == 0) {
        started = 0;
        mproc__px_net_release_all(); /* our unmanaged pools: APR does not know them */
        apr_terminate();
    }
}
