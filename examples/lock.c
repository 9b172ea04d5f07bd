/* SPDX-License-Identifier: MIT */
/* lock.c - a Lock around a shared Value, and around printing (seeds 001, 004).
 *
 *   def job(v, num, l):                      # seed 001
 *       l.acquire()
 *       for _ in range(5):
 *           time.sleep(0.1)
 *           v.value += num
 *           print(v.value)
 *       l.release()
 *
 *   l = mp.Lock(); v = mp.Value('i', 0)
 *   p1 = mp.Process(target=job, args=(v, 1, l))
 *   p2 = mp.Process(target=job, args=(v, 3, l))
 *   p1.start(); p2.start(); p1.join(); p2.join()
 *
 *   def f(l, i):                             # seed 004
 *       l.acquire()
 *       try:
 *           print('hello world', i)
 *       finally:
 *           l.release()
 *
 *   lock = Lock()
 *   for num in range(10):
 *       Process(target=f, args=(lock, num)).start()
 *
 * With the lock, one job prints all its five values before the other
 * starts: 1 2 3 4 5 8 11 14 17 20 or 3 6 9 12 15 16 17 18 19 20, whichever
 * process takes the lock first. Each print is flushed inside the lock so
 * that lines of different processes cannot overtake each other.
 */
#include <stdio.h>

#include <mproc.h>

#include "nap.h"

static int job(const mproc_args *args)
{
    mproc_value *v = mproc_args_obj(args, 0);
    int num = (int)mproc_args_int(args, 1);
    mproc_lock *l = mproc_args_obj(args, 2);
    if (mproc_lock_acquire(l, MPROC_FOREVER) < 0)   /* l.acquire() */
        return 1;
    int *value = mproc_value_ptr(v);
    for (int k = 0; k < 5; k++) {
        nap(0.02);
        *value += num;                               /* v.value += num */
        printf("%d\n", *value);
        fflush(stdout);
    }
    mproc_lock_release(l);                           /* l.release() */
    return 0;
}

static int f(const mproc_args *args)
{
    mproc_lock *l = mproc_args_obj(args, 0);
    mproc_lock_acquire(l, MPROC_FOREVER);
    printf("hello world %d\n", (int)mproc_args_int(args, 1));
    fflush(stdout);
    mproc_lock_release(l);
    return 0;
}

/* Process(target=fn, args=(obj, n, ...)).start() */
static mproc_process *start(mproc_target fn, void *obj, int n, void *obj2)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, obj);
    mproc_args_add_int(a, n);
    if (obj2)
        mproc_args_add_obj(a, obj2);
    mproc_process *p = mproc_process_new(fn, a, NULL, NULL);
    mproc_args_free(a);
    if (p && mproc_process_start(p) != 0) {
        mproc_process_free(p);
        p = NULL;
    }
    return p;
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int zero = 0, err;
    mproc_lock *l = mproc_lock_new(&err);                     /* mp.Lock() */
    mproc_value *v = mproc_value_new('i', &zero, 0, &err);    /* mp.Value('i', 0), lock=False: l guards it */
    if (!l || !v) {
        fprintf(stderr, "lock: %s\n", mproc_strerror(err));
        return 1;
    }
    mproc_process *p1 = start(job, v, 1, l), *p2 = start(job, v, 3, l);
    if (!p1 || !p2)
        return 1;
    mproc_process_join(p1, MPROC_FOREVER);
    mproc_process_join(p2, MPROC_FOREVER);
    mproc_process_free(p1);
    mproc_process_free(p2);

    mproc_process *ps[10];
    for (int num = 0; num < 10; num++)
        if (!(ps[num] = start(f, l, num, NULL)))
            return 1;
    for (int num = 0; num < 10; num++) {  /* Python joins non-daemonic children at exit; C must do it */
        mproc_process_join(ps[num], MPROC_FOREVER);
        mproc_process_free(ps[num]);
    }
    mproc_value_free(v);
    mproc_lock_free(l);
    return 0;
}
