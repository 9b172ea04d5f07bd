/* SPDX-License-Identifier: MIT */
/* test_connection.c - Pipe, Connection and wait(), between threads and
 * processes, once per start method (--method NAME). Children get
 * connections through mproc_args_add_obj. */
#include "ipc/frame.h" /* core/: the framing, checked byte by byte */
#include "testutil.h"
#include <stdatomic.h>

#ifndef _WIN32
#include <signal.h>
#include <unistd.h>
#endif

/* ------------------------------------------------------------ helpers */

static void pipe_pair(int duplex, mproc_conn **a, mproc_conn **b)
{
    *a = *b = NULL;
    CHECK_RC(mproc_pipe(duplex, a, b), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*b);
}

static void send_str(mproc_conn *c, const char *s) { CHECK_RC(mproc_conn_send_bytes(c, s, strlen(s)), 0); }

/* Receives one message and compares it with want (NUL-free). */
static void expect_msg(mproc_conn *c, const void *want, size_t wlen)
{
    void *buf = NULL;
    size_t len = 12345;
    CHECK_RC(mproc_conn_poll(c, 30), 1); /* never hang the suite */
    CHECK_RC(mproc_conn_recv_bytes(c, &buf, &len, MPROC_NOLIMIT), 0);
    CU_ASSERT_PTR_NOT_NULL(buf);
    CU_ASSERT_EQUAL(len, wlen);
    if (buf && len == wlen && wlen)
        CU_ASSERT_EQUAL(memcmp(buf, want, wlen), 0);
    mproc_free(buf);
}

static void expect_str(mproc_conn *c, const char *s) { expect_msg(c, s, strlen(s)); }

static mproc_args *args1(void *obj)
{
    mproc_args *a = mproc_args_new();
    CHECK_RC(mproc_args_add_obj(a, obj), 0);
    return a;
}

/* --------------------------------------------------- messages, pipes */

static void test_boundaries_and_empty(void)
{
    mproc_conn *a, *b;
    pipe_pair(1, &a, &b);
    send_str(b, "a");
    send_str(b, "bc");
    CHECK_RC(mproc_conn_send_bytes(b, NULL, 0), 0);
    CHECK_RC(mproc_conn_send_bytes(b, "", 0), 0);
    send_str(b, "def");
    expect_str(a, "a");
    expect_str(a, "bc");
    CHECK_RC(mproc_conn_poll(a, 0), 1); /* an empty message makes poll true */
    expect_str(a, "");
    expect_str(a, "");
    expect_str(a, "def");
    CHECK_RC(mproc_conn_poll(a, 0), 0);
    /* and the other way */
    send_str(a, "back");
    expect_str(b, "back");
    CHECK_RC(mproc_conn_send_bytes(b, NULL, 3), MPROC_EINVAL);
    mproc_conn_free(a);
    mproc_conn_free(b);
}

static void test_simplex_direction(void)
{
    mproc_conn *r, *w;
    pipe_pair(0, &r, &w);
    void *buf;
    size_t len;
    CHECK_RC(mproc_conn_send_bytes(r, "x", 1), MPROC_EINVAL);           /* read-only */
    CHECK_RC(mproc_conn_recv_bytes(w, &buf, &len, 10), MPROC_EINVAL);  /* write-only */
    CHECK_RC(mproc_conn_recv_bytes_into(w, NULL, 0, &len), MPROC_EINVAL);
    CHECK_RC(mproc_conn_poll(w, 0), MPROC_EINVAL);
    void *objs[] = {w};
    CHECK_RC(mproc_wait(objs, 1, 0, NULL), MPROC_EINVAL);
    send_str(w, "one way");
    CHECK_RC(mproc_conn_send_bytes(w, NULL, 0), 0);
    expect_str(r, "one way");
    expect_str(r, "");
    mproc_conn_free(w);
    CHECK_RC(mproc_conn_poll(r, 5), 1); /* end of stream is "ready" */
    CHECK_RC(mproc_conn_recv_bytes(r, &buf, &len, MPROC_NOLIMIT), MPROC_EOS);
    mproc_conn_free(r);
}

