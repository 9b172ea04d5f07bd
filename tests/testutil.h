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
#include <time.h>
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

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

/* Runs the tests as one suite named after the binary and start method.
 * Returns the process exit status for main. */
static inline int run_tests(int argc, char **argv, const char *suite, const test_case *tests)
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
    char name[128];
    snprintf(name, sizeof name, "%s[%s]", suite, mproc_get_start_method());
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    for (const test_case *t = tests; s && t->name; t++)
        if (!only || strstr(t->name, only))
            CU_add_test(s, t->name, t->fn);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed != 0;
}

#endif
