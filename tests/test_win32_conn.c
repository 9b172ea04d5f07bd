/* SPDX-License-Identifier: MIT */
/* test_win32_conn.c - connections as only Windows has them: listeners and
 * clients on named pipes (pipe: addresses, Python's AF_PIPE wire form:
 * message mode, no header), Python's framing seen through an mproc_pipe's
 * own handle, waits over more than 64 handles of mixed kinds, and
 * the HMACs BCrypt computes (test_auth_wire checks them with OpenSSL and is
 * POSIX only). A client child returns 0 on success, or 100 + -(error). */
#include <stdint.h>

#include "backend.h" /* mproc__be_hmac: the MACs themselves, not just a handshake */
#include "testutil.h"

#define CLIENT_FAILED(err) (100 - (err))

/* ------------------------------------------------------------- helpers */

static void pipe_address(char *out, size_t cap, const char *tag)
{
    static int counter;
    snprintf(out, cap, "pipe:\\\\.\\pipe\\mproc-test-%s-%lu-%d", tag, (unsigned long)GetCurrentProcessId(),
             ++counter);
}

/* One overlapped ReadFile or WriteFile of exactly len bytes on a pipe
 * handle that a connection owns (its handles are overlapped). */
static int raw_io(intptr_t handle, int writing, void *buf, DWORD len)
{
    HANDLE h = (HANDLE)handle;
    OVERLAPPED ov;
    ZeroMemory(&ov, sizeof ov);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    DWORD done = 0;
    BOOL ok = writing ? WriteFile(h, buf, len, NULL, &ov) : ReadFile(h, buf, len, NULL, &ov);
    if (ok || GetLastError() == ERROR_IO_PENDING)
        ok = GetOverlappedResult(h, &ov, &done, TRUE);
    CloseHandle(ov.hEvent);
    return ok && done == len ? 0 : -1;
}

static void expect_str(mproc_conn *c, const char *s)
{
    void *buf = NULL;
    size_t len = 0;
    CHECK_RC(mproc_conn_poll(c, 30), 1);
    CHECK_RC(mproc_conn_recv_bytes(c, &buf, &len, MPROC_NOLIMIT), 0);
    CU_ASSERT_EQUAL(len, strlen(s));
    if (buf && len == strlen(s))
        CU_ASSERT_EQUAL(memcmp(buf, s, len), 0);
    mproc_free(buf);
}

/* args: address, key (bytes, or int 0 for none). Sends "hello", expects
 * ">hello". */
static int t_client(const mproc_args *a)
{
    size_t keylen = 0;
    const void *key = mproc_args_type(a, 1) == MPROC_ARG_BYTES ? mproc_args_bytes(a, 1, &keylen) : NULL;
    int err = 0;
    mproc_conn *c = mproc_client_timeout(mproc_args_str(a, 0), key, keylen, 30, &err);
    if (!c)
        return CLIENT_FAILED(err);
    void *buf = NULL;
    size_t len = 0;
    int rc = 0;
    if (mproc_conn_send_bytes(c, "hello", 5) != 0 || mproc_conn_poll(c, 30) != 1 ||
        mproc_conn_recv_bytes(c, &buf, &len, 100) != 0 || len != 6 || memcmp(buf, ">hello", 6) != 0)
        rc = 1;
    mproc_free(buf);
    mproc_conn_free(c);
    return rc;
}

static mproc_process *start_client(const char *address, const char *key)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, address);
    if (key)
        mproc_args_add_bytes(a, key, strlen(key));
    else
        mproc_args_add_int(a, 0);
    mproc_process *p = test_start(t_client, a, NULL);
    mproc_args_free(a);
    return p;
}

/* The server half: "hello" in, ">hello" out. */
static void serve(mproc_conn *c)
{
    expect_str(c, "hello");
    CHECK_RC(mproc_conn_send_bytes(c, ">hello", 6), 0);
}

/* args: conn. The server half, in a worker. */
static int t_worker(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    void *buf = NULL;
    size_t len = 0;
    if (mproc_conn_poll(c, 30) != 1 || mproc_conn_recv_bytes(c, &buf, &len, 100) != 0)
        return 1;
    int ok = len == 5 && memcmp(buf, "hello", 5) == 0;
    mproc_free(buf);
    return ok && mproc_conn_send_bytes(c, ">hello", 6) == 0 ? 0 : 2;
}