static void test_eof_after_close(void)
{
    mproc_conn *a, *b;
    pipe_pair(1, &a, &b);
    send_str(b, "first");
    send_str(b, "second");
    CHECK_RC(mproc_conn_close(b), 0);
    expect_str(a, "first"); /* earlier data arrives first */
    expect_str(a, "second");
    void *buf = (void *)1;
    size_t len = 99;
    CHECK_RC(mproc_conn_poll(a, 0), 1);
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, MPROC_NOLIMIT), MPROC_EOS);
    CU_ASSERT_PTR_NULL(buf);
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, MPROC_NOLIMIT), MPROC_EOS); /* and again */
    char small[4];
    CHECK_RC(mproc_conn_recv_bytes_into(a, small, sizeof small, &len), MPROC_EOS);
    /* sending to a closed peer: MPROC_EOS, and no SIGPIPE kills us */
    CHECK_RC(mproc_conn_send_bytes(a, "x", 1), MPROC_EOS);
    CHECK_RC(mproc_conn_send_bytes(a, "x", 1), MPROC_EOS);
    mproc_conn_free(a);
    mproc_conn_free(b);

    mproc_conn *r, *w;
    pipe_pair(0, &r, &w);
    mproc_conn_free(r);
    CHECK_RC(mproc_conn_send_bytes(w, "x", 1), MPROC_EOS); /* a pipe with no reader */
    mproc_conn_free(w);
}

static void test_maxlength(void)
{
    mproc_conn *a, *b;
    pipe_pair(1, &a, &b);
    void *buf = NULL;
    size_t len = 0;
    send_str(b, "0123456789");
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, 10), 0); /* size == max is fine */
    CU_ASSERT_EQUAL(len, 10);
    mproc_free(buf);
    CHECK_RC(mproc_conn_send_bytes(b, NULL, 0), 0);
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, 0), 0);
    CU_ASSERT_EQUAL(len, 0);
    mproc_free(buf);
    send_str(b, "0123456789A");
    send_str(b, "later");
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, 10), MPROC_EMSGSIZE);
    CU_ASSERT_PTR_NULL(buf);
    CU_ASSERT_EQUAL(len, 11);
    /* As Python: this end no longer reads; it still sends. */
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, MPROC_NOLIMIT), MPROC_ECLOSED);
    CHECK_RC(mproc_conn_poll(a, 0), MPROC_ECLOSED);
    send_str(a, "still sends");
    expect_str(b, "still sends");
    mproc_conn_free(a);
    mproc_conn_free(b);

    /* A receive-only end is closed altogether. */
    mproc_conn *r, *w;
    pipe_pair(0, &r, &w);
    send_str(w, "too long");
    CHECK_RC(mproc_conn_recv_bytes(r, &buf, &len, 3), MPROC_EMSGSIZE);
    CHECK_RC(mproc_conn_poll(r, 0), MPROC_ECLOSED);
    intptr_t h;
    CHECK_RC(mproc_conn_fileno(r, &h), MPROC_ECLOSED);
    CHECK_RC(mproc_conn_close(r), 0);
    mproc_conn_free(r);
    mproc_conn_free(w);
}

static void test_recv_into(void)
{
    mproc_conn *a, *b;
    pipe_pair(1, &a, &b);
    char buf[8];
    size_t len = 0;
    memset(buf, '#', sizeof buf);
    send_str(b, "0123456789");
    send_str(b, "fits");
    CHECK_RC(mproc_conn_recv_bytes_into(a, buf, sizeof buf, &len), MPROC_EMSGSIZE);
    CU_ASSERT_EQUAL(len, 10);   /* the size it needed */
    CU_ASSERT_EQUAL(buf[0], '#'); /* untouched */
    CHECK_RC(mproc_conn_recv_bytes_into(a, buf, sizeof buf, &len), 0); /* the message was consumed */
    CU_ASSERT_EQUAL(len, 4);
    CU_ASSERT_EQUAL(memcmp(buf, "fits", 4), 0);
    CHECK_RC(mproc_conn_send_bytes(b, NULL, 0), 0);
    CHECK_RC(mproc_conn_recv_bytes_into(a, NULL, 0, &len), 0);
    CU_ASSERT_EQUAL(len, 0);
    send_str(b, "12345678");
    CHECK_RC(mproc_conn_recv_bytes_into(a, buf, sizeof buf, &len), 0); /* exactly cap */
    CU_ASSERT_EQUAL(len, 8);
    CHECK_RC(mproc_conn_recv_bytes_into(a, NULL, 4, &len), MPROC_EINVAL);
    CHECK_RC(mproc_conn_recv_bytes_into(a, buf, sizeof buf, NULL), MPROC_EINVAL);
    mproc_conn_free(a);
    mproc_conn_free(b);
}

static void test_poll_timeouts(void)
{
    mproc_conn *a, *b;
    pipe_pair(1, &a, &b);
    CHECK_RC(mproc_conn_poll(a, 0), 0);
    CHECK_RC(mproc_conn_poll(a, 0.05), 0);
    send_str(b, "x");
    CHECK_RC(mproc_conn_poll(a, 0), 1);
    CHECK_RC(mproc_conn_poll(a, MPROC_FOREVER), 1);
    expect_str(a, "x");
    CHECK_RC(mproc_conn_poll(b, 0), 0);
    mproc_conn_free(a);
    mproc_conn_free(b);
}

