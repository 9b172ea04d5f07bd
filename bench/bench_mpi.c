/* SPDX-License-Identifier: MIT */
/* bench_mpi.c - mproc-bench-mpi: the "mpi" pool beside the local pool, in
 * one run, with the same number of workers: map throughput (1M int64 x*x)
 * and apply_async latency (one trivial task at a time, submit to get).
 * Run it as `mpirun -np 3 mproc-bench-mpi` (2 worker ranks; the local pool
 * then gets 2 worker processes). Medians of 5 runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_pool.h"
#include "raw.h"

enum { N = 1000000, REPEATS = 5, LAT = 300 };

/* ns per item of a 1M-item map; us per apply_async round trip */
static int measure(const char *method, int workers, double *map_ns, double *lat_us)
{
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = workers;
    o.start_method = method;
    int err = 0;
    mproc_pool *p = mproc_pool_new(&o, &err);
    if (!p) {
        fprintf(stderr, "pool %s: %s\n", method ? method : "default", mproc_err_name(err));
        return err;
    }
    int64_t *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    for (int i = 0; i < N; i++)
        in[i] = i;
    double t[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        double t0 = bench_now();
        if ((err = mproc_pool_map(p, bench_square, in, N, 8, out, 8, 0)) != 0)
            break;
        t[r] = (bench_now() - t0) / N * 1e9;
    }
    if (!err && out[N - 1] != (int64_t)(N - 1) * (N - 1))
        err = MPROC_EINVAL;
    *map_ns = bench_median(t, REPEATS);
    mproc_args *a = mproc_args_new();
    mproc_args_add_int(a, 5);
    double *l = malloc(LAT * sizeof *l);
    for (int i = 0; i < LAT && !err; i++) {
        double t0 = bench_now();
        mproc_async *r = mproc_pool_apply_async(p, bench_trivial, a, NULL, &err);
        if (!r)
            break;
        err = mproc_async_get(r, 60, NULL, NULL);
        mproc_async_free(r);
        l[i] = (bench_now() - t0) * 1e6;
    }
    *lat_us = bench_median(l, LAT);
    mproc_args_free(a);
    free(l);
    free(in);
    free(out);
    mproc_pool_close(p);
    mproc_pool_join(p, -1);
    mproc_pool_free(p);
    return err;
}

int main(int argc, char **argv)
{
    if (mproc_init(&argc, &argv) < 0 || mproc_mpi_init(&argc, &argv) < 0)
        return 1;
    int w = mproc_mpi_workers();
    if (w < 1) {
        fprintf(stderr, "run it under mpirun with at least 2 ranks: mpirun -np 3 %s\n", argv[0]);
        return 1;
    }
    double lm, ll, mm, ml;
    if (measure(NULL, w, &lm, &ll) || measure("mpi", w, &mm, &ml))
        return 1;
    printf("Pool with %d workers: local (%s) vs MPI ranks (one host, mpirun --oversubscribe)\n", w,
           mproc_get_start_method());
    printf("%-34s %12s %12s %8s\n", "operation", "local", "mpi", "mpi/local");
    printf("%-34s %9.1f ns %9.1f ns %8.2f\n", "map 1M int64 x*x, per item", lm, mm, mm / lm);
    printf("%-34s %9.1f us %9.1f us %8.2f\n", "apply_async round trip (median)", ll, ml, ml / ll);
    return mproc_mpi_finalize() ? 1 : 0;
}
