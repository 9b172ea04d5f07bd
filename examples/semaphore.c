/* SPDX-License-Identifier: MIT */
/* semaphore.c - a Semaphore limits how many processes use a resource at
 * once (seeds 002, 003).
 *
 *   def worker(sem, inside, peak, i):
 *       with sem:                                   # sem.acquire() ... sem.release()
 *           with inside.get_lock():
 *               inside.value += 1
 *               peak.value = max(peak.value, inside.value)
 *           time.sleep(0.05)                        # use the resource
 *           with inside.get_lock():
 *               inside.value -= 1
 *
 *   sem = Semaphore(2)
 *   ps = [Process(target=worker, args=(sem, inside, peak, i)) for i in range(5)]
 *   ...
 *   print('never more than 2 inside:', peak.value <= 2)
 */
#include <stdio.h>

#include <mproc.h>

#include "nap.h"

#define SLOTS 2
#define WORKERS 5

static int worker(const mproc_args *args)
{
    mproc_sem *sem = mproc_args_obj(args, 0);
    mproc_value *inside = mproc_args_obj(args, 1);
    mproc_value *peak = mproc_args_obj(args, 2);
    mproc_lock *l = mproc_value_get_lock(inside);
    if (mproc_sem_acquire(sem, MPROC_FOREVER) != 0)   /* sem.acquire() */
        return 1;
    mproc_lock_acquire(l, MPROC_FOREVER);
    int now = ++*(int *)mproc_value_ptr(inside);
    if (now > *(int *)mproc_value_ptr(peak))
        *(int *)mproc_value_ptr(peak) = now;
    mproc_lock_release(l);
    nap(0.05);
    mproc_lock_acquire(l, MPROC_FOREVER);
    --*(int *)mproc_value_ptr(inside);
    mproc_lock_release(l);
    return mproc_sem_release(sem) == 0 ? 0 : 1;      /* sem.release() */
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int zero = 0, err;
    mproc_sem *sem = mproc_sem_new(SLOTS, 0, &err);               /* Semaphore(2) */
    mproc_value *inside = mproc_value_new('i', &zero, 1, &err);
    mproc_value *peak = mproc_value_new('i', &zero, 0, &err);     /* guarded by inside's lock */
    if (!sem || !inside || !peak) {
        fprintf(stderr, "semaphore: %s\n", mproc_strerror(err));
        return 1;
    }
    mproc_args *args = mproc_args_new();
    mproc_args_add_obj(args, sem);
    mproc_args_add_obj(args, inside);
    mproc_args_add_obj(args, peak);
    mproc_process *ps[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        ps[i] = mproc_process_new(worker, args, NULL, &err);
        if (!ps[i] || mproc_process_start(ps[i]) != 0)
            return 1;
    }
    mproc_args_free(args);
    int ok = 0;
    for (int i = 0; i < WORKERS; i++) {
        int code = -1;
        mproc_process_join(ps[i], MPROC_FOREVER);
        mproc_process_exitcode(ps[i], &code);
        ok += code == 0;
        mproc_process_free(ps[i]);
    }
    int p = *(int *)mproc_value_ptr(peak);
    printf("%d workers done\n", ok);
    printf("never more than %d inside: %s\n", SLOTS, p >= 1 && p <= SLOTS ? "True" : "False");
    printf("sem.get_value() at the end: %d\n", mproc_sem_get_value(sem));
    mproc_sem_free(sem);
    mproc_value_free(inside);
    mproc_value_free(peak);
    return 0;
}