static void test_closed_and_bad_input(void)
{
    mproc_conn *a, *b;
    pipe_pair(1, &a, &b);
    void *buf;
    size_t len;
    intptr_t h = -1;
    CHECK_RC(mproc_conn_fileno(a, &h), 0);
    CU_ASSERT_TRUE(h >= 0);
    CHECK_RC(mproc_conn_fileno(a, NULL), MPROC_EINVAL);
    CHECK_RC(mproc_conn_close(a), 0);
    CHECK_RC(mproc_conn_close(a), 0); /* twice is fine */
    CHECK_RC(mproc_conn_send_bytes(a, "x", 1), MPROC_ECLOSED);
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, 5), MPROC_ECLOSED);
    CHECK_RC(mproc_conn_recv_bytes_into(a, NULL, 0, &len), MPROC_ECLOSED);
    CHECK_RC(mproc_conn_poll(a, 0), MPROC_ECLOSED);
    CHECK_RC(mproc_conn_fileno(a, &h), MPROC_ECLOSED);
    void *objs[] = {b, a};
    CHECK_RC(mproc_wait(objs, 2, 0, NULL), MPROC_ECLOSED);
    mproc_args *args = mproc_args_new();
    CHECK_RC(mproc_args_add_obj(args, a), MPROC_ECLOSED);
    mproc_args_free(args);
    mproc_conn_free(a);
    mproc_conn_free(b);

    /* NULL and things that are not connections */
    mproc_lock *l = mproc_lock_new(NULL);
    mproc_conn *notconn = (mproc_conn *)(void *)l;
    CHECK_RC(mproc_pipe(1, NULL, &b), MPROC_EINVAL);
    CHECK_RC(mproc_conn_send_bytes(NULL, "x", 1), MPROC_EINVAL);
    CHECK_RC(mproc_conn_send_bytes(notconn, "x", 1), MPROC_EINVAL);
    CHECK_RC(mproc_conn_recv_bytes(NULL, &buf, &len, 1), MPROC_EINVAL);
    CHECK_RC(mproc_conn_recv_bytes(notconn, &buf, &len, 1), MPROC_EINVAL);
    CHECK_RC(mproc_conn_recv_bytes(notconn, NULL, &len, 1), MPROC_EINVAL);
    CHECK_RC(mproc_conn_poll(notconn, 0), MPROC_EINVAL);
    CHECK_RC(mproc_conn_close(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_conn_close(notconn), MPROC_EINVAL);
    mproc_conn_free(NULL);
    mproc_conn_free(notconn); /* ignored: not a connection */
    void *objs2[] = {l};
    CHECK_RC(mproc_wait(objs2, 1, 0, NULL), MPROC_EINVAL);
    void *objs3[] = {NULL};
    CHECK_RC(mproc_wait(objs3, 1, 0, NULL), MPROC_EINVAL);
    CHECK_RC(mproc_wait(NULL, 1, 0, NULL), MPROC_EINVAL);
    CHECK_RC(mproc_wait(NULL, 0, MPROC_FOREVER, NULL), MPROC_EINVAL); /* would never return */
    CHECK_RC(mproc_wait(NULL, 0, 0.01, NULL), 0);
    mproc_lock_free(l);
}

#ifndef _WIN32
/* Python's framing, byte for byte, seen from the other end's descriptor. */
static void test_wire_format(void)
{
    mproc_conn *a, *b;
    pipe_pair(1, &a, &b);
    intptr_t fa, fb;
    CHECK_RC(mproc_conn_fileno(a, &fa), 0);
    CHECK_RC(mproc_conn_fileno(b, &fb), 0);
    send_str(b, "hey");
    CHECK_RC(mproc_conn_send_bytes(b, NULL, 0), 0);
    unsigned char got[11];
    CU_ASSERT_EQUAL(read((int)fa, got, sizeof got), (ssize_t)sizeof got);
    static const unsigned char want[] = {0, 0, 0, 3, 'h', 'e', 'y', 0, 0, 0, 0};
    CU_ASSERT_EQUAL(memcmp(got, want, sizeof want), 0);
    /* The long form is read at any size. */
    static const unsigned char lng[] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    CU_ASSERT_EQUAL(write((int)fb, lng, sizeof lng), (ssize_t)sizeof lng);
    expect_str(a, "hello");
    /* Any other negative length is a corrupt stream: it ends reading. */
    static const unsigned char bad[] = {0xFF, 0xFF, 0xFF, 0xFE, 'x'};
    CU_ASSERT_EQUAL(write((int)fb, bad, sizeof bad), (ssize_t)sizeof bad);
    void *buf;
    size_t len;
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, MPROC_NOLIMIT), MPROC_EOS);
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, MPROC_NOLIMIT), MPROC_ECLOSED);
    mproc_conn_free(a);
    mproc_conn_free(b);

    /* The stream ending inside a message. */
    pipe_pair(1, &a, &b);
    CHECK_RC(mproc_conn_fileno(b, &fb), 0);
    static const unsigned char part[] = {0, 0, 0, 10, 'a', 'b'};
    CU_ASSERT_EQUAL(write((int)fb, part, sizeof part), (ssize_t)sizeof part);
    mproc_conn_close(b);
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, MPROC_NOLIMIT), MPROC_EOS);
    mproc_conn_free(a);
    mproc_conn_free(b);
}
#endif

