/* SPDX-License-Identifier: MIT */
/* test_queue.c - Queue, SimpleQueue and JoinableQueue between processes,
 * once per start method (--method NAME). Children get the queues through
 * mproc_args_add_obj. Messages carry (producer, sequence) and a pattern
 * derived from them, so a consumer can tell a torn, mixed or duplicated
 * message from a good one. */
#include <stdatomic.h>
#include <stdint.h>

#include "testutil.h"

#ifndef _WIN32
#include <fcntl.h>
#include <sys/resource.h>
#endif

#include "queue_msgs.h"

/* ---------------------------------------------------------- one process */

static void test_basics(void)
{
    int err = -1;
    mproc_queue *q = mproc_queue_new(0, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0);
    CU_ASSERT_EQUAL(mproc_queue_empty(q), 1);
    CU_ASSERT_EQUAL(mproc_queue_full(q), 0);
    void *buf = NULL;
    size_t len = 99;
    CHECK_RC(mproc_queue_get(q, &buf, &len, 0), MPROC_EEMPTY);
    CHECK_RC(mproc_queue_get(q, &buf, &len, 0.05), MPROC_EEMPTY);
    CHECK_RC(mproc_queue_get_nowait(q, &buf, &len), MPROC_EEMPTY);
    /* FIFO, any sizes, 0 bytes too; gettable as soon as put returns. */
    for (uint32_t i = 0; i < 100; i++)
        CHECK_RC(put_msg(q, 1, i, 8 + i * 17, 0), 0);
    CHECK_RC(mproc_queue_put(q, NULL, 0, 0), 0);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 101);
    CU_ASSERT_EQUAL(mproc_queue_empty(q), 0);
    for (uint32_t i = 0; i < 100; i++) {
        uint32_t p, seq;
        CHECK_RC(mproc_queue_get(q, &buf, &len, 0), 0);
        CU_ASSERT_EQUAL(len, 8 + i * 17);
        CU_ASSERT_TRUE(check_msg(buf, len, &p, &seq) && p == 1 && seq == i);
        mproc_free(buf);
    }
    CHECK_RC(mproc_queue_get_nowait(q, &buf, &len), 0);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_PTR_NOT_NULL(buf); /* never NULL */
    mproc_free(buf);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0);
    mproc_queue_free(q);
}

static void test_maxsize(void)
{
    mproc_queue *q = mproc_queue_new(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CHECK_RC(mproc_queue_put(q, "a", 1, 0), 0);
    CHECK_RC(mproc_queue_put_nowait(q, "b", 1), 0);
    CU_ASSERT_EQUAL(mproc_queue_full(q), 1);
    CHECK_RC(mproc_queue_put(q, "c", 1, 0), MPROC_EFULL);
    CHECK_RC(mproc_queue_put(q, "c", 1, 0.05), MPROC_EFULL);
    CHECK_RC(mproc_queue_put_nowait(q, "c", 1), MPROC_EFULL);
    void *buf;
    size_t len;
    CHECK_RC(mproc_queue_get(q, &buf, &len, 0), 0);
    CU_ASSERT_TRUE(len == 1 && *(char *)buf == 'a');
    mproc_free(buf);
    CU_ASSERT_EQUAL(mproc_queue_full(q), 0);
    CHECK_RC(mproc_queue_put(q, "c", 1, 0), 0);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 2);
    mproc_queue_free(q);

    /* Unbounded: bounded by the ring. 64 bytes hold two 24-byte frames. */
    q = small_queue(MPROC_QUEUE_PLAIN, 0, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    char sixteen[16] = "0123456789abcdef";
    CHECK_RC(mproc_queue_put(q, sixteen, 16, 0), 0);
    CHECK_RC(mproc_queue_put(q, sixteen, 16, 0), 0);
    CHECK_RC(mproc_queue_put(q, sixteen, 16, 0.05), MPROC_EFULL);
    CU_ASSERT_EQUAL(mproc_queue_full(q), 0); /* a hint about maxsize only */
    CHECK_RC(mproc_queue_put(q, sixteen, 8, 0), 0); /* 16 bytes still fit */
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 3);
    for (int i = 0; i < 3; i++) {
        CHECK_RC(mproc_queue_get(q, &buf, &len, 0), 0);
        mproc_free(buf);
    }
    /* Around the end of the ring, many times, frames of 16 and 24 bytes:
     * nothing is torn by the wrap. */
    CHECK_RC(put_msg(q, 2, 0, 8, 0), 0);
    for (uint32_t i = 1; i < 200; i++) {
        uint32_t p, seq;
        CHECK_RC(put_msg(q, 2, i, 8 + i % 9, 0), 0);
        CHECK_RC(mproc_queue_get(q, &buf, &len, 0), 0);
        CU_ASSERT_TRUE(check_msg(buf, len, &p, &seq) && p == 2 && seq == i - 1);
        mproc_free(buf);
    }
    mproc_queue_free(q);
}

static void test_close(void)
{
    mproc_queue *q = mproc_queue_new(0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CHECK_RC(mproc_queue_join_thread(q), MPROC_ESTATE); /* before close */
    CHECK_RC(mproc_queue_cancel_join_thread(q), 0);
    CHECK_RC(mproc_queue_put(q, "x", 1, 0), 0);
    CHECK_RC(mproc_queue_close(q), 0);
    CHECK_RC(mproc_queue_close(q), 0); /* twice is fine */
    CHECK_RC(mproc_queue_join_thread(q), 0); /* nothing to flush: at once */
    void *buf;
    size_t len;
    CHECK_RC(mproc_queue_put(q, "y", 1, 0), MPROC_ECLOSED);
    CHECK_RC(mproc_queue_get(q, &buf, &len, 0), MPROC_ECLOSED);
    CHECK_RC(mproc_queue_get(q, &buf, &len, MPROC_FOREVER), MPROC_ECLOSED);
    CHECK_RC(mproc_queue_empty(q), MPROC_ECLOSED);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 1); /* the message is still there for others */
    mproc_queue_free(q);
}

