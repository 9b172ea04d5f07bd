/* SPDX-License-Identifier: MIT */
/* hello.c - the first seed example.
 *
 * Python:
 *     from multiprocessing import Process
 *
 *     def f(name):
 *         print('hello', name)
 *
 *     if __name__ == '__main__':
 *         p = Process(target=f, args=('bob',))
 *         p.start()
 *         p.join()
 */
#include <stdio.h>

#include "mproc.h"

/* The target: what runs in the child. Its return value is the exit code. */
static int f(const mproc_args *args)
{
    printf("hello %s\n", mproc_args_str(args, 0));
    return 0;
}

int main(int argc, char **argv)
{
    /* First line of main: a spawned child runs its target from here. */
    mproc_init(&argc, &argv);

    mproc_args *args = mproc_args_new();
    mproc_args_add_str(args, "bob");
    int err;
    mproc_process *p = mproc_process_new(f, args, NULL, &err);
    mproc_args_free(args);
    if (!p) {
        fprintf(stderr, "mproc_process_new: %s\n", mproc_strerror(err));
        return 1;
    }
    if ((err = mproc_process_start(p)) != 0 || (err = mproc_process_join(p, MPROC_FOREVER)) != 0) {
        fprintf(stderr, "process: %s\n", mproc_strerror(err));
        mproc_process_free(p);
        return 1;
    }
    int code;
    mproc_process_exitcode(p, &code);
    mproc_process_free(p);
    return code;
}
