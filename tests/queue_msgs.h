/* SPDX-License-Identifier: MIT */
/* queue_msgs.h - messages the queue suites check: each carries (producer,
 * sequence) and a pattern derived from them, so a consumer can tell a torn,
 * mixed or duplicated message from a good one. */
#ifndef MPROC_TEST_QUEUE_MSGS_H
#define MPROC_TEST_QUEUE_MSGS_H

#include <stdint.h>

#include "testutil.h"

#define STOP_MARK 0xFFFFFFFFu

static inline unsigned char pattern(uint32_t p, uint32_t seq, size_t i)
{
    return (unsigned char)(p * 131u + seq * 7u + (uint32_t)i * 13u);
}

/* A message of len >= 8 bytes: p, seq, then the pattern. */
static inline unsigned char *make_msg(uint32_t p, uint32_t seq, size_t len)
{
    unsigned char *b = malloc(len);
    if (!b)
        return NULL;
    for (size_t i = 8; i < len; i++)
        b[i] = pattern(p, seq, i);
    memcpy(b, &p, 4);
    memcpy(b + 4, &seq, 4);
    return b;
}

/* 1 if intact; *p and *seq tell whose it is. */
static inline int check_msg(const void *buf, size_t len, uint32_t *p, uint32_t *seq)
{
    const unsigned char *b = buf;
    if (len < 8)
        return 0;
    memcpy(p, b, 4);
    memcpy(seq, b + 4, 4);
    for (size_t i = 8; i < len; i++)
        if (b[i] != pattern(*p, *seq, i))
            return 0;
    return 1;
}

static inline int put_msg(mproc_queue *q, uint32_t p, uint32_t seq, size_t len, double timeout)
{
    unsigned char *b = make_msg(p, seq, len);
    int rc = b ? mproc_queue_put(q, b, len, timeout) : MPROC_ENOMEM;
    free(b);
    return rc;
}

static inline int put_stop(mproc_queue *q) { return put_msg(q, STOP_MARK, 0, 8, 60); }

static inline mproc_args *args1(void *obj)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, obj);
    return a;
}

static inline mproc_queue *small_queue(mproc_queue_kind kind, size_t maxsize, size_t capacity)
{
    mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
    o.kind = kind;
    o.maxsize = maxsize;
    o.capacity = capacity;
    int err = -1;
    mproc_queue *q = mproc_queue_new_ex(&o, &err);
    CHECK_RC(err, 0);
    return q;
}

/* Gets everything left (until MPROC_EOS: the peers are dead); checks it is
 * intact and continues the sequence from *next. */
static inline void drain_sequence(mproc_queue *q, uint32_t *next, int from_any)
{
    for (;;) {
        void *buf;
        size_t len;
        uint32_t p = 0, seq = 0; /* check_msg may fail before setting them */
        int rc = mproc_queue_get(q, &buf, &len, 60);
        if (rc == MPROC_EOS)
            return;
        CHECK_RC(rc, 0);
        if (rc)
            return;
        CU_ASSERT_TRUE(check_msg(buf, len, &p, &seq) && p == 6);
        if (from_any && *next == 0)
            *next = seq;
        CU_ASSERT_EQUAL(seq, *next);
        *next = seq + 1;
        mproc_free(buf);
    }
}

#endif
