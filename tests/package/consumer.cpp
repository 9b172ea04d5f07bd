// SPDX-License-Identifier: MIT
// consumer.cpp - a C++ program that uses an installed mproc
// (scripts/package-test.sh builds it with find_package and pkg-config,
// shared and static, with -Wall -Wextra -Wpedantic -Werror): mproc.h in
// C++, every options struct from its _INIT macro, a pipe to a child, a
// pool apply, a manager dict. Prints "consumer++ ok" and exits 0 when all
// went right.
#include <mproc.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

int child(const mproc_args *args)
{
    mproc_conn *c = static_cast<mproc_conn *>(mproc_args_obj(args, 0));
    std::string msg = "hello from C++ child " + std::to_string(mproc_args_int(args, 1));
    return mproc_conn_send_bytes(c, msg.data(), msg.size()) == 0 ? 0 : 1;
}

int twice(const mproc_args *args, mproc_result *out, void *)
{
    const int64_t v = mproc_args_int(args, 0) * 2;
    return mproc_result_set(out, &v, sizeof v);
}

int fail(const char *what, int rc)
{
    std::fprintf(stderr, "consumer++: %s: %s\n", what, mproc_strerror(rc));
    return 1;
}

} // namespace

int main(int argc, char **argv)
{
    int rc = mproc_init(&argc, &argv);
    if (rc < 0)
        return fail("mproc_init", rc);
    static_assert(MPROC_VERSION_AT_LEAST(0, 1, 0), "mproc 0.1.0 or later");
    if (std::string(mproc_version()) != MPROC_VERSION_STRING)
        return fail("version", MPROC_EINVAL);

    // Every options struct can be made in C++ from its _INIT macro.
    mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
    mproc_barrier_opts bo = MPROC_BARRIER_OPTS_INIT;
    mproc_queue_opts qo = MPROC_QUEUE_OPTS_INIT;
    mproc_pool_opts lo = MPROC_POOL_OPTS_INIT;
    mproc_async_opts ao = MPROC_ASYNC_OPTS_INIT;
    mproc_manager_opts mo = MPROC_MANAGER_OPTS_INIT;
    (void)bo, (void)qo, (void)ao;

    int err = 0;
    mproc_conn *mine = nullptr, *theirs = nullptr;
    if ((rc = mproc_pipe(1, &mine, &theirs)))
        return fail("mproc_pipe", rc);
    mproc_args *a = mproc_args_new();
    if (!a || mproc_args_add_obj(a, theirs) || mproc_args_add_int(a, 42))
        return fail("mproc_args", MPROC_ENOMEM);
    mproc_process *p = mproc_process_new(child, a, &po, &err);
    mproc_args_free(a);
    if (!p)
        return fail("mproc_process_new", err);
    if ((rc = mproc_process_start(p)))
        return fail("mproc_process_start", rc);
    if ((rc = mproc_conn_poll(mine, 30.0)) < 0)
        return fail("mproc_conn_poll", rc);
    void *buf = nullptr;
    size_t len = 0;
    if ((rc = mproc_conn_recv_bytes(mine, &buf, &len, MPROC_NOLIMIT)))
        return fail("mproc_conn_recv_bytes", rc);
    std::printf("%.*s\n", static_cast<int>(len), static_cast<const char *>(buf));
    mproc_free(buf);
    if ((rc = mproc_process_join(p, 30.0)))
        return fail("mproc_process_join", rc);
    mproc_process_free(p);
    mproc_conn_free(mine);
    mproc_conn_free(theirs);

    lo.processes = 2;
    mproc_pool *pool = mproc_pool_new(&lo, &err);
    if (!pool)
        return fail("mproc_pool_new", err);
    mproc_args *x = mproc_args_new();
    mproc_args_add_int(x, 21);
    void *res = nullptr;
    size_t rlen = 0;
    rc = mproc_pool_apply(pool, twice, x, &res, &rlen);
    mproc_args_free(x);
    if (rc)
        return fail("mproc_pool_apply", rc);
    int64_t v = 0;
    if (rlen != sizeof v)
        return fail("apply result size", MPROC_EINVAL);
    std::memcpy(&v, res, sizeof v);
    mproc_free(res);
    if (v != 42)
        return fail("apply result", MPROC_ETASK);
    mproc_pool_close(pool);
    mproc_pool_join(pool, MPROC_FOREVER);
    mproc_pool_free(pool);

    mproc_manager *m = mproc_manager_start(&mo, &err);
    if (!m)
        return fail("mproc_manager_start", err);
    mproc_mdict *d = mproc_manager_dict(m, &err);
    if (!d)
        return fail("mproc_manager_dict", err);
    if ((rc = mproc_mdict_set(d, mproc_mv_str("answer"), mproc_mv_int(42))))
        return fail("mproc_mdict_set", rc);
    mproc_mval out;
    if ((rc = mproc_mdict_get(d, mproc_mv_str("answer"), &out)) || out.type != MPROC_MV_INT || out.v.i != 42)
        return fail("mproc_mdict_get", rc ? rc : MPROC_EINVAL);
    mproc_mval_clear(&out);
    mproc_mdict_free(d);
    mproc_manager_free(m);

    std::printf("consumer++ ok (mproc %s)\n", mproc_version());
    return 0;
}
