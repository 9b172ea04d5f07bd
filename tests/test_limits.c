/* SPDX-License-Identifier: MIT */
/* test_limits.c - extreme inputs, once per start method: timeouts of
 * INFINITY, 1e19 and 1e300 (forever), NaN (MPROC_EINVAL) at every call
 * that takes a timeout, chunk sizes near SIZE_MAX, and a Condition whose
 * waiter was killed inside wait(). */
#include <math.h>
#include <stdint.h>

#include "testutil.h"

static const double huge[] = {INFINITY, 1e19, 1e300};
#define NHUGE (sizeof huge / sizeof huge[0])

static mproc_args *args1(void *obj)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, obj);
    return a;
}

/* ------------------------------------------------------ huge timeouts */

/* args: lock. Holds it a moment, then lets go. */
static int t_hold_lock(const mproc_args *a)
{
    mproc_lock *l = mproc_args_obj(a, 0);
    if (mproc_lock_acquire(l, 30) != 0)
        return 1;
    test_sleep(0.2);
    return mproc_lock_release(l) == 0 ? 0 : 2;
}

/* args: sem, event, queue, conn. Releases, sets, puts and sends after a
 * moment, so that every huge wait must really wait, then end. */
static int t_release_later(const mproc_args *a)
{
    test_sleep(0.2);
    if (mproc_sem_release(mproc_args_obj(a, 0)) != 0)
        return 1;
    if (mproc_event_set(mproc_args_obj(a, 1)) != 0)
        return 2;
    if (mproc_queue_put(mproc_args_obj(a, 2), "x", 1, 30) != 0)
        return 3;
    if (mproc_conn_send_bytes(mproc_args_obj(a, 3), "y", 1) != 0)
        return 4;
    return 0;
}

static void test_huge_timeouts_wait_forever(void)
{
    for (size_t i = 0; i < NHUGE; i++) {
        double t = huge[i];
        mproc_lock *l = mproc_lock_new(NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(l);
        mproc_args *a = args1(l);
        mproc_process *p = test_start(t_hold_lock, a, NULL);
        mproc_args_free(a);
        test_sleep(0.05); /* usually held by now; either way acquire must end in 0 */
        CHECK_RC(mproc_lock_acquire(l, t), 0);
        CHECK_RC(mproc_lock_release(l), 0);
        CHECK_RC(mproc_process_join(p, t), 0);
        CU_ASSERT_EQUAL(test_finish(p), 0);
        mproc_lock_free(l);

        mproc_sem *s = mproc_sem_new(0, 0, NULL);
        mproc_event *e = mproc_event_new(NULL);
        mproc_queue *q = mproc_queue_new(0, NULL);
        mproc_conn *r = NULL, *w = NULL;
        CHECK_RC(mproc_pipe(0, &r, &w), 0);
        CU_ASSERT_FATAL(s && e && q && r && w);
        a = args1(s);
        mproc_args_add_obj(a, e);
        mproc_args_add_obj(a, q);
        mproc_args_add_obj(a, w);
        p = test_start(t_release_later, a, NULL);
        mproc_args_free(a);
        CHECK_RC(mproc_sem_acquire(s, t), 0);
        CHECK_RC(mproc_event_wait(e, t), 0);
        void *buf = NULL;
        size_t len = 0;
        CHECK_RC(mproc_queue_get(q, &buf, &len, t), 0);
        CU_ASSERT_EQUAL(len, 1);
        mproc_free(buf);
        CHECK_RC(mproc_conn_poll(r, t), 1);
        void *objs[1] = {r}, *ready[1] = {NULL};
        CHECK_RC(mproc_wait(objs, 1, t, ready), 1);
        CU_ASSERT_EQUAL(test_finish(p), 0);
        mproc_conn_free(r);
        mproc_conn_free(w);
        mproc_queue_free(q);
        mproc_event_free(e);
        mproc_sem_free(s);
    }
}

/* A huge timeout that cannot be met must not end early either: a blocked
 * acquire is still blocked a moment later (not MPROC_ESYS or a timeout at
 * once, as before), and a zero or tiny one still returns at once. */
static TEST_THREAD_FN(acquire_forever)
{
    mproc_sem *s = arg;
    mproc_sem_acquire(s, INFINITY);
    return 0;
}

static void test_huge_timeout_blocks(void)
{
    mproc_sem *s = mproc_sem_new(0, 0, NULL);
    mproc_sem *done = mproc_sem_new(0, 0, NULL);
    CU_ASSERT_FATAL(s && done);
    test_thread t;
    CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, acquire_forever, s), 0);
    test_sleep(0.3);
    CU_ASSERT_EQUAL(mproc_sem_get_value(s), 0);
    CHECK_RC(mproc_sem_release(s), 0); /* the thread takes it and ends */
    test_thread_join(&t);
    CU_ASSERT_EQUAL(mproc_sem_get_value(s), 0);
    CHECK_RC(mproc_sem_acquire(done, 0), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_sem_acquire(done, 1e-300), MPROC_ETIMEDOUT);
    mproc_sem_free(done);
    mproc_sem_free(s);
}

