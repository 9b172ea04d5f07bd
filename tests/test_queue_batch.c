/* SPDX-License-Identifier: MIT */
/* test_queue_batch.c - mproc_queue_put_many, get_many and get_into, on local
 * and Manager queues, once per start method (--method NAME): order, partial
 * batches, byte limits, the ring's wrap, all or none, JoinableQueue counts,
 * bad input, closed queues and dead peers, and processes killed in the
 * middle of a batch (messages as in queue_msgs.h). */
#include <stdint.h>

#include "queue_msgs.h"
#include "base/testhooks.h" /* mproc_test_queue_skip: core/, not the public header */

#define BATCH 16 /* messages per put_many of the kill tests */

/* Puts messages seq .. seq+n-1 of producer p (lengths by len_of) at once. */
static size_t len_of(uint32_t seq) { return 8 + (seq * 37u) % 300u; }

static int put_batch(mproc_queue *q, uint32_t p, uint32_t seq, size_t n, double timeout)
{
    unsigned char *bufs[64];
    size_t lens[64];
    int rc = 0;
    if (n > 64)
        return MPROC_EINVAL;
    for (size_t i = 0; i < n; i++) {
        lens[i] = len_of(seq + (uint32_t)i);
        if (!(bufs[i] = make_msg(p, seq + (uint32_t)i, lens[i])))
            rc = MPROC_ENOMEM;
    }
    if (rc == 0)
        rc = mproc_queue_put_many(q, (const void *const *)bufs, lens, n, timeout);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    return rc;
}

/* Checks a get_many result: count messages of producer p continuing the
 * sequence *next. */
static void check_batch(const void *buf, const size_t *lens, size_t count, uint32_t p, uint32_t *next)
{
    const unsigned char *b = buf;
    for (size_t i = 0; i < count; i++) {
        uint32_t who = 0, seq = 0;
        CU_ASSERT_TRUE(check_msg(b, lens[i], &who, &seq) && who == p && seq == *next && lens[i] == len_of(seq));
        *next = seq + 1;
        b += lens[i];
    }
}

/* get_many of up to max (<= 32) messages of producer p, checked against
 * the sequence *next and freed. Its result code (checked to be 0). */
static int get_checked(mproc_queue *q, size_t max, size_t max_bytes, uint32_t p, uint32_t *next, double timeout)
{
    void *buf;
    size_t lens[32], count = 0;
    int rc = mproc_queue_get_many(q, max, max_bytes, &buf, lens, &count, timeout);
    CHECK_RC(rc, 0);
    if (rc == 0) {
        check_batch(buf, lens, count, p, next);
        mproc_free(buf);
    }
    return rc;
}

/* ------------------------------------------------------- one process */

