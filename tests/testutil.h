/* SPDX-License-Identifier: MIT */
/* testutil.h - shared scaffolding for the CUnit suites: every test binary
 * calls mproc_init first (spawned children come back through it), picks the
 * start method from "--method NAME", runs its suites, and exits non-zero if
 * any test failed. */
#ifndef MPROC_TESTUTIL_H
#define MPROC_TESTUTIL_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mproc.h"

#ifdef _WIN32
#include <windows.h>
static inline void test_sleep(double s) { Sleep((DWORD)(s * 1000)); }
typedef HANDLE test_thread;
#define TEST_THREAD_FN(name) DWORD WINAPI name(LPVOID arg)
static inline int test_thread_start(test_thread *t, LPTHREAD_START_ROUTINE fn, void *arg)
{
    *t = CreateThread(NULL, 0, fn, arg, 0, NULL);
    return *t ? 0 : -1;
}
static inline void test_thread_join(test_thread *t)
{
    WaitForSingleObject(*t, INFINITE);
    CloseHandle(*t);
}
static inline void test_setenv(const char *name, const char *value) { _putenv_s(name, value); }
static inline double test_now(void) { return (double)GetTickCount64() / 1000.0; }
#else
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
typedef pthread_t test_thread;
#define TEST_THREAD_FN(name) void *name(void *arg)
static inline int test_thread_start(test_thread *t, void *(*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg);
}
static inline void test_thread_join(test_thread *t) { pthread_join(*t, NULL); }
static inline void test_setenv(const char *name, const char *value) { setenv(name, value, 1); }
static inline double test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static inline void test_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}
#endif

/* TEST_TSAN: built with ThreadSanitizer (GCC's or Clang's own macro). */
#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif

/* ThreadSanitizer keeps shadow memory four times the size of what it
 * watches and writes it on every access, allocation included: a test
 * that moves a gigabyte through one thread (the size limits) spends
 * some 40 s in page faults on shadow memory, with nothing to find there.
 * Between these two calls the calling thread's reads and writes are not
 * watched (its synchronization still is); elsewhere they do nothing. */
#ifdef TEST_TSAN
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
static inline void test_tsan_ignore_begin(void) { __tsan_ignore_thread_begin(); }
static inline void test_tsan_ignore_end(void) { __tsan_ignore_thread_end(); }
#else
static inline void test_tsan_ignore_begin(void) {}
static inline void test_tsan_ignore_end(void) {}
#endif

#define CHECK_RC(expr, want)                                                          \
    do {                                                                              \
        int rc_ = (expr);                                                             \
        if (rc_ != (want))                                                            \
            fprintf(stderr, "\n  %s:%d: %s = %s, want %s\n", __FILE__, __LINE__, #expr, \
                    mproc_err_name(rc_), mproc_err_name(want));                       \
        CU_ASSERT_EQUAL(rc_, (want));                                                 \
    } while (0)

/* Starts fn(args) in a child (asserting it started). */
static inline mproc_process *test_start(mproc_target fn, const mproc_args *a, const mproc_process_opts *o)
{
    int err = -1;
    mproc_process *p = mproc_process_new(fn, a, o, &err);
    CU_ASSERT_EQUAL(err, 0);
    if (p)
        CHECK_RC(mproc_process_start(p), 0);
    return p;
}

/* Joins and frees a child; its exit code (-1000 if there was none). */
static inline int test_finish(mproc_process *p)
{
    int code = -1000;
    if (!p)
        return code;
    CHECK_RC(mproc_process_join(p, 60), 0);
    CHECK_RC(mproc_process_exitcode(p, &code), 0);
    mproc_process_free(p);
    return code;
}

/* Runs fn(args) to its end, waiting at most `seconds`: 0 and *code, or the
 * first error on the way (MPROC_ETIMEDOUT: it did not end in time). */
