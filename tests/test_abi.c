/* SPDX-License-Identifier: MIT */
/* test_abi.c - what docs/abi.md promises: the version macros and
 * mproc_version() agree; every options struct's _INIT macro fills in its
 * size; the library takes a struct from newer headers (larger, with a zero
 * tail) and refuses one it cannot read (a non-zero tail, size 0, a size
 * it does not know, a size that is no struct's); earlier versions' sizes
 * are read into the current struct (core/opts.h, called directly). */
#include <stdint.h>

#include "base/opts.h" /* core/: mproc__opts_read */
#include "testutil.h"

/* ------------------------------------------------------------ version */

#if !MPROC_VERSION_AT_LEAST(0, 1, 0)
#error "MPROC_VERSION_AT_LEAST must work in #if"
#endif

static void test_version_macros(void)
{
    CU_ASSERT_EQUAL(MPROC_VERSION_HEX,
                    (MPROC_VERSION_MAJOR << 16) | (MPROC_VERSION_MINOR << 8) | MPROC_VERSION_PATCH);
    char v[64];
    snprintf(v, sizeof v, "%d.%d.%d", MPROC_VERSION_MAJOR, MPROC_VERSION_MINOR, MPROC_VERSION_PATCH);
    CU_ASSERT_STRING_EQUAL(v, MPROC_VERSION_STRING);
    CU_ASSERT_STRING_EQUAL(mproc_version(), MPROC_VERSION_STRING);
    CU_ASSERT_TRUE(MPROC_VERSION_AT_LEAST(0, 0, 0));
    CU_ASSERT_TRUE(MPROC_VERSION_AT_LEAST(MPROC_VERSION_MAJOR, MPROC_VERSION_MINOR, MPROC_VERSION_PATCH));
    CU_ASSERT_FALSE(MPROC_VERSION_AT_LEAST(MPROC_VERSION_MAJOR, MPROC_VERSION_MINOR, MPROC_VERSION_PATCH + 1));
    CU_ASSERT_FALSE(MPROC_VERSION_AT_LEAST(MPROC_VERSION_MAJOR, MPROC_VERSION_MINOR + 1, 0));
    CU_ASSERT_FALSE(MPROC_VERSION_AT_LEAST(MPROC_VERSION_MAJOR + 1, 0, 0));
}

/* ---------------------------------------------------- _INIT fills size */

static void test_init_sizes(void)
{
    mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
    mproc_barrier_opts bo = MPROC_BARRIER_OPTS_INIT;
    mproc_queue_opts qo = MPROC_QUEUE_OPTS_INIT;
    mproc_pool_opts lo = MPROC_POOL_OPTS_INIT;
    mproc_async_opts ao = MPROC_ASYNC_OPTS_INIT;
    mproc_manager_opts mo = MPROC_MANAGER_OPTS_INIT;
    CU_ASSERT_EQUAL(po.size, sizeof po);
    CU_ASSERT_EQUAL(bo.size, sizeof bo);
    CU_ASSERT_EQUAL(qo.size, sizeof qo);
    CU_ASSERT_EQUAL(lo.size, sizeof lo);
    CU_ASSERT_EQUAL(ao.size, sizeof ao);
    CU_ASSERT_EQUAL(mo.size, sizeof mo);
    /* the defaults are the documented ones */
    CU_ASSERT_EQUAL(lo.processes, MPROC_POOL_CPUS);
    CU_ASSERT_EQUAL(bo.timeout, -1.0);
    CU_ASSERT_EQUAL(qo.kind, MPROC_QUEUE_PLAIN);
}

/* Each struct as newer headers might have it: the same start, then fields
 * this library does not know (set through the tail). */
#define NEWER(type)          \
    struct {                 \
        type o;              \
        uint64_t tail[3];    \
    }

/* Sizes this library must refuse: 0 (not set up by _INIT), one byte short
 * of the struct (no earlier version has it), beyond any options struct. */
#define BAD_SIZES(type) {0, sizeof(type) - 1, (size_t)1 << 20}

/* --------------------------------------------- constructors, by struct */

static int t_noop(const mproc_args *a)
{
    (void)a;
    return 0;
}

static void test_process_opts(void)
{
    int err = 0;
    NEWER(mproc_process_opts) n;
    memset(&n, 0, sizeof n);
    n.o.size = sizeof n;
    n.o.name = "newer-headers";
    mproc_process *p = mproc_process_new(t_noop, NULL, &n.o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(mproc_process_name(p), "newer-headers");
    mproc_process_free(p);

    n.tail[1] = 1; /* a field this library does not know, set */
    CU_ASSERT_PTR_NULL(mproc_process_new(t_noop, NULL, &n.o, &err));
    CU_ASSERT_EQUAL(err, MPROC_EINVAL);

    const size_t bad[] = BAD_SIZES(mproc_process_opts);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
        o.size = bad[i];
        err = 0;
        CU_ASSERT_PTR_NULL(mproc_process_new(t_noop, NULL, &o, &err));
        CU_ASSERT_EQUAL(err, MPROC_EINVAL);
    }
}

