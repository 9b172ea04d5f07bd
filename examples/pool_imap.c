/* SPDX-License-Identifier: MIT */
/* pool_imap.c - Pool.imap and imap_unordered over a lazily read input
 * (seed 002: "when the iterable is too big, use imap and imap_unordered to
 * save memory; set chunksize explicitly").
 *
 *   def job(x):
 *       return x * x
 *
 *   with Pool(2) as pool:
 *       for i, y in enumerate(pool.imap(job, range(10), chunksize=3)):
 *           print(i, y)
 *       print(sum(pool.imap_unordered(job, range(1000), chunksize=50)))
 *
 * The input is a function that hands out one record at a time (Python's
 * iterator); the pool reads only a few chunks ahead of the consumer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mproc.h>

/* Records in and out may differ in size: an int32 in, its int64 square out. */
static int job(const void *in, void *out, void *state)
{
    int32_t x;
    memcpy(&x, in, sizeof x);
    int64_t y = (int64_t)x * x;
    memcpy(out, &y, sizeof y);
    return state ? 1 : 0; /* no initializer, so no state */
}

/* range(end): writes the next int32 and returns 1, 0 at the end. */
typedef struct range {
    int32_t next, end;
} range;

static int range_next(void *ctx, void *item)
{
    range *r = ctx;
    if (r->next >= r->end)
        return 0;
    memcpy(item, &r->next, sizeof r->next);
    r->next++;
    return 1;
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    mproc_pool_opts opts = MPROC_POOL_OPTS_INIT;
    opts.processes = 2;
    int err;
    mproc_pool *pool = mproc_pool_new(&opts, &err);                  /* Pool(2) */
    if (!pool) {
        fprintf(stderr, "pool_imap: %s\n", mproc_strerror(err));
        return 1;
    }
    range r = {0, 10};
    mproc_imap *it = mproc_pool_imap(pool, job, range_next, &r, sizeof(int32_t), sizeof(int64_t), 3, &err);
    int64_t y;
    size_t i;
    while (it && (err = mproc_imap_next(it, &y, &i, 60.0)) == 0)      /* for i, y in enumerate(...) */
        printf("%lu %" PRId64 "\n", (unsigned long)i, y);
    if (err != MPROC_EOS)                                              /* StopIteration */
        fprintf(stderr, "imap: %s\n", mproc_strerror(err));
    mproc_imap_free(it);

    range big = {0, 1000};
    it = mproc_pool_imap_unordered(pool, job, range_next, &big, sizeof(int32_t), sizeof(int64_t), 50, &err);
    int64_t sum = 0;
    size_t count = 0;
    while (it && mproc_imap_next(it, &y, NULL, 60.0) == 0) {
        sum += y;
        count++;
    }
    mproc_imap_free(it);
    printf("imap_unordered: %lu results, sum %" PRId64 "\n", (unsigned long)count, sum);
    mproc_pool_close(pool);
    mproc_pool_join(pool, MPROC_FOREVER);
    mproc_pool_free(pool);
    return 0;
}