static void test_simplequeue(void)
{
    int err = -1;
    mproc_queue *q = mproc_simplequeue_new(&err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_EQUAL(mproc_queue_empty(q), 1);
    CHECK_RC(mproc_queue_put(q, "hello", 5, MPROC_FOREVER), 0);
    CU_ASSERT_EQUAL(mproc_queue_empty(q), 0);
    void *buf;
    size_t len;
    CHECK_RC(mproc_queue_get(q, &buf, &len, MPROC_FOREVER), 0);
    CU_ASSERT_TRUE(len == 5 && memcmp(buf, "hello", 5) == 0);
    mproc_free(buf);
    CHECK_RC(mproc_queue_join_thread(q), MPROC_EINVAL); /* SimpleQueue has no feeder calls */
    CHECK_RC(mproc_queue_cancel_join_thread(q), MPROC_EINVAL);
    CHECK_RC(mproc_queue_task_done(q), MPROC_EINVAL);
    CHECK_RC(mproc_queue_close(q), 0);
    CHECK_RC(mproc_queue_close(q), 0);
    CHECK_RC(mproc_queue_put(q, "x", 1, 0), MPROC_ECLOSED);
    CHECK_RC(mproc_queue_get(q, &buf, &len, 0), MPROC_ECLOSED);
    CHECK_RC(mproc_queue_empty(q), MPROC_ECLOSED);
    mproc_queue_free(q);
    mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
    o.kind = MPROC_QUEUE_SIMPLE;
    o.maxsize = 3; /* SimpleQueue has no maxsize */
    CU_ASSERT_PTR_NULL(mproc_queue_new_ex(&o, &err));
    CHECK_RC(err, MPROC_EINVAL);
}

static void test_bad_input(void)
{
    int err = 0;
    mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
    o.capacity = 8; /* too small */
    CU_ASSERT_PTR_NULL(mproc_queue_new_ex(&o, &err));
    CHECK_RC(err, MPROC_EINVAL);
    o.capacity = 0;
    o.kind = (mproc_queue_kind)7;
    CU_ASSERT_PTR_NULL(mproc_queue_new_ex(&o, &err));
    CHECK_RC(err, MPROC_EINVAL);
    mproc_queue *d = mproc_queue_new_ex(NULL, &err); /* defaults */
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);

    void *buf;
    size_t len;
    CHECK_RC(mproc_queue_put(NULL, "x", 1, 0), MPROC_EINVAL);
    CHECK_RC(mproc_queue_put(d, NULL, 1, 0), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get(NULL, &buf, &len, 0), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get(d, NULL, &len, 0), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get(d, &buf, NULL, 0), MPROC_EINVAL);
    CHECK_RC(mproc_queue_qsize(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_queue_empty(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_queue_full(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_queue_close(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_queue_join_thread(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_queue_cancel_join_thread(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_queue_task_done(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_queue_join(NULL, 0), MPROC_EINVAL);
    CHECK_RC(mproc_queue_task_done(d), MPROC_EINVAL); /* not a JoinableQueue */
    CHECK_RC(mproc_queue_join(d, 0), MPROC_EINVAL);
    /* Another kind of object. */
    mproc_event *e = mproc_event_new(NULL);
    mproc_queue *fake = (mproc_queue *)(void *)e;
    CHECK_RC(mproc_queue_put(fake, "x", 1, 0), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get(fake, &buf, &len, 0), MPROC_EINVAL);
    CHECK_RC(mproc_queue_qsize(fake), MPROC_EINVAL);
    mproc_queue_free(fake); /* not a queue: nothing happens */
    CHECK_RC(mproc_event_set(e), 0);
    mproc_event_free(e);
    int x = 0;
    CHECK_RC(mproc_queue_close((mproc_queue *)(void *)&x), MPROC_EINVAL);
    mproc_queue_free(NULL);
    mproc_queue_free(d);
}

/* --------------------------------------------------- JoinableQueue */

/* args: queue, n. Takes n messages, task_done for each. */
static int t_task_worker(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    for (int64_t i = 0; i < mproc_args_int(a, 1); i++) {
        void *buf;
        size_t len;
        if (mproc_queue_get(q, &buf, &len, 60) != 0)
            return 1;
        mproc_free(buf);
        if (mproc_queue_task_done(q) != 0)
            return 2;
    }
    return 0;
}

static void test_joinable(void)
{
    int err = -1;
    mproc_queue *q = mproc_joinablequeue_new(0, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CHECK_RC(mproc_queue_task_done(q), MPROC_ESTATE); /* nothing to be done */
    CHECK_RC(mproc_queue_join(q, 0), 0);               /* no tasks: at once */
    for (int i = 0; i < 5; i++)
        CHECK_RC(mproc_queue_put(q, "task", 4, 0), 0);
    CHECK_RC(mproc_queue_join(q, 0), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_queue_join(q, 0.05), MPROC_ETIMEDOUT);
    mproc_args *a = args1(q);
    mproc_args_add_int(a, 5);
    mproc_process *p = test_start(t_task_worker, a, NULL);
    mproc_args_free(a);
    CHECK_RC(mproc_queue_join(q, 60), 0); /* returns once all five are done */
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0);
    CHECK_RC(mproc_queue_task_done(q), MPROC_ESTATE); /* called too many times */
    /* Over-call in one process; join and task_done still work after close. */
    CHECK_RC(mproc_queue_put(q, "t", 1, 0), 0);
    CHECK_RC(mproc_queue_close(q), 0);
    CHECK_RC(mproc_queue_join(q, 0), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_queue_task_done(q), 0);
    CHECK_RC(mproc_queue_task_done(q), MPROC_ESTATE);
    CHECK_RC(mproc_queue_join(q, 0), 0);
    mproc_queue_free(q);
}

static void test_joinable_stream(void)
{
    /* A message larger than the ring is one task, counted once its
     * consumer has all of it (before its get returns: task_done works). */
    mproc_queue *q = small_queue(MPROC_QUEUE_JOINABLE, 0, 4096);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    mproc_args *a = args1(q);
    mproc_args_add_int(a, 2);
    mproc_process *p = test_start(t_task_worker, a, NULL);
    mproc_args_free(a);
    CHECK_RC(mproc_queue_put(q, "t", 1, 60), 0);
    CHECK_RC(put_msg(q, 3, 1, 100000, 60), 0);
    CHECK_RC(mproc_queue_join(q, 60), 0);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CHECK_RC(mproc_queue_task_done(q), MPROC_ESTATE);
    mproc_queue_free(q);
}

/* --------------------------------------------------------------- wait */

/* args: queue. Puts one message after a short pause. */
static int t_put_later(const mproc_args *a)
{
    test_sleep(0.2);
    return mproc_queue_put(mproc_args_obj(a, 0), "x", 1, 30) == 0 ? 0 : 1;
}

/* mproc_wait takes queues beside connections and sentinels. */
static void test_wait_on_queues(void)
{
    mproc_queue *q1 = mproc_queue_new(0, NULL), *q2 = mproc_queue_new(0, NULL);
    mproc_conn *r, *w;
    CHECK_RC(mproc_pipe(0, &r, &w), 0);
    void *objs[3] = {q1, r, q2}, *ready[3] = {NULL, NULL, NULL};
    CHECK_RC(mproc_wait(objs, 3, 0, ready), 0);
    CHECK_RC(mproc_wait(objs, 3, 0.05, ready), 0);
    /* A child puts into q2 while we wait. */
    mproc_args *a = args1(q2);
    mproc_process *p = test_start(t_put_later, a, NULL);
    mproc_args_free(a);
    CHECK_RC(mproc_wait(objs, 3, 30, ready), 1);
    CU_ASSERT_PTR_EQUAL(ready[0], q2);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    /* Input order is kept when several are ready. */
    CHECK_RC(mproc_queue_put(q1, "y", 1, 0), 0);
    CHECK_RC(mproc_conn_send_bytes(w, "z", 1), 0);
    CHECK_RC(mproc_wait(objs, 3, 0, ready), 3);
    CU_ASSERT_PTR_EQUAL(ready[0], q1);
    CU_ASSERT_PTR_EQUAL(ready[1], r);
    CU_ASSERT_PTR_EQUAL(ready[2], q2);
    /* Queues alone. */
    void *qs[1] = {q1};
    CHECK_RC(mproc_wait(qs, 1, MPROC_FOREVER, ready), 1);
    mproc_conn_free(r);
    mproc_conn_free(w);
    mproc_queue_free(q1);
    mproc_queue_free(q2);
}

/* ------------------------------------------------------------- seeds */

/* Seed 001: def job(q): res = sum(i + i**2 + i**3 for i in range(10)); q.put(res). */
static int t_seed_job(const mproc_args *a)
{
    int64_t res = 0;
    for (int64_t i = 0; i < 10; i++)
        res += i + i * i + i * i * i;
    return mproc_queue_put(mproc_args_obj(a, 0), &res, sizeof res, MPROC_FOREVER) == 0 ? 0 : 1;
}

static void test_seed_results(void)
{
    mproc_queue *q = mproc_queue_new(0, NULL);
    mproc_args *a = args1(q);
    mproc_process *p1 = test_start(t_seed_job, a, NULL);
    mproc_process *p2 = test_start(t_seed_job, a, NULL);
    mproc_args_free(a);
    /* As in the seed: join both first (fine here: puts never wait for a reader). */
    CU_ASSERT_EQUAL(test_finish(p1), 0);
    CU_ASSERT_EQUAL(test_finish(p2), 0);
    int64_t total = 0;
    for (int i = 0; i < 2; i++) {
        void *buf;
        size_t len;
        CHECK_RC(mproc_queue_get(q, &buf, &len, MPROC_FOREVER), 0);
        CU_ASSERT_EQUAL(len, sizeof(int64_t));
        if (len == sizeof(int64_t))
            total += *(int64_t *)buf;
        mproc_free(buf);
    }
    CU_ASSERT_EQUAL(total, 2 * 2355);
    mproc_queue_free(q);
}

/* Seeds 002/003: a producer fills a Queue(maxsize=4), blocking while full;
 * a consumer takes items until the None it sends last. */
static int t_seed_producer(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    for (uint32_t i = 0; i < 50; i++)
        if (put_msg(q, 7, i, 8 + i, MPROC_FOREVER) != 0)
            return 1;
    return put_stop(q) == 0 ? 0 : 2;
}

/* Returns 0 if it saw 50 intact items in order, then the stop. */
static int t_seed_consumer(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    for (uint32_t i = 0;; i++) {
        void *buf;
        size_t len;
        uint32_t p, seq;
        if (mproc_queue_get(q, &buf, &len, 60) != 0)
            return 1;
        int ok = check_msg(buf, len, &p, &seq);
        mproc_free(buf);
        if (ok && p == STOP_MARK)
            return i == 50 ? 0 : 2;
        if (!ok || p != 7 || seq != i)
            return 3;
        if (mproc_queue_qsize(q) > 4)
            return 4; /* maxsize respected */
    }
}

static void test_seed_producer_consumer(void)
{
    mproc_queue *q = mproc_queue_new(4, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    mproc_args *a = args1(q);
    mproc_process *prod = test_start(t_seed_producer, a, NULL);
    mproc_process *cons = test_start(t_seed_consumer, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_EQUAL(test_finish(prod), 0);
    CU_ASSERT_EQUAL(test_finish(cons), 0);
    CU_ASSERT_EQUAL(mproc_queue_empty(q), 1);
    mproc_queue_free(q);
}

/* ------------------------------------------------------------ N x M */

#define NX_PRODUCERS 3
#define NX_CONSUMERS 2
#define NX_COUNT 300
#define NX_RING 16384
#define NX_BIG 40000 /* larger than the ring: streamed */

static size_t nx_size(uint32_t seq)
{
    if (seq % 50 == 25)
        return NX_BIG + seq;
    return 8 + (seq * 37u) % 3000u;
}

/* args: queue, producer id. */
static int t_nx_producer(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    uint32_t p = (uint32_t)mproc_args_int(a, 1);
    for (uint32_t seq = 0; seq < NX_COUNT; seq++)
        if (put_msg(q, p, seq, nx_size(seq), 60) != 0)
            return 1;
    return 0;
}

/* args: queue, consumer id, seen array [consumer][producer][seq]. Checks
 * every message and the order of each producer's messages. */
static int t_nx_consumer(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    int c = (int)mproc_args_int(a, 1);
    int *seen = mproc_array_ptr(mproc_args_obj(a, 2));
    int64_t last[NX_PRODUCERS];
    for (int i = 0; i < NX_PRODUCERS; i++)
        last[i] = -1;
    for (;;) {
        void *buf;
        size_t len;
        uint32_t p, seq;
        int rc = mproc_queue_get(q, &buf, &len, 60);
        if (rc != 0)
            return 10;
        int ok = check_msg(buf, len, &p, &seq);
        mproc_free(buf);
        if (ok && p == STOP_MARK)
            return 0;
        if (!ok || p >= NX_PRODUCERS || seq >= NX_COUNT || len != nx_size(seq))
            return 11; /* torn or mixed */
        if ((int64_t)seq <= last[p])
            return 12; /* out of order or duplicated */
        last[p] = seq;
        seen[(c * NX_PRODUCERS + (int)p) * NX_COUNT + (int)seq]++;
    }
}

static void test_n_by_m(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, NX_RING);
    mproc_array *seen = mproc_array_new('i', NX_CONSUMERS * NX_PRODUCERS * NX_COUNT, NULL, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
    mproc_process *cons[NX_CONSUMERS], *prod[NX_PRODUCERS];
    for (int c = 0; c < NX_CONSUMERS; c++) {
        mproc_args *a = args1(q);
        mproc_args_add_int(a, c);
        mproc_args_add_obj(a, seen);
        cons[c] = test_start(t_nx_consumer, a, NULL);
        mproc_args_free(a);
    }
    for (int p = 0; p < NX_PRODUCERS; p++) {
        mproc_args *a = args1(q);
        mproc_args_add_int(a, p);
        prod[p] = test_start(t_nx_producer, a, NULL);
        mproc_args_free(a);
    }
    for (int p = 0; p < NX_PRODUCERS; p++)
        CU_ASSERT_EQUAL(test_finish(prod[p]), 0);
    for (int c = 0; c < NX_CONSUMERS; c++)
        CHECK_RC(put_stop(q), 0);
    for (int c = 0; c < NX_CONSUMERS; c++)
        CU_ASSERT_EQUAL(test_finish(cons[c]), 0);
    /* Every message exactly once, over all consumers. */
    int *s = mproc_array_ptr(seen), bad = 0;
    for (int p = 0; p < NX_PRODUCERS; p++)
        for (int i = 0; i < NX_COUNT; i++) {
            int n = 0;
            for (int c = 0; c < NX_CONSUMERS; c++)
                n += s[(c * NX_PRODUCERS + p) * NX_COUNT + i];
            bad += n != 1;
        }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0);
    mproc_array_free(seen);
    mproc_queue_free(q);
}

/* --------------------------------------------- gh-73983: exit before drain */

#define MIB ((size_t)1 << 20)

static int t_put_mib_and_exit(const mproc_args *a)
{
    return put_msg(mproc_args_obj(a, 0), 9, 1, MIB, 0) == 0 ? 0 : 1;
}

static void test_exit_before_drain(void)
{
    mproc_queue *q = mproc_queue_new(0, NULL);
    mproc_args *a = args1(q);
    mproc_process *p = test_start(t_put_mib_and_exit, a, NULL);
    mproc_args_free(a);
    /* CPython: joining a producer whose data nobody read deadlocks. Here the
     * data is in shared memory already and the producer is gone. */
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 1);
    void *buf;
    size_t len;
    uint32_t who, seq;
    CHECK_RC(mproc_queue_get(q, &buf, &len, 0), 0);
    CU_ASSERT_TRUE(len == MIB && check_msg(buf, len, &who, &seq) && who == 9 && seq == 1);
    mproc_free(buf);
    mproc_queue_free(q);
}

/* ------------------------------------------------- messages over the ring */

/* args: queue, count. Gets count messages; returns 0 if all were intact
 * and in sequence 0, 1, ... */
static int t_get_sequence(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    for (uint32_t i = 0; i < (uint32_t)mproc_args_int(a, 1); i++) {
        void *buf;
        size_t len;
        uint32_t p, seq;
        if (mproc_queue_get(q, &buf, &len, 60) != 0)
            return 1;
        int ok = check_msg(buf, len, &p, &seq);
        mproc_free(buf);
        if (!ok || seq != i)
            return 2;
    }
    return 0;
}

static void test_oversize(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, 4096);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    /* Nobody reads: the writer fills the ring, times out, takes it all back. */
    CHECK_RC(put_msg(q, 1, 0, 100000, 0.1), MPROC_EFULL);
    CHECK_RC(put_msg(q, 1, 0, 100000, 0), MPROC_EFULL);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0);
    void *buf;
    size_t len;
    CHECK_RC(mproc_queue_get(q, &buf, &len, 0), MPROC_EEMPTY);
    /* With a reader: any size goes through, interleaved with small ones. */
    mproc_args *a = args1(q);
    mproc_args_add_int(a, 5);
    mproc_process *p = test_start(t_get_sequence, a, NULL);
    mproc_args_free(a);
    CHECK_RC(put_msg(q, 1, 0, MIB, 60), 0);
    CHECK_RC(put_msg(q, 1, 1, 10, 60), 0);
    CHECK_RC(put_msg(q, 1, 2, 4096, 60), 0); /* frame 4104: just over */
    CHECK_RC(put_msg(q, 1, 3, 4088, 60), 0); /* frame 4096: fits exactly */
    CHECK_RC(put_msg(q, 1, 4, 3 * MIB + 5, 60), 0);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0);
    mproc_queue_free(q);
}

/* args: queue. Gets until the stop mark; exit code = how many intact big
 * messages it saw, 100 if anything was torn. */
static int t_count_big(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    int big = 0;
    for (;;) {
        void *buf;
        size_t len;
        uint32_t p, seq;
        if (mproc_queue_get(q, &buf, &len, 60) != 0)
            return 101;
        int ok = check_msg(buf, len, &p, &seq);
        mproc_free(buf);
        if (!ok)
            return 100;
        if (p == STOP_MARK)
            return big;
        big++;
    }
}

#define TINY_RING 64
/* Under ThreadSanitizer a hand-over through the ring costs some 80 us
 * (4 MiB: over 5 s, twice in "stream reader killed"): a quarter of the
 * message is still over a second of streaming, far longer than the 50 ms
 * and 200 ms these tests let pass before they act. */
#ifdef TEST_TSAN
#define STREAM_LEN (1 * MIB)
#else
#define STREAM_LEN (4 * MIB)
#endif

static void test_oversize_timeout_midway(void)
{
    /* A 64-byte ring moves a 4 MiB message in some 70000 hand-overs: a
     * 50 ms put almost always gives up half-way through. Either way the
     * reader sees all of the message or none of it. */
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, TINY_RING);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    for (int round = 0; round < 3; round++) {
        mproc_args *a = args1(q);
        mproc_process *r = test_start(t_count_big, a, NULL);
        mproc_args_free(a);
        int rc = put_msg(q, 4, (uint32_t)round, STREAM_LEN, 0.05);
        CU_ASSERT_TRUE(rc == 0 || rc == MPROC_EFULL);
        CHECK_RC(put_stop(q), 0); /* the queue works on */
        int code = test_finish(r);
        CU_ASSERT_EQUAL(code, rc == 0 ? 1 : 0);
    }
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0);
    mproc_queue_free(q);
}

/* args: queue. Puts one big message with no timeout. */
static int t_put_stream(const mproc_args *a)
{
    return put_msg(mproc_args_obj(a, 0), 5, 0, STREAM_LEN, MPROC_FOREVER) == 0 ? 0 : 1;
}

static void test_stream_writer_killed(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, TINY_RING);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    mproc_args *a = args1(q);
    mproc_process *r = test_start(t_count_big, a, NULL);
    mproc_process *w = test_start(t_put_stream, a, NULL);
    mproc_args_free(a);
    test_sleep(0.2);
    CHECK_RC(mproc_process_kill(w), 0);
    int wcode = test_finish(w);
    CU_ASSERT_TRUE(wcode == 0 || wcode == -9);
    /* The reader drops the half message, our put waits for the dead writer's
     * stream to be cleared, and the reader sees the stop mark. */
    CHECK_RC(put_stop(q), 0);
    int code = test_finish(r);
    CU_ASSERT_TRUE(code == 0 || code == 1);
    if (wcode == 0)
        CU_ASSERT_EQUAL(code, 1);
    CHECK_RC(put_msg(q, 1, 2, 40, 0), 0); /* fits the 64-byte ring */
    void *buf;
    size_t len;
    CHECK_RC(mproc_queue_get(q, &buf, &len, 0), 0);
    mproc_free(buf);
    mproc_queue_free(q);
}

/* args: queue, flag value. Gets one message; sets the flag if it did. */
static int t_get_one_flag(const mproc_args *a)
{
    void *buf;
    size_t len;
    int rc = mproc_queue_get(mproc_args_obj(a, 0), &buf, &len, 60);
    if (rc == 0)
        *(int *)mproc_value_ptr(mproc_args_obj(a, 1)) = 1;
    return rc == 0 ? 0 : 1;
}

static void test_stream_reader_killed(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, TINY_RING);
    mproc_value *got = mproc_value_new('i', NULL, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    mproc_args *a = args1(q);
    mproc_args_add_obj(a, got);
    mproc_process *r = test_start(t_get_one_flag, a, NULL);
    mproc_process *w = test_start(t_put_stream, a, NULL);
    mproc_args_free(a);
    test_sleep(0.2);
    CHECK_RC(mproc_process_kill(r), 0);
    test_finish(r);
    /* The writer sends the message again, whole, to the next reader. */
    if (!*(int *)mproc_value_ptr(got)) {
        void *buf;
        size_t len;
        uint32_t p, seq;
        CHECK_RC(mproc_queue_get(q, &buf, &len, 60), 0);
        CU_ASSERT_TRUE(len == STREAM_LEN && check_msg(buf, len, &p, &seq) && p == 5);
        mproc_free(buf);
    }
    CU_ASSERT_EQUAL(test_finish(w), 0);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0);
    mproc_value_free(got);
    mproc_queue_free(q);
}