static void batch_semantics(mproc_queue *q)
{
    /* Order, and a batch among single messages. */
    CHECK_RC(put_msg(q, 1, 0, len_of(0), 1), 0);
    CHECK_RC(put_batch(q, 1, 1, 5, 1), 0);
    CHECK_RC(put_msg(q, 1, 6, len_of(6), 1), 0);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 7);
    void *buf = NULL;
    size_t lens[8], count = 0;
    uint32_t next = 0;
    CHECK_RC(mproc_queue_get_many(q, 3, 0, &buf, lens, &count, 1), 0);
    CU_ASSERT_EQUAL(count, 3);
    check_batch(buf, lens, count, 1, &next);
    mproc_free(buf);
    /* A byte limit that stops the batch after two messages. */
    size_t two = len_of(3) + len_of(4);
    CHECK_RC(mproc_queue_get_many(q, 8, two + len_of(5) - 1, &buf, lens, &count, 1), 0);
    CU_ASSERT_EQUAL(count, 2);
    check_batch(buf, lens, count, 1, &next);
    mproc_free(buf);
    /* Too small for the oldest: MPROC_EMSGSIZE, its length, and it stays. */
    lens[0] = 0;
    CHECK_RC(mproc_queue_get_many(q, 8, len_of(5) - 1, &buf, lens, &count, 1), MPROC_EMSGSIZE);
    CU_ASSERT_EQUAL(lens[0], len_of(5));
    unsigned char small[64], big[400];
    size_t len = 0;
    CHECK_RC(mproc_queue_get_into(q, small, 7, &len, 1), MPROC_EMSGSIZE);
    CU_ASSERT_EQUAL(len, len_of(5));
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 2);
    /* get_into: no allocation, in order. */
    CHECK_RC(mproc_queue_get_into(q, big, sizeof big, &len, 1), 0);
    check_batch(big, &len, 1, 1, &next);
    CHECK_RC(mproc_queue_get_many(q, 8, 0, &buf, lens, &count, 1), 0);
    CU_ASSERT_EQUAL(count, 1);
    check_batch(buf, lens, count, 1, &next);
    mproc_free(buf);
    CU_ASSERT_EQUAL(next, 7);
    /* Empty: MPROC_EEMPTY at the timeout, for all three. */
    CHECK_RC(mproc_queue_get_many(q, 8, 0, &buf, lens, &count, 0), MPROC_EEMPTY);
    CHECK_RC(mproc_queue_get_many(q, 8, 0, &buf, lens, &count, 0.05), MPROC_EEMPTY);
    CHECK_RC(mproc_queue_get_into(q, big, sizeof big, &len, 0), MPROC_EEMPTY);
    /* Empty messages and NULL buffers of length 0. */
    const void *nulls[3] = {NULL, "x", NULL};
    size_t nlens[3] = {0, 1, 0};
    CHECK_RC(mproc_queue_put_many(q, nulls, nlens, 3, 1), 0);
    CHECK_RC(mproc_queue_get_many(q, 8, 0, &buf, lens, &count, 1), 0);
    CU_ASSERT(count == 3 && lens[0] == 0 && lens[1] == 1 && lens[2] == 0 && ((char *)buf)[0] == 'x');
    mproc_free(buf);
    CHECK_RC(mproc_queue_put(q, NULL, 0, 1), 0);
    CHECK_RC(mproc_queue_get_into(q, NULL, 0, &len, 1), 0);
    CU_ASSERT_EQUAL(len, 0);
}

static void bad_input(mproc_queue *q)
{
    const void *bufs[2] = {"ab", NULL};
    size_t lens[2] = {2, 3}, count;
    void *buf;
    CHECK_RC(mproc_queue_put_many(q, bufs, lens, 0, 1), MPROC_EINVAL);       /* n = 0 */
    CHECK_RC(mproc_queue_put_many(q, NULL, lens, 1, 1), MPROC_EINVAL);       /* no buffers */
    CHECK_RC(mproc_queue_put_many(q, bufs, NULL, 1, 1), MPROC_EINVAL);       /* no lengths */
    CHECK_RC(mproc_queue_put_many(q, bufs, lens, 2, 1), MPROC_EINVAL);       /* NULL with 3 bytes */
    CHECK_RC(mproc_queue_put_many(q, bufs, lens, 1, 0.0 / 0.0), MPROC_EINVAL); /* NaN */
    CHECK_RC(mproc_queue_put_many(NULL, bufs, lens, 1, 1), MPROC_EINVAL);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0); /* nothing went in */
    CHECK_RC(mproc_queue_get_many(q, 0, 0, &buf, lens, &count, 1), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get_many(q, 2, 0, NULL, lens, &count, 1), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get_many(q, 2, 0, &buf, NULL, &count, 1), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get_many(q, 2, 0, &buf, lens, NULL, 1), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get_many(q, 2, 0, &buf, lens, &count, 0.0 / 0.0), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get_into(q, NULL, 5, &count, 1), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get_into(q, buf = lens, sizeof lens, NULL, 1), MPROC_EINVAL);
    mproc_lock *l = mproc_lock_new(NULL);
    CHECK_RC(mproc_queue_put_many((mproc_queue *)(void *)l, bufs, lens, 1, 1), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get_many((mproc_queue *)(void *)l, 2, 0, &buf, lens, &count, 1), MPROC_EINVAL);
    mproc_lock_free(l);
}

