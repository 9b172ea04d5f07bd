/* SPDX-License-Identifier: MIT */
/* test_errors.c - the error table: every code has a distinct value, name and
 * message; unknown codes are handled. */
#include "testutil.h"

static const int all_codes[] = {
#define XX(name, value, msg) MPROC_##name,
    MPROC_ERRNO_MAP(XX)
#undef XX
};
#define NCODES (sizeof all_codes / sizeof all_codes[0])

static void test_codes_negative_and_distinct(void)
{
    CU_ASSERT_TRUE(NCODES >= 21);
    for (size_t i = 0; i < NCODES; i++) {
        CU_ASSERT_TRUE(all_codes[i] < 0);
        for (size_t j = i + 1; j < NCODES; j++)
            CU_ASSERT_NOT_EQUAL(all_codes[i], all_codes[j]);
    }
}

static void test_names_and_messages(void)
{
    CU_ASSERT_STRING_EQUAL(mproc_err_name(MPROC_ETIMEDOUT), "MPROC_ETIMEDOUT");
    CU_ASSERT_STRING_EQUAL(mproc_err_name(MPROC_EOWNERDEAD), "MPROC_EOWNERDEAD");
    CU_ASSERT_STRING_EQUAL(mproc_err_name(MPROC_ESYS), "MPROC_ESYS");
    CU_ASSERT_STRING_EQUAL(mproc_err_name(0), "MPROC_OK");
    CU_ASSERT_STRING_EQUAL(mproc_strerror(0), "success");
    for (size_t i = 0; i < NCODES; i++) {
        CU_ASSERT_PTR_NOT_NULL(strstr(mproc_err_name(all_codes[i]), "MPROC_E"));
        CU_ASSERT_STRING_NOT_EQUAL(mproc_strerror(all_codes[i]), "unknown error");
        for (size_t j = i + 1; j < NCODES; j++)
            CU_ASSERT_STRING_NOT_EQUAL(mproc_strerror(all_codes[i]), mproc_strerror(all_codes[j]));
    }
}

static void test_unknown_codes(void)
{
    CU_ASSERT_STRING_EQUAL(mproc_strerror(-9999), "unknown error");
    CU_ASSERT_STRING_EQUAL(mproc_err_name(12345), "MPROC_EUNKNOWN");
}

static void test_required_codes_exist(void)
{
    /* DESIGN.md's minimum list, by name, so a rename breaks the build. */
    int codes[] = {MPROC_ETIMEDOUT, MPROC_EEMPTY, MPROC_EFULL, MPROC_ECLOSED, MPROC_EBROKEN,
                   MPROC_EWORKERLOST, MPROC_EOWNERDEAD, MPROC_EINVAL, MPROC_ENOMEM,
                   MPROC_EMSGSIZE, MPROC_EAUTH, MPROC_ETASK, MPROC_ESPAWN, MPROC_ENOSYS,
                   MPROC_ERUNNING, MPROC_ESTATE, MPROC_EOS, MPROC_EEXIST, MPROC_ENOENT,
                   MPROC_EINTR, MPROC_ESYS};
    CU_ASSERT_EQUAL(sizeof codes / sizeof codes[0], 21);
    /* appended later (issue 20): values are stable, new codes go at the end */
    CU_ASSERT_EQUAL(MPROC_ECANCELLED, -22);
    CU_ASSERT_STRING_EQUAL(mproc_err_name(MPROC_ECANCELLED), "MPROC_ECANCELLED");
}

static void test_backend_name(void)
{
    const char *n = mproc_backend_name();
    CU_ASSERT_TRUE(strcmp(n, "posix") == 0 || strcmp(n, "win32") == 0);
    CU_ASSERT_STRING_EQUAL(mproc_version(), "0.1.0");
    CU_ASSERT_TRUE(mproc_cpu_count() >= 1);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"codes negative and distinct", test_codes_negative_and_distinct},
        {"names and messages", test_names_and_messages},
        {"unknown codes", test_unknown_codes},
        {"required codes exist", test_required_codes_exist},
        {"backend name", test_backend_name},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "errors", tests);
}
