/* SPDX-License-Identifier: MIT */
/* test_interop.c - a real Python, through multiprocessing.connection's
 * Listener and Client (interop_peer.py), against mproc's client and
 * listener: bytes both ways (0 bytes, a greeting, 10 MiB), over tcp and
 * unix sockets, good keys accepted, wrong keys refused on both sides.
 *   test_interop --script interop_peer.py [--python CMD] [--expect legacy|modern|any]
 * --expect checks the Python generation, so each ctest entry exercises the
 * protocol it names: legacy = Python <= 3.11 (bare HMAC-MD5), modern =
 * >= 3.12 ({sha256}). Without a usable Python, or with the wrong one, it
 * says so and exits 77 (ctest: skipped), never passing silently. POSIX. */
#include <signal.h>
#include <unistd.h>

#include "interop/pyproc.h"

#define SKIP 77
#define KEY "interop key"
#define KEY_HEX "696e7465726f70206b6579"
#define BIG (10u << 20)

static const char *python = "python3", *script;
static int py_minor; /* 3.x */

/* ------------------------------------------------------ mproc's side */

static int expect_recv(mproc_conn *c, const void *want, size_t wlen)
{
    void *buf = NULL;
    size_t len = 0;
    if (mproc_conn_poll(c, 60) != 1 || mproc_conn_recv_bytes(c, &buf, &len, MPROC_NOLIMIT) != 0)
        return -1;
    int same = len == wlen && (wlen == 0 || memcmp(buf, want, wlen) == 0);
    mproc_free(buf);
    return same ? 0 : -1;
}

/* Mirrors interop_peer.py's exchange; 0 or the failing step. */
static int c_exchange(mproc_conn *c)
{
    int echoed = 0;
    for (;;) { /* 1: echo Python's messages */
        void *buf = NULL;
        size_t len = 0;
        if (mproc_conn_poll(c, 60) != 1 || mproc_conn_recv_bytes(c, &buf, &len, MPROC_NOLIMIT) != 0)
            return 1;
        int done = len == 7 && memcmp(buf, "py-done", 7) == 0;
        int rc = done ? 0 : mproc_conn_send_bytes(c, buf, len);
        mproc_free(buf);
        if (done)
            break;
        if (rc)
            return 2;
        echoed++;
    }
    if (echoed != 3)
        return 3;
    unsigned char *big = malloc(BIG); /* 2: our messages, echoed by Python */
    for (size_t i = 0; i < BIG; i++)
        big[i] = (unsigned char)(i * 7 + i / 4096);
    const char *hello = "hello from mproc";
    const void *msgs[] = {"", hello, big};
    size_t lens[] = {0, strlen(hello), BIG};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        if (mproc_conn_send_bytes(c, msgs[i], lens[i]) != 0 || expect_recv(c, msgs[i], lens[i]) != 0)
            rc = 4 + i;
    free(big);
    if (rc)
        return rc;
    if (mproc_conn_send_bytes(c, "c-done", 6) != 0 || expect_recv(c, "bye", 3) != 0)
        return 8;
    return 0;
}

/* ------------------------------------------------------------- cases */

/* Python listens (family "tcp"/"unix", key as interop_peer.py takes it),
 * mproc connects with ckey. want_err: mproc_client's result; want_py:
 * Python's exit status. */
static void python_listens(const char *family, const char *pykey, const char *ckey, int want_err, int want_py)
{
    py_proc p;
    CU_ASSERT_EQUAL_FATAL(py_start(&p, python, script, "listen", family, pykey), 0);
    char line[600];
    CU_ASSERT_EQUAL_FATAL(py_line(&p, line, sizeof line, 30), 0);
    CU_ASSERT_EQUAL(strncmp(line, "ADDRESS ", 8), 0);
    int err = -1;
    mproc_conn *c = mproc_client_timeout(line + 8, ckey, ckey ? strlen(ckey) : 0, 30, &err);
    CHECK_RC(err, want_err);
    if (c)
        CHECK_RC(c_exchange(c), 0);
    mproc_conn_free(c);
    int code = py_finish(&p, 60);
    if (code != want_py)
        fprintf(stderr, "\n  python exited %d, want %d\n", code, want_py);
    CU_ASSERT_EQUAL(code, want_py);
}

