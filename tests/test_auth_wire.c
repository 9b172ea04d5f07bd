/* SPDX-License-Identifier: MIT */
/* test_auth_wire.c - the handshake of Python's multiprocessing.connection,
 * message by message: a keyless connection plays the other side by hand
 * and checks every MAC with OpenSSL directly. Both generations: Python
 * >= 3.12 ("{digest}" prefixes, any of md5/sha256/sha384/sha3_256/sha3_384)
 * and Python <= 3.11 (a bare 20-byte challenge answered by a bare
 * HMAC-MD5). POSIX only (OpenSSL). */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "testutil.h"

static const char KEY[] = "the key";

static const EVP_MD *md_of(const char *name)
{
    if (strcmp(name, "md5") == 0)
        return EVP_md5();
    if (strcmp(name, "sha256") == 0)
        return EVP_sha256();
    if (strcmp(name, "sha384") == 0)
        return EVP_sha384();
    if (strcmp(name, "sha3_256") == 0)
        return EVP_sha3_256();
    if (strcmp(name, "sha3_384") == 0)
        return EVP_sha3_384();
    return NULL;
}

/* The answer to a challenge payload: "bare" = Python 3.11's bare HMAC-MD5,
 * otherwise "{name}" + HMAC-name. *bad flips a MAC bit. */
static size_t answer(const char *digest, const unsigned char *payload, size_t plen, unsigned char *out, int bad)
{
    int bare = strcmp(digest, "bare") == 0;
    const char *name = bare ? "md5" : digest;
    size_t prefix = bare ? 0 : (size_t)sprintf((char *)out, "{%s}", name);
    unsigned int n = 0;
    HMAC(md_of(name), KEY, (int)strlen(KEY), payload, plen, out + prefix, &n);
    if (bad)
        out[prefix] ^= 1;
    return prefix + n;
}

static void send_raw(mproc_conn *c, const void *buf, size_t len) { CHECK_RC(mproc_conn_send_bytes(c, buf, len), 0); }

static size_t recv_raw(mproc_conn *c, unsigned char *buf, size_t cap)
{
    size_t len = 0;
    CHECK_RC(mproc_conn_poll(c, 30), 1);
    CHECK_RC(mproc_conn_recv_bytes_into(c, buf, cap, &len), 0);
    return len;
}

static int is_msg(const unsigned char *buf, size_t len, const char *s)
{
    return len == strlen(s) && memcmp(buf, s, len) == 0;
}

/* ------------------------------------------------ mproc as the listener */

typedef struct accept_arg {
    mproc_listener *l;
    mproc_conn *c;
    int err;
} accept_arg;

static TEST_THREAD_FN(accept_thread)
{
    accept_arg *a = arg;
    a->c = mproc_listener_accept(a->l, 30, &a->err);
    return 0;
}

/* mproc's listener challenges us; we answer with `digest` (or garbage);
 * then we challenge it with `our_challenge` ("legacy" or a digest name)
 * and check its answer. want: the listener's result. */
