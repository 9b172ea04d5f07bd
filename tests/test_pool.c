/* SPDX-License-Identifier: MIT */
/* test_pool.c - Pool: map, starmap, apply, async results and callbacks,
 * imap, initializer, maxtasksperchild, and the failures Python hangs on
 * (a worker killed mid-task, terminate during map, Ctrl-C), once per start
 * method (--method NAME). */
#include <stdint.h>

#include "testutil.h"
#include "base/testhooks.h" /* mproc_test_set_syscall: core/, not the public header */

#ifndef _WIN32
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

/* ------------------------------------------------------- task functions */

static int square(const void *in, void *out, void *state)
{
    (void)state;
    int64_t x;
    memcpy(&x, in, sizeof x);
    x *= x;
    memcpy(out, &x, sizeof x);
    return 0;
}

/* Fails (returns 7) on multiples of 10. */
static int square_but_tens(const void *in, void *out, void *state)
{
    int64_t x;
    memcpy(&x, in, sizeof x);
    if (x % 10 == 0)
        return 7;
    return square(in, out, state);
}

/* Records the worker's pid. */
static int whose(const void *in, void *out, void *state)
{
    (void)in;
    (void)state;
    int64_t pid = mproc_current_pid();
    memcpy(out, &pid, sizeof pid);
    return 0;
}

/* Sleeps in[0] seconds (a double), returns the pid. */
static int nap(const void *in, void *out, void *state)
{
    double s;
    memcpy(&s, in, sizeof s);
    test_sleep(s);
    return whose(in, out, state);
}

/* The worker's state from the initializer, added to the input. */
static int add_state(const void *in, void *out, void *state)
{
    int64_t x;
    memcpy(&x, in, sizeof x);
    x += state ? *(int64_t *)state : -1000000;
    memcpy(out, &x, sizeof x);
    return 0;
}

static int64_t init_value;
static int init_runs;
/* initargs: base. state = &init_value = base * 2. */
static int init_fn(const mproc_args *a, void **state)
{
    init_value = mproc_args_int(a, 0) * 2;
    init_runs++;
    *state = &init_value;
    return 0;
}

/* initargs: a locked Value counting initializer runs */
static int init_count(const mproc_args *a, void **state)
{
    (void)state;
    mproc_value *v = mproc_args_obj(a, 0);
    if (!v || mproc_lock_acquire(mproc_value_get_lock(v), 10) != 0)
        return 1;
    ++*(int64_t *)mproc_value_ptr(v);
    mproc_lock_release(mproc_value_get_lock(v));
    return 0;
}

static int init_fails(const mproc_args *a, void **state)
{
    (void)a;
    (void)state;
    return 42;
}

/* apply: args (int a, int b, str s) -> "s:a+b" */
static int concat(const mproc_args *a, mproc_result *r, void *state)
{
    (void)state;
    char buf[128];
    int n = snprintf(buf, sizeof buf, "%s:%lld", mproc_args_str(a, 2),
                     (long long)(mproc_args_int(a, 0) + mproc_args_int(a, 1)));
    return mproc_result_set(r, buf, (size_t)n);
}

/* apply: returns its first argument as the code (non-zero = failure). */
static int fail_with(const mproc_args *a, mproc_result *r, void *state)
{
    (void)r;
    (void)state;
    return (int)mproc_args_int(a, 0);
}

/* apply: the worker's pid as text. */
static int pid_text(const mproc_args *a, mproc_result *r, void *state)
{
    (void)a;
    (void)state;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld", mproc_current_pid());
    return mproc_result_set(r, buf, (size_t)n);
}

/* apply: the worker's name. */
static int name_text(const mproc_args *a, mproc_result *r, void *state)
{
    (void)a;
    (void)state;
    return mproc_result_set(r, mproc_current_name(), strlen(mproc_current_name()));
}

/* apply: kills its own worker (as an OOM killer or a crash would). */
static int die(const mproc_args *a, mproc_result *r, void *state)
{
    (void)a;
    (void)r;
    (void)state;
    test_kill_self();
    test_sleep(10);
    return 0;
}

/* map: kills the worker on item 13. */
static int die_on_13(const void *in, void *out, void *state)
{
    int64_t x;
    memcpy(&x, in, sizeof x);
    if (x == 13)
        die(NULL, NULL, NULL);
    return square(in, out, state);
}

/* apply: args (manager queue, manager dict, i): puts i, sets d[i] = i*i.
 * Seed 004: a Pool's processes talk through a Manager's proxies. */
static int through_manager(const mproc_args *a, mproc_result *r, void *state)
{
    (void)r;
    (void)state;
    mproc_queue *q = mproc_args_obj(a, 0);
    mproc_mdict *d = mproc_args_obj(a, 1);
    int64_t i = mproc_args_int(a, 2);
    if (mproc_queue_put(q, &i, sizeof i, 10) != 0)
        return 1;
    return mproc_mdict_set(d, mproc_mv_int(i), mproc_mv_int(i * i)) != 0 ? 2 : 0;
}

/* ------------------------------------------------------------- helpers */

static mproc_pool *pool(int n, const mproc_pool_opts *o)
{
    mproc_pool_opts d = MPROC_POOL_OPTS_INIT;
    if (o)
        d = *o;
    if (n)
        d.processes = n;
    int err = -1;
    mproc_pool *p = mproc_pool_new(&d, &err);
    CHECK_RC(err, 0);
    return p;
}

static void finish(mproc_pool *p)
{
    CHECK_RC(mproc_pool_close(p), 0);
    CHECK_RC(mproc_pool_join(p, 60), 0);
    mproc_pool_free(p);
}

static int64_t *iota(size_t n)
{
    int64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (int64_t)i;
    return v;
}

/* ---------------------------------------------------------------- map */

static void test_map_squares(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(mproc_pool_processes(p), 2);
    int64_t in[10], out[10];
    for (int i = 0; i < 10; i++)
        in[i] = i;
    CHECK_RC(mproc_pool_map(p, square, in, 10, sizeof(int64_t), out, sizeof(int64_t), 0), 0);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(out[i], (int64_t)i * i);
    /* one item, and none */
    CHECK_RC(mproc_pool_map(p, square, in + 3, 1, sizeof(int64_t), out, sizeof(int64_t), 0), 0);
    CU_ASSERT_EQUAL(out[0], 9);
    /* Pool() with no processes given: one worker per usable CPU */
    mproc_pool *dflt = pool(0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dflt);
    CU_ASSERT_EQUAL(mproc_pool_processes(dflt), mproc_cpu_count());
    CHECK_RC(mproc_pool_map(dflt, square, in, 10, sizeof(int64_t), out, sizeof(int64_t), 0), 0);
    CU_ASSERT_EQUAL(out[9], 81);
    finish(dflt);
    CHECK_RC(mproc_pool_map(p, square, NULL, 0, sizeof(int64_t), NULL, sizeof(int64_t), 0), 0);
    finish(p);
}