/* --------------------------------------------------------- threads */

#define THREAD_MSGS 1500

typedef struct sender_arg {
    mproc_conn *c;
    unsigned char id;
    int failures;
} sender_arg;

static size_t msg_size(unsigned id, unsigned seq) { return 5 + (seq * 7919u + id * 104729u) % 20000u; }

static void fill_msg(unsigned char *p, size_t n, unsigned id, unsigned seq)
{
    p[0] = (unsigned char)id;
    memcpy(p + 1, &seq, 4);
    for (size_t i = 5; i < n; i++)
        p[i] = (unsigned char)(i * 31 + id * 7 + seq);
}

static TEST_THREAD_FN(sender_thread)
{
    sender_arg *s = arg;
    unsigned char *buf = malloc(25000);
    for (unsigned seq = 0; seq < THREAD_MSGS && buf; seq++) {
        size_t n = msg_size(s->id, seq);
        fill_msg(buf, n, s->id, seq);
        if (mproc_conn_send_bytes(s->c, buf, n) != 0)
            s->failures++;
    }
    free(buf);
    return 0;
}

/* Two threads send on one end at once: every message arrives whole. */
static void test_threads_do_not_interleave(void)
{
    mproc_conn *a, *b;
    pipe_pair(1, &a, &b);
    sender_arg sa[2] = {{b, 1, 0}, {b, 2, 0}};
    test_thread t[2];
    for (int i = 0; i < 2; i++)
        CU_ASSERT_EQUAL_FATAL(test_thread_start(&t[i], sender_thread, &sa[i]), 0);
    unsigned next[3] = {0, 0, 0};
    int bad = 0;
    unsigned char *want = malloc(25000);
    for (int k = 0; k < 2 * THREAD_MSGS && !bad; k++) {
        void *buf;
        size_t len;
        if (mproc_conn_poll(a, 30) != 1 || mproc_conn_recv_bytes(a, &buf, &len, MPROC_NOLIMIT) != 0) {
            bad = 1;
            break;
        }
        unsigned char *p = buf;
        unsigned id = len >= 5 ? p[0] : 0, seq = 0;
        if (len >= 5)
            memcpy(&seq, p + 1, 4);
        if ((id != 1 && id != 2) || seq != next[id] || len != msg_size(id, seq))
            bad = 1;
        else {
            fill_msg(want, len, id, seq);
            bad = memcmp(want, p, len) != 0;
            next[id]++;
        }
        mproc_free(buf);
    }
    free(want);
    for (int i = 0; i < 2; i++)
        test_thread_join(&t[i]);
    CU_ASSERT_FALSE(bad);
    CU_ASSERT_EQUAL(sa[0].failures + sa[1].failures, 0);
    CU_ASSERT_EQUAL(next[1], THREAD_MSGS);
    CU_ASSERT_EQUAL(next[2], THREAD_MSGS);
    mproc_conn_free(a);
    mproc_conn_free(b);
}

typedef struct blocked_arg {
    mproc_conn *c;
    int rc;
    size_t len;
    atomic_int started; /* about to call recv */
} blocked_arg;

static TEST_THREAD_FN(blocked_reader)
{
    blocked_arg *r = arg;
    void *buf = NULL;
    atomic_store(&r->started, 1);
    r->rc = mproc_conn_recv_bytes(r->c, &buf, &r->len, MPROC_NOLIMIT);
    mproc_free(buf);
    return 0;
}

/* Closing an end while another thread is blocked reading it: the reader
 * finishes its call, then the end is closed. */
