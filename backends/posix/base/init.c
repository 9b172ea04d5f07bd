/* SPDX-License-Identifier: MIT */
/* init.c - POSIX backend start-up: APR, the program path for re-execution,
 * recognising a spawned child or the forkserver, and small system queries. */
#include <apr_time.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "posix.h"

int mproc__px_child_fd = -1;

static void refresh_pid(void);
static void install_pid_cache(void) { pthread_atfork(NULL, NULL, refresh_pid); }
int mproc__px_report_fd = -1;

static pthread_mutex_t core_mu = PTHREAD_MUTEX_INITIALIZER;
static char exe_path[PATH_MAX];
static char **saved_argv;
static int pidfd_ok = -1;

int mproc__be_interface_version(void) { return BE_INTERFACE_VERSION; }

const char *mproc__be_name(void) { return "posix"; }

char *const *mproc__px_argv0(void) { return saved_argv; }

const char *mproc__px_exe_path(void) { return exe_path[0] ? exe_path : NULL; }

/* Finds the running program's file so that spawn can run it again. */
static void find_exe(const char *argv0)
{
#if MPROC_HAVE_PROC_SELF_EXE
    /* Stays valid even if the file is replaced or deleted later. */
    (void)argv0;
    strcpy(exe_path, "/proc/self/exe");
    if (access(exe_path, X_OK) == 0)
        return;
    exe_path[0] = '\0';
#endif
    if (!argv0 || !*argv0)
        return;
    if (strchr(argv0, '/')) {
        if (!realpath(argv0, exe_path))
            exe_path[0] = '\0';
        return;
    }
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        char cand[PATH_MAX];
        if (snprintf(cand, sizeof cand, "%.*s/%s", (int)n, n ? path : ".", argv0) < (int)sizeof cand &&
            access(cand, X_OK) == 0 && realpath(cand, exe_path))
            return;
        path = end ? end + 1 : NULL;
    }
    exe_path[0] = '\0';
}

static int parse_fd(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > INT_MAX)
        return -1;
    return (int)v;
}

/* A spawned child: read [u64 length][payload], its segments, its streams
 * and the resource tracker's tree channel from the parent. */
static int read_payload(int fd, void **payload, size_t *len)
{
    uint64_t n;
    int rc = mproc__px_read_full(fd, &n, sizeof n, PX_SPAWN_ACK_TIMEOUT);
    if (rc)
        return rc;
    if (n > BE_PAYLOAD_MAX)
        return MPROC_EINVAL;
    void *buf = malloc(n ? (size_t)n : 1);
    if (!buf)
        return MPROC_ENOMEM;
    int *fds = NULL, *sfds = NULL;
    uint64_t *sizes = NULL;
    size_t nseg = 0, nstreams = 0;
    if ((rc = mproc__px_read_full(fd, buf, (size_t)n, PX_SPAWN_ACK_TIMEOUT)) ||
        (rc = mproc__px_recv_segments(fd, &fds, &sizes, &nseg, PX_SPAWN_ACK_TIMEOUT))) {
        free(buf);
        return rc;
    }
    mproc__px_shm_set_inherited(fds, sizes, nseg);
    free(fds);
    free(sizes);
    if ((rc = mproc__px_recv_streams(fd, &sfds, &nstreams, PX_SPAWN_ACK_TIMEOUT))) {
        free(buf);
        return rc;
    }
    mproc__px_stream_set_inherited(sfds, nstreams);
    free(sfds);
    if ((rc = mproc__px_tracker_recv(fd, PX_SPAWN_ACK_TIMEOUT))) {
        free(buf);
        return rc;
    }
    *payload = buf;
    *len = (size_t)n;
    return 0;
}

