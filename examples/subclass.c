/* SPDX-License-Identifier: MIT */
/* subclass.c - a Process subclass with its own run(), in C (seed 002).
 *
 *   class MyProcess(multiprocessing.Process):
 *       def __init__(self):
 *           super().__init__()
 *
 *       def run(self):
 *           name = multiprocessing.current_process().name
 *           pid = multiprocessing.current_process().pid
 *           print(f'name:{name}, pid:{pid}')
 *
 *   if __name__ == '__main__':
 *       p = MyProcess()
 *       p.start()
 *       p.join()
 *
 * C has no classes: the "subclass" is a struct holding the mproc_process
 * (the base object), its own fields and its run function. The fields reach
 * the child as args (under spawn the child is a fresh program and sees none
 * of the parent's memory), and run is the process target.
 */
#include <stdio.h>

#include <mproc.h>

typedef struct my_process {
    mproc_process *base;                 /* super().__init__() */
    const char *greeting;                /* a field of the subclass */
    int (*run)(const mproc_args *self);  /* def run(self) */
} my_process;

/* run(): self's fields arrive as args; current_process() is mproc_current_*. */
static int my_process_run(const mproc_args *self)
{
    printf("%s name:%s, pid:%ld\n", mproc_args_str(self, 0), mproc_current_name(),
           mproc_current_pid());
    return 0;
}

/* MyProcess(): the constructor packs the fields for the child. */
static int my_process_init(my_process *p, const char *greeting)
{
    p->greeting = greeting;
    p->run = my_process_run;
    mproc_args *self = mproc_args_new();
    mproc_args_add_str(self, p->greeting);
    int err;
    p->base = mproc_process_new(p->run, self, NULL, &err);
    mproc_args_free(self);
    return p->base ? 0 : err;
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    my_process p;
    int err = my_process_init(&p, "hi from run():");
    if (err == 0)
        err = mproc_process_start(p.base);                /* p.start() calls run() in the child */
    if (err == 0)
        err = mproc_process_join(p.base, MPROC_FOREVER);  /* p.join() */
    if (err != 0) {
        fprintf(stderr, "subclass: %s\n", mproc_strerror(err));
        return 1;
    }
    int code = -1;
    mproc_process_exitcode(p.base, &code);
    printf("%s exited with %d\n", mproc_process_name(p.base), code);
    mproc_process_free(p.base);
    return 0;
}