static void test_close_while_reading(void)
{
    mproc_conn *a, *b;
    pipe_pair(1, &a, &b);
    blocked_arg r = {a, -1000, 0, 0};
    test_thread t;
    CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, blocked_reader, &r), 0);
    /* The thread must be inside recv before the close (a loaded machine
     * may start it late): seen starting, then given time to block. */
    while (!atomic_load(&r.started))
        test_sleep(0.001);
    test_sleep(0.2);
    CHECK_RC(mproc_conn_close(a), 0);
    CHECK_RC(mproc_conn_poll(a, 0), MPROC_ECLOSED); /* closed for every new call */
    send_str(b, "wake up");
    test_thread_join(&t);
    CHECK_RC(r.rc, 0);
    CU_ASSERT_EQUAL(r.len, 7);
    /* The reader has left: now the end really is gone. */
    CHECK_RC(mproc_conn_poll(b, 30), 1);
    void *buf;
    size_t len;
    CHECK_RC(mproc_conn_recv_bytes(b, &buf, &len, MPROC_NOLIMIT), MPROC_EOS);
    mproc_conn_free(a);
    mproc_conn_free(b);
}

/* ---------------------------------------------------------- children */

/* args: conn. The first seed tutorial's f(conn): conn.send(...); conn.close(). */
static int t_seed(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    const char *msg = "[42, None, 'hello']";
    if (mproc_conn_send_bytes(c, msg, strlen(msg)) != 0)
        return 1;
    return mproc_conn_close(c) == 0 ? 0 : 2;
}

static void test_seed_pipe(void)
{
    mproc_conn *parent_conn, *child_conn;
    pipe_pair(1, &parent_conn, &child_conn);
    mproc_args *a = args1(child_conn);
    mproc_process *p = test_start(t_seed, a, NULL);
    mproc_args_free(a);
    expect_str(parent_conn, "[42, None, 'hello']");
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_conn_free(parent_conn);
    mproc_conn_free(child_conn);
}

/* args: reader, writer. Echoes every message with a '>' in front until
 * "quit"; returns how many it echoed. */
static int t_echo(const mproc_args *a)
{
    mproc_conn *in = mproc_args_obj(a, 0), *out = mproc_args_obj(a, 1);
    int n = 0;
    for (;;) {
        if (mproc_conn_poll(in, 60) != 1)
            return 100;
        void *buf;
        size_t len;
        if (mproc_conn_recv_bytes(in, &buf, &len, MPROC_NOLIMIT) != 0)
            return 101;
        if (len == 4 && memcmp(buf, "quit", 4) == 0) {
            mproc_free(buf);
            return n;
        }
        char *reply = malloc(len + 1);
        reply[0] = '>';
        memcpy(reply + 1, buf, len);
        mproc_free(buf);
        int rc = mproc_conn_send_bytes(out, reply, len + 1);
        free(reply);
        if (rc != 0)
            return 102;
        n++;
    }
}

static void echo_round_trips(mproc_conn *to_child, mproc_conn *from_child)
{
    send_str(to_child, "ping");
    expect_str(from_child, ">ping");
    CHECK_RC(mproc_conn_send_bytes(to_child, NULL, 0), 0);
    expect_str(from_child, ">");
    size_t big = 3u << 20;
    unsigned char *msg = malloc(big), *want = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        msg[i] = (unsigned char)(i * 131 + 7);
    want[0] = '>';
    memcpy(want + 1, msg, big);
    CHECK_RC(mproc_conn_send_bytes(to_child, msg, big), 0);
    expect_msg(from_child, want, big + 1);
    free(msg);
    free(want);
    send_str(to_child, "quit");
}

static void test_child_duplex_echo(void)
{
    mproc_conn *mine, *theirs;
    pipe_pair(1, &mine, &theirs);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, theirs);
    mproc_args_add_obj(a, theirs); /* the same end twice: one handle in the child */
    mproc_process *p = test_start(t_echo, a, NULL);
    mproc_args_free(a);
    mproc_conn_free(theirs); /* the parent's copy; the child has its own */
    echo_round_trips(mine, mine);
    CU_ASSERT_EQUAL(test_finish(p), 3);
    mproc_conn_free(mine);
}

static void test_child_simplex_echo(void)
{
    mproc_conn *r1, *w1, *r2, *w2;
    pipe_pair(0, &r1, &w1); /* parent -> child */
    pipe_pair(0, &r2, &w2); /* child -> parent */
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, r1);
    mproc_args_add_obj(a, w2);
    mproc_process *p = test_start(t_echo, a, NULL);
    mproc_args_free(a);
    mproc_conn_free(r1);
    mproc_conn_free(w2);
    echo_round_trips(w1, r2);
    CU_ASSERT_EQUAL(test_finish(p), 3);
    /* The child has gone and nobody else holds the writer: end of stream. */
    void *buf;
    size_t len;
    CHECK_RC(mproc_conn_poll(r2, 30), 1);
    CHECK_RC(mproc_conn_recv_bytes(r2, &buf, &len, MPROC_NOLIMIT), MPROC_EOS);
    mproc_conn_free(w1);
    mproc_conn_free(r2);
}

