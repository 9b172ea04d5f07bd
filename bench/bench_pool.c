/* SPDX-License-Identifier: MIT */
/* bench_pool.c - Pool rows of mproc-bench: map of 1M tiny items, CPU-bound
 * items on 2 workers, apply_async throughput. Each is a median of
 * `repeats` runs, in microseconds per item. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench_pool.h"
#include "raw.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

int bench_square(const void *in, void *out, void *state)
{
    (void)state;
    int64_t x;
    memcpy(&x, in, sizeof x);
    x *= x;
    memcpy(out, &x, sizeof x);
    return 0;
}

/* About 20 us of arithmetic (calibrated once). */
static volatile uint64_t spin_per_item = 1;
static uint64_t spin(uint64_t n, uint64_t seed)
{
    uint64_t h = seed | 1;
    for (uint64_t i = 0; i < n; i++)
        h = h * 6364136223846793005ull + 1442695040888963407ull;
    return h;
}

static int busy(const void *in, void *out, void *state)
{
    (void)state;
    uint64_t x;
    memcpy(&x, in, sizeof x);
    x = spin(spin_per_item, x);
    memcpy(out, &x, sizeof x);
    return 0;
}

int bench_trivial(const mproc_args *a, mproc_result *r, void *state)
{
    (void)a;
    (void)r;
    (void)state;
    return 0;
}

static volatile uint64_t sink;

static void calibrate(double item_us)
{
    uint64_t n = 1000;
    for (;;) {
        double t0 = bench_now();
        sink = spin(n, 1);
        double dt = (bench_now() - t0) * 1e6;
        if (dt > 2000) {
            spin_per_item = (uint64_t)((double)n * item_us / dt);
            return;
        }
        n *= 2;
    }
}

static mproc_pool *pool2(void)
{
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 2;
    return mproc_pool_new(&o, NULL);
}

/* map of fn over n int64 records on 2 workers and in a serial loop: medians
 * per item. */
static void run_map(mproc_map_fn fn, size_t n, int repeats, double *mproc_us, double *serial_us)
{
    int64_t *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        in[i] = (int64_t)i;
    mproc_pool *p = pool2();
    double sm[32], ss[32];
    mproc_pool_map(p, fn, in, n / 10 + 1, sizeof *in, out, sizeof *out, 0); /* warm-up */
    for (int r = 0; r < repeats; r++) {
        double t0 = bench_now();
        if (mproc_pool_map(p, fn, in, n, sizeof *in, out, sizeof *out, 0) != 0)
            abort();
        sm[r] = (bench_now() - t0) / (double)n * 1e6;
        t0 = bench_now();
        for (size_t i = 0; i < n; i++)
            fn(&in[i], &out[i], NULL);
        ss[r] = (bench_now() - t0) / (double)n * 1e6;
    }
    mproc_pool_close(p);
    mproc_pool_join(p, -1);
    mproc_pool_free(p);
    free(in);
    free(out);
    *mproc_us = bench_median(sm, repeats);
    *serial_us = bench_median(ss, repeats);
}

void bench_pool_map(size_t n, int repeats, double *mproc_us, double *serial_us)
{
    run_map(bench_square, n, repeats, mproc_us, serial_us);
}

void bench_pool_cpu(size_t n, double item_us, int repeats, double *mproc_us, double *serial_us)
{
    calibrate(item_us);
    run_map(busy, n, repeats, mproc_us, serial_us);
}

double bench_pool_apply(size_t n, int repeats)
{
    mproc_pool *p = pool2();
    mproc_async **rs = malloc(n * sizeof *rs);
    double s[32];
    for (int r = -1; r < repeats; r++) { /* r = -1: warm-up */
        double t0 = bench_now();
        for (size_t i = 0; i < n; i++)
            rs[i] = mproc_pool_apply_async(p, bench_trivial, NULL, NULL, NULL);
        for (size_t i = 0; i < n; i++) {
            if (!rs[i] || mproc_async_get(rs[i], -1, NULL, NULL) != 0)
                abort();
            mproc_async_free(rs[i]);
        }
        if (r >= 0)
            s[r] = (bench_now() - t0) / (double)n * 1e6;
    }
    mproc_pool_close(p);
    mproc_pool_join(p, -1);
    mproc_pool_free(p);
    free(rs);
    return bench_median(s, repeats);
}