/* ------------------------------------------------------------- NaN */

static int nap_task(const mproc_args *a, mproc_result *out, void *state)
{
    (void)a;
    (void)state;
    return mproc_result_set(out, "r", 1);
}

static int square(const void *in, void *out, void *state)
{
    (void)state;
    *(int64_t *)out = *(const int64_t *)in * *(const int64_t *)in;
    return 0;
}

static int next_three(void *ctx, void *item)
{
    int64_t *n = ctx;
    if (*n >= 3)
        return 0;
    *(int64_t *)item = (*n)++;
    return 1;
}

static void test_nan_is_einval(void)
{
    const double nan_ = NAN;
    int err = 0;
    mproc_lock *l = mproc_lock_new(NULL);
    mproc_sem *s = mproc_sem_new(1, 0, NULL);
    mproc_cond *c = mproc_cond_new(NULL, NULL);
    mproc_event *e = mproc_event_new(NULL);
    mproc_barrier *b = mproc_barrier_new(1, NULL, NULL);
    mproc_queue *q = mproc_queue_new(0, NULL);
    mproc_queue *jq = mproc_joinablequeue_new(0, NULL);
    mproc_conn *r = NULL, *w = NULL;
    CHECK_RC(mproc_pipe(1, &r, &w), 0);
    CU_ASSERT_FATAL(l && s && c && e && b && q && jq && r && w);

    CHECK_RC(mproc_lock_acquire(l, nan_), MPROC_EINVAL);
    CHECK_RC(mproc_sem_acquire(s, nan_), MPROC_EINVAL);
    CU_ASSERT_EQUAL(mproc_sem_get_value(s), 1); /* nothing taken */
    CHECK_RC(mproc_cond_acquire(c, nan_), MPROC_EINVAL);
    CHECK_RC(mproc_cond_acquire(c, 5), 0);
    CHECK_RC(mproc_cond_wait(c, nan_), MPROC_EINVAL);
    CHECK_RC(mproc_cond_release(c), 0); /* still held after the refused wait */
    CHECK_RC(mproc_event_wait(e, nan_), MPROC_EINVAL);
    CHECK_RC(mproc_barrier_wait(b, nan_), MPROC_EINVAL);
    CHECK_RC(mproc_queue_put(q, "x", 1, nan_), MPROC_EINVAL);
    CU_ASSERT_EQUAL(mproc_queue_empty(q), 1);
    void *buf = NULL;
    size_t len = 0;
    CHECK_RC(mproc_queue_get(q, &buf, &len, nan_), MPROC_EINVAL);
    CHECK_RC(mproc_queue_join(jq, nan_), MPROC_EINVAL);
    CHECK_RC(mproc_conn_poll(r, nan_), MPROC_EINVAL);
    void *objs[1] = {r}, *ready[1] = {NULL};
    CHECK_RC(mproc_wait(objs, 1, nan_, ready), MPROC_EINVAL);
    mproc_barrier_opts bo = MPROC_BARRIER_OPTS_INIT;
    bo.timeout = nan_;
    CU_ASSERT_PTR_NULL(mproc_barrier_new(2, &bo, &err));
    CHECK_RC(err, MPROC_EINVAL);

    mproc_listener *li = mproc_listener_new("tcp://127.0.0.1:0", NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(li);
    CU_ASSERT_PTR_NULL(mproc_listener_accept(li, nan_, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_client_timeout(mproc_listener_address(li), NULL, 0, nan_, &err));
    CHECK_RC(err, MPROC_EINVAL);
    mproc_listener_close(li);

    mproc_pool_opts po = MPROC_POOL_OPTS_INIT;
    po.processes = 1;
    mproc_pool *pool = mproc_pool_new(&po, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
    mproc_async *ap = mproc_pool_apply_async(pool, nap_task, NULL, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ap);
    CHECK_RC(mproc_async_get(ap, nan_, NULL, NULL), MPROC_EINVAL);
    CHECK_RC(mproc_async_wait(ap, nan_), MPROC_EINVAL);
    CHECK_RC(mproc_async_get(ap, 30, NULL, NULL), 0);
    mproc_async_free(ap);
    int64_t ctx = 0, item = 0;
    mproc_imap *im = mproc_pool_imap(pool, square, next_three, &ctx, sizeof item, sizeof item, 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(im);
    CHECK_RC(mproc_imap_next(im, &item, NULL, nan_), MPROC_EINVAL);
    CHECK_RC(mproc_imap_next(im, &item, NULL, 30), 0);
    mproc_imap_free(im);
    CHECK_RC(mproc_pool_close(pool), 0);
    CHECK_RC(mproc_pool_join(pool, nan_), MPROC_EINVAL);
    CHECK_RC(mproc_pool_join(pool, 60), 0);
    mproc_pool_free(pool);

    mproc_conn_free(r);
    mproc_conn_free(w);
    mproc_queue_free(jq);
    mproc_queue_free(q);
    mproc_barrier_free(b);
    mproc_event_free(e);
    mproc_cond_free(c);
    mproc_sem_free(s);
    mproc_lock_free(l);
}

static int t_return_7(const mproc_args *a)
{
    (void)a;
    return 7;
}

static void test_nan_join(void)
{
    mproc_process *p = test_start(t_return_7, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_join(p, NAN), MPROC_EINVAL);
    CHECK_RC(mproc_process_join(p, INFINITY), 0);
    CU_ASSERT_EQUAL(test_finish(p), 7);
}

static void test_nan_manager(void)
{
    int err = 0;
    mproc_manager *m = mproc_manager_start(NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_NULL(mproc_manager_barrier(m, 2, NAN, &err));
    CHECK_RC(err, MPROC_EINVAL);
    mproc_lock *ml = mproc_manager_lock(m, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ml);
    CHECK_RC(mproc_lock_acquire(ml, NAN), MPROC_EINVAL);
    CHECK_RC(mproc_lock_acquire(ml, INFINITY), 0);
    CHECK_RC(mproc_lock_release(ml), 0);
    mproc_queue *mq = mproc_manager_queue(m, MPROC_QUEUE_PLAIN, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mq);
    CHECK_RC(mproc_queue_put(mq, "x", 1, NAN), MPROC_EINVAL);
    CHECK_RC(mproc_queue_put(mq, "x", 1, 1e300), 0);
    void *buf = NULL;
    size_t len = 0;
    CHECK_RC(mproc_queue_get(mq, &buf, &len, INFINITY), 0);
    mproc_free(buf);
    mproc_queue_free(mq);
    mproc_lock_free(ml);
    mproc_manager_free(m);
}

/* -------------------------------------------------------- chunk sizes */

static void test_chunksize_extremes(void)
{
    enum { N = 1000 };
    static int64_t in[N], out[N];
    for (int i = 0; i < N; i++)
        in[i] = i;
    mproc_pool_opts po = MPROC_POOL_OPTS_INIT;
    po.processes = 2;
    mproc_pool *pool = mproc_pool_new(&po, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
    const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2 + 1, (size_t)N + 1, N, N - 1, 1};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        memset(out, 0, sizeof out);
        CHECK_RC(mproc_pool_map(pool, square, in, N, sizeof *in, out, sizeof *out, sizes[k]), 0);
        int ok = 1;
        for (int i = 0; i < N; i++)
            ok &= out[i] == (int64_t)i * i;
        CU_ASSERT_TRUE(ok);
        int err = -1;
        mproc_async *a = mproc_pool_map_async(pool, square, in, N, sizeof *in, out, sizeof *out, sizes[k], NULL,
                                              &err);
        CU_ASSERT_PTR_NOT_NULL(a);
        if (a) {
            CHECK_RC(mproc_async_get(a, 60, NULL, NULL), 0);
            mproc_async_free(a);
        }
    }
    /* imap: a chunk as large as the input at most; absurd sizes are
     * refused, never wrapped. */
    int64_t ctx = 0, item = 0;
    int err = 0;
    mproc_imap *im = mproc_pool_imap(pool, square, next_three, &ctx, sizeof item, sizeof item, SIZE_MAX, &err);
    CU_ASSERT_PTR_NULL(im);
    CU_ASSERT_TRUE(err == MPROC_EINVAL || err == MPROC_ENOMEM);
    mproc_imap_free(im);
    mproc_pool_free(pool);
}

/* ------------------------------------------- condition, killed waiter */

/* args: cond, counter. Waits on the condition until killed. */
static int t_wait_forever(const mproc_args *a)
{
    mproc_cond *c = mproc_args_obj(a, 0);
    int *waiting = mproc_value_ptr(mproc_args_obj(a, 1));
    if (mproc_cond_acquire(c, 30) != 0)
        return 1;
    (*waiting)++;
    mproc_cond_wait(c, MPROC_FOREVER);
    mproc_cond_release(c);
    return 0;
}

/* args: cond, counter. Waits once, counts its wake-up. */
static int t_wait_once(const mproc_args *a)
{
    mproc_cond *c = mproc_args_obj(a, 0);
    int *count = mproc_value_ptr(mproc_args_obj(a, 1));
    if (mproc_cond_acquire(c, 30) != 0)
        return 1;
    (*count)++;
    int rc = mproc_cond_wait(c, 60);
    (*count) += 100;
    mproc_cond_release(c);
    return rc == 0 ? 0 : 2;
}

static int read_locked(mproc_cond *c, mproc_value *v)
{
    mproc_cond_acquire(c, MPROC_FOREVER);
    int n = *(int *)mproc_value_ptr(v);
    mproc_cond_release(c);
    return n;
}

static int wait_for_count(mproc_cond *c, mproc_value *v, int n)
{
    for (int i = 0; i < 600 && read_locked(c, v) < n; i++)
        test_sleep(0.05);
    return read_locked(c, v) >= n;
}

static void test_condition_killed_waiter(void)
{
    mproc_cond *c = mproc_cond_new(NULL, NULL);
    mproc_value *dead = mproc_value_new('i', NULL, 0, NULL);
    mproc_value *live = mproc_value_new('i', NULL, 0, NULL);
    CU_ASSERT_FATAL(c && dead && live);
    mproc_args *a = args1(c);
    mproc_args_add_obj(a, dead);
    mproc_process *victim = test_start(t_wait_forever, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_TRUE_FATAL(wait_for_count(c, dead, 1));
    /* It is inside wait() (the count is made under the lock, which wait
     * released); kill it there. */
    CHECK_RC(mproc_process_kill(victim), 0);
    CHECK_RC(mproc_process_join(victim, 30), 0);
    mproc_process_free(victim);

    /* notify finds no live sleeper: it must not hold the lock for the
     * old 10 s ack timeout. */
    CHECK_RC(mproc_cond_acquire(c, 5), 0);
    double t0 = test_now();
    CHECK_RC(mproc_cond_notify(c, 1), 0);
    double took = test_now() - t0;
    CHECK_RC(mproc_cond_release(c), 0);
    if (took >= 5)
        fprintf(stderr, "\n  notify with a dead sleeper took %.1f s\n", took);
    CU_ASSERT_TRUE(took < 5);

    /* The condition still works: a new waiter is woken by notify_all. */
    a = args1(c);
    mproc_args_add_obj(a, live);
    mproc_process *w = test_start(t_wait_once, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_TRUE_FATAL(wait_for_count(c, live, 1));
    CHECK_RC(mproc_cond_acquire(c, 5), 0);
    CHECK_RC(mproc_cond_notify_all(c), 0);
    CHECK_RC(mproc_cond_release(c), 0);
    CU_ASSERT_EQUAL(test_finish(w), 0);
    CU_ASSERT_EQUAL(read_locked(c, live), 101);
    mproc_value_free(live);
    mproc_value_free(dead);
    mproc_cond_free(c);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"INFINITY, 1e19, 1e300 wait forever", test_huge_timeouts_wait_forever},
        {"an INFINITY wait blocks until released", test_huge_timeout_blocks},
        {"NaN timeouts are MPROC_EINVAL", test_nan_is_einval},
        {"NaN and INFINITY process join", test_nan_join},
        {"NaN and INFINITY through a manager", test_nan_manager},
        {"chunk sizes up to SIZE_MAX", test_chunksize_extremes},
        {"condition notify after a waiter was killed in wait", test_condition_killed_waiter},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "limits", tests);
}