/* args: conn. Sends one message, then waits to be killed. */
static int t_send_and_hang(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    if (mproc_conn_send_bytes(c, "before death", 12) != 0)
        return 1;
    test_sleep(120);
    return 0;
}

/* A peer killed with SIGKILL / TerminateProcess: earlier data first, then
 * MPROC_EOS, never a hang; sending to it is MPROC_EOS too. */
static void test_peer_killed(void)
{
    for (int duplex = 1; duplex >= 0; duplex--) {
        mproc_conn *a, *b;
        pipe_pair(duplex, &a, &b);
        mproc_args *args = args1(b);
        mproc_process *p = test_start(t_send_and_hang, args, NULL);
        mproc_args_free(args);
        CHECK_RC(mproc_conn_close(b), 0); /* else we would hold the end ourselves */
        CHECK_RC(mproc_conn_poll(a, 30), 1);
        CHECK_RC(mproc_process_kill(p), 0);
        CU_ASSERT_EQUAL(test_finish(p), -9);
        expect_str(a, "before death");
        void *buf;
        size_t len;
        CHECK_RC(mproc_conn_poll(a, 30), 1);
        CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, MPROC_NOLIMIT), MPROC_EOS);
        if (duplex)
            CHECK_RC(mproc_conn_send_bytes(a, "anyone?", 7), MPROC_EOS);
        mproc_conn_free(a);
        mproc_conn_free(b);
    }
}

/* args: conn. Expects the message "second" waiting, then the end. */
static int t_expect_second(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    char buf[16];
    size_t len;
    if (mproc_conn_poll(c, 30) != 1 || mproc_conn_recv_bytes_into(c, buf, sizeof buf, &len) != 0 || len != 6 ||
        memcmp(buf, "second", 6) != 0)
        return 1;
    return mproc_conn_poll(c, 30) == 1 && mproc_conn_recv_bytes_into(c, buf, sizeof buf, &len) == MPROC_EOS ? 0
                                                                                                            : 2;
}

/* Reads never go past the message asked for: an end this process has
 * read from, with the next message already waiting, hands it to a child
 * intact (as a server hands a client to a worker). */
static void test_handover_midstream(void)
{
    mproc_conn *a, *b;
    pipe_pair(1, &a, &b);
    send_str(b, "first");
    send_str(b, "second");
    mproc_conn_free(b);
    expect_str(a, "first");
    mproc_args *args = args1(a);
    mproc_process *p = test_start(t_expect_second, args, NULL);
    mproc_args_free(args);
    mproc_conn_free(a);
    CU_ASSERT_EQUAL(test_finish(p), 0);
}

/* A connection closed before start cannot be handed over. */
static void test_closed_conn_in_args(void)
{
    mproc_conn *a, *b;
    pipe_pair(1, &a, &b);
    mproc_args *args = args1(b);
    mproc_process *p = mproc_process_new(t_seed, args, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    void *enc;
    size_t len;
    CHECK_RC(mproc_args_encode(args, &enc, &len), MPROC_EINVAL); /* a descriptor is not data */
    mproc_args_free(args);
    mproc_conn_free(b); /* the process's args keep the handle's memory, not the end */
    CHECK_RC(mproc_process_start(p), MPROC_ECLOSED);
    CU_ASSERT_PTR_NULL(mproc_process_sentinel(p)); /* not started */
    mproc_process_free(p);
    mproc_conn_free(a);
}

/* ------------------------------------------------------------- wait */

static void test_wait_pipes(void)
{
    enum { N = 5 };
    mproc_conn *r[N], *w[N];
    for (int i = 0; i < N; i++)
        pipe_pair(i % 2, &r[i], &w[i]);
    void *objs[N], *ready[N];
    for (int i = 0; i < N; i++)
        objs[i] = r[i];
    CHECK_RC(mproc_wait(objs, N, 0, ready), 0);
    CHECK_RC(mproc_wait(objs, N, 0.05, ready), 0); /* the timeout: nothing */
    send_str(w[3], "three");
    send_str(w[1], "one");
    CHECK_RC(mproc_wait(objs, N, 5, ready), 2);
    CU_ASSERT_PTR_EQUAL(ready[0], r[1]); /* input order */
    CU_ASSERT_PTR_EQUAL(ready[1], r[3]);
    expect_str(r[1], "one");
    CHECK_RC(mproc_wait(objs, N, MPROC_FOREVER, ready), 1);
    CU_ASSERT_PTR_EQUAL(ready[0], r[3]);
    mproc_conn_close(w[4]); /* end of stream counts as ready */
    CHECK_RC(mproc_wait(objs, N, 5, NULL), 2);
    for (int i = 0; i < N; i++) {
        mproc_conn_free(r[i]);
        mproc_conn_free(w[i]);
    }
}

/* More than Windows' 64-handle limit (CPython gh-94242). */
static void test_wait_many(void)
{
    enum { N = 150 };
    mproc_conn *r[N], *w[N];
    void *objs[N], *ready[N];
    for (int i = 0; i < N; i++) {
        pipe_pair(1, &r[i], &w[i]);
        objs[i] = r[i];
    }
    CHECK_RC(mproc_wait(objs, N, 0, ready), 0);
    int picks[] = {0, 63, 64, 65, 100, 149};
    for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++)
        send_str(w[picks[k]], "x");
    CHECK_RC(mproc_wait(objs, N, 5, ready), 6);
    for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++)
        CU_ASSERT_PTR_EQUAL(ready[k], r[picks[k]]);
    for (int i = 0; i < N; i++) {
        mproc_conn_free(r[i]);
        mproc_conn_free(w[i]);
    }
}