static void test_local_semantics(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, 0);
    batch_semantics(q);
    bad_input(q);
    mproc_queue_free(q);
}

/* All or none: a batch waits for room for all of it, or is refused when it
 * could never fit. */
static void all_or_none(mproc_queue *q)
{
    CHECK_RC(put_batch(q, 2, 0, 3, 1), 0);
    CHECK_RC(put_batch(q, 2, 3, 2, 0), MPROC_EFULL);     /* maxsize 4: one free */
    CHECK_RC(put_batch(q, 2, 3, 2, 0.05), MPROC_EFULL);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 3);            /* nothing of it went in */
    CHECK_RC(put_batch(q, 2, 3, 5, 1), MPROC_EMSGSIZE);  /* more than maxsize: never */
    CHECK_RC(put_batch(q, 2, 3, 1, 0), 0);
    uint32_t next = 0;
    void *buf;
    size_t lens[8], count;
    CHECK_RC(mproc_queue_get_many(q, 8, 0, &buf, lens, &count, 1), 0);
    CU_ASSERT_EQUAL(count, 4);
    check_batch(buf, lens, count, 2, &next);
    mproc_free(buf);
}

/* The ring (256 bytes here) bounds a local batch too: the frames of one
 * batch must fit in it at once. */
static void ring_bound(mproc_queue *q)
{
    static unsigned char blob[300];
    const void *bufs[2] = {blob, blob};
    void *buf;
    size_t l1[1] = {300}, l2[2] = {128, 128}, l3[2] = {120, 120}, lens[8], count;
    CHECK_RC(mproc_queue_put_many(q, bufs, l1, 1, 1), MPROC_EMSGSIZE); /* one message over the ring */
    CHECK_RC(mproc_queue_put_many(q, bufs, l2, 2, 1), MPROC_EMSGSIZE); /* frames 2 x 136 > 256 */
    CHECK_RC(mproc_queue_put_many(q, bufs, l3, 2, 0), 0);             /* frames 2 x 128: the whole ring */
    CHECK_RC(mproc_queue_get_many(q, 8, 0, &buf, lens, &count, 1), 0);
    CU_ASSERT(count == 2 && lens[0] == 120 && lens[1] == 120);
    mproc_free(buf);
}

static void test_all_or_none(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 4, 4096);
    all_or_none(q);
    mproc_queue_free(q);
    q = small_queue(MPROC_QUEUE_PLAIN, 0, 256);
    ring_bound(q);
    mproc_queue_free(q);
}

/* Batches across the ring's wrap, of every size, in one process: the ring
 * (2 KiB, or 2 KiB + 8 where its index is a division, not a mask) wraps
 * every dozen messages or so. */
static void wrap_ring(size_t capacity)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, capacity);
    uint32_t put = 0, next = 0;
    for (int round = 0; round < 400; round++) {
        size_t n = 1 + (size_t)round % 5;
        int rc = put_batch(q, 3, put, n, 1);
        CHECK_RC(rc, 0);
        if (rc)
            break;
        put += (uint32_t)n;
        while (rc == 0 && put - next > 2)
            rc = get_checked(q, 1 + (size_t)(round + next) % 4, 0, 3, &next, 1);
    }
    while (next < put) {
        unsigned char b[400];
        size_t len;
        int rc = mproc_queue_get_into(q, b, sizeof b, &len, 1);
        CHECK_RC(rc, 0);
        if (rc)
            break;
        check_batch(b, &len, 1, 3, &next);
    }
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0);
    mproc_queue_free(q);
}

static void test_wrap(void)
{
    wrap_ring(2048);
    wrap_ring(2048 + 8);
}

/* args: queue. Puts a message bigger than the ring, a small one, and a
 * big one again (sequence 2, 3, 4 of producer 4). */
static int t_put_streams(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    return put_msg(q, 4, 2, 1000, 60) || put_msg(q, 4, 3, len_of(3), 60) || put_msg(q, 4, 4, 1000, 60);
}

/* A message bigger than the ring (streamed) comes alone in get_many, a
 * batch stops short of it, and get_into takes it when it fits (else it
 * stays). */