/* args: conn, conn (the same end twice). Its stream was taken once, for
 * one handle: a second take is refused, past the end is invalid. */
static int t_take_twice(const mproc_args *a)
{
    if (mproc_args_obj(a, 0) != mproc_args_obj(a, 1))
        return 1;
    be_stream *s = NULL;
    if (mproc__be_stream_inherited_count() != 1)
        return 2;
    if (mproc__be_stream_inherited(0, &s) != MPROC_ESTATE || s)
        return 3;
    if (mproc__be_stream_inherited(1, &s) != MPROC_EINVAL)
        return 4;
    return mproc_conn_send_bytes(mproc_args_obj(a, 0), "still mine", 10) == 0 ? 0 : 5;
}

static int t_sleep(const mproc_args *a)
{
    test_sleep(mproc_args_double(a, 0));
    return 0;
}

static mproc_process *start_sleeper(double seconds)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_double(a, seconds);
    mproc_process *p = test_start(t_sleep, a, NULL);
    mproc_args_free(a);
    return p;
}

/* --------------------------------------------------------------- tests */

/* The bytes on the pipe are Python's socket framing (the core frames
 * byte-mode pipes itself), and corrupt lengths end reading. */
static void test_wire_format_on_handle(void)
{
    mproc_conn *a, *b;
    CHECK_RC(mproc_pipe(1, &a, &b), 0);
    intptr_t ha, hb;
    CHECK_RC(mproc_conn_fileno(a, &ha), 0);
    CHECK_RC(mproc_conn_fileno(b, &hb), 0);
    CHECK_RC(mproc_conn_send_bytes(b, "hey", 3), 0);
    CHECK_RC(mproc_conn_send_bytes(b, NULL, 0), 0);
    unsigned char got[11];
    CU_ASSERT_EQUAL(raw_io(ha, 0, got, sizeof got), 0);
    static const unsigned char want[] = {0, 0, 0, 3, 'h', 'e', 'y', 0, 0, 0, 0};
    CU_ASSERT_EQUAL(memcmp(got, want, sizeof want), 0);
    static unsigned char lng[] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    CU_ASSERT_EQUAL(raw_io(hb, 1, lng, sizeof lng), 0);
    expect_str(a, "hello");
    static unsigned char bad[] = {0xFF, 0xFF, 0xFF, 0xFE, 'x'};
    CU_ASSERT_EQUAL(raw_io(hb, 1, bad, sizeof bad), 0);
    void *buf;
    size_t len;
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, MPROC_NOLIMIT), MPROC_EOS);
    CHECK_RC(mproc_conn_recv_bytes(a, &buf, &len, MPROC_NOLIMIT), MPROC_ECLOSED);
    mproc_conn_free(a);
    mproc_conn_free(b);
}

static void test_inherited_once(void)
{
    mproc_conn *mine, *theirs;
    CHECK_RC(mproc_pipe(1, &mine, &theirs), 0);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, theirs);
    mproc_args_add_obj(a, theirs);
    mproc_process *p = test_start(t_take_twice, a, NULL);
    mproc_args_free(a);
    mproc_conn_free(theirs);
    expect_str(mine, "still mine");
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_conn_free(mine);
}

