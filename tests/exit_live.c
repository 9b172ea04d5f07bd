/* SPDX-License-Identifier: MIT */
/* exit_live.c - a program that ends with every kind of mproc object alive
 * and work in flight, the way Python programs end without closing
 * anything. test_exit.c runs it and checks what it leaves behind.
 *
 *   exit_live METHOD HOW RECORD
 *
 * HOW: return (from main, code 4), exit (exit(5) in main), thread (exit(3)
 * from another thread while main waits inside mproc), callback (exit(6)
 * from a pool callback, in the pool's result thread), kill (waits to be
 * killed). RECORD gets a line
 * per thing that must be gone afterwards ("pid N", "path P", "shm NAME"),
 * "joined" from the non-daemonic child when it finishes, and "ready" when
 * everything is set up. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mproc.h"

#ifdef _WIN32
#include <windows.h>
static void nap(double s) { Sleep((DWORD)(s * 1000)); }
typedef HANDLE thread_t;
static DWORD WINAPI exit_thread(LPVOID arg);
static int start_thread(thread_t *t, void *arg)
{
    *t = CreateThread(NULL, 0, exit_thread, arg, 0, NULL);
    return *t ? 0 : -1;
}
#else
#include <pthread.h>
#include <time.h>
static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}
typedef pthread_t thread_t;
static void *exit_thread(void *arg);
static int start_thread(thread_t *t, void *arg) { return pthread_create(t, NULL, exit_thread, arg); }
#endif

static const char *record_path;

/* One line appended to the record (each process opens it itself). */
static void record(const char *what, const char *value)
{
    FILE *f = fopen(record_path, "a");
    if (!f)
        return;
    fprintf(f, "%s %s\n", what, value);
    fclose(f);
}

static void record_pid(long pid)
{
    char s[32];
    snprintf(s, sizeof s, "%ld", pid);
    record("pid", s);
}

/* A child of the program's own: ended by the program's end, but left to
 * run (as in Python) when the program is killed. */
static void record_kid(long pid)
{
    char s[32];
    snprintf(s, sizeof s, "%ld", pid);
    record("kid", s);
}

static int worker_init(const mproc_args *a, void **state)
{
    (void)state;
    record_path = mproc_args_str(a, 0);
    record_pid(mproc_current_pid());
    return 0;
}

static int slow_square(const void *in, void *out, void *state)
{
    (void)state;
    nap(0.01);
    *(int64_t *)out = *(const int64_t *)in * *(const int64_t *)in;
    return 0;
}

static int slow_apply(const mproc_args *a, mproc_result *out, void *state)
{
    (void)state;
    nap(mproc_args_double(a, 0));
    return mproc_result_set(out, "ok", 2);
}

static int sleeper(const mproc_args *a)
{
    (void)a;
    nap(300);
    return 0;
}

static int finisher(const mproc_args *a)
{
    record_path = mproc_args_str(a, 0);
    nap(0.5);
    record("joined", "1");
    return 0;
}

static atomic_int set_up; /* main has made everything (release: all of it) */

/* Runs in the pool's result thread, which then ends the process. */
static void exit_in_callback(mproc_async *r, void *ctx)
{
    (void)r;
    (void)ctx;
    while (!atomic_load(&set_up))
        nap(0.01);
    exit(6);
}

#ifdef _WIN32
static DWORD WINAPI exit_thread(LPVOID arg)
#else
static void *exit_thread(void *arg)
#endif
{
    (void)arg;
    nap(0.3); /* main is inside mproc_async_wait by now */
    exit(3);
}

#define FAIL(what)                                              \
    do {                                                        \
        fprintf(stderr, "exit_live: %s failed (%d)\n", what, err); \
        return 90;                                              \
    } while (0)

static int64_t input[2000], output[2000];