int mproc__be_init(int *argc, char ***argv, void **payload, size_t *len)
{
    int rc = mproc__px_apr_start(); /* torn down by mproc__be_shutdown, the core's last exit step */
    if (rc)
        return rc;
    char **av = (argc && argv) ? *argv : NULL;
    saved_argv = av;
    find_exe(av ? av[0] : NULL);
    if (!av || *argc < 3)
        return BE_ROLE_MAIN;
    int fd = parse_fd(av[2]);
    if (strcmp(av[1], PX_FORKSERVER_MARKER) == 0 && fd >= 0)
        mproc__px_forkserver_main(fd); /* does not return */
    if (strcmp(av[1], PX_TRACKER_MARKER) == 0 && fd >= 0)
        mproc__px_tracker_main(fd); /* does not return */
    if (strcmp(av[1], PX_SPAWN_MARKER) != 0 || fd < 0)
        return BE_ROLE_MAIN;
    mproc__px_cloexec(fd, 1);
    rc = read_payload(fd, payload, len);
    if (rc) {
        fprintf(stderr, "mproc: spawned child could not read its payload: %s\n", mproc_strerror(rc));
        _exit(BE_CHILD_BADTARGET);
    }
    mproc__px_child_fd = fd;
    mproc__px_report_fd = fd;
    return BE_ROLE_CHILD; /* the core drops our BE_SPAWN_ARGS arguments */
}

void mproc__be_child_started(int status)
{
    if (mproc__px_report_fd < 0)
        return;
    int32_t s = status;
    int rc = mproc__px_write_full(mproc__px_report_fd, &s, sizeof s);
    if (mproc__px_report_fd != mproc__px_child_fd) {
        close(mproc__px_report_fd); /* forkserver children report through a pipe */
        /* to their keeper: without it nobody could wait for us */
        if (rc != 0)
            _exit(BE_CHILD_BADTARGET);
    }
    mproc__px_report_fd = -1;
}

void mproc__px_after_fork_child(void)
{
    /* The forking thread may have held the lock; only it exists here. */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    core_mu = fresh;
    mproc__px_apr_after_fork();
    mproc__px_proc_after_fork();
    /* Our own sentinel/status channel belongs to us, not to our children:
     * if they kept it, our parent would not see us exit. */
    if (mproc__px_child_fd >= 0) {
        close(mproc__px_child_fd);
        mproc__px_child_fd = -1;
    }
    mproc__px_report_fd = -1;
    mproc__px_forkserver_after_fork();
}

void mproc__be_exit(int code)
{
    fflush(NULL);
    _exit(code & 0xFF);
}

/* getpid() is a system call on current glibc; locks ask for it on every
 * acquire. Cached, and refreshed in the child of any fork (ours or not). */
static _Atomic long cached_pid;

static void refresh_pid(void) { atomic_store(&cached_pid, (long)getpid()); }

static long first_getpid(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_pid_cache);
    refresh_pid();
    return atomic_load(&cached_pid);
}

/* Small, so that link-time optimisation inlines it into the lock's call. */
long mproc__be_getpid(void)
{
    long pid = atomic_load_explicit(&cached_pid, memory_order_relaxed);
    return pid ? pid : first_getpid();
}

int mproc__be_cpu_count(void)
{
#if MPROC_HAVE_SCHED_GETAFFINITY
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void mproc__be_sleep(double seconds)
{
    int64_t us = mproc__core_timeout_units(seconds, 1000000, INT64_MAX);
    if (us > 0)
        apr_sleep((apr_interval_time_t)us);
}

void mproc__be_core_lock(void) { pthread_mutex_lock(&core_mu); }

void mproc__be_core_unlock(void) { pthread_mutex_unlock(&core_mu); }

int mproc__be_random(void *buf, size_t len)
{
    if (apr_generate_random_bytes(buf, len) != APR_SUCCESS)
        return MPROC_ESYS;
    return 0;
}

int mproc__px_pidfd_usable(void)
{
#if MPROC_HAVE_PIDFD
    if (pidfd_ok < 0) {
        int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        pidfd_ok = fd >= 0;
        if (fd >= 0)
            close(fd);
    }
    return pidfd_ok;
#else
    (void)pidfd_ok;
    return 0;
#endif
}