static void test_streamed_message(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, 256);
    CHECK_RC(put_batch(q, 4, 0, 2, 1), 0);
    mproc_args *a = args1(q);
    mproc_process *p = test_start(t_put_streams, a, NULL);
    mproc_args_free(a);
    void *buf;
    size_t lens[8], count, len;
    uint32_t next = 0, who, seq;
    CHECK_RC(mproc_queue_get_many(q, 8, 0, &buf, lens, &count, 60), 0);
    CU_ASSERT_EQUAL(count, 2);
    check_batch(buf, lens, count, 4, &next);
    mproc_free(buf);
    CHECK_RC(mproc_queue_get_many(q, 8, 0, &buf, lens, &count, 60), 0);
    CU_ASSERT(count == 1 && lens[0] == 1000 && check_msg(buf, lens[0], &who, &seq) && who == 4 && seq == 2);
    mproc_free(buf);
    static unsigned char b[2000];
    CHECK_RC(mproc_queue_get_into(q, b, sizeof b, &len, 60), 0);
    CU_ASSERT(len == len_of(3) && check_msg(b, len, &who, &seq) && seq == 3);
    CHECK_RC(mproc_queue_get_into(q, b, 999, &len, 60), MPROC_EMSGSIZE);
    CU_ASSERT_EQUAL(len, 1000);
    CHECK_RC(mproc_queue_get_many(q, 8, 999, &buf, lens, &count, 60), MPROC_EMSGSIZE);
    CHECK_RC(mproc_queue_get_into(q, b, sizeof b, &len, 60), 0);
    CU_ASSERT(len == 1000 && check_msg(b, len, &who, &seq) && seq == 4);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_queue_free(q);
}

static void joinable(mproc_queue *q)
{
    CHECK_RC(put_batch(q, 5, 0, 4, 1), 0);
    CHECK_RC(mproc_queue_join(q, 0.05), MPROC_ETIMEDOUT);
    void *buf;
    size_t lens[8], count;
    CHECK_RC(mproc_queue_get_many(q, 8, 0, &buf, lens, &count, 1), 0);
    CU_ASSERT_EQUAL(count, 4);
    mproc_free(buf);
    for (int i = 0; i < 3; i++)
        CHECK_RC(mproc_queue_task_done(q), 0);
    CHECK_RC(mproc_queue_join(q, 0.05), MPROC_ETIMEDOUT); /* one left */
    CHECK_RC(mproc_queue_task_done(q), 0);
    CHECK_RC(mproc_queue_join(q, 1), 0);
    CHECK_RC(mproc_queue_task_done(q), MPROC_ESTATE);
}

static void test_joinable(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_JOINABLE, 0, 0);
    joinable(q);
    mproc_queue_free(q);
}

static void test_closed(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, 0);
    CHECK_RC(put_batch(q, 6, 0, 2, 1), 0);
    CHECK_RC(mproc_queue_close(q), 0);
    void *buf;
    size_t lens[4], count, len;
    unsigned char b[64];
    CHECK_RC(put_batch(q, 6, 2, 2, 1), MPROC_ECLOSED);
    CHECK_RC(mproc_queue_get_many(q, 4, 0, &buf, lens, &count, 1), MPROC_ECLOSED);
    CHECK_RC(mproc_queue_get_into(q, b, sizeof b, &len, 1), MPROC_ECLOSED);
    mproc_queue_free(q);
}

/* ------------------------------------------------- between processes */

/* args: queue, count. Puts count messages of producer 7 in batches of
 * 1..BATCH. */
static int t_put_batches(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    uint32_t n = (uint32_t)mproc_args_int(a, 1);
    for (uint32_t seq = 0; seq < n;) {
        uint32_t k = 1 + seq % BATCH;
        if (k > n - seq)
            k = n - seq;
        if (put_batch(q, 7, seq, k, 60) != 0)
            return 1;
        seq += k;
    }
    return 0;
}

