/* SPDX-License-Identifier: MIT */
/* test_faults.c - fault injection: system calls made to fail through the
 * backend's table (mproc_test_set_syscall), at the first call and at
 * every later one in turn. Each public call must return a clear error and
 * leave nothing behind: no child, no descriptor, no shared-memory name. */
#include "testutil.h"
#include "base/testhooks.h" /* mproc_test_set_syscall: core/, not the public header */
#include "shmnames.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <dirent.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

/* A call fails once `left` more calls have gone through; then `failing`
 * calls fail (-1: every one) and the later ones go through again. */
static int left, failing = -1;
static int due(void)
{
    if (left-- > 0 || failing == 0)
        return 0;
    if (failing > 0)
        failing--;
    return 1;
}

static int count_dir(const char *path, const char *prefix)
{
#ifdef _WIN32
    (void)path;
    (void)prefix;
    return 0; /* no cheap listing: the checks that use it hold trivially */
#else
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && (!prefix || strncmp(e->d_name, prefix, strlen(prefix)) == 0))
            n++;
    if (d)
        closedir(d);
    return n;
#endif
}

static int fds(void) { return count_dir("/proc/self/fd", NULL); }

/* No segment name left behind since the snapshot (shmnames.h; Windows
 * names are kernel objects that go with their last handle: nothing to
 * list there). */
#ifndef _WIN32
static shm_snapshot shm_before;
static void shm_baseline(void) { shm_snapshot_take(&shm_before); }
static void check_no_new_shm(void) { CU_ASSERT_EQUAL(shm_leaked_since(&shm_before, 5), 0); }
#else
static void shm_baseline(void) {}
static void check_no_new_shm(void) {}
#endif

#ifdef _WIN32
static BOOL(WINAPI *real_create_process)(LPCWSTR, LPWSTR, LPSECURITY_ATTRIBUTES, LPSECURITY_ATTRIBUTES, BOOL, DWORD,
                                         LPVOID, LPCWSTR, LPSTARTUPINFOW, LPPROCESS_INFORMATION);
static BOOL WINAPI fail_create_process(LPCWSTR a, LPWSTR b, LPSECURITY_ATTRIBUTES c, LPSECURITY_ATTRIBUTES d, BOOL e,
                                       DWORD f, LPVOID g, LPCWSTR h, LPSTARTUPINFOW i, LPPROCESS_INFORMATION j)
{
    if (!due())
        return real_create_process(a, b, c, d, e, f, g, h, i, j);
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return FALSE;
}
static HANDLE(WINAPI *real_mapping)(HANDLE, LPSECURITY_ATTRIBUTES, DWORD, DWORD, DWORD, LPCWSTR);
static HANDLE WINAPI fail_mapping(HANDLE a, LPSECURITY_ATTRIBUTES b, DWORD c, DWORD d, DWORD e, LPCWSTR f)
{
    if (!due())
        return real_mapping(a, b, c, d, e, f);
    SetLastError(ERROR_COMMITMENT_LIMIT);
    return NULL;
}
/* Wine's report of a child that died in wine's own start-up: the first
 * `early_deaths` calls fail so; every call is counted. */
static int early_deaths, create_calls;
static BOOL WINAPI died_early(LPCWSTR a, LPWSTR b, LPSECURITY_ATTRIBUTES c, LPSECURITY_ATTRIBUTES d, BOOL e,
                             DWORD f, LPVOID g, LPCWSTR h, LPSTARTUPINFOW i, LPPROCESS_INFORMATION j)
{
    if (create_calls++ >= early_deaths)
        return real_create_process(a, b, c, d, e, f, g, h, i, j);
    SetLastError(ERROR_INTERNAL_ERROR);
    return FALSE;
}
#define START_CALL "CreateProcessW"
#define START_FAIL ((mproc_syscall_fn)fail_create_process)
#define START_REAL real_create_process
#define SEG_CALL "CreateFileMappingW"
#define SEG_FAIL ((mproc_syscall_fn)fail_mapping)
#define SEG_REAL real_mapping
#else
static pid_t (*real_fork)(void);
static pid_t fail_fork(void)
{
    if (!due())
        return real_fork();
    errno = EAGAIN;
    return -1;
}
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *fail_mmap(void *a, size_t b, int c, int d, int e, off_t f)
{
    if (!due())
        return real_mmap(a, b, c, d, e, f);
    errno = ENOMEM;
    return MAP_FAILED;
}
static int (*real_pair)(int fds[2]);
static int fail_pair(int fds[2])
{
    if (!due())
        return real_pair(fds);
    errno = EMFILE;
    return -1;
}
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t fail_send(int fd, const void *buf, size_t len, int flags)
{
    if (!due())
        return real_send(fd, buf, len, flags);
    errno = EIO;
    return -1;
}
#define START_CALL "fork"
#define START_FAIL ((mproc_syscall_fn)fail_fork)
#define START_REAL real_fork
#define SEG_CALL "mmap"
#define SEG_FAIL ((mproc_syscall_fn)fail_mmap)
#define SEG_REAL real_mmap
#endif

