/* SPDX-License-Identifier: MIT */
/* test_process.c - Process, run once per start method (--method NAME). */
#include "testutil.h"

#ifdef _WIN32
#include <io.h>
#else
#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>
#endif

/* ------------------------------------------------------------ targets */

static int t_return_arg(const mproc_args *a) { return (int)mproc_args_int(a, 0); }

static int t_sleep(const mproc_args *a)
{
    double s = mproc_args_count(a) ? mproc_args_double(a, 0) : 30.0;
    test_sleep(s);
    return 0;
}

static int t_check_args(const mproc_args *a)
{
    size_t len;
    const char *b = mproc_args_bytes(a, 3, &len);
    if (mproc_args_count(a) != 4 || mproc_args_int(a, 0) != -123456789012LL ||
        mproc_args_double(a, 1) != 0.5 || !mproc_args_str(a, 2) ||
        strcmp(mproc_args_str(a, 2), "bob") != 0 || len != 4 || memcmp(b, "\0\1\2\3", 4) != 0)
        return 1;
    return 0;
}

/* args: expected name, expected parent pid. */
static int t_check_identity(const mproc_args *a)
{
    if (strcmp(mproc_current_name(), mproc_args_str(a, 0)) != 0)
        return 1;
    if (mproc_parent_pid() != (long)mproc_args_int(a, 1))
        return 2;
    if (mproc_current_pid() == mproc_parent_pid() || mproc_current_pid() <= 0)
        return 3;
    if (mproc_current_daemon() != (int)mproc_args_int(a, 2))
        return 4;
    return 0;
}

static int t_noop(const mproc_args *a)
{
    (void)a;
    return 0;
}

/* A child that checks its own children's default names ("Process-N:M"). */
static int t_grandchild_names(const mproc_args *a)
{
    (void)a;
    const char *me = mproc_current_name(); /* "Process-N" */
    mproc_process *g = mproc_process_new(t_noop, NULL, NULL, NULL);
    if (!g)
        return 1;
    char want[128];
    snprintf(want, sizeof want, "%s:1", me);
    int bad = strcmp(mproc_process_name(g), want) != 0;
    if (!bad && mproc_process_start(g) == 0)
        bad = mproc_process_join(g, 30) != 0;
    mproc_process_free(g);
    return bad ? 2 : 0;
}

/* A daemonic process may not have children. */
static int t_daemon_cannot_start(const mproc_args *a)
{
    (void)a;
    mproc_process *g = mproc_process_new(t_noop, NULL, NULL, NULL);
    int rc = mproc_process_start(g);
    mproc_process_free(g);
    return rc == MPROC_ESTATE ? 0 : 1;
}

/* Starts a daemonic sleeper, writes its pid to the file args[0] and
 * returns at once: at exit the daemon must be terminated and joined. */
static int t_leave_daemon(const mproc_args *a)
{
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    o.daemon = 1;
    mproc_args *sa = mproc_args_new();
    mproc_args_add_double(sa, 60.0);
    /* Kept in a global: reachable at exit, so leak checkers stay quiet. */
    static mproc_process *d;
    d = mproc_process_new(t_sleep, sa, &o, NULL);
    mproc_args_free(sa);
    if (!d || mproc_process_start(d) != 0)
        return 1;
    FILE *f = fopen(mproc_args_str(a, 0), "w");
    if (!f)
        return 2;
    fprintf(f, "%ld\n", mproc_process_pid(d));
    fclose(f);
    return 0; /* d is neither joined nor freed: the exit path handles it */
}

/* args: path, seconds. Sleeps, then creates the file. */
static int t_nap_then_touch(const mproc_args *a)
{
    test_sleep(mproc_args_double(a, 1));
    FILE *f = fopen(mproc_args_str(a, 0), "w");
    return f && fclose(f) == 0 ? 0 : 1;
}

/* args: path. Starts a non-daemonic t_nap_then_touch(path, 0.5) and
 * returns at once: on the way out it must be joined (Python's
 * _exit_function), so the file exists once this process has ended. */
static int t_leave_child(const mproc_args *a)
{
    mproc_args *ca = mproc_args_new();
    mproc_args_add_str(ca, mproc_args_str(a, 0));
    mproc_args_add_double(ca, 0.5);
    static mproc_process *c; /* reachable at exit (leak checkers) */
    c = mproc_process_new(t_nap_then_touch, ca, NULL, NULL);
    mproc_args_free(ca);
    return c && mproc_process_start(c) == 0 ? 0 : 1;
}

/* Like t_leave_daemon, but leaves through exit(): the atexit path. */
static int t_leave_daemon_exit(const mproc_args *a)
{
    if (t_leave_daemon(a) != 0)
        return 1;
    exit(0);
}

#ifndef _WIN32
static int t_raise_usr1(const mproc_args *a)
{
    (void)a;
    raise(SIGUSR1);
    return 0;
}
#endif

