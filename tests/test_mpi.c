/* SPDX-License-Identifier: MIT */
/* test_mpi.c - the Pool with start_method "mpi": its workers are the other
 * ranks of the MPI job. Run as `mpirun -np 3 test_mpi` (ctest label mpi):
 * rank 0 runs the suite, ranks 1 and 2 serve it from mproc_mpi_init. Run
 * any other way, it fails: the suite needs worker ranks. */
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "testutil.h"

static mproc_pool *mpi_pool(int n, unsigned maxtasks, mproc_pool_init_fn init, const mproc_args *initargs)
{
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = n;
    o.maxtasksperchild = maxtasks;
    o.initializer = init;
    o.initargs = initargs;
    o.start_method = "mpi";
    int err = -1;
    mproc_pool *p = mproc_pool_new(&o, &err);
    if (!p)
        fprintf(stderr, "\n  mproc_pool_new(mpi): %s\n", mproc_err_name(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(err, 0);
    return p;
}

static void finish(mproc_pool *p)
{
    CHECK_RC(mproc_pool_close(p), 0);
    CHECK_RC(mproc_pool_join(p, 60), 0);
    mproc_pool_free(p);
}

/* ------------------------------------------------------------ functions */

static int square(const void *in, void *out, void *state)
{
    (void)state;
    int64_t x = *(const int64_t *)in;
    *(int64_t *)out = x * x;
    return 0;
}

static int fail_on_13(const void *in, void *out, void *state)
{
    (void)state;
    int64_t x = *(const int64_t *)in;
    if (x == 13)
        return 7;
    *(int64_t *)out = x + 1;
    return 0;
}

/* args: a, b -> result: a * b as int64, and the rank's pid after it */
static int mul(const mproc_args *a, mproc_result *r, void *state)
{
    int64_t v[2] = {mproc_args_int(a, 0) * mproc_args_int(a, 1), (int64_t)getpid()};
    if (state)
        v[0] += *(int64_t *)state;
    return mproc_result_set(r, v, sizeof v);
}

static int64_t offset_state;
static int init_offset(const mproc_args *initargs, void **state)
{
    offset_state = mproc_args_int(initargs, 0);
    *state = &offset_state;
    return 0;
}

static int stop_self(const mproc_args *a, mproc_result *r, void *state)
{
    (void)a, (void)r, (void)state;
    kill(getpid(), SIGSTOP); /* the whole rank stops: no heartbeat any more */
    return 0;
}

/* ---------------------------------------------------------------- tests */

/* Neither engine this suite runs under (Open MPI 4, Debian 12's MPICH
 * 4.0.2) keeps a job alive when a rank dies: the query says so. */
static void test_survives_rank_death(void)
{
    CU_ASSERT_EQUAL(mproc_mpi_survives_rank_death(), 0);
}

static void test_workers(void)
{
    CU_ASSERT_EQUAL(mproc_mpi_workers(), 2);
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.start_method = "mpi";
    o.processes = 3; /* more than there are ranks */
    int err = 0;
    CU_ASSERT_PTR_NULL(mproc_pool_new(&o, &err));
    CHECK_RC(err, MPROC_EINVAL);
    mproc_pool *p = mpi_pool(MPROC_POOL_CPUS, 0, NULL, NULL);
    CU_ASSERT_EQUAL(mproc_pool_processes(p), 2);
    o.processes = 1; /* the ranks serve one pool at a time */
    CU_ASSERT_PTR_NULL(mproc_pool_new(&o, &err));
    CHECK_RC(err, MPROC_ESTATE);
    finish(p);
}

static void test_map(void)
{
    mproc_pool *p = mpi_pool(2, 0, NULL, NULL);
    enum { N = 10000 };
    static int64_t in[N], out[N];
    for (int i = 0; i < N; i++)
        in[i] = i - 500;
    CHECK_RC(mproc_pool_map(p, square, in, N, sizeof *in, out, sizeof *out, 0), 0);
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad += out[i] != in[i] * in[i];
    CU_ASSERT_EQUAL(bad, 0);
    /* a second map reuses the segment; chunks of 7 */
    for (int i = 0; i < N; i++)
        in[i] = 3 * i;
    CHECK_RC(mproc_pool_map(p, square, in, N, sizeof *in, out, sizeof *out, 7), 0);
    bad = 0;
    for (int i = 0; i < N; i++)
        bad += out[i] != 9 * (int64_t)i * i;
    CU_ASSERT_EQUAL(bad, 0);
    /* a failed item is named */
    int64_t small[40], res[40];
    for (int i = 0; i < 40; i++)
        small[i] = i;
    CHECK_RC(mproc_pool_map(p, fail_on_13, small, 40, sizeof *small, res, sizeof *res, 4), MPROC_ETASK);
    size_t index = 0;
    int code = 0;
    CHECK_RC(mproc_pool_failure(&index, &code), 0);
    CU_ASSERT_EQUAL(index, 13);
    CU_ASSERT_EQUAL(code, 7);
    finish(p);
}

static int cb_count, errcb_count;
static void on_done(mproc_async *r, void *ctx)
{
    (void)r, (void)ctx;
    cb_count++; /* the pool's result thread, one at a time */
}
static void on_error(mproc_async *r, int err, void *ctx)
{
    (void)r, (void)ctx;
    if (err == MPROC_ETASK)
        errcb_count++;
}

static int maybe_fail(const mproc_args *a, mproc_result *r, void *state)
{
    (void)state, (void)r;
    return mproc_args_int(a, 0) < 0 ? 3 : mul(a, r, NULL);
}

static void test_apply_async(void)
{
    mproc_pool *p = mpi_pool(2, 0, NULL, NULL);
    enum { N = 200 };
    mproc_async *rs[N];
    mproc_async_opts cb = MPROC_ASYNC_OPTS_INIT;
    cb.callback = on_done;
    cb.error_callback = on_error;
    cb_count = errcb_count = 0;
    for (int i = 0; i < N; i++) {
        mproc_args *a = mproc_args_new();
        mproc_args_add_int(a, i % 10 == 9 ? -1 : i);
        mproc_args_add_int(a, 3);
        int err = -1;
        rs[i] = mproc_pool_apply_async(p, maybe_fail, a, &cb, &err);
        CU_ASSERT_PTR_NOT_NULL(rs[i]);
        mproc_args_free(a);
    }
    int ok = 0, failed = 0;
    int64_t pids[2] = {0, 0};
    for (int i = 0; i < N; i++) {
        void *out = NULL;
        size_t len = 0;
        int rc = mproc_async_get(rs[i], 60, &out, &len);
        if (i % 10 == 9) {
            failed += rc == MPROC_ETASK;
        } else if (rc == 0 && len == 2 * sizeof(int64_t)) {
            int64_t v[2];
            memcpy(v, out, sizeof v);
            ok += v[0] == 3 * i;
            if (!pids[0] || pids[0] == v[1])
                pids[0] = v[1];
            else
                pids[1] = v[1];
        }
        mproc_free(out);
        mproc_async_free(rs[i]);
    }
    CU_ASSERT_EQUAL(ok, N - N / 10);
    CU_ASSERT_EQUAL(failed, N / 10);
    CU_ASSERT_EQUAL(cb_count, N - N / 10);
    CU_ASSERT_EQUAL(errcb_count, N / 10);
    /* the tasks ran in other processes: the ranks */
    CU_ASSERT(pids[0] != 0 && pids[0] != (int64_t)getpid());
    /* synchronous apply */
    mproc_args *a = mproc_args_new();
    mproc_args_add_int(a, 6);
    mproc_args_add_int(a, 7);
    void *out = NULL;
    size_t len = 0;
    CHECK_RC(mproc_pool_apply(p, mul, a, &out, &len), 0);
    CU_ASSERT(len == 16 && out && *(int64_t *)out == 42);
    mproc_free(out);
    mproc_args_free(a);
    finish(p);
}

typedef struct counter {
    int64_t next, end;
} counter;
static int next_item(void *ctx, void *item)
{
    counter *c = ctx;
    if (c->next >= c->end)
        return 0;
    *(int64_t *)item = c->next++;
    return 1;
}

static void test_imap(void)
{
    mproc_pool *p = mpi_pool(2, 0, NULL, NULL);
    for (int ordered = 1; ordered >= 0; ordered--) {
        counter c = {0, 1000};
        int err = -1;
        mproc_imap *it = ordered ? mproc_pool_imap(p, square, next_item, &c, 8, 8, 16, &err)
                                 : mproc_pool_imap_unordered(p, square, next_item, &c, 8, 8, 16, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(it);
        int64_t sum = 0, out;
        size_t index, n = 0, in_order = 0;
        int rc;
        while ((rc = mproc_imap_next(it, &out, &index, 60)) == 0) {
            in_order += index == n;
            sum += out - (int64_t)index * (int64_t)index; /* 0 when right */
            n++;
        }
        CHECK_RC(rc, MPROC_EOS);
        CU_ASSERT_EQUAL(n, 1000);
        CU_ASSERT_EQUAL(sum, 0);
        if (ordered)
            CU_ASSERT_EQUAL(in_order, 1000);
        mproc_imap_free(it);
    }
    finish(p);
}

static void test_initializer_and_maxtasks(void)
{
    mproc_args *ia = mproc_args_new();
    mproc_args_add_int(ia, 1000);
    /* every rank's session ends after 3 tasks and a new one starts (the
     * initializer runs again) */
    mproc_pool *p = mpi_pool(2, 3, init_offset, ia);
    mproc_args_free(ia);
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        mproc_args *a = mproc_args_new();
        mproc_args_add_int(a, i);
        mproc_args_add_int(a, 2);
        void *out = NULL;
        size_t len = 0;
        int rc = mproc_pool_apply(p, mul, a, &out, &len);
        ok += rc == 0 && len == 16 && *(int64_t *)out == 1000 + 2 * i;
        mproc_free(out);
        mproc_args_free(a);
    }
    CU_ASSERT_EQUAL(ok, 20);
    finish(p);
}

static void test_terminate(void)
{
    mproc_pool *p = mpi_pool(2, 0, NULL, NULL);
    enum { N = 2000 };
    static int64_t in[N], out[N];
    int err = -1;
    mproc_async *r = mproc_pool_map_async(p, square, in, N, sizeof *in, out, sizeof *out, 1, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CHECK_RC(mproc_pool_terminate(p), 0);
    int rc = mproc_async_wait(r, 10);
    CU_ASSERT_EQUAL(rc, 0); /* ready: ended, whichever way */
    rc = mproc_async_get(r, 0, NULL, NULL);
    CU_ASSERT(rc == 0 || rc == MPROC_ECLOSED);
    mproc_async_free(r);
    CHECK_RC(mproc_pool_join(p, 10), 0);
    mproc_pool_free(p);
    /* the ranks serve the next pool */
    p = mpi_pool(2, 0, NULL, NULL);
    int64_t x = 12, y = 0;
    CHECK_RC(mproc_pool_map(p, square, &x, 1, 8, &y, 8, 0), 0);
    CU_ASSERT_EQUAL(y, 144);
    finish(p);
}

/* The pids of both ranks (every rank here runs on this host). */
static int rank_pids(mproc_pool *p, pid_t pids[2])
{
    pids[0] = pids[1] = 0;
    mproc_args *a = mproc_args_new();
    mproc_args_add_int(a, 1);
    mproc_args_add_int(a, 1);
    enum { N = 64 };
    mproc_async *rs[N];
    for (int i = 0; i < N; i++)
        rs[i] = mproc_pool_apply_async(p, mul, a, NULL, NULL);
    for (int i = 0; i < N; i++) {
        void *out = NULL;
        size_t len = 0;
        if (rs[i] && mproc_async_get(rs[i], 60, &out, &len) == 0 && len == 16) {
            pid_t pid = (pid_t)((int64_t *)out)[1];
            if (!pids[0] || pids[0] == pid)
                pids[0] = pid;
            else
                pids[1] = pid;
        }
        mproc_free(out);
        mproc_async_free(rs[i]);
    }
    mproc_args_free(a);
    return pids[0] && pids[1] ? 0 : -1;
}

/* mproc_pool_processes once it says want (the pool's result thread
 * notices a lost rank a moment after its task failed), or after 10 s. */
static int processes_soon(mproc_pool *p, int want)
{
    int n = mproc_pool_processes(p);
    for (int i = 0; i < 200 && n != want; i++) {
        test_sleep(0.05);
        n = mproc_pool_processes(p);
    }
    return n;
}

/* A rank that stops answering (here: stopped with SIGSTOP) is lost after
 * MPROC_MPI_TIMEOUT (2 s in this test): its task fails with
 * MPROC_ETIMEDOUT instead of hanging, after about that long, and the other
 * rank goes on. When the last rank is lost too, tasks fail (MPROC_EBROKEN)
 * instead of waiting for a rank that will never come. */
static void test_lost_rank(void)
{
    mproc_pool *p = mpi_pool(2, 0, NULL, NULL);
    pid_t pids[2];
    CU_ASSERT_EQUAL_FATAL(rank_pids(p, pids), 0);
    mproc_args *a = mproc_args_new();
    mproc_args_add_int(a, 2);
    mproc_args_add_int(a, 3);
    int err = -1;
    mproc_async *stuck = mproc_pool_apply_async(p, stop_self, a, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(stuck);
    double t0 = test_now();
    CHECK_RC(mproc_async_get(stuck, 60, NULL, NULL), MPROC_ETIMEDOUT);
    double waited = test_now() - t0;
    CU_ASSERT(waited > 1.5 && waited < 10);
    mproc_async_free(stuck);
    CU_ASSERT_EQUAL(processes_soon(p, 1), 1); /* the pool gave up on the lost rank */
    /* the other rank still works; the lost one is not used again */
    for (int i = 0; i < 4; i++) {
        void *out = NULL;
        size_t len = 0;
        CHECK_RC(mproc_pool_apply(p, mul, a, &out, &len), 0);
        CU_ASSERT(len == 16 && *(int64_t *)out == 6);
        mproc_free(out);
    }
    /* The last rank stops too: its task times out, and then a task that
     * has no rank left fails at once (the pool is broken), never hangs. */
    stuck = mproc_pool_apply_async(p, stop_self, a, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(stuck);
    CHECK_RC(mproc_async_get(stuck, 60, NULL, NULL), MPROC_ETIMEDOUT);
    mproc_async_free(stuck);
    mproc_async *late = mproc_pool_apply_async(p, mul, a, NULL, &err);
    if (late) {
        CHECK_RC(mproc_async_wait(late, 30), 0); /* ready: not left waiting */
        int rc = mproc_async_get(late, 0, NULL, NULL);
        CHECK_RC(rc, MPROC_EBROKEN);
        mproc_async_free(late);
    } else {
        CHECK_RC(err, MPROC_EBROKEN);
    }
    CU_ASSERT_EQUAL(processes_soon(p, 0), 0);
    mproc_args_free(a);
    finish(p);
    /* Let the stopped ranks go on, so that they exit with the job. */
    kill(pids[0], SIGCONT);
    kill(pids[1], SIGCONT);
}

int main(int argc, char **argv)
{
    if (mproc_init(&argc, &argv) < 0)
        return 1;
    setenv("MPROC_MPI_TIMEOUT", "2", 1); /* test_lost_rank: 2 s of silence and a rank is lost */
    int rc = mproc_mpi_init(&argc, &argv); /* ranks > 0 serve pools here and exit */
    if (rc < 0) {
        fprintf(stderr, "test_mpi: mproc_mpi_init: %s\n", mproc_err_name(rc));
        return 1;
    }
    if (mproc_mpi_workers() < 2) {
        fprintf(stderr, "test_mpi: needs 2 worker ranks: run it as `mpirun -np 3 %s` (workers: %d)\n", argv[0],
                mproc_mpi_workers());
        return 1;
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("mpi_pool", NULL, NULL);
    CU_add_test(s, "survives_rank_death", test_survives_rank_death);
    CU_add_test(s, "workers", test_workers);
    CU_add_test(s, "map", test_map);
    CU_add_test(s, "apply_async", test_apply_async);
    CU_add_test(s, "imap", test_imap);
    CU_add_test(s, "initializer_and_maxtasks", test_initializer_and_maxtasks);
    CU_add_test(s, "terminate", test_terminate);
    CU_add_test(s, "lost_rank", test_lost_rank);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    CU_cleanup_registry();
    rc = mproc_mpi_finalize();
    if (rc)
        fprintf(stderr, "mproc_mpi_finalize: %s\n", mproc_err_name(rc));
    return failed || rc ? 1 : 0;
}