static void listener_case(const char *digest, int bad_mac, const char *our_challenge, int want)
{
    int err = -1;
    mproc_listener *l = mproc_listener_new("tcp://127.0.0.1:0", KEY, strlen(KEY), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    accept_arg aa = {l, NULL, -1000};
    test_thread t;
    CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, accept_thread, &aa), 0);
    mproc_conn *c = mproc_client(mproc_listener_address(l), NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    unsigned char msg[512], ans[512];
    size_t len = recv_raw(c, msg, sizeof msg);
    /* "#CHALLENGE#" "{sha256}" + 40 random bytes */
    CU_ASSERT_EQUAL(len, 11 + 8 + 40);
    CU_ASSERT_EQUAL(memcmp(msg, "#CHALLENGE#{sha256}", 19), 0);
    size_t alen;
    if (strcmp(digest, "oversize") == 0) {
        memset(ans, 'x', 300);
        alen = 300; /* longer than any auth message may be */
    } else if (strcmp(digest, "sha1") == 0) {
        alen = (size_t)sprintf((char *)ans, "{sha1}01234567890123456789"); /* not allowed */
    } else if (strcmp(digest, "short") == 0) {
        alen = answer("sha256", msg + 11, len - 11, ans, 0) - 16; /* right prefix, wrong length */
    } else {
        alen = answer(digest, msg + 11, len - 11, ans, bad_mac);
    }
    send_raw(c, ans, alen);
    if (want == 0) {
        CU_ASSERT_TRUE(is_msg(msg, recv_raw(c, msg, sizeof msg), "#WELCOME#"));
        /* Now the listener answers our challenge. */
        unsigned char ch[64] = "#CHALLENGE#";
        size_t clen = 11;
        if (strcmp(our_challenge, "legacy") != 0)
            clen += (size_t)sprintf((char *)ch + clen, "{%s}", our_challenge);
        size_t rnd = strcmp(our_challenge, "legacy") == 0 ? 20 : 40;
        for (size_t i = 0; i < rnd; i++)
            ch[clen + i] = (unsigned char)(i * 37 + 11);
        clen += rnd;
        send_raw(c, ch, clen);
        len = recv_raw(c, msg, sizeof msg);
        alen = answer(strcmp(our_challenge, "legacy") == 0 ? "bare" : our_challenge, ch + 11, clen - 11, ans, 0);
        CU_ASSERT_EQUAL(len, alen); /* answered in the form we asked */
        CU_ASSERT_EQUAL(memcmp(msg, ans, alen < len ? alen : len), 0);
        send_raw(c, "#WELCOME#", 9);
    } else if (strcmp(digest, "oversize") != 0) {
        CU_ASSERT_TRUE(is_msg(msg, recv_raw(c, msg, sizeof msg), "#FAILURE#"));
    }
    test_thread_join(&t);
    CHECK_RC(aa.err, want);
    if (aa.c) { /* the connection works after the handshake */
        send_raw(aa.c, "after", 5);
        CU_ASSERT_TRUE(is_msg(msg, recv_raw(c, msg, sizeof msg), "after"));
    }
    mproc_conn_free(aa.c);
    mproc_conn_free(c);
    mproc_listener_free(l);
}

static void test_listener_accepts_every_digest(void)
{
    static const char *const digests[] = {"bare", "md5", "sha256", "sha384", "sha3_256", "sha3_384"};
    for (size_t i = 0; i < sizeof digests / sizeof digests[0]; i++)
        listener_case(digests[i], 0, "sha256", 0);
}

