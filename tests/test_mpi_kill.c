/* SPDX-License-Identifier: MIT */
/* test_mpi_kill.c - one run of the rank-death test (tests/mpi_kill.sh runs
 * it 20 times, each a fresh job of 5 ranks): rank 0 maps over many items
 * on 4 worker ranks while the rank that runs item KILL_AT (argv[1]) kills
 * itself with SIGKILL. It prints "survives N" first (the query), then, if
 * the job goes on, what the map returned, and checks that a second map on
 * the same pool succeeds on the 3 ranks left (mproc_pool_processes says 3)
 * and that apply_async tasks on the others succeed. The script checks that
 * every run ends: with survives 0 the engine may end the whole job (as it
 * says), with survives 1 this program must end with status 0. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "mproc.h"

static int64_t kill_at;

static int square_or_die(const void *in, void *out, void *state)
{
    (void)state;
    int64_t x = *(const int64_t *)in;
    if (x == kill_at) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        fprintf(stderr, "killed at %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
        kill(getpid(), SIGKILL);
    }
    *(int64_t *)out = x * x;
    return 0;
}

static int mul(const mproc_args *a, mproc_result *r, void *state)
{
    (void)state;
    int64_t v = mproc_args_int(a, 0) * mproc_args_int(a, 1);
    return mproc_result_set(r, &v, sizeof v);
}

int main(int argc, char **argv)
{
    if (mproc_init(&argc, &argv) < 0)
        return 1;
    if (argc < 2)
        return 2;
    kill_at = atoll(argv[1]); /* every rank gets it from its own argv */
    if (mproc_mpi_init(&argc, &argv) < 0 || mproc_mpi_workers() != 4) {
        fprintf(stderr, "test_mpi_kill: run it as `mpiexec -n 5 %s KILL_AT`\n", argv[0]);
        return 1;
    }
    int survives = mproc_mpi_survives_rank_death();
    printf("survives %d\n", survives);
    fflush(stdout);
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.start_method = "mpi";
    o.processes = 4;
    int err = 0;
    mproc_pool *p = mproc_pool_new(&o, &err);
    if (!p)
        return 1;
    enum { N = 20000 };
    static int64_t in[N], out[N];
    for (int i = 0; i < N; i++)
        in[i] = i;
    int rc = mproc_pool_map(p, square_or_die, in, N, sizeof *in, out, sizeof *out, 50);
    printf("map %s\n", rc ? mproc_err_name(rc) : "ok");
    int bad = rc != 0 && rc != MPROC_EWORKERLOST;
    kill_at = -1; /* only rank 0 changes: the ranks still have theirs */
    for (int i = 0; i < N; i++)
        in[i] = N + i; /* never KILL_AT */
    rc = mproc_pool_map(p, square_or_die, in, N, sizeof *in, out, sizeof *out, 50);
    for (int i = 0; i < N && rc == 0; i++)
        bad |= out[i] != in[i] * in[i];
    bad |= rc != 0;
    int procs = mproc_pool_processes(p);
    printf("second map %s, processes %d\n", rc ? mproc_err_name(rc) : "ok", procs);
    bad |= survives && procs != 3; /* the killed rank is no longer counted */
    mproc_args *a = mproc_args_new();
    mproc_args_add_int(a, 6);
    mproc_args_add_int(a, 7);
    for (int i = 0; i < 16; i++) {
        void *res = NULL;
        size_t len = 0;
        mproc_async *r = mproc_pool_apply_async(p, mul, a, NULL, &err);
        rc = r ? mproc_async_get(r, 60, &res, &len) : err;
        bad |= rc != 0 || len != 8 || *(int64_t *)res != 42;
        mproc_free(res);
        mproc_async_free(r);
    }
    mproc_args_free(a);
    bad |= mproc_pool_close(p) != 0 || mproc_pool_join(p, 60) != 0;
    mproc_pool_free(p);
    printf("%s\n", bad ? "FAILED" : "ok");
    return bad;
}