/* Installs fail as name, failing after `after` good calls. */
#define INJECT(name, fail, real, after)                                        \
    do {                                                                       \
        mproc_syscall_fn got_ = mproc_test_get_syscall(name);                  \
        memcpy(&(real), &got_, sizeof got_); /* function pointers: same size */ \
        CU_ASSERT_PTR_NOT_NULL_FATAL(real);                                    \
        left = (after);                                                        \
        failing = -1;                                                          \
        CHECK_RC(mproc_test_set_syscall(name, (fail)), 0);                     \
    } while (0)
#define RESTORE(name) CHECK_RC(mproc_test_set_syscall(name, NULL), 0)

static int t_noop(const mproc_args *a)
{
    (void)a;
    return 0;
}

static int square(const void *in, void *out, void *state)
{
    (void)state;
    int64_t x;
    memcpy(&x, in, sizeof x);
    x *= x;
    memcpy(out, &x, sizeof x);
    return 0;
}

static void test_table(void)
{
    CHECK_RC(mproc_test_set_syscall("no such call", NULL), MPROC_EINVAL);
    CHECK_RC(mproc_test_set_syscall(NULL, NULL), MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_test_get_syscall("no such call"));
    CU_ASSERT_PTR_NOT_NULL(mproc_test_get_syscall(START_CALL));
    CU_ASSERT_PTR_NOT_NULL(mproc_test_get_syscall(SEG_CALL));
}

static void test_process_start_fails(void)
{
    int f0 = fds();
    INJECT(START_CALL, START_FAIL, START_REAL, 0);
    mproc_process *p = mproc_process_new(t_noop, NULL, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int rc = mproc_process_start(p);
    RESTORE(START_CALL);
    CU_ASSERT(rc == MPROC_ESPAWN || rc == MPROC_ESYS);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    mproc_process_free(p);
    CU_ASSERT_EQUAL(fds(), f0);
    /* and it works again */
    int code = -1;
    CHECK_RC(test_run(t_noop, NULL, &code), 0);
    CU_ASSERT_EQUAL(code, 0);
}

static void test_shared_memory_fails(void)
{
    int f0 = fds();
    shm_baseline();
    INJECT(SEG_CALL, SEG_FAIL, SEG_REAL, 0);
    int err = 0;
    mproc_shm *m = mproc_shm_open(NULL, 1 << 20, 1, &err);
    mproc_queue *q = mproc_queue_new(0, &err); /* its ring is a segment of its own */
    RESTORE(SEG_CALL);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_PTR_NULL(q);
    CU_ASSERT(err == MPROC_ENOMEM || err == MPROC_ESYS);
    CU_ASSERT_EQUAL(fds(), f0);
    check_no_new_shm();
    m = mproc_shm_open(NULL, 1 << 20, 1, &err);
    CU_ASSERT_PTR_NOT_NULL(m);
    mproc_shm_unlink(m);
    mproc_shm_close(m);
}

/* A pool makes many calls on its way up: fail each in turn. */
static void test_pool_start_fails_anywhere(void)
{
    /* a map first: what a pool keeps for the next one (its map segment)
     * exists before the baseline */
    mproc_pool *w = mproc_pool_new(NULL, NULL);
    int64_t in0[8] = {0}, out0[8];
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CHECK_RC(mproc_pool_map(w, square, in0, 8, 8, out0, 8, 0), 0);
    mproc_pool_free(w);
    int f0 = fds(), failures = 0, ok = 0;
    shm_baseline();
    for (int after = 0; after < 40 && !ok; after++) {
        INJECT(START_CALL, START_FAIL, START_REAL, after);
        mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
        o.processes = 3;
        int err = 0;
        mproc_pool *p = mproc_pool_new(&o, &err);
        RESTORE(START_CALL);
        if (p) {
            ok = 1; /* every start went through */
            int64_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8];
            CHECK_RC(mproc_pool_map(p, square, in, 8, 8, out, 8, 0), 0);
            CU_ASSERT_EQUAL(out[7], 64);
            mproc_pool_free(p);
        } else {
            failures++;
            CU_ASSERT(err == MPROC_ESPAWN || err == MPROC_ESYS);
        }
        CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
        CU_ASSERT_EQUAL(fds(), f0);
    }
    CU_ASSERT(ok);
    CU_ASSERT(failures >= 3); /* one per worker at least */
    check_no_new_shm();
}

/* apply: kills its own worker. */
static int kill_own_worker(const mproc_args *a, mproc_result *r, void *state)
{
    (void)a;
    (void)r;
    (void)state;
    test_kill_self();
    return 0;
}

/* A replacement worker that cannot start at first is tried again a little
 * later (a forkserver killed just as it was asked for one, a moment
 * without processes): the pool goes on. Only failures that last (six in a
 * row, about a second and a half) mark it broken: then waiting tasks fail with
 * MPROC_EBROKEN, never a hang. */