static void test_map_million(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    size_t n = 1000000;
    int64_t *in = iota(n), *out = calloc(n, sizeof *out);
    CHECK_RC(mproc_pool_map(p, square, in, n, sizeof *in, out, sizeof *out, 0), 0);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += out[i] != (int64_t)i * (int64_t)i;
    CU_ASSERT_EQUAL(bad, 0);
    /* explicit chunk sizes, one that does not divide n */
    memset(out, 0, n * sizeof *out);
    CHECK_RC(mproc_pool_map(p, square, in, 1000, sizeof *in, out, sizeof *out, 7), 0);
    for (size_t i = 0; i < 1000; i++)
        bad += out[i] != (int64_t)i * (int64_t)i;
    CU_ASSERT_EQUAL(bad, 0);
    free(in);
    free(out);
    finish(p);
}

/* Different record sizes in and out. */
static int widen(const void *in, void *out, void *state)
{
    (void)state;
    uint8_t b;
    memcpy(&b, in, 1);
    double d = b * 0.5;
    memcpy(out, &d, sizeof d);
    return 0;
}

static void test_map_record_sizes(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    uint8_t in[300];
    double out[300];
    for (int i = 0; i < 300; i++)
        in[i] = (uint8_t)i;
    CHECK_RC(mproc_pool_map(p, widen, in, 300, 1, out, sizeof(double), 0), 0);
    for (int i = 0; i < 300; i++)
        CU_ASSERT_EQUAL(out[i], (uint8_t)i * 0.5);
    finish(p);
}