/* ----------------------------------------- killed in the middle of put/get */

/* args: queue. Puts messages 0, 1, 2, ... until killed. */
static int t_put_forever(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    for (uint32_t seq = 0;; seq++)
        if (put_msg(q, 6, seq, 8 + (seq * 53u) % 2000u, 60) != 0)
            return 1;
}

/* args: queue. Gets until killed. */
static int t_get_forever(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    for (;;) {
        void *buf;
        size_t len;
        if (mproc_queue_get(q, &buf, &len, 60) != 0)
            return 1;
        mproc_free(buf);
    }
}

static void test_killed_mid_put_get(void)
{
    /* A producer killed while putting flat out. */
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, 65536);
    mproc_args *a = args1(q);
    mproc_process *p = test_start(t_put_forever, a, NULL);
    mproc_args_free(a);
    uint32_t next = 0;
    for (int i = 0; i < 300; i++) {
        void *buf;
        size_t len;
        uint32_t who, seq;
        CHECK_RC(mproc_queue_get(q, &buf, &len, 60), 0);
        CU_ASSERT_TRUE(check_msg(buf, len, &who, &seq) && seq == next);
        next++;
        mproc_free(buf);
    }
    CHECK_RC(mproc_process_kill(p), 0);
    CU_ASSERT_EQUAL(test_finish(p), -9);
    drain_sequence(q, &next, 0); /* then MPROC_EOS: its only producer is dead */
    CU_ASSERT_TRUE(next >= 300);
    CHECK_RC(put_msg(q, 6, 0, 10, 0), 0); /* still usable */
    next = 0;
    drain_sequence(q, &next, 0);
    CU_ASSERT_EQUAL(next, 1);
    mproc_queue_free(q);

    /* A consumer killed while getting flat out. */
    q = small_queue(MPROC_QUEUE_PLAIN, 0, 65536);
    a = args1(q);
    mproc_process *c = test_start(t_get_forever, a, NULL);
    mproc_args_free(a);
    for (uint32_t seq = 0; seq < 3000; seq++)
        CHECK_RC(put_msg(q, 6, seq, 8 + (seq * 53u) % 2000u, 60), 0);
    CHECK_RC(mproc_process_kill(c), 0);
    CU_ASSERT_EQUAL(test_finish(c), -9);
    next = 0;
    drain_sequence(q, &next, 1); /* what it left is intact and in order */
    CHECK_RC(put_msg(q, 6, 0, 10, 0), 0);
    next = 0;
    drain_sequence(q, &next, 0);
    CU_ASSERT_EQUAL(next, 1);
    mproc_queue_free(q);
}