/* A producer child's batches, taken by get_many and get_into in turn. */
static void test_producer_child(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, 4096);
    mproc_args *a = args1(q);
    mproc_args_add_int(a, 20000);
    mproc_process *p = test_start(t_put_batches, a, NULL);
    mproc_args_free(a);
    uint32_t next = 0;
    while (next < 20000) {
        if (next % 3 == 0) {
            unsigned char b[400];
            size_t len = 0;
            int rc = mproc_queue_get_into(q, b, sizeof b, &len, 60);
            CHECK_RC(rc, 0);
            if (rc)
                break;
            check_batch(b, &len, 1, 7, &next);
            continue;
        }
        if (get_checked(q, 32, 4000, 7, &next, 60))
            break;
    }
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_queue_free(q);
}

/* --------------------------------------------- the counters at their wrap */

/* Message seq of the mixed stream: every 97th is bigger than a 4 KiB ring. */
static size_t mixed_len(uint32_t seq) { return seq % 97 == 96 ? 5000 : len_of(seq); }

/* args: queue, n. Puts messages 0 .. n-1 of producer 9: batches of up to
 * 3 through the producers' lane, the big ones streamed (the whole lock). */
static int t_put_mixed(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    uint32_t n = (uint32_t)mproc_args_int(a, 1);
    for (uint32_t seq = 0; seq < n;) {
        uint32_t k = 1, to_big = 96 - seq % 97;
        int rc;
        if (to_big == 0) {
            rc = put_msg(q, 9, seq, mixed_len(seq), 60);
        } else {
            k = to_big < 3 ? to_big : 3;
            k = seq + k > n ? n - seq : k;
            rc = put_batch(q, 9, seq, k, 60);
        }
        if (rc)
            return 1;
        seq += k;
    }
    return 0;
}

/* A queue whose positions and message counts were moved to just before
 * the ends of the lanes' 32-bit words (or far on, for a ring without
 * lanes): a child's stream of messages crosses them with gets through the
 * consumers' lane, get_into, streamed messages and the whole lock's qsize
 * in between; order and sizes hold, maxsize still counts right. */
static void across_wrap(size_t capacity, uint64_t bytes, uint64_t messages)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, capacity);
    CHECK_RC(mproc_test_queue_skip(q, bytes, messages), 0);
    const uint32_t n = 3000;
    mproc_args *a = args1(q);
    mproc_args_add_int(a, n);
    mproc_process *p = test_start(t_put_mixed, a, NULL);
    mproc_args_free(a);
    static unsigned char b[6000];
    for (uint32_t next = 0; next < n; next++) {
        void *buf = NULL;
        size_t len = 0, count = 0;
        int rc = next % 2 ? mproc_queue_get_into(q, b, sizeof b, &len, 60)
                          : mproc_queue_get_many(q, 1, 0, &buf, &len, &count, 60);
        CHECK_RC(rc, 0);
        if (rc)
            break;
        uint32_t who = 0, seq = 0;
        CU_ASSERT_TRUE(check_msg(buf ? buf : b, len, &who, &seq) && who == 9 && seq == next &&
                       len == mixed_len(seq));
        mproc_free(buf);
        if (next % 50 == 0) {
            int size = mproc_queue_qsize(q);
            CU_ASSERT_TRUE(size >= 0 && size <= (int)(capacity / 8));
        }
    }
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CU_ASSERT_EQUAL(mproc_queue_qsize(q), 0);
    CHECK_RC(mproc_test_queue_skip(q, 8, 1), 0);
    mproc_queue_free(q);

    /* maxsize counts messages across the wrap of the counts. */
    mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
    o.maxsize = 4;
    o.capacity = capacity;
    q = mproc_queue_new_ex(&o, NULL);
    CHECK_RC(mproc_test_queue_skip(q, bytes, messages), 0);
    uint32_t next = 0, put = 0;
    for (int round = 0; round < 40; round++) {
        for (; put < next + 4; put++)
            CHECK_RC(put_msg(q, 1, put, len_of(put), 0), 0);
        CHECK_RC(put_msg(q, 1, put, len_of(put), 0), MPROC_EFULL);
        CU_ASSERT_EQUAL(mproc_queue_full(q), 1);
        CU_ASSERT_EQUAL(mproc_queue_qsize(q), 4);
        CHECK_RC(get_checked(q, 1 + round % 3, 0, 1, &next, 1), 0);
    }
    mproc_queue_free(q);
}

