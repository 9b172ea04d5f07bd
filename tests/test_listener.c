/* SPDX-License-Identifier: MIT */
/* test_listener.c - Listener and Client over tcp and unix addresses, with
 * and without keys, clients in child processes (every start method). A
 * client child returns 0 on success, or 100 + -(error code). */
#include "testutil.h"

#ifndef _WIN32
#include <unistd.h>
#endif

#define CLIENT_FAILED(err) (100 - (err))

/* args: address, key (bytes, or int 0 for none), timeout, mode.
 * mode "echo": sends "hello", expects ">hello".
 * mode "challenge": expects the listener's challenge as plain data. */
static int t_client(const mproc_args *a)
{
    const char *address = mproc_args_str(a, 0);
    size_t keylen = 0;
    const void *key = mproc_args_type(a, 1) == MPROC_ARG_BYTES ? mproc_args_bytes(a, 1, &keylen) : NULL;
    double timeout = mproc_args_double(a, 2);
    const char *mode = mproc_args_str(a, 3);
    int err = 0;
    mproc_conn *c = mproc_client_timeout(address, key, keylen, timeout, &err);
    if (!c)
        return CLIENT_FAILED(err);
    int rc = 0;
    void *buf = NULL;
    size_t len = 0;
    if (strcmp(mode, "echo") == 0) {
        if (mproc_conn_send_bytes(c, "hello", 5) != 0 || mproc_conn_poll(c, 30) != 1 ||
            mproc_conn_recv_bytes(c, &buf, &len, 100) != 0 || len != 6 || memcmp(buf, ">hello", 6) != 0)
            rc = 1;
    } else if (strcmp(mode, "challenge") == 0) {
        /* A keyless client reads "#CHALLENGE#{sha256}" + 40 bytes as data. */
        if (mproc_conn_poll(c, 30) != 1 || mproc_conn_recv_bytes(c, &buf, &len, 1000) != 0 || len != 59 ||
            memcmp(buf, "#CHALLENGE#{sha256}", 19) != 0)
            rc = 2;
    }
    mproc_free(buf);
    mproc_conn_free(c);
    return rc;
}

static mproc_process *start_client(const char *address, const char *key, double timeout, const char *mode)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, address);
    if (key)
        mproc_args_add_bytes(a, key, strlen(key));
    else
        mproc_args_add_int(a, 0);
    mproc_args_add_double(a, timeout);
    mproc_args_add_str(a, mode);
    mproc_process *p = test_start(t_client, a, NULL);
    mproc_args_free(a);
    return p;
}

static mproc_listener *listen_on(const char *address, const char *key)
{
    int err = -1;
    mproc_listener *l = mproc_listener_new(address, key, key ? strlen(key) : 0, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mproc_listener_address(l));
    return l;
}

/* The server half of "echo". */
static void serve_echo(mproc_conn *c)
{
    void *buf = NULL;
    size_t len = 0;
    CHECK_RC(mproc_conn_poll(c, 30), 1);
    CHECK_RC(mproc_conn_recv_bytes(c, &buf, &len, 100), 0);
    CU_ASSERT_EQUAL(len, 5);
    CHECK_RC(mproc_conn_send_bytes(c, ">hello", 6), 0);
    mproc_free(buf);
}