/* ------------------------------------------------- dead peers (gh-87971) */

/* args: queue, event. Says it holds the queue, then waits to be killed. */
static int t_hold_and_hang(const mproc_args *a)
{
    mproc_event_set(mproc_args_obj(a, 1));
    test_sleep(3600); /* always killed: must not end on its own first, however slow the run */
    return 0;
}

static mproc_queue *g_eos_queue;
static int g_eos_rc;

static TEST_THREAD_FN(eos_getter)
{
    (void)arg;
    void *buf;
    size_t len;
    g_eos_rc = mproc_queue_get(g_eos_queue, &buf, &len, 60);
    if (g_eos_rc == 0)
        mproc_free(buf);
    return 0;
}

/* Starts t_hold_and_hang with q and waits until it runs. */
static mproc_process *start_holder(mproc_queue *q)
{
    mproc_event *e = mproc_event_new(NULL);
    mproc_args *a = args1(q);
    mproc_args_add_obj(a, e);
    mproc_process *p = test_start(t_hold_and_hang, a, NULL);
    mproc_args_free(a);
    CHECK_RC(mproc_event_wait(e, 60), 0);
    mproc_event_free(e);
    return p;
}

static void test_dead_producer(void)
{
    /* We block in get (another thread); our only peer is killed. */
    mproc_queue *q = mproc_queue_new(0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    mproc_process *p = start_holder(q);
    g_eos_queue = q;
    g_eos_rc = 1;
    test_thread t;
    CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, eos_getter, NULL), 0);
    test_sleep(0.2);
    CHECK_RC(mproc_process_kill(p), 0);
    test_thread_join(&t);
    CHECK_RC(g_eos_rc, MPROC_EOS);
    CU_ASSERT_EQUAL(test_finish(p), -9);
    void *buf;
    size_t len;
    CHECK_RC(mproc_queue_get(q, &buf, &len, 0), MPROC_EEMPTY); /* no wait, no check */
    /* A new peer can still use it. */
    mproc_args *a = args1(q);
    mproc_process *s = test_start(t_seed_job, a, NULL);
    mproc_args_free(a);
    CHECK_RC(mproc_queue_get(q, &buf, &len, 60), 0);
    mproc_free(buf);
    CU_ASSERT_EQUAL(test_finish(s), 0);
    mproc_queue_free(q);
}

