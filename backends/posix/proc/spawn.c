/* SPDX-License-Identifier: MIT */
/* spawn.c - the spawn start method: run this program again (with APR's
 * process creation), hand it the payload, segments, streams and the
 * resource tracker's tree channel over a socket pair, and wait until
 * it has found its target. The socket stays open in the child until it
 * exits, so it doubles as the child's sentinel. */
#include <apr_pools.h>
#include <apr_thread_proc.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"

static void exec_failed(apr_pool_t *pool, apr_status_t err, const char *description)
{
    (void)pool;
    char buf[256];
    fprintf(stderr, "mproc: spawn: %s: %s\n", description, apr_strerror(err, buf, sizeof buf));
}

/* Runs this program with argv [argv0, marker, child_fd]; child_fd is the
 * only descriptor of ours that the new program inherits. */
int mproc__px_spawn(const char *marker, int child_fd, pid_t *pid)
{
    const char *exe = mproc__px_exe_path();
    if (!exe) {
        mproc__core_set_os_error(ENOENT);
        return MPROC_ESPAWN; /* portable builds need mproc_init(&argc, &argv) */
    }
    char fdstr[16];
    snprintf(fdstr, sizeof fdstr, "%d", child_fd);
    char *const *av0 = mproc__px_argv0();
    const char *args[] = {av0 && av0[0] ? av0[0] : exe, marker, fdstr, NULL};
    int rc = mproc__px_apr_enter();
    if (rc)
        return rc;
    apr_pool_t *pool;
    if (mproc__px_apr_pool(&pool) != 0) {
        mproc__px_apr_leave();
        return MPROC_ENOMEM;
    }
    apr_procattr_t *attr;
    apr_proc_t proc;
    apr_status_t rv = apr_procattr_create(&attr, pool);
    if (rv == APR_SUCCESS)
        rv = apr_procattr_cmdtype_set(attr, APR_PROGRAM_ENV); /* inherit the environment */
    if (rv == APR_SUCCESS)
        rv = apr_procattr_error_check_set(attr, 1);
    if (rv == APR_SUCCESS)
        rv = apr_procattr_child_errfn_set(attr, exec_failed);
    if (rv == APR_SUCCESS && mproc__px_cloexec(child_fd, 0) != 0)
        rv = errno;
    if (rv == APR_SUCCESS)
        rv = apr_proc_create(&proc, exe, args, NULL, attr, pool);
    mproc__px_cloexec(child_fd, 1);
    apr_pool_destroy(pool);
    mproc__px_apr_leave();
    if (rv != APR_SUCCESS) {
        mproc__core_set_os_error(APR_TO_OS_ERROR(rv));
        return MPROC_ESPAWN;
    }
    *pid = proc.pid;
    return 0;
}

static void reap_failed(pid_t pid, int killit)
{
    if (killit)
        kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

int mproc__px_spawn_start(const be_start *how, be_proc *bp)
{
    int sv[2];
    if (mproc__px_socketpair(sv) != 0)
        return mproc__px_sys_error(errno);
    pid_t pid;
    int rc = mproc__px_spawn(PX_SPAWN_MARKER, sv[1], &pid);
    close(sv[1]);
    if (rc) {
        close(sv[0]);
        return rc;
    }
    uint64_t n = how->payload_len;
    int32_t status = MPROC_ESPAWN;
    rc = mproc__px_write_full(sv[0], &n, sizeof n);
    if (rc == 0)
        rc = mproc__px_write_full(sv[0], how->payload, how->payload_len);
    if (rc == 0)
        rc = mproc__px_send_segments(sv[0], how->shms, how->nshms);
    if (rc == 0)
        rc = mproc__px_send_streams(sv[0], how->streams, how->nstreams);
    if (rc == 0)
        rc = mproc__px_tracker_send(sv[0]);
    if (rc == 0)
        rc = mproc__px_read_full(sv[0], &status, sizeof status, PX_SPAWN_ACK_TIMEOUT);
    if (rc || status != 0) {
        /* The child died, hung before mproc_init, or cannot run the target. */
        reap_failed(pid, rc != 0);
        close(sv[0]);
        return MPROC_ESPAWN;
    }
    bp->pid = pid;
    bp->fd = sv[0];
    bp->kind = W_FD;
    return 0;
}