static void test_pipe_listener(void)
{
    char address[128];
    pipe_address(address, sizeof address, "keyed");
    int err = -1;
    mproc_listener *l = mproc_listener_new(address, "k3y", 3, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_STRING_EQUAL(mproc_listener_address(l), address);
    CU_ASSERT_PTR_NULL(mproc_listener_new(address, NULL, 0, &err)); /* the name is taken */
    CHECK_RC(err, MPROC_ESYS);
    /* Timeouts leave the listener able to accept. */
    CU_ASSERT_PTR_NULL(mproc_listener_accept(l, 0, &err));
    CHECK_RC(err, MPROC_ETIMEDOUT);
    CU_ASSERT_PTR_NULL(mproc_listener_accept(l, 0.05, &err));
    CHECK_RC(err, MPROC_ETIMEDOUT);
    mproc_process *p = start_client(address, "k3y");
    mproc_conn *c = mproc_listener_accept(l, 30, &err);
    CHECK_RC(err, 0);
    if (c)
        serve(c);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_conn_free(c);
    /* A wrong key, over a pipe too. */
    p = start_client(address, "nope");
    CU_ASSERT_PTR_NULL(mproc_listener_accept(l, 30, &err));
    CHECK_RC(err, MPROC_EAUTH);
    CU_ASSERT_EQUAL(test_finish(p), CLIENT_FAILED(MPROC_EAUTH));
    mproc_listener_free(l);
    /* Gone with the listener. */
    CU_ASSERT_PTR_NULL(mproc_client(address, NULL, 0, &err));
    CHECK_RC(err, MPROC_ESYS);
    CU_ASSERT_EQUAL(mproc_last_os_error(), ERROR_FILE_NOT_FOUND);
}

/* ------------------------------------------- pipe: speaks Python's AF_PIPE */

/* A keyless listener and a client, both in this process. */
static void pipe_pair(const char *tag, mproc_listener **l, mproc_conn **server, mproc_conn **client)
{
    char address[128];
    pipe_address(address, sizeof address, tag);
    int err = -1;
    *l = mproc_listener_new(address, NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*l);
    *client = mproc_client(address, NULL, 0, &err); /* gets the waiting instance */
    CU_ASSERT_PTR_NOT_NULL_FATAL(*client);
    *server = mproc_listener_accept(*l, 30, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*server);
}

/* One ReadFile in message mode: the whole next pipe message, its length. */
static long raw_message(intptr_t handle, void *buf, DWORD cap)
{
    HANDLE h = (HANDLE)handle;
    OVERLAPPED ov;
    ZeroMemory(&ov, sizeof ov);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    DWORD done = 0;
    BOOL ok = ReadFile(h, buf, cap, NULL, &ov);
    if (ok || GetLastError() == ERROR_IO_PENDING)
        ok = GetOverlappedResult(h, &ov, &done, TRUE);
    CloseHandle(ov.hEvent);
    return ok ? (long)done : -1;
}

#define BIG ((size_t)10 << 20)

static DWORD WINAPI send_big(LPVOID arg)
{
    unsigned char *big = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (unsigned char)(i * 7);
    int rc = mproc_conn_send_bytes(arg, big, BIG);
    rc = rc ? rc : mproc_conn_send_bytes(arg, "after", 5);
    free(big);
    return (DWORD)rc;
}

static void test_pipe_is_python_wire(void)
{
    mproc_listener *l;
    mproc_conn *srv, *cli;
    pipe_pair("wire", &l, &srv, &cli);
    intptr_t hs;
    CHECK_RC(mproc_conn_fileno(srv, &hs), 0);
    /* One send is one pipe message of the payload alone: no header. */
    CHECK_RC(mproc_conn_send_bytes(cli, "hello", 5), 0);
    CHECK_RC(mproc_conn_send_bytes(cli, NULL, 0), 0);
    char got[64];
    CU_ASSERT_EQUAL(raw_message(hs, got, sizeof got), 5);
    CU_ASSERT_EQUAL(memcmp(got, "hello", 5), 0);
    CU_ASSERT_EQUAL(raw_message(hs, got, sizeof got), 0);
    /* What a Python peer writes (a bare message) is one message for us. */
    static char bare[] = "xyz";
    CU_ASSERT_EQUAL(raw_io(hs, 1, bare, 3), 0);
    expect_str(cli, "xyz");
    mproc_conn_free(cli);
    mproc_conn_free(srv);
    mproc_listener_free(l);
}

static void test_pipe_boundaries(void)
{
    mproc_listener *l;
    mproc_conn *srv, *cli;
    pipe_pair("bounds", &l, &srv, &cli);
    void *buf;
    size_t len;
    CHECK_RC(mproc_conn_send_bytes(cli, "ab", 2), 0);
    CHECK_RC(mproc_conn_send_bytes(cli, "", 0), 0);
    CHECK_RC(mproc_conn_send_bytes(cli, "", 0), 0);
    CHECK_RC(mproc_conn_send_bytes(cli, "c", 1), 0);
    expect_str(srv, "ab");
    /* An empty message: readiness sees it (a probe consumes it), and the
     * receive still gets it, once. */
    CU_ASSERT_EQUAL(mproc_conn_poll(srv, 1), 1);
    CU_ASSERT_EQUAL(mproc_conn_poll(srv, 0), 1);
    CHECK_RC(mproc_conn_recv_bytes(srv, &buf, &len, MPROC_NOLIMIT), 0);
    CU_ASSERT_EQUAL(len, 0);
    mproc_free(buf);
    CHECK_RC(mproc_conn_recv_bytes(srv, &buf, &len, MPROC_NOLIMIT), 0);
    CU_ASSERT_EQUAL(len, 0);
    mproc_free(buf);
    expect_str(srv, "c");
    CU_ASSERT_EQUAL(mproc_conn_poll(srv, 0), 0);
    CU_ASSERT_EQUAL(mproc_conn_poll(srv, 0.05), 0);
    /* An empty message seen by a wait, then received. */
    CHECK_RC(mproc_conn_send_bytes(srv, NULL, 0), 0);
    void *objs[1] = {cli};
    void *ready[1] = {NULL};
    CU_ASSERT_EQUAL(mproc_wait(objs, 1, 5, ready), 1);
    CU_ASSERT_PTR_EQUAL(ready[0], cli);
    CHECK_RC(mproc_conn_recv_bytes(cli, &buf, &len, MPROC_NOLIMIT), 0);
    CU_ASSERT_EQUAL(len, 0);
    mproc_free(buf);
    /* 10 MiB: more than the pipe holds, so another thread sends it. */
    test_thread t;
    CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, send_big, cli), 0);
    CHECK_RC(mproc_conn_recv_bytes(srv, &buf, &len, MPROC_NOLIMIT), 0);
    CU_ASSERT_EQUAL(len, BIG);
    int same = buf != NULL;
    for (size_t i = 0; same && i < len; i++)
        same = ((unsigned char *)buf)[i] == (unsigned char)(i * 7);
    CU_ASSERT(same);
    mproc_free(buf);
    expect_str(srv, "after");
    test_thread_join(&t);
    /* Too long: refused by its size before any of it is read. */
    CHECK_RC(mproc_conn_send_bytes(cli, "0123456789", 10), 0);
    CHECK_RC(mproc_conn_recv_bytes(srv, &buf, &len, 9), MPROC_EMSGSIZE);
    CU_ASSERT_EQUAL(len, 10);
    CHECK_RC(mproc_conn_recv_bytes(srv, &buf, &len, MPROC_NOLIMIT), MPROC_ECLOSED);
    /* recv_bytes_into drops a long message and goes on. */
    char small[4];
    CHECK_RC(mproc_conn_send_bytes(srv, "toolong", 7), 0);
    CHECK_RC(mproc_conn_send_bytes(srv, "ok", 2), 0);
    CHECK_RC(mproc_conn_recv_bytes_into(cli, small, sizeof small, &len), MPROC_EMSGSIZE);
    CU_ASSERT_EQUAL(len, 7);
    CHECK_RC(mproc_conn_recv_bytes_into(cli, small, sizeof small, &len), 0);
    CU_ASSERT_EQUAL(len, 2);
    mproc_conn_free(srv);
    /* The other end gone. */
    CHECK_RC(mproc_conn_recv_bytes(cli, &buf, &len, MPROC_NOLIMIT), MPROC_EOS);
    mproc_conn_free(cli);
    mproc_listener_free(l);
}

