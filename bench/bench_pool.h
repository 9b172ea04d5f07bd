/* SPDX-License-Identifier: MIT */
/* bench_pool.h - the Pool rows of mproc-bench (bench_pool.c). */
#ifndef MPROC_BENCH_POOL_H
#define MPROC_BENCH_POOL_H

#include <stddef.h>

#include "mproc.h"

/* map of n int64 x*x on 2 workers, per item; and a serial loop's */
void bench_pool_map(size_t n, int repeats, double *mproc_us, double *serial_us);
/* map of n items of about item_us of arithmetic on 2 workers, per item;
 * and the serial loop's */
void bench_pool_cpu(size_t n, double item_us, int repeats, double *mproc_us, double *serial_us);
/* n trivial apply_async submitted, then every result got: per task */
double bench_pool_apply(size_t n, int repeats);

/* shared with bench_mpi.c */
double bench_median(double *v, int n);   /* sorts v */
int bench_square(const void *in, void *out, void *state);                   /* int64 x*x */
int bench_trivial(const mproc_args *a, mproc_result *r, void *state);      /* does nothing */

#endif