static void test_barrier_opts(void)
{
    int err = 0;
    NEWER(mproc_barrier_opts) n;
    memset(&n, 0, sizeof n);
    n.o.size = sizeof n;
    n.o.timeout = -1.0;
    mproc_barrier *b = mproc_barrier_new(1, &n.o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(mproc_barrier_wait(b, 1.0), 0); /* one party: passes */
    mproc_barrier_free(b);

    n.tail[2] = 0x100;
    CU_ASSERT_PTR_NULL(mproc_barrier_new(1, &n.o, &err));
    CU_ASSERT_EQUAL(err, MPROC_EINVAL);

    const size_t bad[] = BAD_SIZES(mproc_barrier_opts);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mproc_barrier_opts o = MPROC_BARRIER_OPTS_INIT;
        o.size = bad[i];
        err = 0;
        CU_ASSERT_PTR_NULL(mproc_barrier_new(2, &o, &err));
        CU_ASSERT_EQUAL(err, MPROC_EINVAL);
    }
}

static void test_queue_opts(void)
{
    int err = 0;
    NEWER(mproc_queue_opts) n;
    memset(&n, 0, sizeof n);
    n.o.size = sizeof n;
    n.o.kind = MPROC_QUEUE_JOINABLE;
    n.o.maxsize = 1;
    mproc_queue *q = mproc_queue_new_ex(&n.o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_EQUAL(mproc_queue_put(q, "x", 1, 0), 0);
    CU_ASSERT_EQUAL(mproc_queue_put(q, "y", 1, 0), MPROC_EFULL); /* maxsize was read */
    mproc_queue_free(q);

    n.tail[0] = 1;
    CU_ASSERT_PTR_NULL(mproc_queue_new_ex(&n.o, &err));
    CU_ASSERT_EQUAL(err, MPROC_EINVAL);

    const size_t bad[] = BAD_SIZES(mproc_queue_opts);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mproc_queue_opts o = MPROC_QUEUE_OPTS_INIT;
        o.size = bad[i];
        err = 0;
        CU_ASSERT_PTR_NULL(mproc_queue_new_ex(&o, &err));
        CU_ASSERT_EQUAL(err, MPROC_EINVAL);
    }
}

static int t_apply(const mproc_args *a, mproc_result *out, void *state)
{
    (void)a, (void)state;
    return mproc_result_set(out, "ok", 2);
}

static void on_done(mproc_async *r, void *ctx)
{
    (void)r;
    ++*(int *)ctx;
}

static void test_pool_and_async_opts(void)
{
    int err = 0;
    const size_t bad[] = BAD_SIZES(mproc_pool_opts);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
        o.processes = 1;
        o.size = bad[i];
        err = 0;
        CU_ASSERT_PTR_NULL(mproc_pool_new(&o, &err));
        CU_ASSERT_EQUAL(err, MPROC_EINVAL);
    }
    NEWER(mproc_pool_opts) n;
    memset(&n, 0, sizeof n);
    n.o.size = sizeof n;
    n.o.processes = 1;
    n.tail[2] = 7;
    CU_ASSERT_PTR_NULL(mproc_pool_new(&n.o, &err));
    CU_ASSERT_EQUAL(err, MPROC_EINVAL);
    n.tail[2] = 0;
    mproc_pool *p = mproc_pool_new(&n.o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(mproc_pool_processes(p), 1);

    /* async options, through apply_async */
    int calls = 0;
    NEWER(mproc_async_opts) an;
    memset(&an, 0, sizeof an);
    an.o.size = sizeof an;
    an.o.callback = on_done;
    an.o.ctx = &calls;
    mproc_async *r = mproc_pool_apply_async(p, t_apply, NULL, &an.o, &err);
    CU_ASSERT_PTR_NOT_NULL(r);
    if (r) {
        CU_ASSERT_EQUAL(mproc_async_get(r, 60, NULL, NULL), 0);
        CU_ASSERT_EQUAL(calls, 1);
        mproc_async_free(r);
    }
    an.tail[0] = 1;
    CU_ASSERT_PTR_NULL(mproc_pool_apply_async(p, t_apply, NULL, &an.o, &err));
    CU_ASSERT_EQUAL(err, MPROC_EINVAL);
    const size_t abad[] = BAD_SIZES(mproc_async_opts);
    for (size_t i = 0; i < sizeof abad / sizeof *abad; i++) {
        mproc_async_opts o = MPROC_ASYNC_OPTS_INIT;
        o.size = abad[i];
        err = 0;
        CU_ASSERT_PTR_NULL(mproc_pool_apply_async(p, t_apply, NULL, &o, &err));
        CU_ASSERT_EQUAL(err, MPROC_EINVAL);
    }
    CU_ASSERT_EQUAL(calls, 1);
    mproc_pool_close(p);
    CU_ASSERT_EQUAL(mproc_pool_join(p, 60), 0);
    mproc_pool_free(p);
}

