/* The first seed example: a Process that prints "hello bob". */
#include <stdio.h>

#include <mproc.h>

static int f(const mproc_args *args)
{
    printf("hello %s\n", mproc_args_str(args, 0));
    return 0;
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    mproc_args *args = mproc_args_new();
    mproc_args_add_str(args, "bob");
    mproc_process *p = mproc_process_new(f, args, NULL, NULL);
    mproc_args_free(args);
    if (!p || mproc_process_start(p) != 0 || mproc_process_join(p, MPROC_FOREVER) != 0)
        return 1;
    int code = -1;
    mproc_process_exitcode(p, &code);
    mproc_process_free(p);
    return code;
}
