/* SPDX-License-Identifier: MIT */
/* test_args.c - mproc_args values, the msgpack encoding and bad input. */
#include "testutil.h"

static void test_values(void)
{
    mproc_args *a = mproc_args_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CHECK_RC(mproc_args_add_int(a, -42), 0);
    CHECK_RC(mproc_args_add_int(a, INT64_MAX), 0);
    CHECK_RC(mproc_args_add_double(a, 2.5), 0);
    CHECK_RC(mproc_args_add_str(a, "bob"), 0);
    CHECK_RC(mproc_args_add_bytes(a, "a\0b", 3), 0);
    CHECK_RC(mproc_args_add_bytes(a, NULL, 0), 0);
    CU_ASSERT_EQUAL(mproc_args_count(a), 6);
    CU_ASSERT_EQUAL(mproc_args_int(a, 0), -42);
    CU_ASSERT_EQUAL(mproc_args_int(a, 1), INT64_MAX);
    CU_ASSERT_DOUBLE_EQUAL(mproc_args_double(a, 2), 2.5, 0);
    CU_ASSERT_STRING_EQUAL(mproc_args_str(a, 3), "bob");
    size_t len = 99;
    const char *b = mproc_args_bytes(a, 4, &len);
    CU_ASSERT_EQUAL(len, 3);
    CU_ASSERT_EQUAL(memcmp(b, "a\0b", 3), 0);
    CU_ASSERT_PTR_NOT_NULL(mproc_args_bytes(a, 5, &len));
    CU_ASSERT_EQUAL(len, 0);
    /* Wrong type or index: zero values, and the type says why. */
    CU_ASSERT_EQUAL(mproc_args_type(a, 0), MPROC_ARG_INT);
    CU_ASSERT_EQUAL(mproc_args_type(a, 3), MPROC_ARG_STR);
    CU_ASSERT_EQUAL(mproc_args_type(a, 6), MPROC_ARG_NONE);
    CU_ASSERT_EQUAL(mproc_args_int(a, 3), 0);
    CU_ASSERT_PTR_NULL(mproc_args_str(a, 0));
    CU_ASSERT_PTR_NULL(mproc_args_bytes(a, 99, &len));
    CU_ASSERT_EQUAL(len, 0);
    mproc_args_free(a);
}

static void test_roundtrip(void)
{
    mproc_args *a = mproc_args_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    for (int i = 0; i < 1000; i++)
        mproc_args_add_int(a, (int64_t)i * 1000003 - 500000000);
    mproc_args_add_double(a, -0.125);
    mproc_args_add_str(a, "héllo");
    size_t big = 1 << 20;
    char *blob = malloc(big);
    for (size_t i = 0; i < big; i++)
        blob[i] = (char)(i * 7);
    mproc_args_add_bytes(a, blob, big);
    void *buf;
    size_t len;
    CHECK_RC(mproc_args_encode(a, &buf, &len), 0);
    int err = 1;
    mproc_args *d = mproc_args_decode(buf, len, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(mproc_args_count(d), 1003);
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(mproc_args_int(d, (size_t)i), (int64_t)i * 1000003 - 500000000);
    CU_ASSERT_DOUBLE_EQUAL(mproc_args_double(d, 1000), -0.125, 0);
    CU_ASSERT_STRING_EQUAL(mproc_args_str(d, 1001), "héllo");
    size_t blen;
    const void *b = mproc_args_bytes(d, 1002, &blen);
    CU_ASSERT_EQUAL(blen, big);
    CU_ASSERT_EQUAL(memcmp(b, blob, big), 0);
    free(blob);
    mproc_free(buf);
    mproc_args_free(d);
    mproc_args_free(a);
}

static void test_empty_and_null(void)
{
    void *buf;
    size_t len;
    CHECK_RC(mproc_args_encode(NULL, &buf, &len), 0); /* NULL args = [] */
    int err = 1;
    mproc_args *d = mproc_args_decode(buf, len, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_EQUAL(mproc_args_count(d), 0);
    mproc_args_free(d);
    mproc_free(buf);
    CU_ASSERT_EQUAL(mproc_args_count(NULL), 0);
    CHECK_RC(mproc_args_add_int(NULL, 1), MPROC_EINVAL);
    CHECK_RC(mproc_args_add_str(NULL, "x"), MPROC_EINVAL);
    mproc_args *a = mproc_args_new();
    CHECK_RC(mproc_args_add_str(a, NULL), MPROC_EINVAL);
    CHECK_RC(mproc_args_add_bytes(a, NULL, 5), MPROC_EINVAL);
    CHECK_RC(mproc_args_encode(a, NULL, &len), MPROC_EINVAL);
    CU_ASSERT_EQUAL(mproc_args_count(a), 0);
    mproc_args_free(a);
    mproc_args_free(NULL);
}

static void test_decode_rejects_garbage(void)
{
    int err = 0;
    /* Not an array. */
    CU_ASSERT_PTR_NULL(mproc_args_decode("\x01", 1, &err));
    CHECK_RC(err, MPROC_EINVAL);
    /* Truncated array of 2 with one element. */
    CU_ASSERT_PTR_NULL(mproc_args_decode("\x92\x01", 2, &err));
    CHECK_RC(err, MPROC_EINVAL);
    /* Trailing bytes. */
    CU_ASSERT_PTR_NULL(mproc_args_decode("\x90\x90", 2, &err));
    CHECK_RC(err, MPROC_EINVAL);
    /* A map is not a value type of mproc_args. */
    CU_ASSERT_PTR_NULL(mproc_args_decode("\x91\x80", 2, &err));
    CHECK_RC(err, MPROC_EINVAL);
    /* uint64 beyond INT64_MAX. */
    CU_ASSERT_PTR_NULL(mproc_args_decode("\x91\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 10, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_args_decode(NULL, 4, &err));
    CHECK_RC(err, MPROC_EINVAL);
    /* Every truncation of a valid encoding is refused, never a crash. */
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, "hello world");
    mproc_args_add_double(a, 1.5);
    mproc_args_add_bytes(a, "xyz", 3);
    void *buf;
    size_t len;
    CHECK_RC(mproc_args_encode(a, &buf, &len), 0);
    for (size_t cut = 0; cut < len; cut++) {
        mproc_args *d = mproc_args_decode(buf, cut, &err);
        CU_ASSERT_PTR_NULL(d);
        mproc_args_free(d);
    }
    mproc_free(buf);
    mproc_args_free(a);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"values", test_values},
        {"roundtrip", test_roundtrip},
        {"empty and null", test_empty_and_null},
        {"decode rejects garbage", test_decode_rejects_garbage},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "args", tests);
}
