/* SPDX-License-Identifier: MIT */
/* test_value_interop.c - values between mproc and a real Python's
 * multiprocessing.connection (value_peer.py): a Python Client sends
 * objects (Connection.send, and pickles of protocols 2 to 5) to an mproc
 * listener that answers each transformed (or "refused:<error>"), and
 * malicious pickles; an mproc client sends trees to a Python Listener that
 * answers their repr and their transform.
 *   test_value_interop --script value_peer.py --python CMD --version 3.N
 * A Python that cannot run, or is not 3.N, fails the test (never a skip). POSIX. */
#include <signal.h>
#include <unistd.h>

#include "interop/pyproc.h"
#include "valuetree.h"

#define KEY "value key"
#define KEY_HEX "76616c7565206b6579"

static const char *python, *script;

/* ------------------------------------------------------------ the trees */

/* What value_peer.py's transform does, in place on a received tree. */
static int transform(mproc_mval *v)
{
    switch (v->type) {
    case MPROC_MV_BOOL: v->v.i = !v->v.i; return 0;
    case MPROC_MV_INT: v->v.i++; return 0;
    case MPROC_MV_DOUBLE: v->v.d *= 2; return 0;
    case MPROC_MV_STR: {
        char *s = realloc((char *)v->v.s.ptr, v->v.s.len + 2);
        if (!s)
            return -1;
        s[v->v.s.len++] = '!';
        s[v->v.s.len] = '\0';
        v->v.s.ptr = s;
        return 0;
    }
    case MPROC_MV_BYTES: {
        char *s = (char *)v->v.s.ptr;
        for (size_t i = 0, j = v->v.s.len; i + 1 < j; i++, j--) {
            char t = s[i];
            s[i] = s[j - 1];
            s[j - 1] = t;
        }
        return 0;
    }
    case MPROC_MV_ARRAY:
    case MPROC_MV_TUPLE:
    case MPROC_MV_MAP: {
        mproc_mval *it = (mproc_mval *)v->v.a.items;
        size_t n = v->v.a.n;
        for (size_t i = 0; i < n; i++)
            if (transform(v->type == MPROC_MV_MAP ? &it[2 * i + 1] : &it[i]) != 0)
                return -1;
        for (size_t i = 0; v->type == MPROC_MV_ARRAY && i < n / 2; i++) {
            mproc_mval t = it[i];
            it[i] = it[n - 1 - i];
            it[n - 1 - i] = t;
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* Two trees are equal (types, values, order). */
static int same(const mproc_mval *a, const mproc_mval *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case MPROC_MV_NIL: return 1;
    case MPROC_MV_BOOL:
    case MPROC_MV_INT: return a->v.i == b->v.i;
    case MPROC_MV_DOUBLE: return a->v.d == b->v.d;
    case MPROC_MV_STR:
    case MPROC_MV_BYTES: return a->v.s.len == b->v.s.len && memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len) == 0;
    case MPROC_MV_ARRAY:
    case MPROC_MV_TUPLE:
    case MPROC_MV_MAP: {
        size_t n = a->type == MPROC_MV_MAP ? 2 * a->v.a.n : a->v.a.n;
        if (a->v.a.n != b->v.a.n)
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!same(&a->v.a.items[i], &b->v.a.items[i]))
                return 0;
        return 1;
    }
    default: return 0;
    }
}

/* The tree of valuetree.h, and its repr. */
static mproc_mval ints[5000];
static mproc_mval every_type(void) { return vt_every_type(INT64_MAX - 1, INT64_MIN + 1); }
static const char every_repr[] =
    "{'n': None, 't': True, 'f': False, 'max': 9223372036854775806, 'neg': -70000, 'd': -1.5e+300, "
    "'h\xc3\xa9': b'xyz', 7: [[-5, '', []], (1, 'two'), (None,), (), {}, 0.25, b'\\x00b', -9223372036854775807], "
    "(1, 'two'): 300, 2.0: 65536, b'': -1}";

/* ---------------------------------------------------- mproc's two sides */

/* The listener's side: answers each value transformed, refusals by name. */
static int serve(mproc_conn *c)
{
    for (int n = 0;; n++) {
        mproc_mval v;
        if (mproc_conn_poll(c, 60) != 1)
            return -1;
        int rc = mproc_conn_recv_value(c, &v, MPROC_NOLIMIT);
        if (rc == MPROC_EINVAL || rc == MPROC_EMSGSIZE) {
            char msg[64];
            snprintf(msg, sizeof msg, "refused:%s", mproc_err_name(rc));
            rc = mproc_conn_send_value(c, mproc_mv_str(msg));
        } else if (rc == 0) {
            int bye = v.type == MPROC_MV_STR && strcmp(v.v.s.ptr, "bye") == 0;
            if (n == 0) /* Python sent a pickle: the connection answers in pickle */
                CU_ASSERT_EQUAL(mproc_conn_value_codec(c), MPROC_CODEC_PICKLE);
            rc = bye ? 0 : transform(&v);
            if (rc == 0)
                rc = mproc_conn_send_value(c, v);
            mproc_mval_clear(&v);
            if (bye)
                return rc;
        }
        if (rc)
            return rc;
    }
}

/* One request to the Python listener: (what, v); the answer in *out. */
static int ask(mproc_conn *c, const char *what, mproc_mval v, mproc_mval *out)
{
    mproc_mval req[2] = {mproc_mv_str(what), v};
    int rc = mproc_conn_send_value(c, mproc_mv_tuple(req, 2));
    if (rc == 0 && mproc_conn_poll(c, 60) != 1)
        rc = MPROC_ETIMEDOUT;
    return rc ? rc : mproc_conn_recv_value(c, out, MPROC_NOLIMIT);
}

static void check_echo(mproc_conn *c, mproc_mval v)
{
    void *buf;
    size_t len;
    mproc_mval want, got;
    CHECK_RC(mproc_value_encode(v, MPROC_CODEC_MSGPACK, &buf, &len), 0);
    CHECK_RC(mproc_value_decode(buf, len, MPROC_CODEC_MSGPACK, &want), 0);
    mproc_free(buf);
    CU_ASSERT_EQUAL(transform(&want), 0);
    CHECK_RC(ask(c, "echo", v, &got), 0);
    CU_ASSERT(same(&got, &want));
    mproc_mval_clear(&want);
    mproc_mval_clear(&got);
}

/* ------------------------------------------------------------- cases */

static void test_python_client(void)
{
    int err = -1;
    mproc_listener *l = mproc_listener_new("tcp://127.0.0.1:0", KEY, strlen(KEY), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    py_proc p;
    CU_ASSERT_EQUAL_FATAL(py_start(&p, python, script, "connect", mproc_listener_address(l), KEY_HEX), 0);
    mproc_conn *c = mproc_listener_accept(l, 30, &err);
    CHECK_RC(err, 0);
    if (c) {
        CU_ASSERT_EQUAL(mproc_conn_value_codec(c), MPROC_CODEC_MSGPACK); /* AUTO, nothing seen yet */
        CHECK_RC(serve(c), 0);
    }
    mproc_conn_free(c);
    int code = py_finish(&p, 120);
    if (code != 0)
        fprintf(stderr, "\n  value_peer.py exited %d\n", code);
    CU_ASSERT_EQUAL(code, 0);
    mproc_listener_free(l);
}

static void test_python_listener(void)
{
    py_proc p;
    CU_ASSERT_EQUAL_FATAL(py_start(&p, python, script, "listen", KEY_HEX, NULL), 0);
    char line[256];
    CU_ASSERT_EQUAL_FATAL(py_line(&p, line, sizeof line, 30), 0);
    CU_ASSERT_EQUAL(strncmp(line, "ADDRESS ", 8), 0);
    int err = -1;
    mproc_conn *c = mproc_client_timeout(line + 8, KEY, strlen(KEY), 30, &err);
    CHECK_RC(err, 0);
    if (c) {
        CHECK_RC(mproc_conn_set_value_codec(c, MPROC_CODEC_PICKLE), 0);
        mproc_mval got;
        CHECK_RC(ask(c, "repr", every_type(), &got), 0);
        CU_ASSERT_EQUAL(got.type, MPROC_MV_STR);
        if (got.type == MPROC_MV_STR && strcmp(got.v.s.ptr, every_repr) != 0)
            fprintf(stderr, "\n  python's repr: %s\n", got.v.s.ptr);
        CU_ASSERT(got.type == MPROC_MV_STR && strcmp(got.v.s.ptr, every_repr) == 0);
        mproc_mval_clear(&got);
        check_echo(c, every_type());
        for (int i = 0; i < 5000; i++)
            ints[i] = mproc_mv_int(i * 1000003LL);
        check_echo(c, mproc_mv_array(ints, 5000));
        mproc_mval nest[MPROC_VALUE_DEPTH_MAX + 1];
        nest[0] = mproc_mv_str("deep");
        for (int i = 1; i <= MPROC_VALUE_DEPTH_MAX; i++)
            nest[i] = mproc_mv_array(&nest[i - 1], 1);
        check_echo(c, nest[MPROC_VALUE_DEPTH_MAX - 1]); /* the request's tuple is one level more */
        CHECK_RC(ask(c, "echo", nest[MPROC_VALUE_DEPTH_MAX], &got), MPROC_EINVAL);
        CHECK_RC(mproc_conn_send_value(c, mproc_mv_str("bye")), 0);
        CHECK_RC(mproc_conn_recv_value(c, &got, MPROC_NOLIMIT), 0);
        CU_ASSERT(got.type == MPROC_MV_STR && strcmp(got.v.s.ptr, "bye") == 0);
        mproc_mval_clear(&got);
    }
    mproc_conn_free(c);
    CU_ASSERT_EQUAL(py_finish(&p, 60), 0);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *want = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--python") == 0)
            python = argv[++i];
        else if (strcmp(argv[i], "--script") == 0)
            script = argv[++i];
        else if (strcmp(argv[i], "--version") == 0)
            want = argv[++i];
    }
    if (!script || !python || !want) {
        fprintf(stderr, "usage: %s --script value_peer.py --python CMD --version 3.N\n", argv[0]);
        return 2;
    }
    char version[64] = "";
    py_proc p;
    int ok = py_start(&p, python, script, "version", NULL, NULL) == 0;
    ok = ok && py_line(&p, version, sizeof version, 60) == 0;
    ok = ok && py_finish(&p, 60) == 0;
    if (!ok || strcmp(version, want) != 0) {
        printf("FAILED: '%s' is not a working Python %s (it said '%s'): no value interop test ran\n", python, want,
               version);
        return 1;
    }
    signal(SIGPIPE, SIG_DFL);
    static const test_case tests[] = {
        {"Python Client sends objects, mproc listener answers", test_python_client},
        {"mproc client sends values, Python Listener answers", test_python_listener},
        {NULL, NULL},
    };
    char suite[96];
    snprintf(suite, sizeof suite, "value-interop-py%s", version);
    return run_tests(argc, argv, suite, tests);
}