static void test_replacement_retried(void)
{
    INJECT(START_CALL, START_FAIL, START_REAL, 1 << 30); /* armed below */
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 1;
    int err = 0;
    mproc_pool *p = mproc_pool_new(&o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    void *out = NULL;
    size_t len = 0;
    int64_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, res[8];
    left = 0;
    failing = 3; /* the next three starts fail, then they work again */
    CHECK_RC(mproc_pool_apply(p, kill_own_worker, NULL, &out, &len), MPROC_EWORKERLOST);
    CHECK_RC(mproc_pool_map(p, square, in, 8, 8, res, 8, 0), 0);
    CU_ASSERT_EQUAL(res[7], 64);
    CU_ASSERT_EQUAL(failing, 0);
    failing = -1; /* from now on every start fails */
    CHECK_RC(mproc_pool_apply(p, kill_own_worker, NULL, &out, &len), MPROC_EWORKERLOST);
    double t0 = test_now();
    CHECK_RC(mproc_pool_map(p, square, in, 8, 8, res, 8, 0), MPROC_EBROKEN);
    double took = test_now() - t0;
    CU_ASSERT(took < 20);
    CHECK_RC(mproc_pool_apply(p, kill_own_worker, NULL, &out, &len), MPROC_EBROKEN); /* at once */
    mproc_pool_free(p);
    RESTORE(START_CALL);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
}

#ifndef _WIN32
static void test_pipes_fail_anywhere(void)
{
    /* socketpair: connections, pools (their pipes), at each call in turn */
    int f0 = fds(), ok = 0;
    for (int after = 0; after < 40 && !ok; after++) {
        INJECT("socketpair", (mproc_syscall_fn)fail_pair, real_pair, after);
        mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
        o.processes = 2;
        int err = 0;
        mproc_pool *p = mproc_pool_new(&o, &err);
        RESTORE("socketpair");
        if (p) {
            ok = 1;
            mproc_pool_free(p);
        } else {
            CU_ASSERT(err == MPROC_ESYS || err == MPROC_ESPAWN);
        }
        CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
        CU_ASSERT_EQUAL(fds(), f0);
    }
    CU_ASSERT(ok);
    mproc_conn *a, *b;
    INJECT("socketpair", (mproc_syscall_fn)fail_pair, real_pair, 0);
    CHECK_RC(mproc_pipe(1, &a, &b), MPROC_ESYS);
    CU_ASSERT_EQUAL(mproc_last_os_error(), EMFILE);
    RESTORE("socketpair");
    CU_ASSERT_EQUAL(fds(), f0);
}

static void test_send_fails(void)
{
    mproc_conn *a, *b;
    CHECK_RC(mproc_pipe(1, &a, &b), 0);
    INJECT("send", (mproc_syscall_fn)fail_send, real_send, 0);
    int rc = mproc_conn_send_bytes(a, "hello", 5);
    RESTORE("send");
    CHECK_RC(rc, MPROC_ESYS);
    CU_ASSERT_EQUAL(mproc_last_os_error(), EIO);
    mproc_conn_free(a);
    mproc_conn_free(b);
}
#endif

#ifdef _WIN32
/* A child that died inside wine's start-up is launched again, a bounded
 * number of times, and runs once. */
static void test_start_died_early(void)
{
    int code = -1;
    for (int deaths = 1; deaths <= 2; deaths++) {
        early_deaths = deaths;
        create_calls = 0;
        INJECT(START_CALL, (mproc_syscall_fn)died_early, real_create_process, 0);
        int rc = test_run(t_noop, NULL, &code);
        RESTORE(START_CALL);
        CHECK_RC(rc, 0);
        CU_ASSERT_EQUAL(code, 0);
        CU_ASSERT_EQUAL(create_calls, deaths + 1);
    }
    /* Always dying: the start fails with wine's error, no child left. */
    early_deaths = 1000;
    create_calls = 0;
    INJECT(START_CALL, (mproc_syscall_fn)died_early, real_create_process, 0);
    mproc_process *p = mproc_process_new(t_noop, NULL, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int rc = mproc_process_start(p);
    int os = mproc_last_os_error();
    RESTORE(START_CALL);
    CHECK_RC(rc, MPROC_ESPAWN);
    CU_ASSERT_EQUAL(os, ERROR_INTERNAL_ERROR);
    CU_ASSERT(create_calls > 1 && create_calls <= 5);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    mproc_process_free(p);
}
#endif

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"the table", test_table},
        {"process start fails", test_process_start_fails},
        {"shared memory fails", test_shared_memory_fails},
        {"pool start fails at any worker", test_pool_start_fails_anywhere},
        {"a replacement that cannot start is tried again", test_replacement_retried},
#ifndef _WIN32
        {"pipes fail at any call", test_pipes_fail_anywhere},
        {"send fails", test_send_fails},
#else
        {"a child that died in wine's start-up is launched again", test_start_died_early},
#endif
        {NULL, NULL},
    };
    return run_tests(argc, argv, "faults", tests);
}