static void test_listener_answers_every_form(void)
{
    static const char *const forms[] = {"legacy", "md5", "sha256", "sha384", "sha3_256", "sha3_384"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        listener_case("sha256", 0, forms[i], 0);
}

static void test_listener_refuses(void)
{
    listener_case("sha256", 1, NULL, MPROC_EAUTH); /* wrong MAC */
    listener_case("bare", 1, NULL, MPROC_EAUTH);
    listener_case("sha1", 0, NULL, MPROC_EAUTH);   /* digest not allowed */
    listener_case("short", 0, NULL, MPROC_EAUTH);  /* MAC of the wrong length */
    listener_case("oversize", 0, NULL, MPROC_EAUTH); /* > 256 bytes */
}

/* -------------------------------------------------- mproc as the client */

typedef struct client_arg {
    const char *address;
    mproc_conn *c;
    int err;
} client_arg;

static TEST_THREAD_FN(client_thread)
{
    client_arg *a = arg;
    a->c = mproc_client_timeout(a->address, KEY, strlen(KEY), 30, &a->err);
    return 0;
}

/* We challenge mproc's client with `challenge` ("legacy", a digest name,
 * or a broken form) and check its answer; then it challenges us and we
 * answer with `our_answer`. want: the client's result. */
static void client_case(const char *challenge, const char *our_answer, int want)
{
    int err = -1;
    mproc_listener *l = mproc_listener_new("tcp://127.0.0.1:0", NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    client_arg ca = {mproc_listener_address(l), NULL, -1000};
    test_thread t;
    CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, client_thread, &ca), 0);
    mproc_conn *c = mproc_listener_accept(l, 30, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    unsigned char ch[400] = "#CHALLENGE#", msg[512], ans[512];
    size_t clen = 11;
    if (strcmp(challenge, "notchallenge") == 0) {
        clen = (size_t)sprintf((char *)ch, "#WELCOME#0123456789012345678901234567890");
    } else if (strcmp(challenge, "tooshort") == 0) {
        clen += 10;
    } else if (strcmp(challenge, "oversize") == 0) {
        clen = 300;
    } else if (strcmp(challenge, "sha1") == 0) {
        clen += (size_t)sprintf((char *)ch + clen, "{sha1}0123456789012345678901234567890123456789");
    } else {
        int legacy = strcmp(challenge, "legacy") == 0 || strcmp(challenge, "failure") == 0;
        if (!legacy)
            clen += (size_t)sprintf((char *)ch + clen, "{%s}", challenge);
        for (size_t i = 0; i < (legacy ? 20u : 40u); i++)
            ch[clen++] = (unsigned char)(i * 53 + 3);
    }
    send_raw(c, ch, clen);
    int answered = want == 0 || strcmp(challenge, "failure") == 0;
    if (answered) {
        int legacy = strcmp(challenge, "legacy") == 0 || strcmp(challenge, "failure") == 0;
        size_t len = recv_raw(c, msg, sizeof msg);
        size_t alen = answer(legacy ? "bare" : challenge, ch + 11, clen - 11, ans, 0);
        CU_ASSERT_EQUAL(len, alen);
        CU_ASSERT_EQUAL(memcmp(msg, ans, alen < len ? alen : len), 0);
        if (strcmp(challenge, "failure") == 0) {
            send_raw(c, "#FAILURE#", 9); /* we pretend its answer was wrong */
        } else {
            send_raw(c, "#WELCOME#", 9);
            /* Its challenge to us: always {sha256}. */
            len = recv_raw(c, msg, sizeof msg);
            CU_ASSERT_EQUAL(len, 59);
            CU_ASSERT_EQUAL(memcmp(msg, "#CHALLENGE#{sha256}", 19), 0);
            alen = answer(our_answer, msg + 11, len - 11, ans, 0);
            send_raw(c, ans, alen);
            CU_ASSERT_TRUE(is_msg(msg, recv_raw(c, msg, sizeof msg), "#WELCOME#"));
        }
    }
    test_thread_join(&t);
    CHECK_RC(ca.err, want);
    mproc_conn_free(ca.c);
    mproc_conn_free(c);
    mproc_listener_free(l);
}

static void test_client_answers_every_form(void)
{
    static const char *const forms[] = {"legacy", "md5", "sha256", "sha384", "sha3_256", "sha3_384"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        client_case(forms[i], "sha256", 0);
    client_case("sha256", "bare", 0); /* a Python 3.11 listener answers our challenge with bare MD5 */
    client_case("legacy", "sha3_384", 0);
}

static void test_client_refuses(void)
{
    client_case("failure", NULL, MPROC_EAUTH);      /* "digest sent was rejected" */
    client_case("notchallenge", NULL, MPROC_EAUTH); /* "expected challenge" */
    client_case("tooshort", NULL, MPROC_EAUTH);     /* under 20 bytes */
    client_case("sha1", NULL, MPROC_EAUTH);         /* digest not allowed */
    client_case("oversize", NULL, MPROC_EAUTH);     /* > 256 bytes */
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"listener accepts every digest and bare MD5", test_listener_accepts_every_digest},
        {"listener answers legacy and prefixed challenges", test_listener_answers_every_form},
        {"listener refuses wrong, unknown, short, oversize answers", test_listener_refuses},
        {"client answers legacy and prefixed challenges", test_client_answers_every_form},
        {"client refuses failures and bad challenges", test_client_refuses},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "auth-wire", tests);
}