/* Clients that come before accept wait, as in a socket's backlog. */
static void test_pipe_clients_queue(void)
{
    enum { N = 3 };
    char address[128];
    pipe_address(address, sizeof address, "queue");
    int err = -1;
    mproc_listener *l = mproc_listener_new(address, NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    mproc_process *p[N];
    for (int i = 0; i < N; i++)
        p[i] = start_client(address, NULL);
    test_sleep(0.2);
    for (int i = 0; i < N; i++) {
        mproc_conn *c = mproc_listener_accept(l, 30, &err);
        CHECK_RC(err, 0);
        if (c)
            serve(c);
        mproc_conn_free(c);
    }
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(test_finish(p[i]), 0);
    mproc_listener_free(l);
}

/* The server end of an accepted pipe, handed to a worker process. */
static void test_pipe_accepted_to_child(void)
{
    char address[128];
    pipe_address(address, sizeof address, "worker");
    int err = -1;
    mproc_listener *l = mproc_listener_new(address, "key", 3, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    mproc_process *client = start_client(address, "key");
    mproc_conn *c = mproc_listener_accept(l, 30, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, c);
    mproc_process *worker = test_start(t_worker, a, NULL);
    mproc_args_free(a);
    mproc_conn_free(c);
    CU_ASSERT_EQUAL(test_finish(worker), 0);
    CU_ASSERT_EQUAL(test_finish(client), 0);
    mproc_listener_free(l);
}

static void test_addresses_on_windows(void)
{
    static const char *const bad[] = {
        "pipe:mproc",              /* not \\.\pipe\NAME */
        "pipe:\\\\.\\pipe\\",      /* no NAME */
        "unix:C:\\mproc.sock",     /* no unix sockets here */
    };
    int err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = 0;
        CU_ASSERT_PTR_NULL(mproc_listener_new(bad[i], NULL, 0, &err));
        CHECK_RC(err, MPROC_EINVAL);
        err = 0;
        CU_ASSERT_PTR_NULL(mproc_client(bad[i], NULL, 0, &err));
        CHECK_RC(err, MPROC_EINVAL);
    }
    char address[128];
    pipe_address(address, sizeof address, "nobody");
    CU_ASSERT_PTR_NULL(mproc_client(address, NULL, 0, &err));
    CHECK_RC(err, MPROC_ESYS);
    CU_ASSERT_EQUAL(mproc_last_os_error(), ERROR_FILE_NOT_FOUND);
}

/* Ready items in every group of 63 handles, sentinels among pipes, one
 * sentinel given twice (one handle twice is refused by the OS call). */
static void test_wait_mixed_over_64(void)
{
    enum { NPIPES = 190, N = NPIPES + 3 };
    mproc_conn *r[NPIPES], *w[NPIPES];
    void *objs[N], *ready[N];
    for (int i = 0; i < NPIPES; i++) {
        CHECK_RC(mproc_pipe(i % 3 != 0, &r[i], &w[i]), 0);
        objs[i] = r[i];
    }
    mproc_process *slow = start_sleeper(120);
    CU_ASSERT_PTR_NOT_NULL_FATAL(slow);
    objs[NPIPES] = objs[NPIPES + 1] = objs[NPIPES + 2] = mproc_process_sentinel(slow);
    CHECK_RC(mproc_wait(objs, N, 0, ready), 0);
    CHECK_RC(mproc_wait(objs, N, 0.05, ready), 0);
    mproc_process *quick = start_sleeper(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(quick);
    objs[NPIPES + 1] = mproc_process_sentinel(quick);
    CHECK_RC(mproc_process_join(quick, 30), 0);
    CHECK_RC(mproc_wait(objs, N, 30, ready), 1); /* in a helper thread's group */
    CU_ASSERT_PTR_EQUAL(ready[0], objs[NPIPES + 1]);
    int picks[] = {1, 62, 63, 125, 126, 189};
    size_t np = sizeof picks / sizeof picks[0];
    for (size_t k = 0; k < np; k++)
        CHECK_RC(mproc_conn_send_bytes(w[picks[k]], "x", 1), 0);
    CHECK_RC(mproc_wait(objs, N, 30, ready), (int)np + 1);
    for (size_t k = 0; k < np; k++)
        CU_ASSERT_PTR_EQUAL(ready[k], r[picks[k]]);
    /* The one ready item is alone in the last group. */
    void *rotated[NPIPES];
    for (int i = 0; i < NPIPES; i++)
        rotated[i] = r[(i + 2) % NPIPES];
    for (size_t k = 0; k < np; k++)
        expect_str(r[picks[k]], "x");
    CHECK_RC(mproc_wait(rotated, NPIPES, 0.05, ready), 0);
    CHECK_RC(mproc_conn_send_bytes(w[1], "y", 1), 0); /* rotated[189] */
    CHECK_RC(mproc_wait(rotated, NPIPES, 30, ready), 1);
    CU_ASSERT_PTR_EQUAL(ready[0], r[1]);
    expect_str(r[1], "y");
    CHECK_RC(mproc_process_kill(slow), 0);
    CHECK_RC(mproc_wait(&objs[NPIPES + 2], 1, 30, NULL), 1);
    CHECK_RC(mproc_wait(objs, N, 0, ready), 3); /* each item is reported */
    CU_ASSERT_EQUAL(test_finish(slow), -9);
    CU_ASSERT_EQUAL(test_finish(quick), 0);
    for (int i = 0; i < NPIPES; i++) {
        mproc_conn_free(r[i]);
        mproc_conn_free(w[i]);
    }
}

/* Sockets in a batched wait: data and an end in several groups. */
static void test_wait_over_64_sockets(void)
{
    enum { N = 70 };
    int err = -1;
    mproc_listener *l = mproc_listener_new("tcp://127.0.0.1:0", NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    mproc_conn *srv[N], *cli[N];
    void *objs[N], *ready[N];
    for (int i = 0; i < N; i++) {
        cli[i] = mproc_client(mproc_listener_address(l), NULL, 0, &err);
        srv[i] = mproc_listener_accept(l, 30, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cli[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(srv[i]);
        objs[i] = srv[i];
    }
    CHECK_RC(mproc_wait(objs, N, 0, ready), 0);
    CHECK_RC(mproc_wait(objs, N, 0.05, ready), 0);
    CHECK_RC(mproc_conn_poll(srv[0], 0.01), 0);
    CHECK_RC(mproc_conn_send_bytes(cli[3], "x", 1), 0);
    CHECK_RC(mproc_conn_send_bytes(cli[64], "x", 1), 0);
    CHECK_RC(mproc_conn_send_bytes(cli[69], "x", 1), 0);
    mproc_conn_close(cli[10]); /* the end of a stream is ready too */
    CHECK_RC(mproc_conn_poll(srv[69], 30), 1);
    CHECK_RC(mproc_conn_poll(srv[10], 30), 1);
    CHECK_RC(mproc_wait(objs, N, 30, ready), 4);
    CU_ASSERT_PTR_EQUAL(ready[0], srv[3]);
    CU_ASSERT_PTR_EQUAL(ready[1], srv[10]);
    CU_ASSERT_PTR_EQUAL(ready[2], srv[64]);
    CU_ASSERT_PTR_EQUAL(ready[3], srv[69]);
    expect_str(srv[64], "x");
    void *buf;
    size_t len;
    CHECK_RC(mproc_conn_recv_bytes(srv[10], &buf, &len, MPROC_NOLIMIT), MPROC_EOS);
    CHECK_RC(mproc_wait(&objs[64], 1, 0, ready), 0); /* read: not ready any more */
    for (int i = 0; i < N; i++) {
        mproc_conn_free(srv[i]);
        mproc_conn_free(cli[i]);
    }
    mproc_listener_free(l);
}

static void hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void expect_mac(const char *digest, const char *key, const char *msg, const char *want)
{
    unsigned char mac[BE_HMAC_MAX];
    char got[2 * BE_HMAC_MAX + 1] = "";
    size_t n = 0;
    CHECK_RC(mproc__be_hmac(digest, key, strlen(key), msg, strlen(msg), mac, &n), 0);
    CU_ASSERT_EQUAL(n * 2, strlen(want));
    hex(mac, n, got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  HMAC-%s = %s, want %s\n", digest, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

/* RFC 2202 and RFC 4231 test case 2 ("Jefe"), and an empty key. */
static void test_hmac_known_answers(void)
{
    static const char jefe[] = "what do ya want for nothing?";
    expect_mac("md5", "Jefe", jefe, "750c783e6ab0b503eaa86e310a5db738");
    expect_mac("sha256", "Jefe", jefe, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    expect_mac("sha384", "Jefe", jefe,
               "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
               "8e2240ca5e69e2c78b3239ecfab21649");
    expect_mac("sha256", "", "The quick brown fox jumps over the lazy dog",
               "fb011e6154a19b9a4c767373c305275a5a69e8b68b0b4c9200c383dced19a416");
    /* SHA-3 where BCrypt has it (Windows 11 24H2), else refused. */
    static const char *const sha3[][2] = {
        {"sha3_256", "c7d4072e788877ae3596bbb0da73b887c9171f93095b294ae857fbe2645e1ba5"},
        {"sha3_384", "f1101f8cbf9766fd6764d2ed61903f21ca9b18f57cf3e1a23ca13508a93243ce"
                     "48c045dc007f26a21b3f5e0e9df4c20a"},
    };
    unsigned char mac[BE_HMAC_MAX];
    size_t n;
    for (int i = 0; i < 2; i++) {
        int rc = mproc__be_hmac(sha3[i][0], "Jefe", 4, jefe, strlen(jefe), mac, &n);
        if (rc == 0)
            expect_mac(sha3[i][0], "Jefe", jefe, sha3[i][1]);
        else
            CHECK_RC(rc, MPROC_EINVAL);
    }
    CHECK_RC(mproc__be_hmac("sha1", "k", 1, "m", 1, mac, &n), MPROC_EINVAL);
    CHECK_RC(mproc__be_hmac("sha256", NULL, 1, "m", 1, mac, &n), MPROC_EINVAL);
    CHECK_RC(mproc__be_hmac(NULL, "k", 1, "m", 1, mac, &n), MPROC_EINVAL);
    CHECK_RC(mproc__be_hmac("sha256", NULL, 0, NULL, 0, mac, &n), 0); /* empty key, empty message */
    CU_ASSERT_EQUAL(n, 32);
}

/* Handles in use, by probing every value (wine's GetProcessHandleCount
 * always says 0), as test_win32 does. */
static int handles_open(void)
{
    int n = 0;
    DWORD flags;
    for (uintptr_t h = 4; h < ((uintptr_t)1 << 16); h += 4)
        n += GetHandleInformation((HANDLE)h, &flags) != 0;
    return n;
}

/* One of everything that makes handles: a pipe to a child, a batched wait
 * (helper threads, probe events), a named-pipe and a TCP listener with a
 * client each, a refused client, MACs. */
static void use_everything(void)
{
    test_pipe_accepted_to_child();
    test_wait_mixed_over_64();
    test_wait_over_64_sockets();
    int err;
    mproc_listener *l = mproc_listener_new("tcp://127.0.0.1:0", NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    mproc_conn *c = mproc_client(mproc_listener_address(l), NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    mproc_conn *s = mproc_listener_accept(l, 30, &err);
    CU_ASSERT_PTR_NOT_NULL(s);
    CHECK_RC(mproc_conn_poll(s, 0.01), 0);
    mproc_conn_free(c);
    mproc_conn_free(s);
    mproc_listener_free(l);
    CU_ASSERT_PTR_NULL(mproc_client("tcp://127.0.0.1:1", NULL, 0, &err)); /* refused */
    test_hmac_known_answers();
}

static void test_no_handle_left(void)
{
    use_everything(); /* the first use may keep some for the process (Winsock, BCrypt) */
    int before = handles_open();
    use_everything();
    int after = handles_open();
    if (after != before)
        fprintf(stderr, "\n  handles: %d before, %d after\n", before, after);
    CU_ASSERT_TRUE(before > 0);
    CU_ASSERT_EQUAL(after, before);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"wire format through the pipe handle", test_wire_format_on_handle},
        {"an inherited stream is taken once", test_inherited_once},
        {"named-pipe listener: key, timeouts, wrong key, name taken", test_pipe_listener},
        {"named pipes are Python's wire: one message, no header", test_pipe_is_python_wire},
        {"named pipes keep boundaries: empty, 10 MiB, maxlength", test_pipe_boundaries},
        {"named-pipe clients queue before accept", test_pipe_clients_queue},
        {"accepted named pipe to a worker process", test_pipe_accepted_to_child},
        {"addresses: bad pipe names, unix, nobody there", test_addresses_on_windows},
        {"wait over 193 items: pipes and sentinels", test_wait_mixed_over_64},
        {"wait over 70 TCP connections", test_wait_over_64_sockets},
        {"HMAC known answers with BCrypt", test_hmac_known_answers},
        {"no handle left behind", test_no_handle_left},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "win32-conn", tests);
}
