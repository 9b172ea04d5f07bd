/* SPDX-License-Identifier: MIT */
/* value_array.c - shared memory: Value and Array (seeds 001, 002, 003).
 *
 *   value1 = mp.Value('i', 0)
 *   value2 = mp.Value('d', 3.14)
 *   array = mp.Array('i', [1, 2, 3, 4])
 *
 *   def job(v, a):
 *       with v.get_lock():          # lock=True (the default) gives each an RLock
 *           v.value += 10
 *       for i in range(len(a)):
 *           a[i] *= 2
 *
 *   p = mp.Process(target=job, args=(value1, array)); p.start(); p.join()
 *   print(value1.value, array[:])
 *
 * mproc_value_ptr / mproc_array_ptr point straight into the shared memory:
 * cast them to the C type of the typecode ('i' int, 'd' double, ...).
 */
#include <stdio.h>

#include <mproc.h>

static int job(const mproc_args *args)
{
    mproc_value *v = mproc_args_obj(args, 0);
    mproc_array *a = mproc_args_obj(args, 1);
    mproc_lock *l = mproc_value_get_lock(v);
    mproc_lock_acquire(l, MPROC_FOREVER);            /* with v.get_lock(): */
    *(int *)mproc_value_ptr(v) += 10;                /*     v.value += 10 */
    mproc_lock_release(l);
    int *items = mproc_array_ptr(a);
    for (size_t i = 0; i < mproc_array_len(a); i++)  /* for i in range(len(a)): */
        items[i] *= 2;                               /*     a[i] *= 2 */
    return 0;
}

static void print_array(const char *label, mproc_array *a)
{
    const int *items = mproc_array_ptr(a);
    printf("%s[", label);
    for (size_t i = 0; i < mproc_array_len(a); i++)
        printf("%s%d", i ? ", " : "", items[i]);
    printf("]\n");
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int zero = 0, init[4] = {1, 2, 3, 4};
    double pi = 3.14;
    int err;
    mproc_value *value1 = mproc_value_new('i', &zero, 1, &err);   /* Value('i', 0) */
    mproc_value *value2 = mproc_value_new('d', &pi, 1, &err);     /* Value('d', 3.14) */
    mproc_array *array = mproc_array_new('i', 4, init, 1, &err);  /* Array('i', [1, 2, 3, 4]) */
    mproc_array *zeros = mproc_array_new('i', 3, NULL, 0, &err);  /* Array('i', 3, lock=False) */
    if (!value1 || !value2 || !array || !zeros) {
        fprintf(stderr, "value_array: %s\n", mproc_strerror(err));
        return 1;
    }
    printf("value1 = %d, value2 = %.2f\n", *(int *)mproc_value_ptr(value1),
           *(double *)mproc_value_ptr(value2));
    print_array("Array('i', 3) = ", zeros);

    mproc_args *args = mproc_args_new();
    mproc_args_add_obj(args, value1);
    mproc_args_add_obj(args, array);
    mproc_process *p = mproc_process_new(job, args, NULL, &err);
    mproc_args_free(args);
    if (!p || mproc_process_start(p) != 0 || mproc_process_join(p, MPROC_FOREVER) != 0) {
        fprintf(stderr, "value_array: the child did not run\n");
        return 1;
    }
    mproc_process_free(p);
    printf("after the child: value1 = %d\n", *(int *)mproc_value_ptr(value1));
    print_array("after the child: array = ", array);

    mproc_value_free(value1);
    mproc_value_free(value2);
    mproc_array_free(array);
    mproc_array_free(zeros);
    return 0;
}