int main(int argc, char **argv)
{
    int err = mproc_init(&argc, &argv);
    if (err || argc != 4)
        return 91;
    if (mproc_set_start_method(argv[1]) != 0)
        return 92;
    const char *how = argv[2];
    record_path = argv[3];

    /* A pool with a map and an apply still running. */
    mproc_args *init = mproc_args_new();
    mproc_args_add_str(init, record_path);
    mproc_pool_opts po = MPROC_POOL_OPTS_INIT;
    po.processes = 2;
    po.initializer = worker_init;
    po.initargs = init;
    mproc_pool *pool = mproc_pool_new(&po, &err);
    mproc_args_free(init);
    if (!pool)
        FAIL("pool");
    /* callback: an apply submitted first, whose callback ends the
     * program once everything below exists. */
    int by_callback = strcmp(how, "callback") == 0;
    mproc_args *sa = mproc_args_new();
    mproc_args_add_double(sa, by_callback ? 0.01 : 60.0);
    mproc_async_opts ao = MPROC_ASYNC_OPTS_INIT;
    ao.callback = by_callback ? exit_in_callback : NULL;
    mproc_async *ap = by_callback ? mproc_pool_apply_async(pool, slow_apply, sa, &ao, &err) : NULL;
    if (by_callback && !ap)
        FAIL("apply_async");
    for (int i = 0; i < 2000; i++)
        input[i] = i;
    mproc_async *map = mproc_pool_map_async(pool, slow_square, input, 2000, sizeof *input, output,
                                            sizeof *output, 5, NULL, &err);
    if (!map)
        FAIL("map_async");

    /* Queues with unread messages, one larger than a ring. */
    mproc_queue *q = mproc_queue_new(0, &err);
    if (!q)
        FAIL("queue");
    static char big[1 << 20];
    if ((err = mproc_queue_put(q, "small", 5, 5)) || (err = mproc_queue_put(q, big, sizeof big, 5)))
        FAIL("put");
    mproc_queue *jq = mproc_joinablequeue_new(0, &err);
    if (!jq || (err = mproc_queue_put(jq, "task", 4, 5)))
        FAIL("joinable queue");

    /* A manager with objects, and its server's address. */
    mproc_manager *m = mproc_manager_start(NULL, &err);
    if (!m)
        FAIL("manager");
    record_pid(mproc_process_pid(mproc_manager_process(m)));
    const char *maddr = mproc_manager_address(m);
    if (strncmp(maddr, "unix:", 5) == 0)
        record("path", maddr + 5);
    mproc_mdict *d = mproc_manager_dict(m, &err);
    if (!d || (err = mproc_mdict_set(d, mproc_mv_int(1), mproc_mv_str("one"))))
        FAIL("dict");
    mproc_queue *mq = mproc_manager_queue(m, MPROC_QUEUE_PLAIN, 0, &err);
    if (!mq || (err = mproc_queue_put(mq, "x", 1, 5)))
        FAIL("manager queue");

    /* Children: a daemon that would sleep for minutes, and a non-daemon
     * that is joined on the way out. */
    mproc_process_opts dopt = MPROC_PROCESS_OPTS_INIT;
    dopt.daemon = 1;
    mproc_process *daemon = mproc_process_new(sleeper, NULL, &dopt, &err);
    if (!daemon || (err = mproc_process_start(daemon)))
        FAIL("daemon");
    record_kid(mproc_process_pid(daemon));
    mproc_args *fa = mproc_args_new();
    mproc_args_add_str(fa, record_path);
    mproc_process *child = mproc_process_new(finisher, fa, NULL, &err);
    mproc_args_free(fa);
    if (!child || (err = mproc_process_start(child)))
        FAIL("child");
    record_kid(mproc_process_pid(child));

    /* Sync objects, one held; a pipe with unread data; shared memory. */
    mproc_lock *lock = mproc_lock_new(&err);
    if (!lock || (err = mproc_lock_acquire(lock, 0)))
        FAIL("lock");
    mproc_conn *a = NULL, *b = NULL;
    if ((err = mproc_pipe(1, &a, &b)) || (err = mproc_conn_send_bytes(a, "hello", 5)))
        FAIL("pipe");
    mproc_shm *shm = mproc_shm_open(NULL, 4096, 1, &err);
    if (!shm)
        FAIL("shm");
    record("shm", mproc_shm_name(shm));
    mproc_value *v = mproc_value_new('i', NULL, 1, &err);
    if (!v)
        FAIL("value");

#ifndef _WIN32
    char sock[64];
    snprintf(sock, sizeof sock, "/tmp/mproc-exit-live-%ld.sock", mproc_current_pid());
    char laddr[80];
    snprintf(laddr, sizeof laddr, "unix:%s", sock);
    mproc_listener *l = mproc_listener_new(laddr, NULL, 0, &err);
    if (!l)
        FAIL("listener");
    record("path", sock);
#else
    mproc_listener *l = mproc_listener_new("tcp://127.0.0.1:0", NULL, 0, &err);
    if (!l)
        FAIL("listener");
#endif
    (void)l;

    if (!ap && !(ap = mproc_pool_apply_async(pool, slow_apply, sa, NULL, &err)))
        FAIL("apply_async");
    mproc_args_free(sa);
    record("ready", "1");
    atomic_store(&set_up, 1);

    if (strcmp(how, "exit") == 0)
        exit(5);
    if (strcmp(how, "thread") == 0) {
        thread_t t;
        if (start_thread(&t, NULL) != 0)
            return 93;
        mproc_async_wait(ap, MPROC_FOREVER); /* ended by the exit */
        for (;;)
            nap(1); /* the exit owns the process now */
    }
    if (by_callback || strcmp(how, "kill") == 0) {
        for (;;)
            nap(1); /* the callback ends the process */
    }
    return 4;
}
