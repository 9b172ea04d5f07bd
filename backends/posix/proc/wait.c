/* SPDX-License-Identifier: MIT */
/* wait.c - mproc__be_wait: many streams and processes at once, with an APR
 * pollset (the poll(2) method: no descriptor limit, nothing to set up or
 * tear down in the kernel for a one-shot wait). A process is watched
 * through its pidfd, sentinel or forkserver descriptor; one without any
 * (pidfd_open failed) is checked every few milliseconds. */
#include <apr_poll.h>
#include <apr_pools.h>
#include <apr_portable.h>

#include "posix.h"

#define NOFD_CHECK_INTERVAL 0.005

typedef struct poll_plan {
    apr_pool_t *pool;
    apr_pollset_t *set;
    int fd_less; /* some process has no descriptor */
} poll_plan;

static int add_fd(poll_plan *pp, int fd, int is_socket, size_t index)
{
    apr_pollfd_t pfd = {0};
    pfd.p = pp->pool;
    pfd.reqevents = APR_POLLIN;
    pfd.client_data = (void *)(uintptr_t)index;
    apr_status_t rv;
    if (is_socket) {
        apr_socket_t *s = NULL;
        rv = apr_os_sock_put(&s, &fd, pp->pool); /* no cleanup: the fd stays ours */
        pfd.desc_type = APR_POLL_SOCKET;
        pfd.desc.s = s;
    } else {
        apr_file_t *f = NULL;
        rv = apr_os_pipe_put_ex(&f, &fd, 0, pp->pool);
        pfd.desc_type = APR_POLL_FILE;
        pfd.desc.f = f;
    }
    if (rv == APR_SUCCESS)
        rv = apr_pollset_add(pp->set, &pfd);
    return rv == APR_SUCCESS ? 0 : MPROC_ENOMEM;
}

static int plan(be_wait_item *items, size_t n, poll_plan *pp)
{
    if (mproc__px_apr_pool(&pp->pool) != 0)
        return MPROC_ENOMEM;
    if (apr_pollset_create_ex(&pp->set, (apr_uint32_t)n, pp->pool, APR_POLLSET_NODEFAULT, APR_POLLSET_POLL) !=
        APR_SUCCESS)
        return MPROC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = 0;
        if (items[i].stream) {
            rc = add_fd(pp, mproc__px_stream_fd(items[i].stream), 1, i);
        } else {
            int fd = mproc__px_proc_wait_fd(items[i].proc);
            if (fd >= 0)
                rc = add_fd(pp, fd, 0, i);
            else
                pp->fd_less = 1;
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* Marks processes that ended by other means (reaped by a join in another
 * thread, or without a descriptor). */
static size_t check_procs(be_wait_item *items, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].proc && !items[i].ready && mproc__px_proc_ended(items[i].proc)) {
            items[i].ready = 1;
            k++;
        }
    return k;
}

static int poll_once(poll_plan *pp, be_wait_item *items, double wait, size_t *nready)
{
    int64_t ms = mproc__core_timeout_units(wait, 1000, INT32_MAX); /* poll(2) takes an int of ms */
    apr_interval_time_t us = ms < 0 ? -1 : (apr_interval_time_t)ms * 1000;
    apr_int32_t num = 0;
    const apr_pollfd_t *out = NULL;
    apr_status_t rv = apr_pollset_poll(pp->set, us, &num, &out);
    if (rv == APR_SUCCESS) {
        for (apr_int32_t j = 0; j < num; j++) {
            be_wait_item *it = &items[(uintptr_t)out[j].client_data];
            if (!it->ready) {
                it->ready = 1;
                (*nready)++;
            }
        }
        return 0;
    }
    if (APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EINTR(rv))
        return 0;
    mproc__core_set_os_error((int)APR_TO_OS_ERROR(rv));
    return MPROC_ESYS;
}

int mproc__be_wait(be_wait_item *items, size_t n, double timeout)
{
    for (size_t i = 0; i < n; i++)
        items[i].ready = 0;
    int rc = mproc__px_apr_enter();
    if (rc)
        return rc;
    poll_plan pp = {0};
    rc = plan(items, n, &pp);
    double deadline = mproc__core_deadline(timeout);
    size_t nready = check_procs(items, n);
    while (rc == 0) {
        double rem = nready ? 0 : mproc__core_remaining(deadline);
        double wait = rem;
        if (pp.fd_less && (wait < 0 || wait > NOFD_CHECK_INTERVAL))
            wait = NOFD_CHECK_INTERVAL;
        rc = poll_once(&pp, items, wait, &nready);
        if (rc == 0)
            nready += check_procs(items, n);
        if (nready || rem == 0)
            break;
    }
    if (pp.pool)
        apr_pool_destroy(pp.pool);
    mproc__px_apr_leave();
    return rc ? rc : (int)(nready > (size_t)INT32_MAX ? INT32_MAX : nready);
}