/* args: queue. Exit 0 if its get ends with MPROC_EOS. */
static int t_expect_eos(const mproc_args *a)
{
    void *buf;
    size_t len;
    int rc = mproc_queue_get(mproc_args_obj(a, 0), &buf, &len, 60);
    if (rc == 0)
        mproc_free(buf);
    return rc == MPROC_EOS ? 0 : 1;
}

static void test_dead_producer_child_consumer(void)
{
    /* gh-87971 proper: a consumer process whose producer process dies. */
    mproc_queue *q = mproc_queue_new(0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    mproc_process *p = start_holder(q);
    mproc_args *a = args1(q);
    mproc_process *c = test_start(t_expect_eos, a, NULL);
    mproc_args_free(a);
    mproc_queue_free(q); /* we are no peer any more */
    test_sleep(0.2);
    CHECK_RC(mproc_process_kill(p), 0);
    CU_ASSERT_EQUAL(test_finish(p), -9);
    CU_ASSERT_EQUAL(test_finish(c), 0);
}

static void test_dead_consumer(void)
{
    /* The symmetric case: a full queue whose only consumer died. */
    mproc_queue *q = mproc_queue_new(1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CHECK_RC(mproc_queue_put(q, "x", 1, 0), 0);
    mproc_process *c = start_holder(q);
    CHECK_RC(mproc_process_kill(c), 0);
    CHECK_RC(mproc_queue_put(q, "y", 1, MPROC_FOREVER), MPROC_EOS);
    CHECK_RC(mproc_queue_put(q, "y", 1, 0), MPROC_EFULL);
    CU_ASSERT_EQUAL(test_finish(c), -9);
    /* A JoinableQueue whose workers died: join does not wait forever. */
    mproc_queue *j = mproc_joinablequeue_new(0, NULL);
    CHECK_RC(mproc_queue_put(j, "t", 1, 0), 0);
    c = start_holder(j);
    CHECK_RC(mproc_process_kill(c), 0);
    CHECK_RC(mproc_queue_join(j, MPROC_FOREVER), MPROC_EOS);
    CU_ASSERT_EQUAL(test_finish(c), -9);
    mproc_queue_free(j);
    mproc_queue_free(q);
}

static void test_one_process_no_eos(void)
{
    /* Threads of one process: no peer ever existed, so no MPROC_EOS; a
     * bounded wait ends with MPROC_EEMPTY. */
    mproc_queue *q = mproc_queue_new(0, NULL);
    void *buf;
    size_t len;
    CHECK_RC(mproc_queue_get(q, &buf, &len, 0.2), MPROC_EEMPTY);
    mproc_queue_free(q);
}

/* After fork a child may use a queue it inherited as a global, as in
 * Python; it counts as a holder from its first put. */
static mproc_queue *g_inherited;

static int t_put_inherited(const mproc_args *a)
{
    (void)a;
    return mproc_queue_put(g_inherited, "inherited", 9, 60) == 0 ? 0 : 1;
}

static void test_fork_inherited(void)
{
    if (strcmp(mproc_get_start_method(), "fork") != 0)
        return; /* globals reach only forked children */
    g_inherited = mproc_queue_new(0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g_inherited);
    mproc_process *p = test_start(t_put_inherited, NULL, NULL);
    void *buf;
    size_t len;
    CHECK_RC(mproc_queue_get(g_inherited, &buf, &len, 60), 0);
    CU_ASSERT_TRUE(len == 9 && memcmp(buf, "inherited", 9) == 0);
    mproc_free(buf);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CHECK_RC(mproc_queue_get(g_inherited, &buf, &len, MPROC_FOREVER), MPROC_EOS); /* it is gone */
    mproc_queue_free(g_inherited);
}

/* ------------------------------- consumers killed while taking a stream */

/* A 64 KiB ring and messages around its size and far beyond: frames over
 * the ring are streamed. KR_RING - 8 fits the ring exactly (not streamed). */
#define KR_RING 65536
#define KR_PRODUCER 8
static const size_t kr_sizes[] = {MIB, KR_RING - 7, KR_RING, KR_RING + 8, 2 * KR_RING + 3, KR_RING - 8};
#define KR_NSIZES (sizeof kr_sizes / sizeof kr_sizes[0])

/* When the victim dies: as soon as the producer started, after a random
 * pause, or right after put returned (then the producer thread kills it,
 * so that no time passes between the two). */
enum { KP_START, KP_RANDOM, KP_PUT_DONE };

static uint64_t kr_rng = 0x9e3779b97f4a7c15ull;
static uint32_t kr_random(uint32_t n)
{
    kr_rng ^= kr_rng << 13;
    kr_rng ^= kr_rng >> 7;
    kr_rng ^= kr_rng << 17;
    return (uint32_t)(kr_rng % n);
}

/* The record array: what each consumer took, then the quit flag (an Event
 * would do, but a notify waits for sleepers that were killed). */
#define KR_QUIT 2

/* args: queue, record array, slot. Takes one message, records seq + 1
 * (-1 torn, -2 no message), then waits to be told to quit. */
static int t_kr_consumer(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    volatile int *rec = mproc_array_ptr(mproc_args_obj(a, 1));
    int slot = (int)mproc_args_int(a, 2);
    void *buf;
    size_t len;
    uint32_t p, seq;
    if (mproc_queue_get(q, &buf, &len, 60) == 0) {
        rec[slot] = check_msg(buf, len, &p, &seq) && p == KR_PRODUCER ? (int)seq + 1 : -1;
        mproc_free(buf);
    } else {
        rec[slot] = -2;
    }
    for (int i = 0; i < 60000 && !rec[KR_QUIT]; i++)
        test_sleep(0.001);
    return 0;
}

typedef struct kr_round {
    mproc_queue *q;
    size_t len;
    uint32_t first, n; /* messages first .. first + n - 1 */
    int kill_point;
    mproc_process *victim;
    int put_rc[2];
    _Atomic int done;
} kr_round;

static TEST_THREAD_FN(kr_producer)
{
    kr_round *r = arg;
    for (uint32_t i = 0; i < r->n; i++)
        r->put_rc[i] = put_msg(r->q, KR_PRODUCER, r->first + i, r->len, 60);
    if (r->kill_point == KP_PUT_DONE)
        mproc_process_kill(r->victim);
    atomic_store(&r->done, 1);
    return 0;
}

/* Has every consumer but the victim taken its message? */
static int kr_others_done(volatile int *rec, int n, int victim)
{
    for (int i = 0; i < n; i++)
        if (i != victim && rec[i] == 0)
            return 0;
    return 1;
}

/* One message that reached us: intact, of this round, not seen before. */
static void kr_take(const kr_round *r, void *buf, size_t len, int *got)
{
    uint32_t p = 0, seq = 0;
    CU_ASSERT_TRUE(check_msg(buf, len, &p, &seq) && p == KR_PRODUCER && len == r->len);
    if (p == KR_PRODUCER && seq >= r->first && seq < r->first + r->n)
        got[seq - r->first]++;
    else
        CU_FAIL("a message of another round");
    mproc_free(buf);
}

/* n one-shot consumers, one of which is killed; a producer thread puts n
 * messages. We take what nobody else can (once the other consumers have
 * theirs), then check: every put returned 0; once the producer is done no
 * message is stuck in the queue (a marker put now is the next one out);
 * every message reached exactly one process, intact. The victim may have
 * taken one and died before it could say so: then that one, and only
 * that one, is unaccounted for. */
static void kr_round_run(mproc_queue *q, mproc_array *recs, size_t len, uint32_t first, int n, int kill_point,
                         int victim)
{
    volatile int *rec = mproc_array_ptr(recs);
    rec[0] = rec[1] = rec[KR_QUIT] = 0;
    mproc_process *c[2] = {NULL, NULL};
    for (int i = 0; i < n; i++) {
        mproc_args *a = args1(q);
        mproc_args_add_obj(a, recs);
        mproc_args_add_int(a, i);
        int err = -1;
        c[i] = mproc_process_new(t_kr_consumer, a, NULL, &err);
        mproc_args_free(a);
        if (c[i] && (err = mproc_process_start(c[i])) != 0) {
            fprintf(stderr, "\n  round %u: consumer %d not started (OS error %d)\n", (unsigned)first, i,
                    mproc_last_os_error());
            mproc_process_free(c[i]);
            c[i] = NULL;
        }
        CHECK_RC(err, 0);
    }
    if (!c[0] || (n == 2 && !c[1])) { /* no round without its consumers */
        for (int i = 0; i < n; i++)
            if (c[i]) {
                mproc_process_kill(c[i]);
                test_finish(c[i]);
            }
        return;
    }
    kr_round r = {q, len, first, (uint32_t)n, kill_point, c[victim], {1, 1}, 0};
    double delay = kr_random(4000) * 1e-6;
    test_thread t;
    CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, kr_producer, &r), 0);
    if (kill_point == KP_RANDOM)
        test_sleep(delay);
    if (kill_point != KP_PUT_DONE)
        CHECK_RC(mproc_process_kill(c[victim]), 0);
    int got[2] = {0, 0};
    void *buf;
    size_t l;
    for (int polls = 0; !atomic_load(&r.done) && polls < 60000; polls++) {
        if (kill_point != KP_PUT_DONE && kr_others_done(rec, n, victim) && mproc_queue_get(q, &buf, &l, 0) == 0)
            kr_take(&r, buf, l, got);
        else
            test_sleep(0.001);
    }
    test_thread_join(&t);
    CU_ASSERT_EQUAL(test_finish(c[victim]), -9);
    for (int i = 0; i < n; i++)
        CHECK_RC(r.put_rc[i], 0);
    /* The others have taken theirs (or will at once: they are alive). */
    for (int polls = 0; !kr_others_done(rec, n, victim) && polls < 60000; polls++)
        test_sleep(0.001);
    /* Before anyone blocks on the queue: what is left comes out now, then
     * a marker. */
    while (mproc_queue_get(q, &buf, &l, 0) == 0)
        kr_take(&r, buf, l, got);
    CHECK_RC(put_msg(q, STOP_MARK, first, 8, 0), 0);
    uint32_t p = 0, seq = 0;
    int rc = mproc_queue_get(q, &buf, &l, 0);
    CHECK_RC(rc, 0);
    if (rc == 0) {
        CU_ASSERT_TRUE(check_msg(buf, l, &p, &seq) && p == STOP_MARK && seq == first);
        mproc_free(buf);
    }
    int missing = 0;
    for (uint32_t i = 0; i < (uint32_t)n; i++) {
        int times = got[i];
        for (int k = 0; k < n; k++)
            times += rec[k] == (int)(first + i) + 1;
        CU_ASSERT_TRUE(times <= 1); /* never twice */
        missing += times == 0;
    }
    for (int k = 0; k < n; k++)
        CU_ASSERT_TRUE(rec[k] >= 0 || (k == victim && rec[k] == 0) || (k != victim && rec[k] > 0));
    CU_ASSERT_TRUE(missing == 0 || (missing == 1 && rec[victim] == 0));
    if (missing > (rec[victim] == 0) || rc)
        fprintf(stderr, "\n  round %u: size %zu, kill point %d, %d consumers: %d missing, rc %s\n",
                (unsigned)first, len, kill_point, n, missing, mproc_err_name(rc));
    rec[KR_QUIT] = 1;
    for (int i = 0; i < n; i++)
        if (i != victim)
            CU_ASSERT_EQUAL(test_finish(c[i]), 0);
}