/* After fork, the child holds a copy of its parent's process objects; it
 * must not be able to wait for or signal them. */
static mproc_process *g_sibling;

static int t_touch_sibling(const mproc_args *a)
{
    (void)a;
    if (!g_sibling)
        return 0; /* spawn/forkserver: no copy exists */
    int code;
    if (mproc_process_join(g_sibling, 0) != MPROC_ESTATE ||
        mproc_process_is_alive(g_sibling) != MPROC_ESTATE ||
        mproc_process_terminate(g_sibling) != MPROC_ESTATE ||
        mproc_process_exitcode(g_sibling, &code) != MPROC_ESTATE)
        return 1;
    return 0;
}

/* args: name, expected value of an environment variable. */
static int t_check_env(const mproc_args *a)
{
    const char *v = getenv(mproc_args_str(a, 0));
    return v && strcmp(v, mproc_args_str(a, 1)) == 0 ? 0 : 1;
}

static int t_print(const mproc_args *a)
{
    printf("%s\n", mproc_args_str(a, 0));
    return 0;
}

/* ------------------------------------------------------------- helpers */

/* Creates an empty file from a XXXXXX template. */
static int make_temp(char *path)
{
#ifdef _WIN32
    if (!_mktemp(path))
        return -1;
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fclose(f);
    return 0;
#else
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
#endif
}

static mproc_process *start(mproc_target fn, mproc_args *a, const mproc_process_opts *o)
{
    int err = -1;
    mproc_process *p = mproc_process_new(fn, a, o, &err);
    CU_ASSERT_EQUAL(err, 0);
    if (!p)
        return NULL;
    CHECK_RC(mproc_process_start(p), 0);
    return p;
}

static mproc_args *args_int(int64_t v)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_int(a, v);
    return a;
}

static mproc_args *args_double(double v)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_double(a, v);
    return a;
}

static int exitcode_of(mproc_process *p)
{
    int code = -12345;
    CHECK_RC(mproc_process_exitcode(p, &code), 0);
    return code;
}

/* --------------------------------------------------------------- tests */

static void test_start_join_exitcodes(void)
{
    int codes[] = {0, 3, 255};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        mproc_args *a = args_int(codes[i]);
        mproc_process *p = start(t_return_arg, a, NULL);
        mproc_args_free(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CHECK_RC(mproc_process_join(p, 60), 0);
        CU_ASSERT_EQUAL(exitcode_of(p), codes[i]);
        CHECK_RC(mproc_process_join(p, 0), 0); /* repeatable after exit */
        CU_ASSERT_EQUAL(mproc_process_is_alive(p), 0);
        mproc_process_free(p);
    }
}

static void test_exitcode_truncated(void)
{
#ifdef _WIN32
    int want = 300; /* Windows keeps the whole 32-bit code */
#else
    int want = 44; /* 300 & 0xFF, as sys.exit(300) in Python */
#endif
    mproc_args *a = args_int(300);
    mproc_process *p = start(t_return_arg, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), want);
    mproc_process_free(p);
}

static void test_args_reach_child(void)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_int(a, -123456789012LL);
    mproc_args_add_double(a, 0.5);
    mproc_args_add_str(a, "bob");
    mproc_args_add_bytes(a, "\0\1\2\3", 4);
    mproc_process *p = start(t_check_args, a, NULL);
    mproc_args_free(a); /* the process keeps its own copy */
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), 0);
    mproc_process_free(p);
}

static void test_join_timeout_then_terminate(void)
{
    mproc_args *a = args_double(60.0);
    mproc_process *p = start(t_sleep, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, 0.2), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_process_join(p, 0), MPROC_ETIMEDOUT);
    CU_ASSERT_EQUAL(mproc_process_is_alive(p), 1);
    int code;
    CHECK_RC(mproc_process_exitcode(p, &code), MPROC_ERUNNING);
    CHECK_RC(mproc_process_close(p), MPROC_ERUNNING);
    CHECK_RC(mproc_process_terminate(p), 0);
    /* Right after terminate, before it is reaped: running or -15, never a
     * stale or made-up code. */
    int rc = mproc_process_exitcode(p, &code);
    CU_ASSERT_TRUE(rc == MPROC_ERUNNING || (rc == 0 && code == -15));
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), -15);
    CU_ASSERT_EQUAL(mproc_process_is_alive(p), 0);
    CHECK_RC(mproc_process_terminate(p), 0); /* no-op after exit */
    CHECK_RC(mproc_process_kill(p), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), -15);
    mproc_process_free(p);
}

#ifndef _WIN32
/* args: event. Ignores SIGTERM, says so, sleeps. */
static int t_ignore_term(const mproc_args *a)
{
    signal(SIGTERM, SIG_IGN);
    mproc_event_set(mproc_args_obj(a, 0));
    test_sleep(30);
    return 0;
}

/* terminate() is SIGTERM, which a child may ignore (as in Python): it
 * keeps running and its exit code is not made up; kill() still ends it. */
