/* SPDX-License-Identifier: MIT */
/* test_pool_futures.c - pool results as futures (issue 20): mproc_wait on
 * results, imap iterators, queues and sentinels together, in input order;
 * the first of 1,000 results; mproc_async_cancel before, during and after
 * a task, and racing with the workers; a worker memory limit
 * (max_worker_rss) that replaces a worker without losing a task. Once per
 * start method (--method NAME). */
#include <stdint.h>

#include "testutil.h"
#include "base/testhooks.h" /* mproc_test_wait_looks: core/, not the public header */

/* ------------------------------------------------ the workers' side */

/* initargs: a gate (event) tasks may wait on, and one counter per task
 * index (how many times it ran). */
typedef struct fut_state {
    mproc_event *gate;
    int64_t *runs;
    size_t nruns;
} fut_state;

static fut_state wstate;

static int fut_init(const mproc_args *a, void **state)
{
    wstate.gate = mproc_args_obj(a, 0);
    mproc_array *runs = mproc_args_obj(a, 1);
    if (!wstate.gate || !runs)
        return 1;
    wstate.runs = mproc_array_ptr(runs);
    wstate.nruns = mproc_array_len(runs);
    *state = &wstate;
    return 0;
}

/* apply(index, wait): counts a run of task `index`; with wait != 0 it
 * then waits (up to 60 s) for the gate. Result: the index as text. */
static int count_run(const mproc_args *a, mproc_result *r, void *state)
{
    fut_state *s = state;
    int64_t i = mproc_args_int(a, 0);
    if (i < 0 || (size_t)i >= s->nruns)
        return 99;
    s->runs[i]++; /* a task runs on one worker at a time */
    if (mproc_args_int(a, 1) && mproc_event_wait(s->gate, 60) != 0)
        return 98;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)i);
    return mproc_result_set(r, buf, (size_t)n);
}

/* map: waits for the gate, then out = in * 2. */
static int gated_double(const void *in, void *out, void *state)
{
    fut_state *s = state;
    if (mproc_event_wait(s->gate, 60) != 0)
        return 1;
    *(int64_t *)out = *(const int64_t *)in * 2;
    return 0;
}

/* apply: the worker's pid as an int64. */
static int my_pid(const mproc_args *a, mproc_result *r, void *state)
{
    (void)a;
    (void)state;
    int64_t pid = mproc_current_pid();
    return mproc_result_set(r, &pid, sizeof pid);
}

/* apply(bytes): allocates and touches that much memory and keeps it (so
 * the resident size stays up), then returns its pid as my_pid does. */
static void *hoard;
static int hog(const mproc_args *a, mproc_result *r, void *state)
{
    size_t n = (size_t)mproc_args_int(a, 0);
    char *p = malloc(n);
    if (!p)
        return 97;
    for (size_t i = 0; i < n; i += 4096)
        p[i] = (char)i;
    p[n - 1] = 1;
    hoard = p; /* kept: the worker is meant to look big */
    return my_pid(a, r, state);
}

/* a child that ends at once */
static int quick_child(const mproc_args *a)
{
    (void)a;
    return 0;
}

/* ------------------------------------------------- the parent's side */

typedef struct fixture {
    mproc_pool *pool;
    mproc_event *gate;
    mproc_array *runs;
    int64_t *count;
} fixture;

static int setup(fixture *f, int workers, size_t ntasks, uint64_t max_rss)
{
    int err = 0;
    memset(f, 0, sizeof *f);
    f->gate = mproc_event_new(&err);
    f->runs = mproc_array_new('q', ntasks ? ntasks : 1, NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL(f->gate);
    CU_ASSERT_PTR_NOT_NULL(f->runs);
    if (!f->gate || !f->runs)
        return -1;
    f->count = mproc_array_ptr(f->runs);
    mproc_args *ia = mproc_args_new();
    mproc_args_add_obj(ia, f->gate);
    mproc_args_add_obj(ia, f->runs);
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = workers;
    o.initializer = fut_init;
    o.initargs = ia;
    o.max_worker_rss = max_rss;
    f->pool = mproc_pool_new(&o, &err);
    mproc_args_free(ia);
    CHECK_RC(err, 0);
    return f->pool ? 0 : -1;
}

static void teardown(fixture *f)
{
    if (f->gate)
        mproc_event_set(f->gate);
    if (f->pool) {
        CHECK_RC(mproc_pool_close(f->pool), 0);
        CHECK_RC(mproc_pool_join(f->pool, 60), 0);
        mproc_pool_free(f->pool);
    }
    mproc_array_free(f->runs);
    mproc_event_free(f->gate);
}

static mproc_async *submit(fixture *f, int64_t index, int wait, const mproc_async_opts *cb)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_int(a, index);
    mproc_args_add_int(a, wait);
    int err = 0;
    mproc_async *r = mproc_pool_apply_async(f->pool, count_run, a, cb, &err);
    mproc_args_free(a);
    CHECK_RC(err, 0);
    return r;
}