static int t_sleep(const mproc_args *a)
{
    test_sleep(mproc_args_double(a, 0));
    return 7;
}

static mproc_process *start_sleeper(double seconds)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_double(a, seconds);
    mproc_process *p = test_start(t_sleep, a, NULL);
    mproc_args_free(a);
    return p;
}

static void test_wait_sentinels(void)
{
    mproc_process *quick = start_sleeper(0), *slow = start_sleeper(120);
    mproc_conn *r, *w;
    pipe_pair(1, &r, &w);
    void *objs[] = {r, mproc_process_sentinel(slow), mproc_process_sentinel(quick)}, *ready[3];
    CU_ASSERT_PTR_NOT_NULL(objs[1]);
    CU_ASSERT_PTR_NOT_NULL(objs[2]);
    CHECK_RC(mproc_wait(objs, 3, 30, ready), 1);
    CU_ASSERT_PTR_EQUAL(ready[0], objs[2]);
    CHECK_RC(mproc_wait(objs, 3, 30, ready), 1); /* not reaped: still ready */
    CHECK_RC(mproc_process_join(quick, 30), 0);
    CHECK_RC(mproc_wait(objs, 3, 30, ready), 1); /* reaped: still ready */
    CHECK_RC(mproc_process_kill(slow), 0);
    CHECK_RC(mproc_wait(&objs[1], 1, 30, ready), 1); /* the signal takes a moment */
    send_str(w, "x");
    CHECK_RC(mproc_wait(objs, 3, 30, ready), 3);
    CU_ASSERT_PTR_EQUAL(ready[0], r);
    CU_ASSERT_PTR_EQUAL(ready[1], objs[1]);
    CU_ASSERT_PTR_EQUAL(ready[2], objs[2]);
    CU_ASSERT_EQUAL(test_finish(slow), -9);
    int code;
    CHECK_RC(mproc_process_exitcode(quick, &code), 0);
    CU_ASSERT_EQUAL(code, 7);
    CHECK_RC(mproc_process_close(quick), 0);
    void *closed[] = {objs[2]};
    CHECK_RC(mproc_wait(closed, 1, 0, NULL), MPROC_ECLOSED);
    CU_ASSERT_PTR_NULL(mproc_process_sentinel(quick));
    CU_ASSERT_PTR_NULL(mproc_process_sentinel(NULL));
    mproc_process_free(quick);
    mproc_conn_free(r);
    mproc_conn_free(w);
}

/* Many children at once, waited for with their sentinels only. */
static void test_wait_many_sentinels(void)
{
    enum { N = 70 };
    mproc_process *ps[N];
    void *objs[N], *ready[N];
    int started = 0;
    for (int i = 0; i < N; i++) {
        ps[i] = start_sleeper(i % 2 ? 120 : 0);
        objs[i] = mproc_process_sentinel(ps[i]);
        started += objs[i] != NULL;
    }
    CU_ASSERT_EQUAL_FATAL(started, N);
    /* mproc_wait returns as soon as one is ready: see each quick one end. */
    for (int i = 0; i < N; i += 2)
        CHECK_RC(mproc_wait(&objs[i], 1, 30, NULL), 1);
    int n = mproc_wait(objs, N, 0, ready);
    CU_ASSERT_EQUAL(n, N / 2);
    for (int k = 0; k < n && k < N / 2; k++)
        CU_ASSERT_PTR_EQUAL(ready[k], objs[2 * k]); /* input order */
    for (int i = 1; i < N; i += 2)
        CHECK_RC(mproc_process_kill(ps[i]), 0);
    for (int i = 1; i < N; i += 2)
        CHECK_RC(mproc_wait(&objs[i], 1, 30, NULL), 1);
    CHECK_RC(mproc_wait(objs, N, 0, ready), N);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(test_finish(ps[i]), i % 2 ? -9 : 7);
}

#ifndef _WIN32
#include <fcntl.h>

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