static void kr_test(int consumers, int rounds)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, KR_RING);
    mproc_array *recs = mproc_array_new('i', 3, NULL, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_PTR_NOT_NULL_FATAL(recs);
    /* A peer that outlives the victims: a producer waiting for a reader
     * after its only consumer died gets no MPROC_EOS. */
    mproc_process *holder = start_holder(q);
    for (int i = 0; i < rounds; i++) {
        size_t len = kr_sizes[(size_t)i % KR_NSIZES];
        int kp = consumers == 1 ? (i / (int)KR_NSIZES) % 3 : (int)kr_random(3);
        if (len == MIB && i % 2)
            kp = KP_PUT_DONE; /* the case that used to lose it, more often */
        kr_round_run(q, recs, len, (uint32_t)(i * 2), consumers, kp, (int)kr_random((uint32_t)consumers));
    }
    CHECK_RC(mproc_process_kill(holder), 0);
    CU_ASSERT_EQUAL(test_finish(holder), -9);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0);
    mproc_array_free(recs);
    mproc_queue_free(q);
}

static void test_stream_consumer_killed(void) { kr_test(1, 36); }

static void test_stream_two_consumers_killed(void) { kr_test(2, 24); }

/* ---------------------------- a killed peer leaves no descriptor behind */

#ifdef _WIN32
#define LEAK_CYCLES 60
/* Handles in use, by probing every value (wine's GetProcessHandleCount
 * always says 0). */