/* Buffers that live in the caller's own SharedMemory are used in place. */
static void test_map_in_shm(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    size_t n = 50000;
    int err;
    mproc_shm *a = mproc_shm_open(NULL, 2 * n * sizeof(int64_t) + 64, 1, &err);
    mproc_shm *b = mproc_shm_open(NULL, n * sizeof(int64_t), 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    int64_t *in = (int64_t *)((char *)mproc_shm_ptr(a) + 64), *out_same = in + n, *out_other = mproc_shm_ptr(b);
    for (size_t i = 0; i < n; i++)
        in[i] = (int64_t)i;
    CHECK_RC(mproc_pool_map(p, square, in, n, sizeof *in, out_same, sizeof *in, 0), 0);
    CHECK_RC(mproc_pool_map(p, square, in, n, sizeof *in, out_other, sizeof *in, 0), 0);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += out_same[i] != (int64_t)(i * i) || out_other[i] != (int64_t)(i * i);
    CU_ASSERT_EQUAL(bad, 0);
    /* one side in private memory: copied as usual */
    int64_t *priv = calloc(n, sizeof *priv);
    CHECK_RC(mproc_pool_map(p, square, in, n, sizeof *in, priv, sizeof *in, 0), 0);
    CU_ASSERT_EQUAL(priv[n - 1], (int64_t)((n - 1) * (n - 1)));
    free(priv);
    /* input at the very end of one segment, output in another */
    CHECK_RC(mproc_pool_map(p, square, out_other + n - 10, 10, sizeof *in, out_same, sizeof *in, 0), 0);
    CU_ASSERT_EQUAL(out_same[9], (int64_t)((n - 1) * (n - 1)) * (int64_t)((n - 1) * (n - 1)));
    finish(p);
    mproc_shm_unlink(a);
    mproc_shm_unlink(b);
    mproc_shm_close(a);
    mproc_shm_close(b);
}

static void test_map_failure(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int64_t in[25], out[25];
    for (int i = 0; i < 25; i++)
        in[i] = i + 1; /* 10 and 20 fail */
    CHECK_RC(mproc_pool_map(p, square_but_tens, in, 25, sizeof(int64_t), out, sizeof(int64_t), 1),
             MPROC_ETASK);
    size_t index = 99;
    int code = 0;
    CHECK_RC(mproc_pool_failure(&index, &code), 0);
    CU_ASSERT(index == 9 || index == 19); /* the first failure to arrive */
    CU_ASSERT_EQUAL(code, 7);
    /* the pool goes on */
    CHECK_RC(mproc_pool_map(p, square, in, 25, sizeof(int64_t), out, sizeof(int64_t), 0), 0);
    CU_ASSERT_EQUAL(out[24], 625);
    finish(p);
}

/* ---------------------------------------------------- apply and starmap */

static mproc_args *args_iis(int64_t a, int64_t b, const char *s)
{
    mproc_args *x = mproc_args_new();
    mproc_args_add_int(x, a);
    mproc_args_add_int(x, b);
    mproc_args_add_str(x, s);
    return x;
}

static void test_apply(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    mproc_args *a = args_iis(2, 3, "sum");
    void *out = NULL;
    size_t len = 0;
    CHECK_RC(mproc_pool_apply(p, concat, a, &out, &len), 0);
    CU_ASSERT_EQUAL(len, 5);
    CU_ASSERT(out && memcmp(out, "sum:5", 5) == 0);
    mproc_free(out);
    mproc_args_free(a);
    /* a failing function: its code comes back */
    mproc_args *f = mproc_args_new();
    mproc_args_add_int(f, 5);
    CHECK_RC(mproc_pool_apply(p, fail_with, f, &out, &len), MPROC_ETASK);
    CU_ASSERT_PTR_NULL(out);
    int code = 0;
    CHECK_RC(mproc_pool_failure(NULL, &code), 0);
    CU_ASSERT_EQUAL(code, 5);
    mproc_args_free(f);
    /* Python's worker names */
    CHECK_RC(mproc_pool_apply(p, name_text, NULL, &out, &len), 0);
    const char *m = mproc_get_start_method();
    const char *want = strcmp(m, "spawn") == 0 ? "SpawnPoolWorker-" : strcmp(m, "forkserver") == 0 ? "ForkServerPoolWorker-" : "ForkPoolWorker-";
    CU_ASSERT(out && len > strlen(want) && memcmp(out, want, strlen(want)) == 0);
    mproc_free(out);
    /* no args (fail_with then returns 0), no result set */
    len = 99;
    CHECK_RC(mproc_pool_apply(p, fail_with, NULL, &out, &len), 0);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(len, 0);
    finish(p);
}

static void test_starmap(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    enum { N = 20 };
    mproc_args *args[N];
    char name[N][8];
    for (int i = 0; i < N; i++) {
        snprintf(name[i], sizeof name[i], "s%d", i);
        args[i] = args_iis(i, 100, name[i]);
    }
    void *outs[N];
    size_t lens[N];
    CHECK_RC(mproc_pool_starmap(p, concat, (const mproc_args *const *)args, N, outs, lens), 0);
    for (int i = 0; i < N; i++) {
        char want[32];
        int n = snprintf(want, sizeof want, "s%d:%d", i, i + 100);
        CU_ASSERT_EQUAL(lens[i], (size_t)n);
        CU_ASSERT(memcmp(outs[i], want, (size_t)n) == 0);
        mproc_free(outs[i]);
        mproc_args_free(args[i]);
    }
    finish(p);
}

/* ------------------------------------------------- async and callbacks */

typedef struct cb_log {
    int ok, failed, last_err;
    int readable; /* callbacks in which mproc_async_get worked */
    char got[64];
} cb_log;

static void on_ok(mproc_async *r, void *ctx)
{
    cb_log *l = ctx;
    void *out = NULL;
    size_t len = 0;
    /* inside its callback the result is readable already */
    if (mproc_async_get(r, 0, &out, &len) == 0) {
        l->readable++;
        if (len < sizeof l->got) {
            memcpy(l->got, out, len);
            l->got[len] = 0;
        }
    }
    mproc_free(out);
    l->ok++;
}

static void on_err(mproc_async *r, int err, void *ctx)
{
    (void)r;
    cb_log *l = ctx;
    l->failed++;
    l->last_err = err;
}

static void test_apply_async_callbacks(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    cb_log log = {0};
    mproc_async_opts o = MPROC_ASYNC_OPTS_INIT;
    o.callback = on_ok;
    o.error_callback = on_err;
    o.ctx = &log;
    mproc_args *a = args_iis(40, 2, "answer");
    int err = -1;
    mproc_async *r = mproc_pool_apply_async(p, concat, a, &o, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CHECK_RC(mproc_async_wait(r, 60), 0);
    CU_ASSERT_EQUAL(mproc_async_ready(r), 1);
    CU_ASSERT_EQUAL(mproc_async_successful(r), 1);
    CU_ASSERT_EQUAL(log.ok, 1); /* ready only after the callback ran */
    CU_ASSERT_STRING_EQUAL(log.got, "answer:42");
    void *out;
    size_t len;
    CHECK_RC(mproc_async_get(r, 0, &out, &len), 0); /* repeatable */
    CU_ASSERT_EQUAL(len, 9);
    mproc_free(out);
    CHECK_RC(mproc_async_failure(r, NULL, NULL), MPROC_ESTATE);
    mproc_async_free(r);
    mproc_args_free(a);

    mproc_args *f = mproc_args_new();
    mproc_args_add_int(f, 3);
    r = mproc_pool_apply_async(p, fail_with, f, &o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CHECK_RC(mproc_async_get(r, 60, &out, &len), MPROC_ETASK);
    CU_ASSERT_EQUAL(log.failed, 1);
    CU_ASSERT_EQUAL(log.last_err, MPROC_ETASK);
    CU_ASSERT_EQUAL(mproc_async_successful(r), 0);
    int code = 0;
    CHECK_RC(mproc_async_failure(r, NULL, &code), 0);
    CU_ASSERT_EQUAL(code, 3);
    mproc_async_free(r);
    mproc_args_free(f);

    /* many in flight, freed before they end: the pool copes */
    for (int i = 0; i < 200; i++) {
        mproc_args *x = args_iis(i, 0, "n");
        r = mproc_pool_apply_async(p, concat, x, &o, &err);
        CU_ASSERT_PTR_NOT_NULL(r);
        mproc_async_free(r);
        mproc_args_free(x);
    }
    finish(p); /* close + join: every queued task ran first */
    CU_ASSERT_EQUAL(log.ok, 201);
    CU_ASSERT_EQUAL(log.readable, 201); /* even when the caller freed its handle */
}

static void test_async_timeout(void)
{
    mproc_pool *p = pool(1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    double secs = 0.5;
    int64_t out = 0;
    int err;
    mproc_async *r = mproc_pool_map_async(p, nap, &secs, 1, sizeof secs, &out, sizeof out, 0, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CHECK_RC(mproc_async_get(r, 0.01, NULL, NULL), MPROC_ETIMEDOUT);
    CU_ASSERT_EQUAL(mproc_async_ready(r), 0);
    CHECK_RC(mproc_async_successful(r), MPROC_ESTATE);
    CHECK_RC(mproc_async_wait(r, 0.01), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_async_get(r, 60, NULL, NULL), 0);
    CU_ASSERT(out > 0); /* the worker's pid */
    mproc_async_free(r);
    finish(p);
}

static void on_map_done(mproc_async *r, void *ctx)
{
    (void)r;
    (*(int *)ctx)++;
}

static void test_map_async_callback(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int calls = 0;
    mproc_async_opts o = MPROC_ASYNC_OPTS_INIT;
    o.callback = on_map_done;
    o.ctx = &calls;
    int64_t *in = iota(1000), out[1000];
    int err;
    mproc_async *r = mproc_pool_map_async(p, square, in, 1000, sizeof *in, out, sizeof *out, 0, &o, &err);
    free(in); /* copied already */
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CHECK_RC(mproc_async_get(r, 60, NULL, NULL), 0);
    CU_ASSERT_EQUAL(calls, 1); /* once, for the whole map */
    CU_ASSERT_EQUAL(out[999], 999 * 999);
    mproc_async_free(r);
    finish(p);
}

typedef struct map_outcome {
    int done, errors, last_err;
} map_outcome;

static void on_outcome_done(mproc_async *r, void *ctx)
{
    (void)r;
    ((map_outcome *)ctx)->done++;
}

static void on_outcome_error(mproc_async *r, int err, void *ctx)
{
    (void)r;
    ((map_outcome *)ctx)->errors++;
    ((map_outcome *)ctx)->last_err = err;
}

/* A failing map_async calls error_callback once (not once per failed
 * item), never callback, and get gives the failure. */
static void test_map_async_error_callback(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    map_outcome oc = {0, 0, 0};
    mproc_async_opts o = MPROC_ASYNC_OPTS_INIT;
    o.callback = on_outcome_done;
    o.error_callback = on_outcome_error;
    o.ctx = &oc;
    int64_t in[25], out[25];
    for (int i = 0; i < 25; i++)
        in[i] = i + 1; /* 10 and 20 fail */
    int err;
    mproc_async *r = mproc_pool_map_async(p, square_but_tens, in, 25, sizeof *in, out, sizeof *out, 1, &o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CHECK_RC(mproc_async_get(r, 60, NULL, NULL), MPROC_ETASK);
    CU_ASSERT_EQUAL(oc.errors, 1);
    CU_ASSERT_EQUAL(oc.done, 0);
    CU_ASSERT_EQUAL(oc.last_err, MPROC_ETASK);
    CU_ASSERT_EQUAL(mproc_async_successful(r), 0);
    mproc_async_free(r);
    finish(p);
}

static void test_manager_proxies_in_tasks(void)
{
    int err;
    mproc_manager *m = mproc_manager_start(NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    mproc_queue *q = mproc_manager_queue(m, MPROC_QUEUE_PLAIN, 0, &err);
    mproc_mdict *d = mproc_manager_dict(m, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    mproc_async *r[10];
    for (int i = 0; i < 10; i++) {
        mproc_args *a = mproc_args_new();
        mproc_args_add_obj(a, q);
        mproc_args_add_obj(a, d);
        mproc_args_add_int(a, i);
        r[i] = mproc_pool_apply_async(p, through_manager, a, NULL, &err);
        CHECK_RC(err, 0);
        mproc_args_free(a);
    }
    for (int i = 0; i < 10; i++) {
        CHECK_RC(mproc_async_get(r[i], 60, NULL, NULL), 0);
        mproc_async_free(r[i]);
    }
    int64_t sum = 0;
    for (int i = 0; i < 10; i++) {
        void *buf;
        size_t len;
        CHECK_RC(mproc_queue_get(q, &buf, &len, 10), 0);
        int64_t v = 0;
        if (len == sizeof v)
            memcpy(&v, buf, sizeof v);
        sum += v;
        mproc_free(buf);
    }
    CU_ASSERT_EQUAL(sum, 45);
    CU_ASSERT_EQUAL(mproc_mdict_len(d), 10);
    finish(p);
    mproc_mdict_free(d);
    mproc_queue_free(q);
    mproc_manager_free(m);
}

/* --------------------------------------------------------------- imap */

typedef struct counter {
    int64_t next, end;
    int64_t read; /* how many the pool has pulled */
    int fail_at;  /* the input's own error at this position, or -1 */
} counter;

static int count_up(void *ctx, void *item)
{
    counter *c = ctx;
    if (c->next == c->fail_at)
        return MPROC_EINVAL;
    if (c->next >= c->end)
        return 0;
    memcpy(item, &c->next, sizeof c->next);
    c->next++;
    c->read++;
    return 1;
}

static void test_imap_order(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    counter c = {0, 100, 0, -1};
    int err;
    mproc_imap *it = mproc_pool_imap(p, square, count_up, &c, sizeof(int64_t), sizeof(int64_t), 3, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    int64_t v;
    size_t idx;
    for (int64_t i = 0; i < 100; i++) {
        CHECK_RC(mproc_imap_next(it, &v, &idx, 60), 0);
        CU_ASSERT_EQUAL(v, i * i);
        CU_ASSERT_EQUAL(idx, (size_t)i);
    }
    CHECK_RC(mproc_imap_next(it, &v, &idx, 60), MPROC_EOS);
    CHECK_RC(mproc_imap_next(it, &v, &idx, 60), MPROC_EOS);
    mproc_imap_free(it);
    finish(p);
}

/* Input: two naps of 0.5 s. */
static int two_naps(void *ctx, void *item)
{
    int *left = ctx;
    if (*left == 0)
        return 0;
    (*left)--;
    double s = 0.5;
    memcpy(item, &s, sizeof s);
    return 1;
}

/* next(timeout) gives MPROC_ETIMEDOUT while the result is not there, and
 * the iteration goes on afterwards (Python's next(timeout) TimeoutError). */
static void test_imap_next_timeout(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int left = 2, err;
    mproc_imap *it = mproc_pool_imap(p, nap, two_naps, &left, sizeof(double), sizeof(int64_t), 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    int64_t pid;
    size_t idx;
    CHECK_RC(mproc_imap_next(it, &pid, &idx, 0), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_imap_next(it, &pid, &idx, 0.05), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_imap_next(it, &pid, &idx, 60), 0);
    CU_ASSERT_EQUAL(idx, 0);
    CHECK_RC(mproc_imap_next(it, &pid, &idx, 60), 0);
    CU_ASSERT_EQUAL(idx, 1);
    CHECK_RC(mproc_imap_next(it, &pid, &idx, 60), MPROC_EOS);
    mproc_imap_free(it);
    finish(p);
}

static void test_imap_lazy(void)
{
    /* gh-84291: an endless input must not be read up front */
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    counter c = {0, INT64_MAX, 0, -1};
    int err;
    mproc_imap *it = mproc_pool_imap(p, square, count_up, &c, sizeof(int64_t), sizeof(int64_t), 4, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    int64_t v;
    for (int i = 0; i < 50; i++)
        CHECK_RC(mproc_imap_next(it, &v, NULL, 60), 0);
    CU_ASSERT_EQUAL(v, 49 * 49);
    CU_ASSERT(c.read <= 50 + 4 * (2 * 2 + 1)); /* bounded read-ahead */
    mproc_imap_free(it); /* with chunks in flight */
    finish(p);
}

static void test_imap_unordered_and_errors(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    counter c = {1, 31, 0, 25}; /* items 1..24, then the input fails */
    int err;
    mproc_imap *it =
        mproc_pool_imap_unordered(p, square_but_tens, count_up, &c, sizeof(int64_t), sizeof(int64_t), 2, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    int seen[24] = {0}, failed = 0, ok = 0, rc;
    int64_t v;
    size_t idx;
    while ((rc = mproc_imap_next(it, &v, &idx, 60)) != MPROC_EOS) {
        if (rc == MPROC_EINVAL)
            break; /* the input's error, after every item before it */
        CU_ASSERT_FATAL(idx < 24);
        seen[idx]++;
        if (rc == MPROC_ETASK) {
            failed++;
            CU_ASSERT((idx + 1) % 10 == 0);
        } else {
            CHECK_RC(rc, 0);
            CU_ASSERT_EQUAL(v, (int64_t)(idx + 1) * (int64_t)(idx + 1));
            ok++;
        }
    }
    CHECK_RC(rc, MPROC_EINVAL);
    CU_ASSERT_EQUAL(failed, 2);
    CU_ASSERT_EQUAL(ok, 22);
    for (int i = 0; i < 24; i++)
        CU_ASSERT_EQUAL(seen[i], 1);
    CHECK_RC(mproc_imap_next(it, &v, &idx, 60), MPROC_EOS);
    mproc_imap_free(it);
    finish(p);
}

/* ------------------------------------------------- workers and failures */

static void test_initializer(void)
{
    mproc_args *ia = mproc_args_new();
    mproc_args_add_int(ia, 21);
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 2;
    o.initializer = init_fn;
    o.initargs = ia;
    mproc_pool *p = pool(0, &o);
    mproc_args_free(ia); /* copied */
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int64_t in[8] = {0, 1, 2, 3, 4, 5, 6, 7}, out[8];
    CHECK_RC(mproc_pool_map(p, add_state, in, 8, sizeof(int64_t), out, sizeof(int64_t), 1), 0);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(out[i], i + 42);
    CU_ASSERT_EQUAL(init_runs, 0); /* it ran in the workers, not here */
    finish(p);

    /* objects reach workers through initargs; the initializer runs once in
     * each worker, replacements included */
    int64_t zero = 0;
    mproc_value *runs = mproc_value_new('q', &zero, 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(runs);
    mproc_args *va = mproc_args_new();
    mproc_args_add_obj(va, runs);
    mproc_pool_opts oc = MPROC_POOL_OPTS_INIT;
    oc.processes = 3;
    oc.initializer = init_count;
    oc.initargs = va;
    oc.maxtasksperchild = 1;
    p = pool(0, &oc);
    mproc_args_free(va);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(*(int64_t *)mproc_value_ptr(runs), 3);
    int64_t in2[5] = {0}, pids[5];
    CHECK_RC(mproc_pool_map(p, whose, in2, 5, sizeof(int64_t), pids, sizeof(int64_t), 1), 0);
    finish(p);
    CU_ASSERT(*(int64_t *)mproc_value_ptr(runs) >= 5); /* tasks 4 and 5 ran on replacements */
    mproc_value_free(runs);

    mproc_pool_opts bad = MPROC_POOL_OPTS_INIT;
    bad.processes = 2;
    bad.initializer = init_fails;
    int err = -1;
    CU_ASSERT_PTR_NULL(mproc_pool_new(&bad, &err));
    CHECK_RC(err, MPROC_ETASK);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0); /* none left behind */
}

static void test_worker_killed(void)
{
    /* gh-96062: Python hangs here forever */
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    void *out;
    size_t len;
    CHECK_RC(mproc_pool_apply(p, die, NULL, &out, &len), MPROC_EWORKERLOST);
    /* replaced: later tasks succeed, on two distinct live workers */
    CHECK_RC(mproc_pool_apply(p, pid_text, NULL, &out, &len), 0);
    mproc_free(out);
    int64_t in[40], res[40];
    for (int i = 0; i < 40; i++)
        in[i] = i;
    CHECK_RC(mproc_pool_map(p, die_on_13, in, 40, sizeof(int64_t), res, sizeof(int64_t), 4),
             MPROC_EWORKERLOST);
    size_t index = 0;
    CHECK_RC(mproc_pool_failure(&index, NULL), 0);
    CU_ASSERT_EQUAL(index, 12); /* the chunk that held item 13 starts at 12 */
    CHECK_RC(mproc_pool_map(p, square, in, 40, sizeof(int64_t), res, sizeof(int64_t), 4), 0);
    CU_ASSERT_EQUAL(res[39], 39 * 39);
    /* async: the error callback hears of it */
    cb_log log = {0};
    mproc_async_opts o = MPROC_ASYNC_OPTS_INIT;
    o.callback = on_ok;
    o.error_callback = on_err;
    o.ctx = &log;
    mproc_async *r = mproc_pool_apply_async(p, die, NULL, &o, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CHECK_RC(mproc_async_get(r, 60, NULL, NULL), MPROC_EWORKERLOST);
    CU_ASSERT_EQUAL(log.last_err, MPROC_EWORKERLOST);
    mproc_async_free(r);
    finish(p);
}

/* Many small tasks queued on each worker, one of which kills its worker:
 * that one fails, the tasks the dead worker had not started run elsewhere,
 * nothing hangs; only results that died with it may fail too. */
static void test_worker_killed_in_batch(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    enum { N = 400, DIE = 250 };
    mproc_async *r[N];
    for (int i = 0; i < N; i++)
        r[i] = mproc_pool_apply_async(p, i == DIE ? die : pid_text, NULL, NULL, NULL);
    int ok = 0, lost = 0;
    for (int i = 0; i < N; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(r[i]);
        int rc = mproc_async_get(r[i], 60, NULL, NULL);
        if (i == DIE)
            CHECK_RC(rc, MPROC_EWORKERLOST);
        else if (rc == 0)
            ok++;
        else if (rc == MPROC_EWORKERLOST)
            lost++;
        else
            CHECK_RC(rc, 0);
        mproc_async_free(r[i]);
    }
    CU_ASSERT_EQUAL(ok + lost, N - 1);
    CU_ASSERT(lost < 64); /* at most the rest of that worker's batch */
    finish(p);
}

static void test_maxtasksperchild(void)
{
    /* Python's test: 12 tasks, k = 2 -> 6 pids (here: 1 worker, 6 tasks of 1) */
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 1;
    o.maxtasksperchild = 2;
    mproc_pool *p = pool(0, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int64_t in[12] = {0}, pids[12];
    CHECK_RC(mproc_pool_map(p, whose, in, 12, sizeof(int64_t), pids, sizeof(int64_t), 1), 0);
    int distinct = 0;
    for (int i = 0; i < 12; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= pids[j] == pids[i];
        distinct += !seen;
        CU_ASSERT(pids[i] > 0);
    }
    CU_ASSERT_EQUAL(distinct, 6);
    /* apply tasks: none lost across replacements */
    cb_log log = {0};
    mproc_async_opts cb = MPROC_ASYNC_OPTS_INIT;
    cb.callback = on_ok;
    cb.error_callback = on_err;
    cb.ctx = &log;
    for (int i = 0; i < 25; i++)
        mproc_async_free(mproc_pool_apply_async(p, pid_text, NULL, &cb, NULL));
    finish(p);
    CU_ASSERT_EQUAL(log.ok, 25);
    CU_ASSERT_EQUAL(log.failed, 0);
}

static void test_terminate_during_map(void)
{
    /* gh-78178: terminate must come back promptly */
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    double secs[4] = {30, 30, 30, 30};
    int64_t out[4];
    int err;
    mproc_async *r = mproc_pool_map_async(p, nap, secs, 4, sizeof(double), out, sizeof(int64_t), 1, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    test_sleep(0.3);
    CHECK_RC(mproc_pool_terminate(p), 0);
    CHECK_RC(mproc_async_get(r, 5, NULL, NULL), MPROC_ECLOSED);
    mproc_async_free(r);
    CHECK_RC(mproc_pool_join(p, 5), 0);
    CHECK_RC(mproc_pool_map(p, square, secs, 1, 8, out, 8, 0), MPROC_ESTATE);
    mproc_pool_free(p);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
}

static void test_close_join_rules(void)
{
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_pool_join(p, 1), MPROC_ESTATE); /* still running */
    double secs[4] = {0.2, 0.2, 0.2, 0.2};
    int64_t out[4] = {0};
    int err;
    mproc_async *r = mproc_pool_map_async(p, nap, secs, 4, sizeof(double), out, sizeof(int64_t), 1, NULL, &err);
    CHECK_RC(mproc_pool_close(p), 0);
    CHECK_RC(mproc_pool_close(p), 0);
    void *o;
    size_t len;
    CHECK_RC(mproc_pool_apply(p, pid_text, NULL, &o, &len), MPROC_ESTATE);
    CHECK_RC(mproc_pool_join(p, 60), 0); /* queued work ran first */
    CHECK_RC(mproc_async_get(r, 0, NULL, NULL), 0);
    CU_ASSERT(out[3] > 0);
    mproc_async_free(r);
    CHECK_RC(mproc_pool_join(p, 60), 0);
    CHECK_RC(mproc_pool_terminate(p), 0);
    mproc_pool_free(p);
    /* freeing a pool with work in flight */
    p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    r = mproc_pool_map_async(p, nap, secs, 4, sizeof(double), out, sizeof(int64_t), 1, NULL, &err);
    mproc_pool_free(p);
    CHECK_RC(mproc_async_get(r, 5, NULL, NULL), MPROC_ECLOSED);
    mproc_async_free(r);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
}

/* args: conn. Makes a pool, sends its workers' pids, then waits to be killed. */
static int pool_owner(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 2;
    mproc_pool *p = mproc_pool_new(&o, NULL);
    if (!p)
        return 1;
    mproc_process *kids[8];
    size_t n = mproc_active_children(kids, 8);
    int64_t pids[8];
    for (size_t i = 0; i < n && i < 8; i++)
        pids[i] = mproc_process_pid(kids[i]);
    mproc_conn_send_bytes(c, pids, n * sizeof pids[0]);
    test_sleep(60);
    return 0;
}

static void test_owner_killed(void)
{
    /* the parent dies (SIGKILL: no exit handler runs): its workers follow */
    mproc_conn *mine, *theirs;
    CHECK_RC(mproc_pipe(1, &mine, &theirs), 0);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, theirs);
    mproc_process *owner = test_start(pool_owner, a, NULL);
    mproc_args_free(a);
    mproc_conn_close(theirs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(owner);
    int64_t pids[8];
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(mproc_conn_poll(mine, 60), 1);
    CHECK_RC(mproc_conn_recv_bytes_into(mine, pids, sizeof pids, &len), 0);
    CU_ASSERT_EQUAL(len, 2 * sizeof pids[0]);
    CHECK_RC(mproc_process_kill(owner), 0);
    CHECK_RC(mproc_process_join(owner, 60), 0);
    mproc_process_free(owner);
    for (size_t i = 0; i < len / sizeof pids[0]; i++) {
        int gone = 0;
        for (int t = 0; t < 200 && !gone; t++) {
            gone = test_pid_gone((long)pids[i]);
            if (!gone)
                test_sleep(0.05);
        }
        CU_ASSERT(gone);
    }
    mproc_conn_free(mine);
    mproc_conn_free(theirs);
}

#ifndef _WIN32
/* Names this process creates with shm_open (through the backend's table). */
#define MADE_MAX 16
static int (*real_shm_open)(const char *, int, mode_t);
static char shm_made[MADE_MAX][64];
static int n_shm_made;

static int recording_shm_open(const char *name, int flags, mode_t mode)
{
    int fd = real_shm_open(name, flags, mode);
    if (fd >= 0 && (flags & O_CREAT) && n_shm_made < MADE_MAX)
        snprintf(shm_made[n_shm_made++], sizeof shm_made[0], "%s", name[0] == '/' ? name + 1 : name);
    return fd;
}

/* args: conn. A 100k-item map over plain memory, whose data the pool
 * keeps in a segment of its own; sends the names of every segment it
 * created ("" for none), then waits to be killed. */
static int map_until_killed(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    real_shm_open = (int (*)(const char *, int, mode_t))mproc_test_get_syscall("shm_open");
    if (mproc_test_set_syscall("shm_open", (mproc_syscall_fn)recording_shm_open) != 0)
        return 1;
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 2;
    mproc_pool *p = mproc_pool_new(&o, NULL);
    enum { N = 100000 };
    int64_t *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    if (!p || !in || !out)
        return 2;
    for (int64_t i = 0; i < N; i++)
        in[i] = i;
    if (mproc_pool_map(p, square, in, N, sizeof *in, out, sizeof *out, 0) != 0 || out[N - 1] != (int64_t)(N - 1) * (N - 1))
        return 3;
    char names[MADE_MAX * 64 + 1] = "";
    for (int i = 0; i < n_shm_made; i++) {
        strcat(names, shm_made[i]);
        strcat(names, "\n");
    }
    if (mproc_conn_send_bytes(c, names, strlen(names)) != 0)
        return 4;
    test_sleep(60); /* killed long before */
    return 5;
}

/* A process killed after a map (SIGKILL, the OOM killer; SIGTERM's default
 * action) leaves no shared memory behind: the map's data has no name at
 * all (Python names it, and so did mproc once: 1.6 MB left per 100k-item
 * map). Its workers see their pipes end and follow it. */
static void map_then_killed(int terminate)
{
    mproc_conn *r, *w;
    CHECK_RC(mproc_pipe(0, &r, &w), 0);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, w);
    mproc_process *p = test_start(map_until_killed, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char names[MADE_MAX * 64 + 1];
    size_t len = 0;
    CU_ASSERT_EQUAL(mproc_conn_poll(r, 60), 1);
    int rc = mproc_conn_recv_bytes_into(r, names, sizeof names - 1, &len);
    CHECK_RC(rc, 0);
    names[rc == 0 ? len : 0] = '\0';
    CHECK_RC(terminate ? mproc_process_terminate(p) : mproc_process_kill(p), 0);
    CU_ASSERT_EQUAL(test_finish(p), terminate ? -15 : -9);
    for (char *name = strtok(names, "\n"); name; name = strtok(NULL, "\n")) {
        int gone = test_shm_gone_within(name, 10);
        if (!gone)
            fprintf(stderr, "\n  /dev/shm/%s outlived the process that made it\n", name);
        CU_ASSERT_TRUE(gone);
    }
    mproc_conn_free(r);
    mproc_conn_free(w);
}

static void test_map_then_killed(void) { map_then_killed(0); }

static void test_map_then_terminated(void) { map_then_killed(1); }
#endif

static void test_bad_input(void)
{
    int err = 0;
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 0; /* Pool(0) */
    CU_ASSERT_PTR_NULL(mproc_pool_new(&o, &err));
    CHECK_RC(err, MPROC_EINVAL);
    o.processes = -2;
    CU_ASSERT_PTR_NULL(mproc_pool_new(&o, &err));
    CHECK_RC(err, MPROC_EINVAL);
    mproc_pool_opts m = MPROC_POOL_OPTS_INIT;
    m.processes = 1;
    m.start_method = "teleport";
    CU_ASSERT_PTR_NULL(mproc_pool_new(&m, &err));
    CHECK_RC(err, MPROC_EINVAL);
    mproc_pool *p = pool(1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int64_t x = 1, y;
    CHECK_RC(mproc_pool_map(p, NULL, &x, 1, 8, &y, 8, 0), MPROC_EINVAL);
    CHECK_RC(mproc_pool_map(p, square, &x, 1, 0, &y, 8, 0), MPROC_EINVAL);
    CHECK_RC(mproc_pool_map(p, square, &x, 1, 8, &y, 0, 0), MPROC_EINVAL);
    CHECK_RC(mproc_pool_map(p, square, NULL, 1, 8, &y, 8, 0), MPROC_EINVAL);
    CHECK_RC(mproc_pool_map(NULL, square, &x, 1, 8, &y, 8, 0), MPROC_EINVAL);
    CHECK_RC(mproc_pool_apply(p, NULL, NULL, NULL, NULL), MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_pool_imap(p, square, NULL, NULL, 8, 8, 1, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CHECK_RC(mproc_imap_next(NULL, &y, NULL, 0), MPROC_EINVAL);
    CHECK_RC(mproc_async_get(NULL, 0, NULL, NULL), MPROC_EINVAL);
    CHECK_RC(mproc_pool_join(NULL, 0), MPROC_EINVAL);
    CHECK_RC(mproc_result_set(NULL, "x", 1), MPROC_EINVAL);
    /* objects go through initargs only */
    mproc_lock *l = mproc_lock_new(NULL);
    mproc_args *la = mproc_args_new();
    mproc_args_add_obj(la, l);
    CHECK_RC(mproc_pool_apply(p, pid_text, la, NULL, NULL), MPROC_EINVAL);
    mproc_args_free(la);
    mproc_lock_free(l);
    CHECK_RC(mproc_pool_terminate(p), 0);
    CHECK_RC(mproc_pool_map(p, square, &x, 1, 8, &y, 8, 0), MPROC_ESTATE);
    CHECK_RC(mproc_pool_apply(p, pid_text, NULL, NULL, NULL), MPROC_ESTATE);
    CU_ASSERT_PTR_NULL(mproc_pool_imap(p, square, count_up, &x, 8, 8, 1, &err));
    CHECK_RC(err, MPROC_ESTATE);
    mproc_pool_free(p);
    mproc_pool_free(NULL);
    mproc_async_free(NULL);
    mproc_imap_free(NULL);
}

#ifndef _WIN32
/* Ctrl-C: SIGINT to the whole process group during a map (bpo-8296). */
static volatile sig_atomic_t got_sigint;
static void on_sigint(int sig)
{
    (void)sig;
    got_sigint = 1;
}

/* args: the process group to interrupt */
static int send_sigint_later(const mproc_args *a)
{
    test_sleep(0.5);
    kill(-(pid_t)mproc_args_int(a, 0), SIGINT); /* what the terminal does */
    return 0;
}

static void test_ctrl_c(void)
{
    if (setpgid(0, 0) != 0) { /* a group of our own, so that ctest is spared */
        CU_FAIL("setpgid");
        return;
    }
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* the program handles Ctrl-C (no SA_RESTART) */
    sigaction(SIGINT, &sa, &old);
    mproc_pool *p = pool(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    mproc_args *a = mproc_args_new();
    mproc_args_add_int(a, getpgrp());
    mproc_process *k = test_start(send_sigint_later, a, NULL);
    mproc_args_free(a);
    double secs[6] = {1.5, 1.5, 1.5, 1.5, 1.5, 1.5};
    int64_t out[6];
    CHECK_RC(mproc_pool_map(p, nap, secs, 6, sizeof(double), out, sizeof(int64_t), 1), MPROC_EINTR);
    CU_ASSERT_EQUAL(got_sigint, 1);
    test_finish(k);
    /* the workers ignored it and the chunks not started were dropped: the
     * same pool goes on */
    int64_t in[4] = {1, 2, 3, 4};
    CHECK_RC(mproc_pool_map(p, square, in, 4, sizeof(int64_t), out, sizeof(int64_t), 1), 0);
    CU_ASSERT_EQUAL(out[3], 16);
    finish(p);
    sigaction(SIGINT, &old, NULL);
}
#endif

/* -------------------------------------------- a forkserver that dies */
#ifndef _WIN32
static int noop_target(const mproc_args *a)
{
    (void)a;
    return 0;
}

static int slow_square(const void *in, void *out, void *state)
{
    test_sleep(0.001);
    return square(in, out, state);
}

typedef struct delayed_kill {
    long pid;
    double delay;
} delayed_kill;

static TEST_THREAD_FN(kill_later)
{
    delayed_kill *k = arg;
    test_sleep(k->delay);
    kill((pid_t)k->pid, SIGKILL);
    return 0;
}

/* The forkserver is SIGKILLed at a random moment of a map whose workers
 * are replaced every two tasks (so the server is forking all the time):
 * no worker dies of it, so every map succeeds, and the pool still closes
 * and joins. */
static void test_forkserver_killed_during_map(void)
{
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 2;
    o.maxtasksperchild = 2;
    mproc_pool *p = pool(0, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    enum { N = 120, ROUNDS = 12 };
    int64_t *in = iota(N), out[N];
    unsigned seed = (unsigned)getpid();
    /* The first failure ends the rounds: bounded waits must not pile up. */
    for (int round = 0; round < ROUNDS; round++) {
        int code = -1, rc = test_run_within(noop_target, NULL, &code, 30); /* a server runs */
        CHECK_RC(rc, 0);
        if (rc)
            break;
        delayed_kill k = {test_forkserver_pid(), (double)(rand_r(&seed) % 150) / 1000.0};
        CU_ASSERT_FATAL(k.pid > 0);
        test_thread t;
        CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, kill_later, &k), 0);
        memset(out, 0, sizeof out);
        int err = 0;
        mproc_async *r = mproc_pool_map_async(p, slow_square, in, N, sizeof *in, out, sizeof *out, 1, NULL, &err);
        rc = r ? mproc_async_get(r, 60, NULL, NULL) : err;
        test_thread_join(&t);
        CHECK_RC(rc, 0);
        CU_ASSERT_EQUAL(out[N - 1], (int64_t)(N - 1) * (N - 1));
        mproc_async_free(r);
        if (rc)
            break;
    }
    /* a later map works too */
    int err = 0;
    memset(out, 0, sizeof out);
    mproc_async *r = mproc_pool_map_async(p, square, in, N, sizeof *in, out, sizeof *out, 0, NULL, &err);
    CHECK_RC(r ? mproc_async_get(r, 60, NULL, NULL) : err, 0);
    CU_ASSERT_EQUAL(out[N - 1], (int64_t)(N - 1) * (N - 1));
    mproc_async_free(r);
    free(in);
    CHECK_RC(mproc_pool_close(p), 0);
    int rc = mproc_pool_join(p, 60);
    CHECK_RC(rc, 0);
    if (rc == 0) /* one that did not join is left alone: freeing it could hang */
        mproc_pool_free(p);
}

static const char *g_argv0;

/* Role "fs-pool-exit DIR METHOD": with its forkserver's directory (if
 * any) in DIR, maps on a pool, kills the forkserver (forkserver only),
 * maps again, leaves work in flight and returns from main: the program
 * must end at once, and the dead server's directory be gone. */
static int role_fs_pool_exit(int argc, char **argv)
{
    if (argc < 1)
        return 2;
    test_setenv("TMPDIR", argv[0]);
    mproc_set_start_method(argc > 1 ? argv[1] : "forkserver");
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 2;
    static mproc_pool *p; /* reachable at exit (leak checkers) */
    static mproc_async *inflight;
    p = mproc_pool_new(&o, NULL);
    int64_t in[8] = {0, 1, 2, 3, 4, 5, 6, 7}, out[8];
    if (!p || mproc_pool_map(p, square, in, 8, sizeof *in, out, sizeof *out, 1) != 0)
        return 3;
    if (strcmp(mproc_get_start_method(), "forkserver") == 0 && test_kill_forkserver() <= 0)
        return 4;
    if (mproc_pool_map(p, square, in, 8, sizeof *in, out, sizeof *out, 1) != 0 || out[7] != 49)
        return 5;
    static double secs[4] = {30, 30, 30, 30};
    static int64_t naps[4];
    inflight = mproc_pool_map_async(p, nap, secs, 4, sizeof(double), naps, sizeof(int64_t), 1, NULL, NULL);
    return inflight ? 0 : 6;
}

/* Every start method: the pool is terminated on the way out (a crash or
 * a hang before); forkserver: after its server was killed. */
static void test_program_exit_with_live_pool(void)
{
    /* absolute and short: the server takes TMPDIR only up to 60 bytes */
    char dir[] = "/tmp/mproc_test_fsdir_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    const char *role[] = {"fs-pool-exit", dir, mproc_get_start_method(), NULL};
    int status = -1;
    CU_ASSERT_EQUAL(test_role_run(g_argv0, role, 60, &status), 0);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "\n  role fs-pool-exit: wait status 0x%x\n", (unsigned)status);
    /* the killed server could not remove its directory: the program did */
    int empty = 0;
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
    if (argc >= 3 && strcmp(argv[1], "--child") == 0 && strcmp(argv[2], "fs-pool-exit") == 0)
        return role_fs_pool_exit(argc - 3, argv + 3);
#endif
    static const test_case tests[] = {
        {"map squares", test_map_squares},
        {"map 1M items", test_map_million},
        {"map record sizes", test_map_record_sizes},
        {"map in shared memory", test_map_in_shm},
        {"map failure", test_map_failure},
        {"apply", test_apply},
        {"starmap", test_starmap},
        {"apply_async callbacks", test_apply_async_callbacks},
        {"async timeout", test_async_timeout},
        {"map_async callback", test_map_async_callback},
        {"map_async error callback once", test_map_async_error_callback},
        {"manager proxies in tasks (seed 004)", test_manager_proxies_in_tasks},
        {"imap order", test_imap_order},
        {"imap next with a timeout", test_imap_next_timeout},
        {"imap lazy input", test_imap_lazy},
        {"imap_unordered and errors", test_imap_unordered_and_errors},
        {"initializer", test_initializer},
        {"worker killed", test_worker_killed},
        {"worker killed in a batch", test_worker_killed_in_batch},
        {"maxtasksperchild", test_maxtasksperchild},
        {"terminate during map", test_terminate_during_map},
        {"close and join", test_close_join_rules},
        {"owner killed: workers exit", test_owner_killed},
#ifndef _WIN32
        {"map, then killed: no segment left", test_map_then_killed},
        {"map, then terminated: no segment left", test_map_then_terminated},
#endif
        {"bad input", test_bad_input},
#ifndef _WIN32
        {"ctrl-c", test_ctrl_c},
        {"forkserver killed during maps", test_forkserver_killed_during_map},
        {"program exit with a live pool (forkserver: server killed)", test_program_exit_with_live_pool},
#endif
        {NULL, NULL},
    };
#ifndef _WIN32
    static const test_when when[] = {
        {"forkserver killed during maps", test_not_forkserver},
        {NULL, NULL},
    };
#else
    const test_when *when = NULL;
#endif
    return run_tests_where(argc, argv, "pool", tests, when);
}
