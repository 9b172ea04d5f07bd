/* SPDX-License-Identifier: MIT */
/* consumer.c - a C program that uses an installed mproc (scripts/package-test.sh
 * builds it with find_package and with pkg-config, shared and static, with
 * -Wall -Wextra -Wpedantic -Werror): a process with arguments, a queue
 * between it and its parent, a pool map, and the version checks of
 * docs/abi.md. Prints "consumer ok" and exits 0 when all went right. */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

#if !MPROC_VERSION_AT_LEAST(0, 1, 0)
#error "mproc 0.1.0 or later is needed"
#endif

static int child(const mproc_args *args)
{
    mproc_queue *q = mproc_args_obj(args, 0);
    char msg[64];
    snprintf(msg, sizeof msg, "hello %s", mproc_args_str(args, 1));
    return mproc_queue_put(q, msg, strlen(msg), 10.0) == 0 ? 7 : 1;
}

static int square(const void *in, void *out, void *state)
{
    (void)state;
    int v;
    memcpy(&v, in, sizeof v);
    v *= v;
    memcpy(out, &v, sizeof v);
    return 0;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "consumer: %s: %s\n", what, mproc_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    int rc = mproc_init(&argc, &argv);
    if (rc < 0)
        return fail("mproc_init", rc);
    if (strcmp(mproc_version(), MPROC_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: headers %s, library %s\n", MPROC_VERSION_STRING, mproc_version());
        return 1;
    }

    int err = 0;
    mproc_queue *q = mproc_queue_new(0, &err);
    if (!q)
        return fail("mproc_queue_new", err);
    mproc_args *a = mproc_args_new();
    if (!a || mproc_args_add_obj(a, q) || mproc_args_add_str(a, "bob"))
        return fail("mproc_args", MPROC_ENOMEM);
    mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
    po.name = "consumer-child";
    mproc_process *p = mproc_process_new(child, a, &po, &err);
    mproc_args_free(a);
    if (!p)
        return fail("mproc_process_new", err);
    if ((rc = mproc_process_start(p)))
        return fail("mproc_process_start", rc);
    void *buf = NULL;
    size_t len = 0;
    if ((rc = mproc_queue_get(q, &buf, &len, 30.0)))
        return fail("mproc_queue_get", rc);
    printf("%.*s\n", (int)len, (const char *)buf);
    mproc_free(buf);
    int code = -1;
    if ((rc = mproc_process_join(p, 30.0)) || (rc = mproc_process_exitcode(p, &code)) || code != 7)
        return fail("child exit code", rc ? rc : MPROC_ETASK);
    mproc_process_free(p);
    mproc_queue_free(q);

    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 2;
    mproc_pool *pool = mproc_pool_new(&o, &err);
    if (!pool)
        return fail("mproc_pool_new", err);
    int in[10], out[10];
    for (int i = 0; i < 10; i++)
        in[i] = i;
    if ((rc = mproc_pool_map(pool, square, in, 10, sizeof *in, out, sizeof *out, 0)))
        return fail("mproc_pool_map", rc);
    for (int i = 0; i < 10; i++)
        if (out[i] != i * i)
            return fail("map result", MPROC_ETASK);
    mproc_pool_close(pool);
    mproc_pool_join(pool, MPROC_FOREVER);
    mproc_pool_free(pool);

    printf("consumer ok (mproc %s, %s backend)\n", mproc_version(), mproc_backend_name());
    return 0;
}