static void test_manager_opts(void)
{
    int err = 0;
    const size_t bad[] = BAD_SIZES(mproc_manager_opts);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mproc_manager_opts o = MPROC_MANAGER_OPTS_INIT;
        o.size = bad[i];
        err = 0;
        CU_ASSERT_PTR_NULL(mproc_manager_start(&o, &err));
        CU_ASSERT_EQUAL(err, MPROC_EINVAL);
    }
    NEWER(mproc_manager_opts) n;
    memset(&n, 0, sizeof n);
    n.o.size = sizeof n;
    n.tail[1] = 1;
    CU_ASSERT_PTR_NULL(mproc_manager_start(&n.o, &err));
    CU_ASSERT_EQUAL(err, MPROC_EINVAL);
    n.tail[1] = 0;
    n.o.authkey = "abi-test-key";
    n.o.keylen = 12;
    mproc_manager *m = mproc_manager_start(&n.o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    size_t keylen = 0;
    const void *key = mproc_manager_authkey(m, &keylen);
    CU_ASSERT_EQUAL(keylen, 12); /* the options were read */
    CU_ASSERT_TRUE(key && memcmp(key, "abi-test-key", 12) == 0);
    mproc_manager_free(m);
}

/* ----------------------------------- earlier versions (the helper itself) */

/* A struct in two versions: v2 appended b. */
typedef struct {
    size_t size;
    int64_t a;
} demo_v1;
typedef struct {
    size_t size;
    int64_t a;
    int64_t b;
} demo_v2;

static void test_older_sizes(void)
{
    const size_t older[] = {sizeof(demo_v1)};
    demo_v1 v1 = {sizeof(demo_v1), 5};
    demo_v2 cur = {sizeof(demo_v2), 1, 7}; /* this library's defaults */
    CU_ASSERT_EQUAL(mproc__opts_read(&cur, sizeof cur, &v1, older, 1), 0);
    CU_ASSERT_EQUAL(cur.size, sizeof cur);
    CU_ASSERT_EQUAL(cur.a, 5); /* from the caller */
    CU_ASSERT_EQUAL(cur.b, 7); /* unknown to it: the default */

    /* the same size, without the list of earlier versions: refused */
    demo_v2 cur2 = {sizeof(demo_v2), 1, 7};
    CU_ASSERT_EQUAL(mproc__opts_read(&cur2, sizeof cur2, &v1, NULL, 0), MPROC_EINVAL);
    CU_ASSERT_EQUAL(cur2.a, 1); /* untouched */

    /* the current version, copied whole */
    demo_v2 v2 = {sizeof(demo_v2), 8, 9};
    CU_ASSERT_EQUAL(mproc__opts_read(&cur2, sizeof cur2, &v2, older, 1), 0);
    CU_ASSERT_EQUAL(cur2.a, 8);
    CU_ASSERT_EQUAL(cur2.b, 9);

    /* a v2 caller read by a v1 library: b must be zero */
    demo_v1 lib = {sizeof(demo_v1), 0};
    v2.b = 0;
    CU_ASSERT_EQUAL(mproc__opts_read(&lib, sizeof lib, &v2, NULL, 0), 0);
    CU_ASSERT_EQUAL(lib.a, 8);
    CU_ASSERT_EQUAL(lib.size, sizeof lib);
    v2.b = 1;
    CU_ASSERT_EQUAL(mproc__opts_read(&lib, sizeof lib, &v2, NULL, 0), MPROC_EINVAL);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"version macros", test_version_macros},
        {"_INIT fills in the size", test_init_sizes},
        {"process opts by size", test_process_opts},
        {"barrier opts by size", test_barrier_opts},
        {"queue opts by size", test_queue_opts},
        {"pool and async opts by size", test_pool_and_async_opts},
        {"manager opts by size", test_manager_opts},
        {"earlier versions' sizes", test_older_sizes},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "abi", tests);
}
