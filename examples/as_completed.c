/* SPDX-License-Identifier: MIT */
/* as_completed.c - concurrent.futures' as_completed() and wait(), on pool
 * results with mproc_wait, and Future.cancel() with mproc_async_cancel.
 *
 *   with ProcessPoolExecutor(2) as ex:
 *       fs = [ex.submit(job, i) for i in range(6)]
 *       for f in as_completed(fs): total += f.result()
 *       done, not_done = wait(fs, return_when=FIRST_COMPLETED)
 *       done, not_done = wait(fs, return_when=FIRST_EXCEPTION)
 *       done, not_done = wait(fs, return_when=ALL_COMPLETED)
 *       f.cancel()
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mproc.h>

#include "nap.h"

#define N 6

/* job(i): naps a little (later items are quicker), returns i * i; i == 99 fails */
static int job(const mproc_args *args, mproc_result *res, void *state)
{
    (void)state;
    int64_t i = mproc_args_int(args, 0);
    if (i == 99)
        return 1;
    nap(0.01 * (double)(N - i % N));
    int64_t sq = i * i;
    return mproc_result_set(res, &sq, sizeof sq);
}

static mproc_async *submit(mproc_pool *pool, int64_t i)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_int(a, i);
    mproc_async *f = mproc_pool_apply_async(pool, job, a, NULL, NULL);
    mproc_args_free(a);
    return f;
}

static int64_t result(mproc_async *f)
{
    void *out = NULL;
    size_t len = 0;
    int64_t v = -1;
    if (mproc_async_get(f, 0, &out, &len) == 0 && len == sizeof v)
        memcpy(&v, out, sizeof v);
    mproc_free(out);
    return v;
}

/* Removes the ready ones (ready[0..k), a subsequence of fs) from fs. */
static size_t drop_ready(void **fs, size_t n, void **ready, int k)
{
    size_t j = 0;
    for (size_t i = 0, r = 0; i < n; i++)
        if (r < (size_t)k && fs[i] == ready[r])
            r++;
        else
            fs[j++] = fs[i];
    return j;
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 2;
    mproc_pool *pool = mproc_pool_new(&o, NULL);
    if (!pool)
        return 1;
    mproc_async *all[N + 1];
    void *fs[N + 1], *ready[N + 1];
    for (int i = 0; i < N; i++)
        fs[i] = all[i] = submit(pool, i);

    /* as_completed(fs): each result as soon as it is ready */
    int64_t total = 0;
    size_t n = N, got = 0;
    while (n > 0) {
        int k = mproc_wait(fs, n, 30, ready);
        if (k <= 0)
            return 1;
        for (int r = 0; r < k; r++, got++)
            total += result(ready[r]);
        n = drop_ready(fs, n, ready, k);
    }
    printf("as_completed: %zu results, sum %" PRId64 "\n", got, total);

    /* wait(fs, FIRST_COMPLETED): returns once one is done */
    for (int i = 0; i < N; i++) {
        mproc_async_free(all[i]);
        fs[i] = all[i] = submit(pool, i);
    }
    int k = mproc_wait(fs, N, 30, ready);
    printf("FIRST_COMPLETED: %s\n", k >= 1 ? "at least one done" : "none");

    /* wait(fs, FIRST_EXCEPTION): until one failed or all are done */
    fs[N] = all[N] = submit(pool, 99);
    n = N + 1;
    int failed = 0;
    while (n > 0 && !failed) {
        k = mproc_wait(fs, n, 30, ready);
        for (int r = 0; r < k; r++)
            failed |= mproc_async_successful(ready[r]) == 0;
        n = k > 0 ? drop_ready(fs, n, ready, k) : 0;
    }
    printf("FIRST_EXCEPTION: a task failed: %s\n", failed ? "yes" : "no");

    /* wait(fs, ALL_COMPLETED): until none is left */
    n = N + 1;
    memcpy(fs, all, sizeof fs);
    while (n > 0 && (k = mproc_wait(fs, n, 30, ready)) > 0)
        n = drop_ready(fs, n, ready, k);
    printf("ALL_COMPLETED: %d of %d done\n", N + 1 - (int)n, N + 1);

    /* Future.cancel(): a task no worker has taken yet is cancelled */
    mproc_async *busy[4], *later = NULL;
    for (int i = 0; i < 4; i++)
        busy[i] = submit(pool, i);
    later = submit(pool, 5);
    int c = mproc_async_cancel(later); /* 1 unless a worker already took it */
    int rc = mproc_async_get(later, 30, NULL, NULL);
    printf("cancel: %s\n", c == 1 && rc == MPROC_ECANCELLED ? "cancelled before it started"
                            : c == 0 && rc == 0              ? "too late, it ran"
                                                             : "?");
    for (int i = 0; i < 4; i++)
        mproc_async_free(busy[i]);
    mproc_async_free(later);
    for (int i = 0; i <= N; i++)
        mproc_async_free(all[i]);
    mproc_pool_close(pool);
    mproc_pool_join(pool, 60);
    mproc_pool_free(pool);
    return 0;
}