static void test_counters_wrap(void)
{
    const uint64_t unit_wrap = (uint64_t)1 << 35, count_wrap = (uint64_t)1 << 32;
    across_wrap(4096, unit_wrap - 1024, count_wrap - 20); /* lanes: both words wrap early on */
    across_wrap(4096, 3 * unit_wrap + 2048, 5 * count_wrap - 1);
    across_wrap(4104, (uint64_t)1 << 41, count_wrap - 20); /* no lanes: 64-bit positions */
    /* Bad input, and a queue that is not empty. */
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, 4096);
    CHECK_RC(mproc_test_queue_skip(q, 7, 0), MPROC_EINVAL);
    CHECK_RC(mproc_test_queue_skip(NULL, 8, 0), MPROC_EINVAL);
    CHECK_RC(put_msg(q, 1, 0, 8, 0), 0);
    CHECK_RC(mproc_test_queue_skip(q, 8, 0), MPROC_ESTATE);
    mproc_queue_free(q);
}

/* args: queue. Puts batches of BATCH until killed. */
static int t_put_batches_forever(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    for (uint32_t seq = 0;; seq += BATCH)
        if (put_batch(q, 6, seq, BATCH, 60) != 0)
            return 1;
}

/* args: queue. get_many until killed. */
static int t_get_batches_forever(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    for (size_t i = 0;; i++) {
        void *buf;
        size_t lens[BATCH], count;
        if (mproc_queue_get_many(q, 1 + i % BATCH, 0, &buf, lens, &count, 60) != 0)
            return 1;
        mproc_free(buf);
    }
}

/* A producer killed in the middle of put_many: the reader never sees part
 * of a batch (what is left ends on a batch boundary) nor part of a message;
 * every batch before the kill is there. */
static void test_producer_killed(void)
{
    for (int round = 0; round < 3; round++) {
        mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, 8192);
        mproc_args *a = args1(q);
        mproc_process *p = test_start(t_put_batches_forever, a, NULL);
        mproc_args_free(a);
        uint32_t next = 0;
        for (int i = 0; i < 200 + round * 150; i++) {
            void *buf;
            size_t lens[1], count;
            CHECK_RC(mproc_queue_get_many(q, 1, 0, &buf, lens, &count, 60), 0);
            uint32_t who, seq;
            CU_ASSERT_TRUE(check_msg(buf, lens[0], &who, &seq) && seq == next);
            next++;
            mproc_free(buf);
        }
        CHECK_RC(mproc_process_kill(p), 0);
        CU_ASSERT_EQUAL(test_finish(p), -9);
        drain_sequence(q, &next, 0); /* then MPROC_EOS: its only producer is dead */
        CU_ASSERT_EQUAL(next % BATCH, 0);
        CU_ASSERT_TRUE(next >= 200);
        mproc_queue_free(q);
    }
}

/* A consumer killed in the middle of get_many: what it did not take is
 * intact and in order. */
static void test_consumer_killed(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 0, 65536);
    mproc_args *a = args1(q);
    mproc_process *c = test_start(t_get_batches_forever, a, NULL);
    mproc_args_free(a);
    for (uint32_t seq = 0; seq < 4000; seq += BATCH) {
        unsigned char *bufs[BATCH];
        size_t lens[BATCH];
        for (size_t i = 0; i < BATCH; i++) {
            lens[i] = 8 + ((seq + i) * 53u) % 2000u;
            bufs[i] = make_msg(6, seq + (uint32_t)i, lens[i]);
        }
        CHECK_RC(mproc_queue_put_many(q, (const void *const *)bufs, lens, BATCH, 60), 0);
        for (size_t i = 0; i < BATCH; i++)
            free(bufs[i]);
    }
    CHECK_RC(mproc_process_kill(c), 0);
    CU_ASSERT_EQUAL(test_finish(c), -9);
    uint32_t next = 0;
    drain_sequence(q, &next, 1);
    CHECK_RC(put_msg(q, 6, 0, 10, 0), 0); /* still usable */
    next = 0;
    drain_sequence(q, &next, 0);
    CU_ASSERT_EQUAL(next, 1);
    mproc_queue_free(q);
}

