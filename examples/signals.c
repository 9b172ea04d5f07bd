/* SPDX-License-Identifier: MIT */
/* signals.c - ending children and learning that they ended (seed 003).
 *
 *   p.terminate()      # "sends SIGTERM or uses TerminateProcess()"
 *   p.join(); print(p.exitcode)          # -15 (-signal.SIGTERM)
 *   p.kill()           # SIGKILL: cannot be handled
 *
 *   # SIGCHLD: "the state of a child changed". Python programs either set
 *   # signal.signal(signal.SIGCHLD, handler) or wait on the sentinels:
 *   from multiprocessing.connection import wait
 *   ps = [Process(target=work, args=(i,)) for i in range(3)]
 *   ...
 *   pending = {p.sentinel: p for p in ps}
 *   while pending:
 *       for s in wait(list(pending)):
 *           p = pending.pop(s); p.join()
 *           print(p.name, 'ended with', p.exitcode)
 *
 * mproc_wait on process sentinels is the portable SIGCHLD: it wakes up when
 * any child ends (whichever start method, and on Windows, which has no
 * signals), and it can also watch pipes at the same time. Installing a
 * SIGCHLD handler yourself would fight mproc, which reaps its children.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

#include "nap.h"

#define CHILDREN 3

/* Sleeps "forever" (ten minutes): terminate or kill ends it. */
static int sleeper(const mproc_args *args)
{
    (void)args;
    for (int i = 0; i < 600; i++)
        nap(1.0);
    return 0;
}

/* Works a little, then exits with its own code. */
static int work(const mproc_args *args)
{
    int i = (int)mproc_args_int(args, 0);
    nap(0.05 * (CHILDREN - i));
    return 10 + i;
}

static int ended_code(mproc_process *p, int (*end)(mproc_process *))
{
    int code = 0;
    while (mproc_process_is_alive(p) != 1)   /* started and running */
        nap(0.01);
    end(p);
    mproc_process_join(p, MPROC_FOREVER);
    mproc_process_exitcode(p, &code);
    return code;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int err;
    mproc_process *p = mproc_process_new(sleeper, NULL, NULL, &err);
    if (!p || mproc_process_start(p) != 0)
        return 1;
    printf("terminate(): exitcode %d\n", ended_code(p, mproc_process_terminate));
    mproc_process_free(p);
    p = mproc_process_new(sleeper, NULL, NULL, &err);
    if (!p || mproc_process_start(p) != 0)
        return 1;
    printf("kill(): exitcode %d\n", ended_code(p, mproc_process_kill));
    mproc_process_free(p);

    mproc_process *ps[CHILDREN];
    void *sentinels[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        mproc_args *a = mproc_args_new();
        mproc_args_add_int(a, i);
        ps[i] = mproc_process_new(work, a, NULL, &err);
        mproc_args_free(a);
        if (!ps[i] || mproc_process_start(ps[i]) != 0)
            return 1;
        sentinels[i] = mproc_process_sentinel(ps[i]);
    }
    int codes[CHILDREN], ncodes = 0;
    size_t pending = CHILDREN;
    while (pending > 0) {                                 /* while pending: */
        void *ready[CHILDREN];
        int n = mproc_wait(sentinels, pending, 30.0, ready);  /* wait(list(pending)) */
        if (n <= 0) {
            fprintf(stderr, "signals: wait: %s\n", n ? mproc_strerror(n) : "timed out");
            return 1;
        }
        for (int k = 0; k < n; k++) {
            for (int i = 0; i < CHILDREN; i++) {
                if (!ps[i] || mproc_process_sentinel(ps[i]) != ready[k])
                    continue;
                int code = -1;
                mproc_process_join(ps[i], MPROC_FOREVER);
                mproc_process_exitcode(ps[i], &code);
                printf("a child ended with exitcode %d\n", code);
                codes[ncodes++] = code;
                /* drop its sentinel from the list */
                for (size_t j = 0; j < pending; j++)
                    if (sentinels[j] == ready[k]) {
                        sentinels[j] = sentinels[--pending];
                        break;
                    }
                mproc_process_free(ps[i]);
                ps[i] = NULL;
            }
        }
    }
    qsort(codes, CHILDREN, sizeof codes[0], cmp_int);
    printf("every child reaped: exitcodes [%d, %d, %d]\n", codes[0], codes[1], codes[2]);
    return 0;
}