/* mproc listens with lkey, Python connects with its key. */
static void mproc_listens(const char *address, const char *lkey, const char *pykey, int want_err, int want_py)
{
    int err = -1;
    mproc_listener *l = mproc_listener_new(address, lkey, lkey ? strlen(lkey) : 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    py_proc p;
    CU_ASSERT_EQUAL_FATAL(py_start(&p, python, script, "connect", mproc_listener_address(l), pykey), 0);
    mproc_conn *c = mproc_listener_accept(l, 30, &err);
    CHECK_RC(err, want_err);
    if (c)
        CHECK_RC(c_exchange(c), 0);
    mproc_conn_free(c);
    int code = py_finish(&p, 60);
    if (code != want_py)
        fprintf(stderr, "\n  python exited %d, want %d\n", code, want_py);
    CU_ASSERT_EQUAL(code, want_py);
    mproc_listener_free(l);
}

static char unix_address[200];

static const char *fresh_unix_address(void)
{
    snprintf(unix_address, sizeof unix_address, "unix:/tmp/mproc-interop-%ld.sock", mproc_current_pid());
    unlink(unix_address + 5);
    return unix_address;
}

static void test_python_listener_good_key(void)
{
    python_listens("tcp", KEY_HEX, KEY, 0, 0);
    python_listens("unix", KEY_HEX, KEY, 0, 0);
}

static void test_mproc_listener_good_key(void)
{
    mproc_listens("tcp://127.0.0.1:0", KEY, KEY_HEX, 0, 0);
    mproc_listens(fresh_unix_address(), KEY, KEY_HEX, 0, 0);
}

static void test_no_key_and_empty_key(void)
{
    python_listens("tcp", "none", NULL, 0, 0);
    mproc_listens("tcp://127.0.0.1:0", NULL, "none", 0, 0);
    mproc_listens("tcp://127.0.0.1:0", "", "empty", 0, 0);
    /* Python's Listener skipped the handshake for b'' (its Client did
     * not) up to 3.12.1 at least; 3.13 does it. */
    if (py_minor >= 13)
        python_listens("tcp", "empty", "", 0, 0);
}

static void test_wrong_key(void)
{
    /* Python's listener says #FAILURE# and raises; mproc's client gets MPROC_EAUTH. */
    python_listens("tcp", KEY_HEX, "not the key", MPROC_EAUTH, 3);
    python_listens("unix", "00ff", KEY, MPROC_EAUTH, 3);
    /* mproc's listener refuses; Python's client raises AuthenticationError. */
    mproc_listens("tcp://127.0.0.1:0", KEY, "00ff", MPROC_EAUTH, 3);
    mproc_listens(fresh_unix_address(), "not the key", KEY_HEX, MPROC_EAUTH, 3);
}

/* ------------------------------------------------------------- main */

/* Which Python is this? 0 and py_minor, or -1 when it cannot run. */
static int probe_python(char *version, size_t cap)
{
    py_proc p;
    if (py_start(&p, python, script, "version", NULL, NULL) != 0)
        return -1;
    int ok = py_line(&p, version, cap, 60) == 0;
    int code = py_finish(&p, 60);
    if (!ok || code != 0 || strncmp(version, "3.", 2) != 0)
        return -1;
    py_minor = atoi(version + 2);
    return 0;
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *expect = "any";
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--python") == 0)
            python = argv[++i];
        else if (strcmp(argv[i], "--script") == 0)
            script = argv[++i];
        else if (strcmp(argv[i], "--expect") == 0)
            expect = argv[++i];
    }
    if (!script) {
        fprintf(stderr, "usage: %s --script interop_peer.py [--python CMD] [--expect legacy|modern|any]\n",
                argv[0]);
        return 2;
    }
    char version[64] = "";
    if (probe_python(version, sizeof version) != 0) {
        printf("SKIPPED: cannot run '%s' (python3 absent or broken): no interop test ran\n", python);
        return SKIP;
    }
    int legacy = py_minor <= 11;
    if ((strcmp(expect, "legacy") == 0 && !legacy) || (strcmp(expect, "modern") == 0 && legacy)) {
        printf("SKIPPED: '%s' is Python %s, not a %s-protocol Python (legacy: <= 3.11, modern: >= 3.12)\n",
               python, version, expect);
        return SKIP;
    }
    printf("interop with Python %s (%s handshake)\n", version, legacy ? "legacy HMAC-MD5" : "{sha256}");
    signal(SIGPIPE, SIG_DFL);
    static const test_case tests[] = {
        {"Python Listener, mproc client, right key", test_python_listener_good_key},
        {"mproc listener, Python Client, right key", test_mproc_listener_good_key},
        {"no key; empty key", test_no_key_and_empty_key},
        {"wrong key: refused on both sides", test_wrong_key},
        {NULL, NULL},
    };
    char suite[96];
    snprintf(suite, sizeof suite, "interop-py%s", version);
    return run_tests(argc, argv, suite, tests);
}