static void test_terminate_ignored(void)
{
    mproc_event *ready = mproc_event_new(NULL);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, ready);
    mproc_process *p = start(t_ignore_term, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_event_wait(ready, 60), 0);
    CHECK_RC(mproc_process_terminate(p), 0);
    CHECK_RC(mproc_process_join(p, 0.3), MPROC_ETIMEDOUT);
    CU_ASSERT_EQUAL(mproc_process_is_alive(p), 1);
    int code;
    CHECK_RC(mproc_process_exitcode(p, &code), MPROC_ERUNNING);
    CHECK_RC(mproc_process_kill(p), 0);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), -9);
    mproc_process_free(p);
    mproc_event_free(ready);
}
#endif

static void test_killed_by_signal(void)
{
#ifndef _WIN32
    mproc_process *p = start(t_raise_usr1, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), -SIGUSR1);
    mproc_process_free(p);
#endif
}

static void test_only_creator_may_wait(void)
{
    mproc_args *a = args_double(60.0);
    g_sibling = start(t_sleep, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g_sibling);
    mproc_process *p = start(t_touch_sibling, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), 0);
    CU_ASSERT_EQUAL(mproc_process_is_alive(g_sibling), 1); /* untouched */
    CHECK_RC(mproc_process_kill(g_sibling), 0);
    CHECK_RC(mproc_process_join(g_sibling, 60), 0);
    mproc_process_free(g_sibling);
    g_sibling = NULL;
    mproc_process_free(p);
}

/* Several threads start and join children at once. */
#define THREADS 4
#define PER_THREAD 10
static int thread_failures;

static TEST_THREAD_FN(starter)
{
    int *fails = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        mproc_args *a = args_int(i);
        mproc_process *p = mproc_process_new(t_return_arg, a, NULL, NULL);
        mproc_args_free(a);
        int code = -1;
        if (!p || mproc_process_start(p) != 0 || mproc_process_join(p, 60) != 0 ||
            mproc_process_exitcode(p, &code) != 0 || code != i)
            (*fails)++;
        mproc_process_free(p);
    }
    return 0;
}

static void test_threads_start_children(void)
{
    test_thread th[THREADS];
    int fails[THREADS] = {0};
    for (int i = 0; i < THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(test_thread_start(&th[i], starter, &fails[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        test_thread_join(&th[i]);
        thread_failures += fails[i];
    }
    CU_ASSERT_EQUAL(thread_failures, 0);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
}

static void test_kill(void)
{
    mproc_args *a = args_double(60.0);
    mproc_process *p = start(t_sleep, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_kill(p), 0);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), -9);
    mproc_process_free(p);
}

static void test_join_forever_waits_for_exit(void)
{
    mproc_args *a = args_double(0.3);
    mproc_process *p = start(t_sleep, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, MPROC_FOREVER), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), 0);
    mproc_process_free(p);
}