/* Waits (up to 30 s) until task `index` has started on a worker. */
static int started(fixture *f, int64_t index)
{
    for (double t = 0; t < 30; t += 0.005) {
        if (((volatile int64_t *)f->count)[index] > 0)
            return 1;
        test_sleep(0.005);
    }
    return 0;
}

/* -------------------------------------------------------------- wait */

static void test_wait_mixed(void)
{
    fixture f;
    mproc_queue *q = NULL;
    mproc_process *child = NULL;
    mproc_async *slow = NULL, *fast = NULL;
    if (setup(&f, 3, 4, 0))
        goto out;
    int err = 0;
    q = mproc_queue_new(0, &err);
    child = test_start(quick_child, NULL, NULL);
    slow = submit(&f, 0, 1, NULL); /* waits for the gate */
    fast = submit(&f, 1, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(q);
    if (!q || !child || !slow || !fast)
        goto out;
    void *objs[4] = {slow, q, fast, mproc_process_sentinel(child)};
    void *ready[4] = {NULL};

    /* only the results: sleeps on the pool's notification until fast ends */
    void *two[2] = {slow, fast};
    CHECK_RC(mproc_wait(two, 2, 30, ready), 1);
    CU_ASSERT_PTR_EQUAL(ready[0], fast);
    CHECK_RC(mproc_async_get(fast, 0, NULL, NULL), 0);
    CHECK_RC(mproc_wait(two, 1, 0.1, ready), 0); /* slow alone: the timeout */

    CHECK_RC(mproc_process_join(child, 30), 0);
    CHECK_RC(mproc_queue_put(q, "x", 1, 10), 0);
    /* every kind at once: the ready ones in input order */
    CHECK_RC(mproc_wait(objs, 4, 30, ready), 3);
    CU_ASSERT_PTR_EQUAL(ready[0], q);
    CU_ASSERT_PTR_EQUAL(ready[1], fast);
    CU_ASSERT_PTR_EQUAL(ready[2], objs[3]);

    /* the slow one wakes a wait that also holds a connection-free queue */
    void *getq;
    size_t len;
    CHECK_RC(mproc_queue_get(q, &getq, &len, 10), 0);
    mproc_free(getq);
    void *later[2] = {q, slow};
    CHECK_RC(mproc_wait(later, 2, 0.05, ready), 0);
    CHECK_RC(mproc_event_set(f.gate), 0);
    CHECK_RC(mproc_wait(later, 2, 30, ready), 1);
    CU_ASSERT_PTR_EQUAL(ready[0], slow);
    CHECK_RC(mproc_async_get(slow, 0, NULL, NULL), 0);
    /* all ready: every one, in order */
    CHECK_RC(mproc_wait(objs, 4, 0, ready), 3);
    CU_ASSERT_PTR_EQUAL(ready[0], slow);
    CU_ASSERT_PTR_EQUAL(ready[1], fast);
    CU_ASSERT_PTR_EQUAL(ready[2], objs[3]);
out:
    mproc_async_free(slow);
    mproc_async_free(fast);
    if (child)
        mproc_process_free(child);
    mproc_queue_free(q);
    teardown(&f);
}

#define MANY 1000

static void test_wait_first_of_many(void)
{
    fixture f;
    mproc_async *blockers[2] = {NULL, NULL}, **rs = calloc(MANY, sizeof *rs);
    void **ready = calloc(MANY, sizeof *ready), **left = calloc(MANY, sizeof *left);
    if (setup(&f, 2, MANY + 2, 0) || !rs || !ready || !left)
        goto out;
    /* both workers busy until the gate opens: the 1,000 stay queued */
    blockers[0] = submit(&f, MANY, 1, NULL);
    blockers[1] = submit(&f, MANY + 1, 1, NULL);
    CU_ASSERT_TRUE(started(&f, MANY) && started(&f, MANY + 1));
    for (size_t i = 0; i < MANY; i++)
        if (!(rs[i] = submit(&f, (int64_t)i, 0, NULL)))
            goto out;
    /* nothing can complete: the wait sleeps, it does not poll (at most a
     * look at each at the start and one at the timeout) */
    unsigned long looks = mproc_test_wait_looks();
    CHECK_RC(mproc_wait((void **)rs, MANY, 0.3, ready), 0);
    looks = mproc_test_wait_looks() - looks;
    CU_ASSERT_TRUE(looks >= MANY && looks <= 2 * MANY);
    CHECK_RC(mproc_event_set(f.gate), 0);
    int k = mproc_wait((void **)rs, MANY, 30, ready);
    CU_ASSERT_TRUE(k >= 1);
    /* as_completed: every result reported once, each batch in input order */
    size_t nleft = MANY, seen = 0;
    memcpy(left, rs, MANY * sizeof *left);
    while (nleft && k >= 0) {
        k = mproc_wait(left, nleft, 30, ready);
        CU_ASSERT_TRUE(k >= 1);
        if (k <= 0)
            break;
        size_t j = 0, r = 0;
        for (size_t i = 0; i < nleft; i++) {
            if (r < (size_t)k && left[i] == ready[r]) {
                r++;
                CHECK_RC(mproc_async_get(left[i], 0, NULL, NULL), 0);
                seen++;
            } else {
                left[j++] = left[i];
            }
        }
        CU_ASSERT_EQUAL(r, (size_t)k); /* ready[] was a subsequence of left[] */
        nleft = j;
    }
    CU_ASSERT_EQUAL(seen, MANY);
out:
    for (size_t i = 0; rs && i < MANY; i++)
        mproc_async_free(rs[i]);
    mproc_async_free(blockers[0]);
    mproc_async_free(blockers[1]);
    free(rs);
    free(ready);
    free(left);
    teardown(&f);
}

static int64_t next_i;
static int numbers(void *ctx, void *item)
{
    (void)ctx;
    if (next_i >= 6)
        return 0;
    *(int64_t *)item = next_i++;
    return 1;
}

static void test_wait_imap(void)
{
    fixture f;
    if (setup(&f, 2, 1, 0))
        goto out;
    next_i = 0;
    int err = 0;
    mproc_imap *m = mproc_pool_imap(f.pool, gated_double, numbers, NULL, sizeof(int64_t), sizeof(int64_t), 1, &err);
    CU_ASSERT_PTR_NOT_NULL(m);
    if (!m)
        goto out;
    void *objs[1] = {m}, *ready[1];
    CHECK_RC(mproc_wait(objs, 1, 0.2, ready), 0); /* every item waits for the gate */
    CHECK_RC(mproc_event_set(f.gate), 0);
    for (int64_t i = 0; i < 6; i++) {
        CHECK_RC(mproc_wait(objs, 1, 30, ready), 1);
        int64_t out = -1;
        size_t index = 99;
        CHECK_RC(mproc_imap_next(m, &out, &index, 0), 0);
        CU_ASSERT_EQUAL(out, 2 * i);
        CU_ASSERT_EQUAL(index, (size_t)i);
    }
    CHECK_RC(mproc_wait(objs, 1, 30, ready), 1); /* the end is ready too */
    CHECK_RC(mproc_imap_next(m, NULL, NULL, 0), MPROC_EOS);
    mproc_imap_free(m);
out:
    teardown(&f);
}

/* ------------------------------------------------------------ cancel */

static int ok_calls, err_calls, last_err;
static void on_ok(mproc_async *r, void *ctx)
{
    (void)r;
    (void)ctx;
    ok_calls++;
}
static void on_err(mproc_async *r, int err, void *ctx)
{
    (void)r;
    (void)ctx;
    err_calls++;
    last_err = err;
}

static void test_cancel_before_start(void)
{
    fixture f;
    mproc_async *blocker = NULL, *victim = NULL, *map = NULL;
    int64_t in[3] = {1, 2, 3}, out[3] = {-5, -5, -5};
    if (setup(&f, 1, 4, 0))
        goto out;
    ok_calls = err_calls = 0;
    last_err = 0;
    mproc_async_opts cb = MPROC_ASYNC_OPTS_INIT;
    cb.callback = on_ok;
    cb.error_callback = on_err;
    blocker = submit(&f, 0, 1, NULL);
    CU_ASSERT_TRUE(started(&f, 0)); /* the one worker is busy */
    victim = submit(&f, 1, 0, &cb);
    int err = 0;
    map = mproc_pool_map_async(f.pool, gated_double, in, 3, sizeof *in, out, sizeof *out, 1, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL(map);
    if (!blocker || !victim || !map)
        goto out;
    CHECK_RC(mproc_async_cancelled(victim), 0);
    CHECK_RC(mproc_async_cancel(victim), 1);
    CHECK_RC(mproc_async_ready(victim), 1); /* at once, as Python's */
    CHECK_RC(mproc_async_cancelled(victim), 1);
    CHECK_RC(mproc_async_get(victim, 0, NULL, NULL), MPROC_ECANCELLED);
    CHECK_RC(mproc_async_successful(victim), 0);
    CU_ASSERT_EQUAL(err_calls, 1); /* the error callback ran, in this thread, before cancel returned */
    CU_ASSERT_EQUAL(last_err, MPROC_ECANCELLED);
    CU_ASSERT_EQUAL(ok_calls, 0);
    CHECK_RC(mproc_async_cancel(victim), 1); /* again: still cancelled, no second callback */
    CU_ASSERT_EQUAL(err_calls, 1);
    CHECK_RC(mproc_async_cancel(map), 1); /* a whole map that had not started */
    CHECK_RC(mproc_async_get(map, 0, NULL, NULL), MPROC_ECANCELLED);
    void *objs[1] = {victim}, *ready[1];
    CHECK_RC(mproc_wait(objs, 1, 0, ready), 1); /* cancelled counts as done */

    CHECK_RC(mproc_async_cancel(blocker), 0); /* running */
    CHECK_RC(mproc_event_set(f.gate), 0);
    CHECK_RC(mproc_async_get(blocker, 30, NULL, NULL), 0);
    CHECK_RC(mproc_async_cancel(blocker), 0); /* finished */
    CHECK_RC(mproc_async_cancelled(blocker), 0);
    mproc_async *done = submit(&f, 2, 0, &cb);
    CHECK_RC(mproc_async_get(done, 30, NULL, NULL), 0);
    CHECK_RC(mproc_async_cancel(done), 0);
    CU_ASSERT_EQUAL(ok_calls, 1);
    mproc_async_free(done);
    CHECK_RC(mproc_pool_close(f.pool), 0);
    CHECK_RC(mproc_pool_join(f.pool, 60), 0);
    CU_ASSERT_EQUAL(f.count[1], 0); /* the cancelled task never ran */
    CU_ASSERT_EQUAL(f.count[0], 1);
    CU_ASSERT_EQUAL(f.count[2], 1);
    CU_ASSERT_EQUAL(out[0], -5); /* nor did the map, which left the output alone */
    CU_ASSERT_EQUAL(out[2], -5);
out:
    mproc_async_free(blocker);
    mproc_async_free(victim);
    mproc_async_free(map);
    teardown(&f);
}

#define RACE 400

static void test_cancel_race(void)
{
    fixture f;
    mproc_async **rs = calloc(RACE, sizeof *rs);
    int *won = calloc(RACE, sizeof *won);
    if (setup(&f, 2, RACE, 0) || !rs || !won)
        goto out;
    for (size_t i = 0; i < RACE; i++)
        if (!(rs[i] = submit(&f, (int64_t)i, 0, NULL)))
            goto out;
    for (size_t i = 0; i < RACE; i++)
        won[i] = mproc_async_cancel(rs[i]);
    CHECK_RC(mproc_pool_close(f.pool), 0);
    CHECK_RC(mproc_pool_join(f.pool, 60), 0);
    size_t cancelled = 0;
    for (size_t i = 0; i < RACE; i++) {
        int rc = mproc_async_get(rs[i], 30, NULL, NULL);
        CU_ASSERT_TRUE(won[i] == 0 || won[i] == 1);
        if (won[i] == 1) {
            cancelled++;
            CHECK_RC(rc, MPROC_ECANCELLED);
            CU_ASSERT_EQUAL(f.count[i], 0);
        } else {
            CHECK_RC(rc, 0);
            CU_ASSERT_EQUAL(f.count[i], 1);
        }
    }
    printf(" (%zu of %d cancelled) ", cancelled, RACE);
out:
    for (size_t i = 0; rs && i < RACE; i++)
        mproc_async_free(rs[i]);
    free(rs);
    free(won);
    teardown(&f);
}

/* ---------------------------------------------------- memory limit */

#define LIMIT ((uint64_t)96 << 20)

static int64_t pid_of(mproc_async *r)
{
    void *out = NULL;
    size_t len = 0;
    int64_t pid = -1;
    CHECK_RC(mproc_async_get(r, 60, &out, &len), 0);
    if (out && len == sizeof pid)
        memcpy(&pid, out, sizeof pid);
    mproc_free(out);
    return pid;
}

static void test_max_worker_rss(void)
{
    fixture f;
    if (setup(&f, 1, 1, LIMIT))
        goto out;
    /* submitted together, so that the one worker gets them in one batch:
     * the ones after a hog go back to the queue for its replacement */
    enum { N = 6 };
    int hogs[N] = {0, 1, 0, 0, 1, 0};
    mproc_async *rs[N] = {NULL};
    for (int i = 0; i < N; i++) {
        mproc_args *a = mproc_args_new();
        mproc_args_add_int(a, (int64_t)(2 * LIMIT));
        int err = 0;
        rs[i] = mproc_pool_apply_async(f.pool, hogs[i] ? hog : my_pid, a, NULL, &err);
        mproc_args_free(a);
        CHECK_RC(err, 0);
    }
    int64_t pids[N];
    for (int i = 0; i < N; i++)
        pids[i] = rs[i] ? pid_of(rs[i]) : -1; /* every task done, none lost */
    for (int i = 0; i < N; i++)
        CU_ASSERT_TRUE(pids[i] > 0);
    CU_ASSERT_EQUAL(pids[0], pids[1]); /* small, then the hog: one worker */
    CU_ASSERT_NOT_EQUAL(pids[1], pids[2]); /* replaced after the hog */
    CU_ASSERT_EQUAL(pids[2], pids[3]);
    CU_ASSERT_EQUAL(pids[3], pids[4]);
    CU_ASSERT_NOT_EQUAL(pids[4], pids[5]);
    CU_ASSERT_NOT_EQUAL(pids[1], pids[5]);
    for (int i = 0; i < N; i++)
        mproc_async_free(rs[i]);
out:
    teardown(&f);
}

/* --------------------------------------------------------- bad input */

static void test_bad_input(void)
{
    CHECK_RC(mproc_async_cancel(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_async_cancelled(NULL), MPROC_EINVAL);
    int x = 0;
    void *objs[1] = {&x};
    CHECK_RC(mproc_wait(objs, 1, 0, NULL), MPROC_EINVAL);
    objs[0] = NULL;
    CHECK_RC(mproc_wait(objs, 1, 0, NULL), MPROC_EINVAL);
    /* an options struct of the layout before max_worker_rss still works */
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.size = offsetof(mproc_pool_opts, max_worker_rss);
    o.processes = 1;
    int err = -1;
    mproc_pool *p = mproc_pool_new(&o, &err);
    CHECK_RC(err, 0);
    if (p) {
        CHECK_RC(mproc_pool_close(p), 0);
        CHECK_RC(mproc_pool_join(p, 60), 0);
        mproc_pool_free(p);
    }
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"wait on results, a queue and a sentinel", test_wait_mixed},
        {"wait for the first of 1000 results, as_completed", test_wait_first_of_many},
        {"wait on an imap iterator", test_wait_imap},
        {"cancel before start, while running, after", test_cancel_before_start},
        {"cancel racing with workers", test_cancel_race},
        {"max_worker_rss replaces a grown worker", test_max_worker_rss},
        {"bad input", test_bad_input},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "pool_futures", tests);
}
