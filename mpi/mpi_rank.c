/* SPDX-License-Identifier: MIT */
/* mpi_rank.c - a worker rank: serves the sessions rank 0 opens (one per
 * pool worker it starts on this rank) until rank 0 says TAG_EXIT. A
 * session runs the pool's own worker loop (mproc__core_pool_worker_main) on a
 * thread, over a pipe that this rank's main thread bridges to MPI, so a
 * rank runs tasks exactly as a worker process does. The main thread also
 * sends the heartbeats that tell rank 0 this rank is alive while a long
 * task runs. */
#include <stdlib.h>
#include <string.h>

#include "proc/args.h"
#include "ipc/conn.h"
#include "base/base.h"
#include "mpi_link.h"
#include "pool/pool.h"

typedef struct session {
    mproc_conn *mine;     /* our end of the worker's pipe; NULL: none */
    mproc_conn *theirs;   /* the worker's end */
    mproc_args *args;     /* the worker's */
    mproc_array *progress;
    be_thread *thread;
} session;

/* The worker loop; when it returns (task budget spent, initializer
 * failed) its end closes, as a worker process's does when it exits. */
static void worker_thread(void *arg)
{
    session *s = arg;
    mproc__core_pool_worker_main(s->args);
    mproc_conn_close(s->theirs);
}

static void session_free(session *s)
{
    mproc_conn_free(s->mine);
    mproc_conn_free(s->theirs);
    mproc_args_free(s->args);
    mproc_array_free(s->progress);
    memset(s, 0, sizeof *s);
}

static void session_end(session *s)
{
    if (!s->thread)
        return;
    mproc_conn_close(s->mine); /* the worker reads the end of its pipe and returns */
    mproc__be_thread_join(s->thread);
    session_free(s);
}

/* TAG_START: initargs, init module, offset, digest, maxtasks. */
static int session_start(session *s, const void *msg, size_t len)
{
    int rc = 0;
    mproc_args *in = mproc_args_decode(msg, len, &rc), *a = NULL;
    if (!in)
        return rc;
    size_t n = mproc_args_count(in), base = n - 4;
    if (n < 4 || !mproc_args_str(in, base))
        rc = MPROC_EINVAL;
    if (!rc && !(rc = mproc__core_args_copy_range(in, 0, base, &a)) && !(rc = mproc_pipe(1, &s->mine, &s->theirs)) &&
        (s->progress = mproc_array_new('q', 1, NULL, 0, &rc)) != NULL && !(rc = mproc_args_add_obj(a, s->theirs)) &&
        !(rc = mproc_args_add_str(a, mproc_args_str(in, base))) &&
        !(rc = mproc_args_add_int(a, mproc_args_int(in, base + 1))) &&
        !(rc = mproc_args_add_int(a, mproc_args_int(in, base + 2))) &&
        !(rc = mproc_args_add_int(a, mproc_args_int(in, base + 3))) && !(rc = mproc_args_add_obj(a, s->progress)) &&
        !(rc = mproc_args_add_int(a, 0)) &&
        !(rc = mproc_args_add_int(a, 0))) { /* PW_ARG_INDEX, PW_ARG_MAXRSS: a rank is a thread, no RSS limit */
        s->args = a;
        a = NULL;
        rc = mproc__be_thread_start(worker_thread, s, &s->thread);
    }
    mproc_args_free(in);
    mproc_args_free(a);
    if (rc)
        session_free(s);
    return rc;
}

static void send_done(sendq *q, int seq)
{
    int *b = malloc(sizeof *b);
    if (b) {
        *b = seq;
        mproc__sendq_push(q, 0, TAG_DONE, b, sizeof *b);
    }
}

void mproc__mpi_rank_serve(void)
{
    session s = {0};
    sendq q = {0};
    int seq = 0; /* sessions started: a TAG_DONE names its own, so that a late one is known as such */
    unsigned idle = 0;
    double last_alive = 0;
    for (;;) {
        int n = 0, from, tag, failed;
        void *buf;
        size_t len;
        int rc;
        while ((rc = mproc__link_try_recv(0, &from, &tag, &buf, &len)) == 1) {
            n++;
            if (tag == TAG_START) {
                session_end(&s); /* never open here: rank 0 ends one before the next */
                seq++;
                if (session_start(&s, buf, len) != 0)
                    send_done(&q, seq); /* rank 0 sees the worker die at its start */
                last_alive = mproc__be_monotonic();
            } else if (tag == TAG_TASK && s.thread) {
                if (mproc_conn_send_bytes(s.mine, buf, len) != 0) {
                    session_end(&s);
                    send_done(&q, seq);
                }
            } else if (tag == TAG_END) {
                session_end(&s);
            } else if (tag == TAG_EXIT) {
                free(buf);
                goto out;
            }
            free(buf);
        }
        if (rc < 0) /* rank 0 is gone */
            goto out;
        for (int k = 0; s.thread && k < 64 && mproc_conn_poll(s.mine, 0) == 1; k++) {
            n++;
            if (mproc_conn_recv_bytes(s.mine, &buf, &len, MPROC_NOLIMIT) != 0) {
                session_end(&s); /* its task budget is spent, or its initializer failed */
                send_done(&q, seq);
                break;
            }
            /* [session][replies]: rank 0 drops a late one of a session it ended. */
            char *copy = malloc(sizeof seq + len);
            if (copy) {
                memcpy(copy, &seq, sizeof seq);
                memcpy(copy + sizeof seq, buf, len);
            }
            mproc_free(buf);
            if (!copy || mproc__sendq_push(&q, 0, TAG_REPLY, copy, sizeof seq + len) != 0)
                goto out;
        }
        double now = mproc__be_monotonic();
        if (s.thread && now - last_alive > MPI_ALIVE_EVERY) {
            last_alive = now;
            mproc__sendq_push(&q, 0, TAG_ALIVE, NULL, 0);
        }
        mproc__sendq_progress(&q, &failed);
        if (failed == 0)
            goto out;
        idle = n ? 0 : idle + 1;
        double sl = mproc__link_backoff(idle);
        if (sl > 0) {
            if (s.thread)
                mproc_conn_poll(s.mine, sl); /* a reply ends the wait */
            else
                mproc__be_sleep(sl);
        }
    }
out:
    session_end(&s);
    mproc__sendq_flush(&q, 5.0);
    MPI_Finalize();
    exit(0);
}