static int open_descriptors(void)
{
    int n = 0;
    DWORD flags;
    for (uintptr_t h = 4; h < ((uintptr_t)1 << 16); h += 4)
        n += GetHandleInformation((HANDLE)h, &flags) != 0;
    return n;
}
static int limit_descriptors(void) { return 0; }
static int open_mappings(void) { return 0; }
#else
#define LEAK_CYCLES 300
#define LEAK_FD_LIMIT 128
static int open_descriptors(void)
{
    int n = 0;
    for (int fd = 0; fd < LEAK_FD_LIMIT * 8; fd++)
        n += fcntl(fd, F_GETFD) != -1;
    return n;
}
/* As `ulimit -n 128`: a descriptor lost per cycle ends the loop early. */
static int limit_descriptors(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < LEAK_FD_LIMIT)
        return 0;
    rl.rlim_cur = LEAK_FD_LIMIT;
    return setrlimit(RLIMIT_NOFILE, &rl);
}
/* Lines of /proc/self/maps where there is one, else 0. */
static int open_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, ch;
    if (!f)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}
#endif

/* args: queue. Puts one message, then waits to be killed. */
static int t_put_and_hang(const mproc_args *a)
{
    if (mproc_queue_put(mproc_args_obj(a, 0), "x", 1, 60) != 0)
        return 1;
    test_sleep(60);
    return 0;
}