static inline int test_run_within(mproc_target fn, const mproc_args *a, int *code, double seconds)
{
    mproc_process *p = mproc_process_new(fn, a, NULL, NULL);
    if (!p)
        return MPROC_ENOMEM;
    int rc = mproc_process_start(p);
    if (rc == 0) {
        rc = mproc_process_join(p, seconds);
        if (rc == 0)
            rc = mproc_process_exitcode(p, code);
        else if (rc == MPROC_ETIMEDOUT) { /* leave nothing running */
            mproc_process_kill(p);
            mproc_process_join(p, 10);
        }
    }
    mproc_process_free(p);
    return rc;
}

/* The same within 60 s. */
static inline int test_run(mproc_target fn, const mproc_args *a, int *code)
{
    return test_run_within(fn, a, code, 60);
}

/* Ends this process at once, as the OOM killer or a crash would (exit
 * code -9). */
static inline void test_kill_self(void)
{
#ifdef _WIN32
    TerminateProcess(GetCurrentProcess(), 9);
#else
    kill(getpid(), SIGKILL);
#endif
}

/* Has this process ended and been reaped (no zombie left)? */
static inline int test_pid_reaped(long pid)
{
#ifdef _WIN32
    HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
    if (!h)
        return 1;
    DWORD r = WaitForSingleObject(h, 0);
    CloseHandle(h);
    return r == WAIT_OBJECT_0;
#else
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
#endif
}

/* Is this process gone (a zombie counts as gone)? */
static inline int test_pid_gone(long pid)
{
#ifdef _WIN32
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h)
        return 1;
    DWORD code = 0;
    int gone = GetExitCodeProcess(h, &code) && code != STILL_ACTIVE;
    CloseHandle(h);
    return gone;
#else
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return kill((pid_t)pid, 0) != 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *paren = strrchr(buf, ')');
    return !paren || paren[2] == 'Z' || paren[2] == 'X';
#endif
}

/* Polls (every 50 ms, at most `seconds`) until the named segment is gone:
 * 1 if it went, 0 if it is still there. */
static inline int test_shm_gone_within(const char *name, double seconds)
{
    for (double waited = 0;; waited += 0.05) {
        int err = 0;
        mproc_shm *s = mproc_shm_open(name, 0, 0, &err);
        if (!s && err == MPROC_ENOENT)
            return 1;
        if (s)
            mproc_shm_close(s);
        if (waited >= seconds)
            return 0;
        test_sleep(0.05);
    }
}

#ifndef _WIN32
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Waits up to `seconds` for the process to end: 1 ended, 0 not. */
static inline int test_wait_pid_ended(long pid, double seconds)
{
    for (double t = 0; t < seconds; t += 0.01) {
        if (test_pid_gone(pid))
            return 1;
        test_sleep(0.01);
    }
    return test_pid_gone(pid);
}

/* The forkserver this process runs now (a child of ours started with the
 * server's marker as argv[1]), or 0. */
static inline long test_forkserver_pid(void)
{
    long found = 0;
#ifdef __linux__
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && !found && (e = readdir(d)) != NULL) {
        long pid = strtol(e->d_name, NULL, 10);
        char path[64], buf[512];
        if (pid <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *paren = strrchr(buf, ')');
        char state;
        long ppid;
        if (!paren || sscanf(paren + 1, " %c %ld", &state, &ppid) != 2 || ppid != (long)getpid() ||
            state == 'Z')
            continue;
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        if (!(f = fopen(path, "r")))
            continue;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        size_t first = strlen(buf) + 1; /* argv[1] follows argv[0]'s NUL */
        if (first < n && strcmp(buf + first, "--mproc-forkserver") == 0)
            found = pid;
    }
    if (d)
        closedir(d);
#else
    char cmd[96];
    snprintf(cmd, sizeof cmd, "pgrep -P %ld -f -- --mproc-forkserver", (long)getpid());
    FILE *f = popen(cmd, "r");
    if (f) {
        if (fscanf(f, "%ld", &found) != 1)
            found = 0;
        pclose(f);
    }
#endif
    return found;
}