/* args: queue, event. Says it holds the queue, then waits to be killed. */
static int t_hold(const mproc_args *a)
{
    mproc_event_set(mproc_args_obj(a, 1));
    test_sleep(3600);
    return 0;
}

/* The only other holder dead: get_many and get_into on an empty queue and
 * put_many on a full one give MPROC_EOS instead of waiting. */
static void test_dead_peer(void)
{
    mproc_queue *q = small_queue(MPROC_QUEUE_PLAIN, 2, 0);
    mproc_event *e = mproc_event_new(NULL);
    mproc_args *a = args1(q);
    mproc_args_add_obj(a, e);
    mproc_process *p = test_start(t_hold, a, NULL);
    mproc_args_free(a);
    CHECK_RC(mproc_event_wait(e, 60), 0);
    mproc_event_free(e);
    CHECK_RC(mproc_process_kill(p), 0);
    CU_ASSERT_EQUAL(test_finish(p), -9);
    void *buf;
    size_t lens[4], count, len;
    unsigned char b[64];
    CHECK_RC(mproc_queue_get_many(q, 4, 0, &buf, lens, &count, 30), MPROC_EOS);
    CHECK_RC(mproc_queue_get_into(q, b, sizeof b, &len, 30), MPROC_EOS);
    CHECK_RC(put_batch(q, 8, 0, 2, 1), 0);
    CHECK_RC(put_batch(q, 8, 2, 1, 30), MPROC_EOS);
    mproc_queue_free(q);
}

/* ---------------------------------------------------- Manager queues */

static mproc_manager *manager(void)
{
    int err = -1;
    mproc_manager *m = mproc_manager_start(NULL, &err);
    CHECK_RC(err, 0);
    return m;
}

static mproc_queue *mqueue(mproc_manager *m, mproc_queue_kind kind, size_t maxsize)
{
    int err = -1;
    mproc_queue *q = mproc_manager_queue(m, kind, maxsize, &err);
    CHECK_RC(err, 0);
    return q;
}

static void test_manager_queue(void)
{
    mproc_manager *m = manager();
    if (!m)
        return;
    mproc_queue *q = mqueue(m, MPROC_QUEUE_PLAIN, 0);
    batch_semantics(q);
    bad_input(q);
    mproc_queue_free(q);
    q = mqueue(m, MPROC_QUEUE_PLAIN, 4);
    all_or_none(q);
    mproc_queue_free(q);
    q = mqueue(m, MPROC_QUEUE_JOINABLE, 0);
    joinable(q);
    mproc_queue_free(q);
    /* A child's batches through the server. */
    q = mqueue(m, MPROC_QUEUE_PLAIN, 0);
    mproc_args *a = args1(q);
    mproc_args_add_int(a, 3000);
    mproc_process *p = test_start(t_put_batches, a, NULL);
    mproc_args_free(a);
    uint32_t next = 0;
    while (next < 3000)
        if (get_checked(q, 32, 0, 7, &next, 60))
            break;
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_queue_free(q);
    CHECK_RC(mproc_manager_shutdown(m), 0);
    mproc_manager_free(m);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"order, partial batches, byte limits, get_into", test_local_semantics},
        {"all or none: maxsize, ring size", test_all_or_none},
        {"batches across the ring's wrap", test_wrap},
        {"a streamed message comes alone", test_streamed_message},
        {"JoinableQueue counts every message", test_joinable},
        {"closed handle", test_closed},
        {"a producer child's batches", test_producer_child},
        {"producer killed in put_many", test_producer_killed},
        {"consumer killed in get_many", test_consumer_killed},
        {"dead peer: EOS", test_dead_peer},
        {"the lanes' counters across their wrap", test_counters_wrap},
        {"Manager queues: one round trip per batch", test_manager_queue},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "queue_batch", tests);
}