/* One cycle: a queue with its own segment, a peer that holds it and has
 * put into it, the peer killed, the queue freed. 0 or the failing step.
 * (Nothing else is shared with the peer: what it holds of other kinds is
 * not this test's business.) */
static int peer_cycle(void)
{
    int err = 0;
    mproc_queue *q = mproc_queue_new(0, &err); /* a 4 MiB ring: a segment of its own */
    if (!q) {
        fprintf(stderr, "queue: %s\n", mproc_err_name(err));
        return 2;
    }
    mproc_args *a = args1(q);
    mproc_process *p = mproc_process_new(t_put_and_hang, a, NULL, &err);
    mproc_args_free(a);
    int rc = p ? mproc_process_start(p) : err;
    int step = rc ? 3 : 0;
    void *buf;
    size_t len;
    if (!rc && (rc = mproc_queue_get(q, &buf, &len, 60)) != 0)
        step = 4;
    else if (!rc)
        mproc_free(buf);
    if (p && !rc && ((rc = mproc_process_kill(p)) != 0 || (rc = mproc_process_join(p, 60)) != 0))
        step = 5;
    if (step)
        fprintf(stderr, "peer cycle step %d: %s\n", step, mproc_err_name(rc));
    if (p && step && step != 3) {
        mproc_process_kill(p);
        mproc_process_join(p, 60);
    }
    mproc_process_free(p);
    mproc_queue_free(q);
    return step;
}

/* In a child (its own descriptor limit): LEAK_CYCLES cycles; 0, the
 * failing step, 6 if descriptors (handles) grew, 7 if mappings grew. */
static int t_peer_cycles(const mproc_args *a)
{
    (void)a;
    if (limit_descriptors() != 0)
        return 1;
    int fds = 0, maps = 0;
    for (int i = 0; i < LEAK_CYCLES; i++) {
        if (i == 5) { /* after warming up (the forkserver, the arena) */
            fds = open_descriptors();
            maps = open_mappings();
        }
        int step = peer_cycle();
        if (step) {
            fprintf(stderr, "cycle %d of %d failed\n", i, LEAK_CYCLES);
            return step;
        }
    }
    int fds_after = open_descriptors(), maps_after = open_mappings();
    if (fds_after > fds + 4 || maps_after > maps + 16)
        fprintf(stderr, "descriptors %d -> %d, mappings %d -> %d\n", fds, fds_after, maps, maps_after);
    return fds_after > fds + 4 ? 6 : maps_after > maps + 16 ? 7 : 0;
}

static void test_killed_peer_no_leak(void)
{
    int code = -1;
    CHECK_RC(test_run_within(t_peer_cycles, NULL, &code, 600), 0);
    CU_ASSERT_EQUAL(code, 0);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"wait on queues, pipes and children", test_wait_on_queues},
        {"basics, FIFO, timeouts", test_basics},
        {"maxsize and ring bound", test_maxsize},
        {"close and join_thread", test_close},
        {"SimpleQueue", test_simplequeue},
        {"bad input", test_bad_input},
        {"JoinableQueue task_done/join", test_joinable},
        {"JoinableQueue: a streamed message is one task", test_joinable_stream},
        {"seed: results of two processes", test_seed_results},
        {"seed: producer/consumer, maxsize 4", test_seed_producer_consumer},
        {"N producers x M consumers, mixed sizes", test_n_by_m},
        {"producer exits before drain (gh-73983)", test_exit_before_drain},
        {"messages larger than the ring", test_oversize},
        {"oversize put times out half-way", test_oversize_timeout_midway},
        {"stream writer killed", test_stream_writer_killed},
        {"stream reader killed", test_stream_reader_killed},
        {"killed in the middle of put/get", test_killed_mid_put_get},
        {"dead producer: get -> EOS (gh-87971)", test_dead_producer},
        {"dead producer, child consumer", test_dead_producer_child_consumer},
        {"dead consumer: put and join -> EOS", test_dead_consumer},
        {"one process: no EOS", test_one_process_no_eos},
        {"fork: inherited queue", test_fork_inherited},
        {"stream consumer killed, any point (issue 16)", test_stream_consumer_killed},
        {"stream, two consumers, one killed (issue 16)", test_stream_two_consumers_killed},
        {"killed peers leave no descriptor (issue 16)", test_killed_peer_no_leak},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "queue", tests);
}