static void test_is_alive_transitions(void)
{
    mproc_args *a = args_double(60.0);
    mproc_process *p = mproc_process_new(t_sleep, a, NULL, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(mproc_process_is_alive(p), 0);
    CU_ASSERT_EQUAL(mproc_process_pid(p), 0);
    CHECK_RC(mproc_process_start(p), 0);
    CU_ASSERT_EQUAL(mproc_process_is_alive(p), 1);
    CU_ASSERT_TRUE(mproc_process_pid(p) > 0);
    CU_ASSERT_NOT_EQUAL(mproc_process_pid(p), mproc_current_pid());
    CHECK_RC(mproc_process_kill(p), 0);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(mproc_process_is_alive(p), 0);
    mproc_process_free(p);
}

static void test_names_and_identity(void)
{
    CU_ASSERT_STRING_EQUAL(mproc_current_name(), "MainProcess");
    CU_ASSERT_EQUAL(mproc_parent_pid(), 0);
    CU_ASSERT_EQUAL(mproc_current_daemon(), 0);
    mproc_process *p1 = mproc_process_new(t_noop, NULL, NULL, NULL);
    mproc_process *p2 = mproc_process_new(t_noop, NULL, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p2);
    CU_ASSERT_EQUAL(strncmp(mproc_process_name(p1), "Process-", 8), 0);
    int n1 = atoi(mproc_process_name(p1) + 8), n2 = atoi(mproc_process_name(p2) + 8);
    CU_ASSERT_TRUE(n1 >= 1);
    CU_ASSERT_EQUAL(n2, n1 + 1);
    mproc_process_free(p1);
    mproc_process_free(p2);

    /* A named child sees its name, its parent's pid and its daemon flag. */
    for (int daemon = 0; daemon <= 1; daemon++) {
        mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
        o.name = daemon ? "the daemon" : "worker-7";
        o.daemon = daemon;
        mproc_args *a = mproc_args_new();
        mproc_args_add_str(a, o.name);
        mproc_args_add_int(a, mproc_current_pid());
        mproc_args_add_int(a, daemon);
        mproc_process *p = start(t_check_identity, a, &o);
        mproc_args_free(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_STRING_EQUAL(mproc_process_name(p), o.name);
        CU_ASSERT_EQUAL(mproc_process_daemon(p), daemon);
        CHECK_RC(mproc_process_join(p, 60), 0);
        CU_ASSERT_EQUAL(exitcode_of(p), 0);
        mproc_process_free(p);
    }

    /* Grandchildren are named Process-N:M. */
    mproc_process *g = start(t_grandchild_names, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CHECK_RC(mproc_process_join(g, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(g), 0);
    mproc_process_free(g);
}

static void test_daemon(void)
{
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    o.daemon = 1;
    mproc_process *p = start(t_daemon_cannot_start, NULL, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), 0);
    CHECK_RC(mproc_process_set_daemon(p, 0), MPROC_ESTATE); /* after start */
    mproc_process_free(p);

    /* A child that leaves a daemon behind (by returning, or through
     * exit()) terminates it on the way out: the daemon is gone afterwards. */
    mproc_target leavers[] = {t_leave_daemon, t_leave_daemon_exit};
    for (int i = 0; i < 2; i++) {
        char path[] = "mproc_test_pid_XXXXXX";
        CU_ASSERT_EQUAL_FATAL(make_temp(path), 0);
        mproc_args *a = mproc_args_new();
        mproc_args_add_str(a, path);
        p = start(leavers[i], a, NULL);
        mproc_args_free(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CHECK_RC(mproc_process_join(p, 60), 0);
        CU_ASSERT_EQUAL(exitcode_of(p), 0);
        mproc_process_free(p);
        long pid = 0;
        FILE *f = fopen(path, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(fscanf(f, "%ld", &pid), 1);
        fclose(f);
        remove(path);
        CU_ASSERT_TRUE(pid > 0);
        int gone = 0;
        for (int tries = 0; tries < 200 && !(gone = test_pid_reaped(pid)); tries++)
            test_sleep(0.05);
        CU_ASSERT_TRUE(gone);
    }

    /* A non-daemonic child left behind is joined on the way out. */
    char path[] = "mproc_test_nd_XXXXXX";
    CU_ASSERT_EQUAL_FATAL(make_temp(path), 0);
    remove(path);
    mproc_args *la = mproc_args_new();
    mproc_args_add_str(la, path);
    p = start(t_leave_child, la, NULL);
    mproc_args_free(la);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), 0);
    mproc_process_free(p);
    FILE *nf = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL(nf); /* the grandchild had finished */
    if (nf)
        fclose(nf);
    remove(path);

    mproc_process *q = mproc_process_new(t_noop, NULL, NULL, NULL);
    CHECK_RC(mproc_process_set_daemon(q, 1), 0);
    CU_ASSERT_EQUAL(mproc_process_daemon(q), 1);
    mproc_process_free(q);
}


static void test_hundred_children_no_zombies(void)
{
    enum { N = 100 };
    mproc_process *ps[N];
    long pids[N];
    for (int i = 0; i < N; i++) {
        mproc_args *a = args_int(i % 7);
        ps[i] = start(t_return_arg, a, NULL);
        mproc_args_free(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ps[i]);
        pids[i] = mproc_process_pid(ps[i]);
    }
    for (int i = 0; i < N; i++) {
        CHECK_RC(mproc_process_join(ps[i], 60), 0);
        CU_ASSERT_EQUAL(exitcode_of(ps[i]), i % 7);
        mproc_process_free(ps[i]);
    }
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    for (int i = 0; i < N; i++)
        CU_ASSERT_TRUE(test_pid_reaped(pids[i])); /* reaped: no zombie left */
}

static void test_active_children(void)
{
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    mproc_process *ps[3];
    for (int i = 0; i < 3; i++) {
        mproc_args *a = args_double(60.0);
        ps[i] = start(t_sleep, a, NULL);
        mproc_args_free(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ps[i]);
    }
    mproc_process *out[8];
    CU_ASSERT_EQUAL(mproc_active_children(out, 8), 3);
    int seen = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            seen += out[i] == ps[j];
    CU_ASSERT_EQUAL(seen, 3);
    CU_ASSERT_EQUAL(mproc_active_children(out, 1), 3); /* count even when cap is small */
    /* An exited but unjoined child is reaped and no longer listed. */
    CHECK_RC(mproc_process_kill(ps[0]), 0);
    for (int tries = 0; tries < 600 && mproc_active_children(NULL, 0) != 2; tries++)
        test_sleep(0.05);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 2);
    CU_ASSERT_EQUAL(exitcode_of(ps[0]), -9);
    for (int i = 1; i < 3; i++) {
        CHECK_RC(mproc_process_terminate(ps[i]), 0);
        CHECK_RC(mproc_process_join(ps[i], 60), 0);
    }
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    for (int i = 0; i < 3; i++)
        mproc_process_free(ps[i]);
}

static void test_free_running_child_is_reaped_later(void)
{
    mproc_args *a = args_double(0.3);
    mproc_process *p = start(t_sleep, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    long pid = mproc_process_pid(p);
    mproc_process_free(p); /* detached, still counted */
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 1);
    for (int tries = 0; tries < 600 && mproc_active_children(NULL, 0) != 0; tries++)
        test_sleep(0.05);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    CU_ASSERT_TRUE(test_pid_reaped(pid));
}

static void test_close(void)
{
    mproc_process *p = mproc_process_new(t_noop, NULL, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_close(p), 0); /* unstarted: fine */
    CHECK_RC(mproc_process_close(p), 0); /* twice: fine */
    CHECK_RC(mproc_process_start(p), MPROC_ESTATE);
    CHECK_RC(mproc_process_join(p, 0), MPROC_ESTATE);
    CHECK_RC(mproc_process_terminate(p), MPROC_ESTATE);
    CHECK_RC(mproc_process_is_alive(p), MPROC_ESTATE);
    mproc_process_free(p);

    p = start(t_noop, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CHECK_RC(mproc_process_close(p), 0);
    int code;
    CHECK_RC(mproc_process_exitcode(p, &code), MPROC_ESTATE);
    CHECK_RC(mproc_process_kill(p), MPROC_ESTATE);
    mproc_process_free(p);

    /* ended but never joined: close reaps it and succeeds (Python checks
     * poll(), not join) */
    p = start(t_noop, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int rc = MPROC_ERUNNING;
    for (int i = 0; i < 600 && rc == MPROC_ERUNNING; i++) {
        test_sleep(0.05);
        rc = mproc_process_close(p);
    }
    CHECK_RC(rc, 0);
    CHECK_RC(mproc_process_join(p, 0), MPROC_ESTATE);
    mproc_process_free(p);
}

static void test_bad_input(void)
{
    int err = 0;
    CU_ASSERT_PTR_NULL(mproc_process_new(NULL, NULL, NULL, &err));
    CHECK_RC(err, MPROC_EINVAL);
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    o.start_method = "teleport";
    CU_ASSERT_PTR_NULL(mproc_process_new(t_noop, NULL, &o, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CHECK_RC(mproc_set_start_method("teleport"), MPROC_EINVAL);
    CHECK_RC(mproc_set_start_method(NULL), MPROC_EINVAL);

    mproc_process *p = mproc_process_new(t_noop, NULL, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, 0), MPROC_ESTATE);      /* join before start */
    CHECK_RC(mproc_process_terminate(p), MPROC_ESTATE);    /* terminate unstarted */
    CHECK_RC(mproc_process_kill(p), MPROC_ESTATE);
    int code;
    CHECK_RC(mproc_process_exitcode(p, &code), MPROC_ESTATE);
    CHECK_RC(mproc_process_start(p), 0);
    CHECK_RC(mproc_process_start(p), MPROC_ESTATE);        /* start twice */
    CHECK_RC(mproc_process_join(p, 60), 0);
    CHECK_RC(mproc_process_start(p), MPROC_ESTATE);        /* start after exit */
    mproc_process_free(p);

    CHECK_RC(mproc_process_start(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_process_join(NULL, 0), MPROC_EINVAL);
    CHECK_RC(mproc_process_is_alive(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_process_exitcode(NULL, &code), MPROC_EINVAL);
    CHECK_RC(mproc_process_terminate(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_process_kill(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_process_close(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_process_set_daemon(NULL, 1), MPROC_EINVAL);
    CU_ASSERT_EQUAL(mproc_process_pid(NULL), 0);
    CU_ASSERT_PTR_NULL(mproc_process_name(NULL));
    mproc_process_free(NULL);
}

/* Arguments past the 1 GiB payload limit: a clear error, no child. */
static void test_oversized_args(void)
{
    size_t big = ((size_t)1 << 30) + 1;
    test_tsan_ignore_begin(); /* a gigabyte, one thread: nothing to watch */
    char *blob = calloc(big, 1);
    mproc_args *a = blob ? mproc_args_new() : NULL;
    int added = a ? mproc_args_add_bytes(a, blob, big) : MPROC_ENOMEM;
    free(blob);
    mproc_process *p = added == 0 ? mproc_process_new(t_noop, a, NULL, NULL) : NULL;
    mproc_args_free(a);
    int started = p ? mproc_process_start(p) : MPROC_ENOMEM;
    test_tsan_ignore_end(); /* before any assertion can leave the test */
    CHECK_RC(added, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(started, MPROC_EMSGSIZE);
    CU_ASSERT_EQUAL(mproc_process_pid(p), 0);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    mproc_process_free(p);
}

static void test_start_methods(void)
{
    const char *all[4];
    size_t n = mproc_get_all_start_methods(all, 4);
    CU_ASSERT_TRUE(n >= 1);
    int has_spawn = 0;
    for (size_t i = 0; i < n; i++)
        has_spawn |= strcmp(all[i], "spawn") == 0;
    CU_ASSERT_TRUE(has_spawn);
    /* Setting it again is allowed (unlike Python without force=True). */
    const char *before = mproc_get_start_method();
    CHECK_RC(mproc_set_start_method("spawn"), 0);
    CU_ASSERT_STRING_EQUAL(mproc_get_start_method(), "spawn");
    CHECK_RC(mproc_set_start_method(before), 0);
    CU_ASSERT_STRING_EQUAL(mproc_get_start_method(), before);
    /* A per-process option overrides the default. */
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    o.start_method = "spawn";
    mproc_args *a = args_int(5);
    mproc_process *p = start(t_return_arg, a, &o);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), 5);
    mproc_process_free(p);
}

/* The child sees the environment the parent has when it starts it (for
 * forkserver too, whose server was started long before). */
static void test_environment_inherited(void)
{
    char value[64];
    snprintf(value, sizeof value, "v-%ld", mproc_current_pid());
    test_setenv("MPROC_TEST_ENV", value);
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, "MPROC_TEST_ENV");
    mproc_args_add_str(a, value);
    mproc_process *p = start(t_check_env, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), 0);
    mproc_process_free(p);
}

/* Output written before start appears once; the child's output is kept. */
static void test_output_not_lost_or_duplicated(void)
{
    char path[] = "mproc_test_out_XXXXXX";
    CU_ASSERT_EQUAL_FATAL(make_temp(path), 0);
    fflush(stdout);
    FILE *saved = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(saved);
    /* The children inherit stdout: point it at the file, fully buffered. */
    int keep = dup(fileno(stdout));
    dup2(fileno(saved), fileno(stdout));
    fclose(saved);
    char buf[BUFSIZ];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    printf("before-start\n"); /* still in the buffer when we start */
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, "from-child");
    mproc_process *p = start(t_print, a, NULL);
    mproc_args_free(a);
    if (p) {
        mproc_process_join(p, 60);
        mproc_process_free(p);
    }
    printf("after-join\n");
    fflush(stdout);
    dup2(keep, fileno(stdout));
    close(keep);
    setvbuf(stdout, NULL, _IONBF, 0);

    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    remove(path);
    CU_ASSERT_STRING_EQUAL(text, "before-start\nfrom-child\nafter-join\n");
}

/* -------------------------------------------- a forkserver that dies */
#ifndef _WIN32
/* args: event, code. Returns code once the event is set. */
static int t_wait_event_return(const mproc_args *a)
{
    return mproc_event_wait(mproc_args_obj(a, 0), 60) == 0 ? (int)mproc_args_int(a, 1) : 100;
}

/* args: conn. Returns once the conn ends (its other end's owner died). */
static int t_wait_eos(const mproc_args *a)
{
    void *buf;
    size_t len;
    int rc = mproc_conn_recv_bytes(mproc_args_obj(a, 0), &buf, &len, MPROC_NOLIMIT);
    return rc == MPROC_EOS ? 0 : 1;
}

/* The forkserver is SIGKILLed while its children run: they are still
 * waited for until they really end, with their real exit codes, and can
 * still be terminated and killed; the next start gets a new server. */
static void test_forkserver_killed_children_live_on(void)
{
    mproc_event *go = mproc_event_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(go);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, go);
    mproc_args_add_int(a, 7);
    mproc_process *waiter = start(t_wait_event_return, a, NULL);
    mproc_args_free(a);
    a = args_double(60.0);
    mproc_process *to_term = start(t_sleep, a, NULL), *to_kill = start(t_sleep, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(waiter);
    CU_ASSERT_PTR_NOT_NULL_FATAL(to_term);
    CU_ASSERT_PTR_NOT_NULL_FATAL(to_kill);

    long server = test_kill_forkserver();
    CU_ASSERT_FATAL(server > 0);
    /* All three still run, and say so. */
    CU_ASSERT_EQUAL(mproc_process_is_alive(waiter), 1);
    CHECK_RC(mproc_process_join(waiter, 0.3), MPROC_ETIMEDOUT);
    int code;
    CHECK_RC(mproc_process_exitcode(to_term, &code), MPROC_ERUNNING);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 3);
    void *sentinel = mproc_process_sentinel(waiter), *ready = NULL;
    CHECK_RC(mproc_wait(&sentinel, 1, 0.2, &ready), 0);
    /* Their real ends and codes. */
    CHECK_RC(mproc_event_set(go), 0);
    CHECK_RC(mproc_wait(&sentinel, 1, 60, &ready), 1);
    CHECK_RC(mproc_process_join(waiter, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(waiter), 7);
    CHECK_RC(mproc_process_terminate(to_term), 0);
    CHECK_RC(mproc_process_join(to_term, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(to_term), -15);
    CHECK_RC(mproc_process_kill(to_kill), 0);
    CHECK_RC(mproc_process_join(to_kill, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(to_kill), -9);
    long pids[3] = {mproc_process_pid(waiter), mproc_process_pid(to_term), mproc_process_pid(to_kill)};
    mproc_process_free(waiter);
    mproc_process_free(to_term);
    mproc_process_free(to_kill);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_TRUE(test_wait_pid_ended(pids[i], 30));
    mproc_event_free(go);

    /* A new server for the next child. */
    a = args_int(5);
    mproc_process *next = start(t_return_arg, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(next);
    CHECK_RC(mproc_process_join(next, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(next), 5);
    mproc_process_free(next);
    long now = test_forkserver_pid();
    CU_ASSERT_TRUE(now > 0 && now != server);
}

/* A start right after the kill, before the server has even died: it
 * works, with a new server. */
static void test_forkserver_killed_then_start(void)
{
    for (int i = 0; i < 5; i++) {
        int code = -1;
        mproc_args *a = args_int(i + 1);
        CHECK_RC(test_run(t_return_arg, a, &code), 0); /* a server exists */
        long server = test_forkserver_pid();
        CU_ASSERT_FATAL(server > 0);
        CU_ASSERT_EQUAL(kill((pid_t)server, SIGKILL), 0);
        code = -1;
        CHECK_RC(test_run(t_return_arg, a, &code), 0);
        CU_ASSERT_EQUAL(code, i + 1);
        mproc_args_free(a);
    }
}

/* args: Value 'q', event. Stores our parent's pid (the keeper), then
 * returns 3 once the event is set. */
static int t_tell_parent_then_wait(const mproc_args *a)
{
    mproc_value *v = mproc_args_obj(a, 0);
    *(volatile int64_t *)mproc_value_ptr(v) = (int64_t)getppid();
    return mproc_event_wait(mproc_args_obj(a, 1), 60) == 0 ? 3 : 100;
}

/* Not the server but a child's keeper is killed: the child is still
 * running and is waited for until it ends (it holds its connection too);
 * only its exit code is lost (255, as Python reports one it cannot know). */
static void test_forkserver_keeper_killed(void)
{
    mproc_value *v = mproc_value_new('q', NULL, 0, NULL);
    mproc_event *go = mproc_event_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(go);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, v);
    mproc_args_add_obj(a, go);
    mproc_process *p = start(t_tell_parent_then_wait, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    volatile int64_t *keeper = mproc_value_ptr(v);
    for (int t = 0; t < 3000 && *keeper == 0; t++)
        test_sleep(0.01);
    CU_ASSERT_FATAL(*keeper > 1 && *keeper != mproc_current_pid() && *keeper != test_forkserver_pid());
    CU_ASSERT_EQUAL(kill((pid_t)*keeper, SIGKILL), 0);
    CU_ASSERT_TRUE(test_wait_pid_ended((long)*keeper, 30));
    CU_ASSERT_EQUAL(mproc_process_is_alive(p), 1);
    CHECK_RC(mproc_process_join(p, 0.3), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_event_set(go), 0);
    CHECK_RC(mproc_process_join(p, 60), 0);
    CU_ASSERT_EQUAL(exitcode_of(p), 255);
    long pid = mproc_process_pid(p);
    mproc_process_free(p);
    CU_ASSERT_TRUE(test_wait_pid_ended(pid, 30));
    mproc_event_free(go);
    mproc_value_free(v);
}

/* Starts t_sleep(60) from a thread that blocks every signal, as mproc's
 * own threads do (a pool's result thread starts replacement workers). */
static TEST_THREAD_FN(start_sleeper_blocked)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    mproc_args *a = args_double(60.0);
    *(mproc_process **)arg = mproc_process_new(t_sleep, a, NULL, NULL);
    mproc_args_free(a);
    if (*(mproc_process **)arg && mproc_process_start(*(mproc_process **)arg) != 0) {
        mproc_process_free(*(mproc_process **)arg);
        *(mproc_process **)arg = NULL;
    }
    return 0;
}

/* The server that replaces a killed one is started by whichever thread
 * needs it first, maybe with every signal blocked: its children must
 * still be reachable by terminate() (SIGTERM), and be reaped. */
static void test_forkserver_restarted_from_blocked_thread(void)
{
    int code = -1;
    CHECK_RC(test_run(t_noop, NULL, &code), 0); /* a server runs */
    CU_ASSERT_FATAL(test_kill_forkserver() > 0);
    mproc_process *p = NULL;
    test_thread th;
    CU_ASSERT_EQUAL_FATAL(test_thread_start(&th, start_sleeper_blocked, &p), 0);
    test_thread_join(&th);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_terminate(p), 0);
    int rc = mproc_process_join(p, 30);
    CHECK_RC(rc, 0);
    if (rc == 0) {
        CU_ASSERT_EQUAL(exitcode_of(p), -15);
    } else { /* leave nothing running */
        mproc_process_kill(p);
        mproc_process_join(p, 30);
    }
    mproc_process_free(p);
}

static const char *g_argv0;

/* Role "fs-main-killed DIR FILE": with its forkserver's directory in DIR,
 * starts a child that lives until we die, writes "server child" pids to
 * FILE, and dies by SIGKILL (no exit handler runs). */
static int role_fs_main_killed(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    test_setenv("TMPDIR", argv[0]);
    mproc_set_start_method("forkserver");
    mproc_conn *mine, *theirs;
    if (mproc_pipe(1, &mine, &theirs) != 0)
        return 3;
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, theirs);
    mproc_process *p = mproc_process_new(t_wait_eos, a, NULL, NULL);
    if (!p || mproc_process_start(p) != 0)
        return 4;
    mproc_conn_close(theirs);
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 5;
    fprintf(f, "%ld %ld\n", test_forkserver_pid(), mproc_process_pid(p));
    fclose(f);
    raise(SIGKILL);
    return 6;
}

/* The program dies by SIGKILL: its forkserver exits (end of stream on its
 * control socket), removes its directory, and the child goes too. */
static void test_forkserver_ends_with_program(void)
{
    /* absolute and short: the server takes TMPDIR only up to 60 bytes */
    char dir[] = "/tmp/mproc_test_fsdir_XXXXXX", file[] = "mproc_test_fspid_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT_EQUAL_FATAL(make_temp(file), 0);
    const char *role[] = {"fs-main-killed", dir, file, NULL};
    int status = 0;
    CU_ASSERT_EQUAL(test_role_run(g_argv0, role, 60, &status), 0);
    CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    long server = 0, child = 0;
    FILE *f = fopen(file, "r");
    CU_ASSERT_TRUE(f && fscanf(f, "%ld %ld", &server, &child) == 2);
    if (f)
        fclose(f);
    remove(file);
    CU_ASSERT_TRUE(server > 0 && child > 0);
    if (server > 0)
        CU_ASSERT_TRUE(test_wait_pid_ended(server, 30));
    if (child > 0)
        CU_ASSERT_TRUE(test_wait_pid_ended(child, 30));
    int empty = 0; /* the server removes its directory as it exits */
    for (int t = 0; t < 300 && !(empty = rmdir(dir) == 0); t++)
        test_sleep(0.01);
    CU_ASSERT_TRUE(empty);
}
#endif

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
#ifndef _WIN32
    g_argv0 = argv[0];
    if (argc >= 3 && strcmp(argv[1], "--child") == 0 && strcmp(argv[2], "fs-main-killed") == 0)
        return role_fs_main_killed(argc - 3, argv + 3);
#endif
    static const test_case tests[] = {
        {"start, join, exit codes", test_start_join_exitcodes},
        {"exit code truncated like the OS", test_exitcode_truncated},
        {"args reach the child", test_args_reach_child},
        {"join timeout, then terminate", test_join_timeout_then_terminate},
        {"kill", test_kill},
        {"killed by a signal", test_killed_by_signal},
#ifndef _WIN32
        {"terminate ignored by the child", test_terminate_ignored},
#endif
        {"only the creator may wait or signal", test_only_creator_may_wait},
        {"threads start children concurrently", test_threads_start_children},
        {"join forever waits for exit", test_join_forever_waits_for_exit},
        {"is_alive transitions", test_is_alive_transitions},
        {"names, pids, parent pid, identity", test_names_and_identity},
        {"daemon", test_daemon},
        {"100 children, no zombies", test_hundred_children_no_zombies},
        {"active_children", test_active_children},
        {"freeing a running child", test_free_running_child_is_reaped_later},
        {"close", test_close},
        {"bad input", test_bad_input},
        {"start methods", test_start_methods},
        {"oversized args", test_oversized_args},
        {"environment inherited", test_environment_inherited},
        {"output not lost or duplicated", test_output_not_lost_or_duplicated},
#ifndef _WIN32
        {"forkserver killed: children live on, real exit codes", test_forkserver_killed_children_live_on},
        {"forkserver killed: the next start gets a new one", test_forkserver_killed_then_start},
        {"forkserver restarted by a thread blocking signals", test_forkserver_restarted_from_blocked_thread},
        {"forkserver: a child whose keeper is killed", test_forkserver_keeper_killed},
        {"forkserver ends with its program (SIGKILL)", test_forkserver_ends_with_program},
#endif
        {NULL, NULL},
    };
#ifndef _WIN32
    static const test_when when[] = {
        {"forkserver killed: children live on, real exit codes", test_not_forkserver},
        {"forkserver killed: the next start gets a new one", test_not_forkserver},
        {"forkserver restarted by a thread blocking signals", test_not_forkserver},
        {"forkserver: a child whose keeper is killed", test_not_forkserver},
        {"forkserver ends with its program (SIGKILL)", test_not_forkserver},
        {NULL, NULL},
    };
#else
    const test_when *when = NULL;
#endif
    return run_tests_where(argc, argv, "process", tests, when);
}