/* Listener key, client key: both sides succeed and talk. */
static void round_trip(const char *address, const char *lkey, const char *ckey)
{
    mproc_listener *l = listen_on(address, lkey);
    mproc_process *p = start_client(mproc_listener_address(l), ckey, 30, "echo");
    int err = -1;
    mproc_conn *c = mproc_listener_accept(l, 30, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (c)
        serve_echo(c);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_conn_free(c);
    mproc_listener_free(l);
}

static void test_tcp_port0_with_key(void)
{
    mproc_listener *l = listen_on("tcp://127.0.0.1:0", "secret");
    const char *addr = mproc_listener_address(l);
    CU_ASSERT_EQUAL(strncmp(addr, "tcp://127.0.0.1:", 16), 0);
    CU_ASSERT_TRUE(atoi(addr + 16) > 0); /* the port the OS picked */
    mproc_listener_free(l);
    round_trip("tcp://127.0.0.1:0", "secret", "secret");
    round_trip("tcp://localhost:0", "secret", "secret");
}

static void test_keys(void)
{
    round_trip("tcp://127.0.0.1:0", NULL, NULL); /* no handshake */
    round_trip("tcp://127.0.0.1:0", "", "");     /* the empty key is a key */
    char longkey[300];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    round_trip("tcp://127.0.0.1:0", longkey, longkey);
}

#ifndef _WIN32
static TEST_THREAD_FN(connect_and_wait)
{
    int err = 0;
    mproc_conn *c = mproc_client(arg, NULL, 0, &err);
    void *buf;
    size_t len;
    if (c && mproc_conn_recv_bytes(c, &buf, &len, MPROC_NOLIMIT) == 0) /* until the server closes */
        mproc_free(buf);
    mproc_conn_free(c);
    return 0;
}

/* A listener's port can be bound again at once after it closed, although
 * its side of a finished connection lingers in TIME_WAIT: SO_REUSEADDR,
 * as Python's Listener sets on POSIX. */
static void test_port_reused_at_once(void)
{
    mproc_listener *l = listen_on("tcp://127.0.0.1:0", NULL);
    char addr[64];
    snprintf(addr, sizeof addr, "%s", mproc_listener_address(l));
    test_thread t;
    CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, connect_and_wait, addr), 0);
    int err = 0;
    mproc_conn *c = mproc_listener_accept(l, 30, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    mproc_conn_free(c); /* the server side closes first: it is the one in TIME_WAIT */
    test_thread_join(&t);
    mproc_listener_free(l);
    mproc_listener *again = mproc_listener_new(addr, NULL, 0, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL(again);
    mproc_listener_free(again);
}

static void test_unix_with_key(void)
{
    char path[128], address[160];
    snprintf(path, sizeof path, "/tmp/mproc-test-%ld.sock", mproc_current_pid());
    snprintf(address, sizeof address, "unix:%s", path);
    unlink(path);
    mproc_listener *l = listen_on(address, "k3y");
    CU_ASSERT_STRING_EQUAL(mproc_listener_address(l), address);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    int err = -1;
    CU_ASSERT_PTR_NULL(mproc_listener_new(address, NULL, 0, &err)); /* in use */
    CHECK_RC(err, MPROC_ESYS);
    mproc_process *p = start_client(address, "k3y", 30, "echo");
    mproc_conn *c = mproc_listener_accept(l, 30, &err);
    CHECK_RC(err, 0);
    if (c)
        serve_echo(c);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_conn_free(c);
    mproc_listener_free(l);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0); /* removed with the listener */
    /* nobody listening there any more */
    CU_ASSERT_PTR_NULL(mproc_client(address, NULL, 0, &err));
    CHECK_RC(err, MPROC_ESYS);
}
#endif

/* A wrong key: MPROC_EAUTH on both sides. */
static void refused(const char *lkey, const char *ckey)
{
    mproc_listener *l = listen_on("tcp://127.0.0.1:0", lkey);
    mproc_process *p = start_client(mproc_listener_address(l), ckey, 30, "echo");
    int err = -1;
    CU_ASSERT_PTR_NULL(mproc_listener_accept(l, 30, &err));
    CHECK_RC(err, MPROC_EAUTH);
    CU_ASSERT_EQUAL(test_finish(p), CLIENT_FAILED(MPROC_EAUTH));
    mproc_listener_free(l);
}

static void test_wrong_key(void)
{
    refused("right", "wrong");
    refused("", "x");
    refused("x", "");
}

/* A keyed client at a keyless listener waits for a challenge that never
 * comes: its timeout ends it (Python would block forever). */