/* Pipes, children, wait, a listener and a client: every descriptor they
 * made is gone afterwards. */
static void test_no_descriptor_left(void)
{
    test_seed_pipe(); /* first use of a start method may open its own (forkserver) */
    int before = open_fds();
    test_seed_pipe();
    test_child_simplex_echo();
    test_peer_killed();
    test_wait_sentinels();
    int err;
    mproc_listener *l = mproc_listener_new("tcp://127.0.0.1:0", "k", 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    mproc_listener_free(l);
    mproc_conn *c = mproc_client("tcp://127.0.0.1:1", NULL, 0, &err); /* refused */
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(open_fds(), before);
}
#endif

/* The header bytes of Python's framing (multiprocessing/connection.py
 * _send_bytes): a 4-byte big-endian length, or -1 and an 8-byte big-endian
 * length over 0x7FFFFFFF (gh-61760); readers take the long form at any
 * size; other negative lengths are corrupt. */
static void test_frame_bytes(void)
{
    unsigned char h[FRAME_HDR_MAX];
    static const unsigned char five[] = {0, 0, 0, 5};
    CU_ASSERT_EQUAL(mproc__core_frame_encode(5, h), 4);
    CU_ASSERT_EQUAL(memcmp(h, five, 4), 0);
    static const unsigned char max_short[] = {0x7f, 0xff, 0xff, 0xff};
    CU_ASSERT_EQUAL(mproc__core_frame_encode(0x7FFFFFFFu, h), 4);
    CU_ASSERT_EQUAL(memcmp(h, max_short, 4), 0);
    static const unsigned char two_gib[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0, 0, 0};
    CU_ASSERT_EQUAL(mproc__core_frame_encode(0x80000000u, h), 12);
    CU_ASSERT_EQUAL(memcmp(h, two_gib, 12), 0);
    uint64_t len = 0;
    CU_ASSERT_EQUAL(mproc__core_frame_decode_short(five, &len), 0);
    CU_ASSERT_EQUAL(len, 5);
    CU_ASSERT_EQUAL(mproc__core_frame_decode_short(two_gib, &len), 1);
    CU_ASSERT_EQUAL(mproc__core_frame_decode_long(two_gib + 4, &len), 0);
    CU_ASSERT_EQUAL(len, 0x80000000u);
    static const unsigned char long_small[] = {0, 0, 0, 0, 0, 0, 0, 7};
    CU_ASSERT_EQUAL(mproc__core_frame_decode_long(long_small, &len), 0);
    CU_ASSERT_EQUAL(len, 7);
    static const unsigned char minus_two[] = {0xff, 0xff, 0xff, 0xfe};
    CU_ASSERT_EQUAL(mproc__core_frame_decode_short(minus_two, &len), MPROC_EOS);
    static const unsigned char huge[] = {0x80, 0, 0, 0, 0, 0, 0, 0};
    CU_ASSERT_EQUAL(mproc__core_frame_decode_long(huge, &len), MPROC_EOS);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
#ifndef _WIN32
    signal(SIGPIPE, SIG_DFL); /* a write that raised it would kill the suite */
#endif
    static const test_case tests[] = {
        {"frame header bytes (Python's framing)", test_frame_bytes},
        {"message boundaries, empty messages, both ways", test_boundaries_and_empty},
        {"simplex: a reads, b writes", test_simplex_direction},
        {"end of stream after close; send to a closed peer", test_eof_after_close},
        {"maxlength: MPROC_EMSGSIZE, then reads refused", test_maxlength},
        {"recv_bytes_into: too small consumes the message", test_recv_into},
        {"poll timeouts", test_poll_timeouts},
        {"closed connection and bad input", test_closed_and_bad_input},
#ifndef _WIN32
        {"wire format (Python's framing)", test_wire_format},
#endif
        {"threads never interleave messages", test_threads_do_not_interleave},
        {"close while another thread reads", test_close_while_reading},
        {"seed: Pipe() to a child", test_seed_pipe},
        {"child echo over a duplex pipe", test_child_duplex_echo},
        {"child echo over two simplex pipes", test_child_simplex_echo},
        {"peer killed: data, then MPROC_EOS", test_peer_killed},
        {"handover after a read: the next message goes along", test_handover_midstream},
        {"closed connection in a child's args", test_closed_conn_in_args},
        {"wait over pipes", test_wait_pipes},
        {"wait over 150 pipes", test_wait_many},
        {"wait over sentinels and pipes", test_wait_sentinels},
        {"wait over 70 sentinels", test_wait_many_sentinels},
#ifndef _WIN32
        {"no descriptor left behind", test_no_descriptor_left},
#endif
        {NULL, NULL},
    };
    return run_tests(argc, argv, "connection", tests);
}
