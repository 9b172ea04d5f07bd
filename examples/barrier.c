/* SPDX-License-Identifier: MIT */
/* barrier.c - a Barrier: no process goes on until all have arrived
 * (seed 002: "Barrier(parties, action=None, timeout=None)").
 *
 *   def arrived():                          # the action: runs once, in the last to arrive
 *       print('all 3 arrived')
 *
 *   def worker(b, i, idx):
 *       print(f'worker {i} at the barrier')
 *       idx[i] = b.wait()                   # 0 .. parties-1
 *       print(f'worker {i} passed')
 *
 *   b = Barrier(3, action=arrived)
 *   idx = Array('i', 3)
 *   ps = [Process(target=worker, args=(b, i, idx)) for i in range(3)]
 *   for p in ps: p.start()
 *   for p in ps: p.join()
 *   print('wait() returned', sorted(idx))
 */
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

#define PARTIES 3

/* A plain function: under spawn the child finds it by module and offset. */
static int arrived(void)
{
    printf("all %d arrived: the action runs once, before anyone passes\n", PARTIES);
    fflush(stdout);
    return 0; /* non-zero would break the barrier */
}

static int worker(const mproc_args *args)
{
    mproc_barrier *b = mproc_args_obj(args, 0);
    int i = (int)mproc_args_int(args, 1);
    mproc_array *idx = mproc_args_obj(args, 2);
    printf("worker %d at the barrier\n", i);
    fflush(stdout);
    int r = mproc_barrier_wait(b, 60.0);       /* b.wait() */
    if (r < 0)
        return 1;
    ((int *)mproc_array_ptr(idx))[i] = r;
    printf("worker %d passed\n", i);
    fflush(stdout);
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int err;
    mproc_barrier_opts opts = MPROC_BARRIER_OPTS_INIT;
    opts.action = arrived;
    mproc_barrier *b = mproc_barrier_new(PARTIES, &opts, &err);   /* Barrier(3, action=arrived) */
    mproc_array *idx = mproc_array_new('i', PARTIES, NULL, 0, &err);
    if (!b || !idx) {
        fprintf(stderr, "barrier: %s\n", mproc_strerror(err));
        return 1;
    }
    mproc_process *ps[PARTIES];
    for (int i = 0; i < PARTIES; i++) {
        mproc_args *a = mproc_args_new();
        mproc_args_add_obj(a, b);
        mproc_args_add_int(a, i);
        mproc_args_add_obj(a, idx);
        ps[i] = mproc_process_new(worker, a, NULL, &err);
        mproc_args_free(a);
        if (!ps[i] || mproc_process_start(ps[i]) != 0)
            return 1;
    }
    for (int i = 0; i < PARTIES; i++) {
        mproc_process_join(ps[i], MPROC_FOREVER);
        mproc_process_free(ps[i]);
    }
    int sorted[PARTIES];
    for (int i = 0; i < PARTIES; i++)
        sorted[i] = ((int *)mproc_array_ptr(idx))[i];
    qsort(sorted, PARTIES, sizeof sorted[0], cmp_int);
    printf("wait() returned [%d, %d, %d]; broken: %d\n", sorted[0], sorted[1], sorted[2],
           mproc_barrier_broken(b));
    mproc_barrier_free(b);
    mproc_array_free(idx);
    return 0;
}
