/* SPDX-License-Identifier: MIT */
/* test_conn_big.c - a message over 2 GiB through a pipe (CPython
 * gh-61760): 2 GiB + 5 bytes from a child to its parent, checked by
 * length and by a hash of its content. The child makes the message after
 * it starts, so the parent never holds more than the one it receives
 * (about 4.3 GiB in both processes together). Run on its own (RUN_SERIAL):
 * it needs the memory. */
#include "testutil.h"

#define BIG_LEN (((size_t)1 << 31) + 5)

/* FNV-1a over 64-bit words (and the tail bytes): quick over 2 GiB. */
static uint64_t hash_of(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* args: conn. Sends the big message, then its length and hash. */
static int t_big_sender(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    unsigned char *buf = malloc(BIG_LEN);
    if (!buf)
        return 1;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i + 8 <= BIG_LEN; i += 8) {
        x ^= x << 13; /* xorshift: no repeating pattern to hide a misplaced block */
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(buf + i, &x, 8);
    }
    memcpy(buf + BIG_LEN - 5, "tail!", 5);
    uint64_t summary[2] = {BIG_LEN, hash_of(buf, BIG_LEN)};
    int rc = mproc_conn_send_bytes(c, buf, BIG_LEN);
    free(buf);
    if (rc != 0)
        return 2;
    return mproc_conn_send_bytes(c, summary, sizeof summary) == 0 ? 0 : 3;
}

static void test_over_2gib(void)
{
    mproc_conn *r, *w;
    CHECK_RC(mproc_pipe(0, &r, &w), 0);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, w);
    mproc_process *p = test_start(t_big_sender, a, NULL);
    mproc_args_free(a);
    mproc_conn_free(w);
    void *buf = NULL;
    size_t len = 0;
    CHECK_RC(mproc_conn_poll(r, 300), 1);
    CHECK_RC(mproc_conn_recv_bytes(r, &buf, &len, MPROC_NOLIMIT), 0);
    CU_ASSERT_EQUAL(len, BIG_LEN);
    uint64_t h = buf && len == BIG_LEN ? hash_of(buf, len) : 0;
    int tail_ok = buf && len == BIG_LEN && memcmp((char *)buf + len - 5, "tail!", 5) == 0;
    mproc_free(buf);
    uint64_t summary[2] = {0, 0};
    size_t slen = 0;
    CHECK_RC(mproc_conn_poll(r, 300), 1);
    CHECK_RC(mproc_conn_recv_bytes_into(r, summary, sizeof summary, &slen), 0);
    CU_ASSERT_EQUAL(summary[0], BIG_LEN);
    CU_ASSERT_EQUAL(summary[1], h);
    CU_ASSERT_TRUE(tail_ok);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_conn_free(r);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"a 2 GiB + 5 byte message through a pipe", test_over_2gib},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "conn-big", tests);
}