static void test_keyed_client_keyless_listener(void)
{
    mproc_listener *l = listen_on("tcp://127.0.0.1:0", NULL);
    mproc_process *p = start_client(mproc_listener_address(l), "key", 0.5, "echo");
    int err = -1;
    mproc_conn *c = mproc_listener_accept(l, 30, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_EQUAL(test_finish(p), CLIENT_FAILED(MPROC_ETIMEDOUT)); /* c stays open meanwhile */
    mproc_conn_free(c);
    mproc_listener_free(l);
}

/* A keyless client at a keyed listener reads the challenge as a message
 * and leaves: the listener's handshake ends with the stream. */
static void test_keyless_client_keyed_listener(void)
{
    mproc_listener *l = listen_on("tcp://127.0.0.1:0", "key");
    mproc_process *p = start_client(mproc_listener_address(l), NULL, 30, "challenge");
    int err = -1;
    CU_ASSERT_PTR_NULL(mproc_listener_accept(l, 30, &err));
    CHECK_RC(err, MPROC_EOS);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_listener_free(l);
}

/* args: conn. Echoes one message with '>' in front. */
static int t_worker(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    void *buf;
    size_t len;
    if (mproc_conn_poll(c, 30) != 1 || mproc_conn_recv_bytes(c, &buf, &len, 100) != 0)
        return 1;
    char reply[101] = ">";
    memcpy(reply + 1, buf, len);
    mproc_free(buf);
    return mproc_conn_send_bytes(c, reply, len + 1) == 0 ? 0 : 2;
}

/* An accepted socket handed to a worker process (every start method). */
static void test_accepted_to_child(void)
{
    mproc_listener *l = listen_on("tcp://127.0.0.1:0", "key");
    mproc_process *client = start_client(mproc_listener_address(l), "key", 30, "echo");
    int err = -1;
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

static void test_accept_timeout_and_close(void)
{
    mproc_listener *l = listen_on("tcp://127.0.0.1:0", "key");
    int err = -1;
    CU_ASSERT_PTR_NULL(mproc_listener_accept(l, 0, &err));
    CHECK_RC(err, MPROC_ETIMEDOUT);
    CU_ASSERT_PTR_NULL(mproc_listener_accept(l, 0.05, &err));
    CHECK_RC(err, MPROC_ETIMEDOUT);
    char address[128];
    snprintf(address, sizeof address, "%s", mproc_listener_address(l));
    CHECK_RC(mproc_listener_close(l), 0);
    CHECK_RC(mproc_listener_close(l), 0); /* twice is fine */
    CU_ASSERT_PTR_NULL(mproc_listener_accept(l, 0, &err));
    CHECK_RC(err, MPROC_ECLOSED);
    CU_ASSERT_PTR_NULL(mproc_listener_address(l));
    mproc_listener_free(l);
    /* nobody listening at that port now */
    CU_ASSERT_PTR_NULL(mproc_client(address, NULL, 0, &err));
    CHECK_RC(err, MPROC_ESYS);
    CU_ASSERT_NOT_EQUAL(mproc_last_os_error(), 0);
}

/* A peer that connects and says nothing (a client without a key never
 * answers the challenge). */
static mproc_conn *silent_peer(const char *address)
{
    int err = -1;
    mproc_conn *c = mproc_client(address, NULL, 0, &err);
    CHECK_RC(err, 0);
    return c;
}

/* The listener challenged the peer and still waits for its answer:
 * nothing after the challenge, not even the end of the stream. */
static int challenged_and_pending(mproc_conn *c, double wait)
{
    void *buf = NULL;
    size_t len = 0;
    int ok = c && mproc_conn_poll(c, wait) == 1 && mproc_conn_recv_bytes(c, &buf, &len, 1000) == 0 && len == 59 &&
             mproc_conn_poll(c, 0) == 0;
    mproc_free(buf);
    return ok;
}

/* accept(FOREVER) takes a silent peer first, then a good client: it
 * returns the good one while the silent one's handshake is still pending
 * (its bound is MPROC_CONNECT_TIMEOUT, 20 s). The old accept ran the
 * silent peer's handshake to its end first and returned MPROC_ETIMEDOUT. */
static void silent_first_at(const char *address)
{
    mproc_listener *l = listen_on(address, "key");
    mproc_conn *silent = silent_peer(mproc_listener_address(l));
    mproc_process *p = start_client(mproc_listener_address(l), "key", 30, "echo");
    int err = -1;
    mproc_conn *c = mproc_listener_accept(l, MPROC_FOREVER, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (c)
        serve_echo(c);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CU_ASSERT_TRUE(challenged_and_pending(silent, 10));
    /* Pending handshakes wait in the listener between calls. */
    CU_ASSERT_PTR_NULL(mproc_listener_accept(l, 0.05, &err));
    CHECK_RC(err, MPROC_ETIMEDOUT);
    CU_ASSERT_EQUAL(mproc_conn_poll(silent, 0), 0);
    mproc_conn_free(c);
    mproc_conn_free(silent);
    mproc_listener_free(l);
}

static void test_silent_peer_first(void)
{
    silent_first_at("tcp://127.0.0.1:0");
#ifdef _WIN32
    char pipe[128];
    snprintf(pipe, sizeof pipe, "pipe:\\\\.\\pipe\\mproc-test-silent-%ld", mproc_current_pid());
    silent_first_at(pipe);
#else
    char path[128], address[160];
    snprintf(path, sizeof path, "/tmp/mproc-test-silent-%ld.sock", mproc_current_pid());
    snprintf(address, sizeof address, "unix:%s", path);
    unlink(path);
    silent_first_at(address);
#endif
}

/* More silent peers than a listener keeps pending (32): the oldest are
 * closed to make room; a good client behind them all is accepted. */
static void test_silent_peers_beyond_bound(void)
{
    mproc_listener *l = listen_on("tcp://127.0.0.1:0", "key");
    enum { N = 40 };
    mproc_conn *s[N];
    for (int i = 0; i < N; i++)
        s[i] = silent_peer(mproc_listener_address(l));
    mproc_process *p = start_client(mproc_listener_address(l), "key", 30, "echo");
    int err = -1;
    mproc_conn *c = mproc_listener_accept(l, 60, &err);
    CHECK_RC(err, 0);
    if (c)
        serve_echo(c);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    int pending = 0;
    for (int i = 0; i < N; i++) {
        /* All were accepted (so challenged) before the good client behind them. */
        pending += challenged_and_pending(s[i], 1);
        mproc_conn_free(s[i]);
    }
    CU_ASSERT_TRUE(pending >= 16 && pending <= 32);
    mproc_conn_free(c);
    mproc_listener_free(l);
}

static void test_addresses(void)
{
    static const char *const bad[] = {
        "", "tcp://", "tcp://127.0.0.1", "tcp://127.0.0.1:", "tcp://127.0.0.1:65536", "tcp://127.0.0.1:12x",
        "tcp://::1:80", "tcp://[::1]80", "unix:", "pipe:", "127.0.0.1:80", "udp://127.0.0.1:1",
    };
    int err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = 0;
        CU_ASSERT_PTR_NULL(mproc_listener_new(bad[i], NULL, 0, &err));
        if (err != MPROC_EINVAL)
            fprintf(stderr, "\n  listener \"%s\": %s\n", bad[i], mproc_err_name(err));
        CU_ASSERT_EQUAL(err, MPROC_EINVAL);
        err = 0;
        CU_ASSERT_PTR_NULL(mproc_client(bad[i], NULL, 0, &err));
        CU_ASSERT_EQUAL(err, MPROC_EINVAL);
    }
    CU_ASSERT_PTR_NULL(mproc_listener_new(NULL, NULL, 0, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_listener_new("tcp://127.0.0.1:0", NULL, 3, &err)); /* a length without a key */
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_client("tcp://127.0.0.1:1", NULL, 3, &err));
    CHECK_RC(err, MPROC_EINVAL);
#ifndef _WIN32
    CU_ASSERT_PTR_NULL(mproc_listener_new("pipe:\\\\.\\pipe\\mproc", NULL, 0, &err)); /* Windows only */
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_client("unix:/nonexistent-dir/socket", NULL, 0, &err));
    CHECK_RC(err, MPROC_ESYS);
#endif
    /* A port in use. */
    mproc_listener *l = listen_on("tcp://127.0.0.1:0", NULL);
    CU_ASSERT_PTR_NULL(mproc_listener_new(mproc_listener_address(l), NULL, 0, &err));
    CHECK_RC(err, MPROC_ESYS);
    mproc_listener_free(l);
    /* IPv6, when this machine has it. */
    l = mproc_listener_new("tcp://[::1]:0", NULL, 0, &err);
    if (l) {
        CU_ASSERT_EQUAL(strncmp(mproc_listener_address(l), "tcp://[::1]:", 12), 0);
        mproc_process *p = start_client(mproc_listener_address(l), NULL, 30, "echo");
        mproc_conn *c = mproc_listener_accept(l, 30, &err);
        CHECK_RC(err, 0);
        if (c)
            serve_echo(c);
        CU_ASSERT_EQUAL(test_finish(p), 0);
        mproc_conn_free(c);
        mproc_listener_free(l);
    }
    mproc_listener_free(NULL);
    CHECK_RC(mproc_listener_close(NULL), MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_listener_address(NULL));
    CU_ASSERT_PTR_NULL(mproc_listener_accept(NULL, 0, &err));
    CHECK_RC(err, MPROC_EINVAL);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"tcp port 0 with a key", test_tcp_port0_with_key},
        {"no key, empty key, long key", test_keys},
#ifndef _WIN32
        {"unix socket with a key; file removed", test_unix_with_key},
        {"a closed listener's port is bound again at once", test_port_reused_at_once},
#endif
        {"wrong key: MPROC_EAUTH on both sides", test_wrong_key},
        {"keyed client, keyless listener: timeout", test_keyed_client_keyless_listener},
        {"keyless client, keyed listener", test_keyless_client_keyed_listener},
        {"accepted connection to a worker process", test_accepted_to_child},
        {"accept timeout; closed listener", test_accept_timeout_and_close},
        {"addresses: bad, in use, IPv6", test_addresses},
        {"a silent peer first: accept(FOREVER) takes the next client", test_silent_peer_first},
        {"more silent peers than the pending bound", test_silent_peers_beyond_bound},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "listener", tests);
}