/* SIGKILLs our forkserver and waits (bounded) until it has died; its pid,
 * or 0 if there was none or it would not die. */
static inline long test_kill_forkserver(void)
{
    long pid = test_forkserver_pid();
    if (pid <= 0 || kill((pid_t)pid, SIGKILL) != 0 || !test_wait_pid_ended(pid, 30))
        return 0;
    return pid;
}

/* Runs this test binary again as `argv0 --child ROLE [ARG...]` (main hands
 * such a run to the role) and waits at most `seconds` for it: 0 and its
 * wait status, or -1 when it could not start or had to be killed at the
 * deadline. */
static inline int test_role_run(const char *argv0, const char *const *role_argv, double seconds, int *status)
{
    extern char **environ;
    const char *av[16] = {argv0, "--child"};
    size_t n = 2;
    for (size_t i = 0; role_argv[i] && n < 15; i++)
        av[n++] = role_argv[i];
    av[n] = NULL;
    pid_t pid;
    if (posix_spawn(&pid, argv0, NULL, NULL, (char *const *)av, environ) != 0)
        return -1;
    for (double t = 0;; t += 0.01) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (t >= seconds) {
            fprintf(stderr, "\n  role %s did not end within %.0f s: killed\n", role_argv[0], seconds);
            kill(pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        test_sleep(0.01);
    }
}
#endif

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

/* A test that only applies somewhere (one start method, a machine with
 * /proc, python3 installed): not_here says why not, or NULL where it
 * applies. Such a test is registered inactive where it does not apply, so
 * that CUnit's summary counts it under "Inactive", never as passed. */
typedef struct test_when {
    const char *name; /* as in the test_case table */
    const char *(*not_here)(void);
} test_when;

/* The test_when for the forkserver's own tests. */
static inline const char *test_not_forkserver(void)
{
    return strcmp(mproc_get_start_method(), "forkserver") == 0 ? NULL : "forkserver only";
}

static inline const char *test_why_not_here(const test_when *when, const char *name)
{
    for (; when && when->name; when++)
        if (strcmp(when->name, name) == 0)
            return when->not_here();
    return NULL;
}

/* Runs the tests as one suite named after the binary and start method,
 * those that do not apply here (when) inactive. Returns the process exit
 * status for main. */
static inline int run_tests_where(int argc, char **argv, const char *suite, const test_case *tests,
                                  const test_when *when)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *method = NULL, *only = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--method") == 0)
            method = argv[i + 1];
        if (strcmp(argv[i], "--only") == 0) /* run the tests whose name contains this */
            only = argv[i + 1];
    }
    if (method) {
        int rc = mproc_set_start_method(method);
        if (rc) {
            fprintf(stderr, "start method %s: %s\n", method, mproc_strerror(rc));
            return 2;
        }
    }
    for (const test_when *w = when; w && w->name; w++) { /* a name the table lacks: a typo */
        const test_case *t = tests;
        while (t->name && strcmp(t->name, w->name) != 0)
            t++;
        if (!t->name) {
            fprintf(stderr, "test_when names no test: %s\n", w->name);
            return 2;
        }
    }
    char name[128];
    snprintf(name, sizeof name, "%s[%s]", suite, mproc_get_start_method());
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    for (const test_case *t = tests; s && t->name; t++) {
        if (only && !strstr(t->name, only))
            continue;
        CU_pTest ct = CU_add_test(s, t->name, t->fn);
        const char *why = test_why_not_here(when, t->name);
        if (ct && why) {
            CU_set_test_active(ct, CU_FALSE);
            printf("not run here (%s): %s\n", why, t->name);
        }
    }
    CU_set_fail_on_inactive(CU_FALSE); /* counted as inactive, not as failed nor passed */
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed != 0;
}

static inline int run_tests(int argc, char **argv, const char *suite, const test_case *tests)
{
    return run_tests_where(argc, argv, suite, tests, NULL);
}

#endif
