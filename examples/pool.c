/* SPDX-License-Identifier: MIT */
/* pool.c - the seed tutorials' Pool, in C.
 *
 *   def job(x):
 *       return x * x
 *
 *   pool = mp.Pool()
 *   res = pool.map(job, range(10)); print(res)
 *   res = pool.apply_async(job, (2,)); print(res.get())
 *   multi_res = [pool.apply_async(job, (i,)) for i in range(10)]
 *   print([res.get() for res in multi_res])
 *
 *   p = Pool(5)                                   # seed 004: callbacks
 *   for i in range(10):
 *       p.apply_async(func=add_by_input, args=(i,), callback=end_call)
 *   p.close(); p.join()
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mproc.h>

/* map's job: one int64 record in, one out */
static int job(const void *in, void *out, void *state)
{
    (void)state;
    int64_t x;
    memcpy(&x, in, sizeof x);
    x *= x;
    memcpy(out, &x, sizeof x);
    return 0;
}

/* apply's job: arguments in, result bytes out */
static int job_apply(const mproc_args *args, mproc_result *res, void *state)
{
    (void)state;
    int64_t x = mproc_args_int(args, 0);
    x *= x;
    return mproc_result_set(res, &x, sizeof x);
}

static int add_by_input(const mproc_args *args, mproc_result *res, void *state)
{
    (void)state;
    int64_t i = mproc_args_int(args, 0) + 100;
    return mproc_result_set(res, &i, sizeof i);
}

static int64_t total;

/* Runs in the pool's result thread of the parent, one result at a time. */
static void end_call(mproc_async *r, void *ctx)
{
    (void)ctx;
    void *out;
    size_t len;
    if (mproc_async_get(r, 0, &out, &len) == 0 && len == sizeof(int64_t)) {
        int64_t v;
        memcpy(&v, out, sizeof v);
        total += v;
        mproc_free(out);
    }
}

static int64_t get_int(mproc_async *r)
{
    void *out;
    size_t len;
    int64_t v = -1;
    if (mproc_async_get(r, MPROC_FOREVER, &out, &len) == 0 && len == sizeof v) {
        memcpy(&v, out, sizeof v);
        mproc_free(out);
    }
    return v;
}

static void print_list(const int64_t *v, int n)
{
    printf("[");
    for (int i = 0; i < n; i++)
        printf("%s%" PRId64, i ? ", " : "", v[i]);
    printf("]\n");
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int err;
    mproc_pool *pool = mproc_pool_new(NULL, &err);              /* mp.Pool() */
    if (!pool) {
        fprintf(stderr, "pool: %s\n", mproc_strerror(err));
        return 1;
    }
    int64_t in[10], res[10];
    for (int i = 0; i < 10; i++)
        in[i] = i;
    mproc_pool_map(pool, job, in, 10, sizeof in[0], res, sizeof res[0], 0);  /* pool.map(job, range(10)) */
    print_list(res, 10);

    mproc_args *a = mproc_args_new();
    mproc_args_add_int(a, 2);
    mproc_async *r = mproc_pool_apply_async(pool, job_apply, a, NULL, &err);  /* apply_async(job, (2,)) */
    mproc_args_free(a);
    printf("%" PRId64 "\n", get_int(r));                          /* res.get() */
    mproc_async_free(r);

    mproc_async *multi[10];
    for (int i = 0; i < 10; i++) {
        mproc_args *x = mproc_args_new();
        mproc_args_add_int(x, i);
        multi[i] = mproc_pool_apply_async(pool, job_apply, x, NULL, &err);
        mproc_args_free(x);
    }
    for (int i = 0; i < 10; i++) {
        res[i] = get_int(multi[i]);
        mproc_async_free(multi[i]);
    }
    print_list(res, 10);
    mproc_pool_close(pool);
    mproc_pool_join(pool, MPROC_FOREVER);
    mproc_pool_free(pool);

    mproc_pool_opts opts = MPROC_POOL_OPTS_INIT;
    opts.processes = 5;                                          /* Pool(5) */
    pool = mproc_pool_new(&opts, &err);
    mproc_async_opts cb = MPROC_ASYNC_OPTS_INIT;
    cb.callback = end_call;
    for (int i = 0; i < 10; i++) {
        mproc_args *x = mproc_args_new();
        mproc_args_add_int(x, i);
        mproc_async_free(mproc_pool_apply_async(pool, add_by_input, x, &cb, &err));
        mproc_args_free(x);
    }
    printf("end\n");
    mproc_pool_close(pool);
    mproc_pool_join(pool, MPROC_FOREVER);                         /* every callback ran */
    mproc_pool_free(pool);
    printf("sum of end_call args: %" PRId64 "\n", total);        /* 100 + ... + 109 */
    return 0;
}
