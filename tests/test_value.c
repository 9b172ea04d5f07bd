/* SPDX-License-Identifier: MIT */
/* test_value.c - values (mproc_mval trees) over connections and queues:
 * both codecs, every type and nesting, the depth limit, pickles that
 * Python wrote (protocols 2 to 5, bytes kept here) and malicious ones,
 * the codec choice of a connection, and round trips through a child over
 * a pipe, a queue and a manager's queue. */
#include "testutil.h"
#include "valuetree.h"

/* ------------------------------------------------------------ helpers */

/* A Python-like repr of v, appended to b. */
static void show(const mproc_mval *v, char *b, size_t cap)
{
    size_t n = strlen(b);
    char *o = b + n;
    size_t left = cap - n;
    switch (v->type) {
    case MPROC_MV_NIL: snprintf(o, left, "None"); return;
    case MPROC_MV_BOOL: snprintf(o, left, v->v.i ? "True" : "False"); return;
    case MPROC_MV_INT: snprintf(o, left, "%lld", (long long)v->v.i); return;
    case MPROC_MV_DOUBLE: snprintf(o, left, "%.17g", v->v.d); return;
    case MPROC_MV_STR: snprintf(o, left, "'%.*s'", (int)v->v.s.len, v->v.s.ptr); return;
    case MPROC_MV_BYTES: snprintf(o, left, "b'%.*s'", (int)v->v.s.len, v->v.s.ptr); return;
    case MPROC_MV_ARRAY:
    case MPROC_MV_TUPLE:
    case MPROC_MV_MAP: {
        int map = v->type == MPROC_MV_MAP;
        snprintf(o, left, "%s", v->type == MPROC_MV_ARRAY ? "[" : map ? "{" : "(");
        size_t count = map ? 2 * v->v.a.n : v->v.a.n;
        for (size_t i = 0; i < count; i++) {
            show(&v->v.a.items[i], b, cap);
            if (i + 1 < count || (v->type == MPROC_MV_TUPLE && count == 1))
                strncat(b, map && i % 2 == 0 ? ": " : ", ", cap - strlen(b) - 1);
        }
        if (v->type == MPROC_MV_TUPLE && count == 1)
            b[strlen(b) - 1] = '\0'; /* "(1,)" */
        strncat(b, v->type == MPROC_MV_ARRAY ? "]" : map ? "}" : ")", cap - strlen(b) - 1);
        return;
    }
    default: snprintf(o, left, "?"); return;
    }
}

static const char *repr(const mproc_mval *v)
{
    static char b[4096];
    b[0] = '\0';
    show(v, b, sizeof b);
    return b;
}

static size_t unhex(const char *h, unsigned char *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned x;
        sscanf(h, "%2x", &x);
        out[n++] = (unsigned char)x;
    }
    return n;
}

/* Decodes hex bytes with codec: the error, and the repr in *text. */
static int decode_hex(const char *hex, int codec, char *text, size_t cap)
{
    static unsigned char buf[4096];
    size_t n = unhex(hex, buf);
    mproc_mval v;
    int rc = mproc_value_decode(buf, n, codec, &v);
    if (text) {
        snprintf(text, cap, "%s", rc == 0 ? repr(&v) : "");
    }
    mproc_mval_clear(&v);
    return rc;
}

/* The tree of valuetree.h, and its repr. */
static mproc_mval every_type(void) { return vt_every_type(INT64_MAX, INT64_MIN); }
static const char every_repr[] =
    "{'n': None, 't': True, 'f': False, 'max': 9223372036854775807, 'neg': -70000, "
    "'d': -1.5000000000000001e+300, 'h\xc3\xa9': b'xyz', 7: [[-5, '', []], (1, 'two'), (None,), (), {}, "
    "0.25, b'', -9223372036854775808], (1, 'two'): 300, 2: 65536, b'': -1}";

/* [[[ ... 0 ... ]]], depth containers deep, in nest[]. */
static mproc_mval nest[64];
static mproc_mval nested(int depth)
{
    nest[0] = mproc_mv_int(0);
    for (int i = 1; i <= depth; i++)
        nest[i] = mproc_mv_array(&nest[i - 1], 1);
    return nest[depth];
}

/* ------------------------------------------------------------ codecs */

static void test_round_trip_codecs(void)
{
    char want[4096];
    mproc_mval t = every_type();
    snprintf(want, sizeof want, "%s", repr(&t));
    /* the repr of a bytes value stops at its NUL: compare the codecs' results with it */
    for (int codec = MPROC_CODEC_MSGPACK; codec <= MPROC_CODEC_PICKLE; codec++) {
        void *buf;
        size_t len;
        CHECK_RC(mproc_value_encode(t, codec, &buf, &len), 0);
        mproc_mval back;
        CHECK_RC(mproc_value_decode(buf, len, MPROC_CODEC_AUTO, &back), 0);
        CU_ASSERT_STRING_EQUAL(repr(&back), want);
        CU_ASSERT_STRING_EQUAL(repr(&back), every_repr);
        /* the bytes with a NUL in them came back whole */
        CU_ASSERT_EQUAL(back.v.a.items[15].v.a.items[6].v.s.len, 2);
        CU_ASSERT(memcmp(back.v.a.items[15].v.a.items[6].v.s.ptr, "\0b", 2) == 0);
        CU_ASSERT_EQUAL(back.v.a.items[15].v.a.items[6].v.s.ptr[2], '\0');
        mproc_mval_clear(&back);
        CU_ASSERT_EQUAL(back.type, MPROC_MV_NIL);
        mproc_free(buf);
    }
    /* scalars alone, and the forced codec refusing the other one's bytes */
    void *buf;
    size_t len;
    CHECK_RC(mproc_value_encode(mproc_mv_map(NULL, 0), MPROC_CODEC_MSGPACK, &buf, &len), 0);
    CU_ASSERT_EQUAL(len, 1); /* 0x80: an empty map, not a pickle */
    mproc_mval v;
    CHECK_RC(mproc_value_decode(buf, len, MPROC_CODEC_AUTO, &v), 0);
    CU_ASSERT_EQUAL(v.type, MPROC_MV_MAP);
    mproc_mval_clear(&v);
    CHECK_RC(mproc_value_decode(buf, len, MPROC_CODEC_PICKLE, &v), MPROC_EINVAL);
    mproc_free(buf);
    CHECK_RC(mproc_value_encode(mproc_mv_str("x"), MPROC_CODEC_PICKLE, &buf, &len), 0);
    CHECK_RC(mproc_value_decode(buf, len, MPROC_CODEC_MSGPACK, &v), MPROC_EINVAL);
    mproc_free(buf);
}

static void test_bad_values(void)
{
    void *buf;
    size_t len;
    mproc_mval v;
    for (int codec = MPROC_CODEC_MSGPACK; codec <= MPROC_CODEC_PICKLE; codec++) {
        /* MPROC_VALUE_DEPTH_MAX containers deep: fine; one more: refused */
        CHECK_RC(mproc_value_encode(nested(MPROC_VALUE_DEPTH_MAX), codec, &buf, &len), 0);
        CHECK_RC(mproc_value_decode(buf, len, MPROC_CODEC_AUTO, &v), 0);
        mproc_mval_clear(&v);
        mproc_free(buf);
        CHECK_RC(mproc_value_encode(nested(MPROC_VALUE_DEPTH_MAX + 1), codec, &buf, &len), MPROC_EINVAL);
        CU_ASSERT_PTR_NULL(buf);
        /* a list in a key (Python could not hash it); a proxy; NULL string */
        mproc_mval kv[2] = {mproc_mv_array(NULL, 0), mproc_mv_int(1)};
        CHECK_RC(mproc_value_encode(mproc_mv_map(kv, 1), codec, &buf, &len), MPROC_EINVAL);
        mproc_mval tk[1] = {mproc_mv_map(NULL, 0)};
        kv[0] = mproc_mv_tuple(tk, 1);
        CHECK_RC(mproc_value_encode(mproc_mv_map(kv, 1), codec, &buf, &len), MPROC_EINVAL);
        CHECK_RC(mproc_value_encode(mproc_mv_list((mproc_mlist *)kv), codec, &buf, &len), MPROC_EINVAL);
        /* a tuple key that holds itself: refused, not followed forever */
        mproc_mval selfish[1];
        selfish[0] = mproc_mv_tuple(selfish, 1);
        kv[0] = selfish[0];
        CHECK_RC(mproc_value_encode(mproc_mv_map(kv, 1), codec, &buf, &len), MPROC_EINVAL);
        CHECK_RC(mproc_value_encode(selfish[0], codec, &buf, &len), MPROC_EINVAL);
        CHECK_RC(mproc_value_encode(mproc_mv_str(NULL), codec, &buf, &len), MPROC_EINVAL);
        CHECK_RC(mproc_value_encode(mproc_mv_array(NULL, 3), codec, &buf, &len), MPROC_EINVAL);
        CHECK_RC(mproc_value_decode("", 0, codec, &v), MPROC_EINVAL);
    }
    CHECK_RC(mproc_value_encode(mproc_mv_nil(), 7, &buf, &len), MPROC_EINVAL);
    CHECK_RC(mproc_value_encode(mproc_mv_nil(), MPROC_CODEC_AUTO, &buf, &len), MPROC_EINVAL);
    CHECK_RC(mproc_value_encode(mproc_mv_nil(), MPROC_CODEC_PICKLE, NULL, &len), MPROC_EINVAL);
    CHECK_RC(mproc_value_decode("\xc0", 1, MPROC_CODEC_MSGPACK, NULL), MPROC_EINVAL);
    /* pickle wants UTF-8 (Python decodes it so); msgpack carries the bytes */
    CHECK_RC(mproc_value_encode(mproc_mv_str("\xff"), MPROC_CODEC_PICKLE, &buf, &len), MPROC_EINVAL);
    CHECK_RC(mproc_value_encode(mproc_mv_str("\xed\xa0\x80"), MPROC_CODEC_PICKLE, &buf, &len), 0); /* a lone surrogate */
    mproc_free(buf);
    /* msgpack: too deep (33 arrays), trailing bytes, unknown ext, a map
     * declaring more pairs than bytes, a uint64 beyond int64 */
    char text[64];
    char deep[2 * 34 + 3] = "";
    for (int i = 0; i <= MPROC_VALUE_DEPTH_MAX; i++)
        strcat(deep, "91");
    strcat(deep, "c0");
    CHECK_RC(decode_hex(deep, MPROC_CODEC_MSGPACK, text, sizeof text), MPROC_EINVAL);
    CHECK_RC(decode_hex(deep + 2, MPROC_CODEC_MSGPACK, text, sizeof text), 0);
    CHECK_RC(decode_hex("c0c0", MPROC_CODEC_MSGPACK, text, sizeof text), MPROC_EINVAL);
    CHECK_RC(decode_hex("d40501", MPROC_CODEC_MSGPACK, text, sizeof text), MPROC_EINVAL);
    CHECK_RC(decode_hex("d40101", MPROC_CODEC_MSGPACK, text, sizeof text), MPROC_EINVAL); /* tuple ext, not an array */
    CHECK_RC(decode_hex("c70301920102", MPROC_CODEC_MSGPACK, text, sizeof text), 0);
    CU_ASSERT_STRING_EQUAL(text, "(1, 2)");
    CHECK_RC(decode_hex("dfffffffff", MPROC_CODEC_MSGPACK, text, sizeof text), MPROC_EINVAL);
    CHECK_RC(decode_hex("cfffffffffffffffff", MPROC_CODEC_MSGPACK, text, sizeof text), MPROC_EINVAL);
}

/* What Python 3.11's pickle.dumps wrote (see each comment). */
static void test_python_pickles(void)
{
    static const struct {
        const char *hex, *want;
    } cases[] = {
        /* protocols 2 and 3: {'a': [1, -2, (3.5, None, True, False)], 'big': -2**63,
         * 'max': 2**63-1, 'u': 'héllo', 't': (), 't4': (1, 2, 3, 4)} */
        {"80027d71002858010000006171015d7102284b014afeffffff2847400c0000000000004e888974710365580300000062696771048a"
         "08000000000000008058030000006d617871058a08ffffffffffffff7f5801000000757106580600000068c3a96c6c6f71075801"
         "00000074710829580200000074347109284b014b024b034b0474710a752e",
         "{'a': [1, -2, (3.5, None, True, False)], 'big': -9223372036854775808, 'max': 9223372036854775807, "
         "'u': 'h\xc3\xa9llo', 't': (), 't4': (1, 2, 3, 4)}"},
        {"80037d71002858010000006171015d7102284b014afeffffff2847400c0000000000004e888974710365580300000062696771048a"
         "08000000000000008058030000006d617871058a08ffffffffffffff7f5801000000757106580600000068c3a96c6c6f71075801"
         "00000074710829580200000074347109284b014b024b034b0474710a752e",
         "{'a': [1, -2, (3.5, None, True, False)], 'big': -9223372036854775808, 'max': 9223372036854775807, "
         "'u': 'h\xc3\xa9llo', 't': (), 't4': (1, 2, 3, 4)}"},
        /* protocol 4: the same with 'b': b'xy', 's': {7} (a set comes as a list) */
        {"80049578000000000000007d94288c0161945d94284b014afeffffff2847400c0000000000004e88897494658c01629443027879948c"
         "03626967948a0800000000000000808c036d6178948a08ffffffffffffff7f8c0173948f94284b07908c0175948c0668c3a96c6c6f"
         "948c017494298c02743494284b014b024b034b047494752e",
         "{'a': [1, -2, (3.5, None, True, False)], 'b': b'xy', 'big': -9223372036854775808, "
         "'max': 9223372036854775807, 's': [7], 'u': 'h\xc3\xa9llo', 't': (), 't4': (1, 2, 3, 4)}"},
        /* protocol 5: and 'ba': bytearray(b'q') */
        {"80059588000000000000007d94288c0161945d94284b014afeffffff2847400c0000000000004e88897494658c01629443027879948c"
         "03626967948a0800000000000000808c036d6178948a08ffffffffffffff7f8c0173948f94284b07908c0175948c0668c3a96c6c6f"
         "948c0262619496010000000000000071948c017494298c02743494284b014b024b034b047494752e",
         "{'a': [1, -2, (3.5, None, True, False)], 'b': b'xy', 'big': -9223372036854775808, "
         "'max': 9223372036854775807, 's': [7], 'u': 'h\xc3\xa9llo', 'ba': b'q', 't': (), 't4': (1, 2, 3, 4)}"},
        /* a = [1]; [a, a], protocol 4: a shared list comes twice */
        {"8004950c000000000000005d94285d944b01616801652e", "[[1], [1]]"},
        /* frozenset({1}), protocol 4 */
        {"8004950600000000000000284b0191942e", "[1]"},
        /* protocol 0's INT and True */
        {"8002284930310a49310a49" "2d31320a6c2e", "[True, 1, -12]"},
    };
    char text[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = decode_hex(cases[i].hex, MPROC_CODEC_PICKLE, text, sizeof text);
        if (!cases[i].want)
            continue;
        CHECK_RC(rc, 0);
        if (strcmp(text, cases[i].want) != 0)
            fprintf(stderr, "\n  case %zu: %s\n", i, text);
        CU_ASSERT_STRING_EQUAL(text, cases[i].want);
    }
    CHECK_RC(decode_hex("80045d945d944b01618594680152" "2e", MPROC_CODEC_PICKLE, text, sizeof text), MPROC_EINVAL);
    /* shared: [[1], [1]] built with BINGET */
    CHECK_RC(decode_hex("80045d94285d944b0161946801652e", MPROC_CODEC_PICKLE, text, sizeof text), 0);
    CU_ASSERT_STRING_EQUAL(text, "[[1], [1]]");
}

static void test_malicious_pickles(void)
{
    char text[256];
    /* every opcode that would import, call or reach outside: refused */
    static const char *forbidden[] = {
        "8004" "63" "6f730a73797374656d0a" "2e",           /* GLOBAL os system */
        "8004" "8c026f73" "8c0673797374656d" "93" "2e",    /* STACK_GLOBAL */
        "8004" "4e" "29" "52" "2e",                         /* REDUCE */
        "8004" "7d" "7d" "62" "2e",                         /* BUILD */
        "8004" "28" "69" "6f730a73797374656d0a" "2e",       /* INST */
        "8004" "28" "4e" "6f" "2e",                         /* OBJ */
        "8004" "4e" "29" "81" "2e",                         /* NEWOBJ */
        "8004" "4e" "29" "7d" "92" "2e",                    /* NEWOBJ_EX */
        "8004" "8201" "2e", "8004" "830100" "2e", "8004" "8401000000" "2e", /* EXT1/2/4 */
        "8004" "50" "310a" "2e",                            /* PERSID */
        "8004" "4e" "51" "2e",                              /* BINPERSID */
        "8005" "97" "2e", "8005" "4e" "98" "2e",            /* NEXT_BUFFER, READONLY_BUFFER */
        "8004" "53" "2778270a" "2e",                        /* STRING (protocol 0) */
        "8004" "ff" "2e",                                   /* unknown */
        "8006" "4e2e", "8001" "4e2e",                       /* protocols 6 and 1 */
    };
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
        CHECK_RC(decode_hex(forbidden[i], MPROC_CODEC_PICKLE, text, sizeof text), MPROC_EINVAL);
    /* huge declared lengths: refused before anything is allocated */
    static const char *huge[] = {
        "8004" "8e" "ffffffffffffff0f" "2e",     /* BINBYTES8 2^60 */
        "8004" "8d" "ffffffffffffffff" "2e",     /* BINUNICODE8 2^64-1 */
        "8004" "96" "0000000001000000" "2e",     /* BYTEARRAY8 */
        "8004" "42" "ffffff7f" "2e",             /* BINBYTES */
        "8004" "58" "05000000" "616263" "2e",    /* BINUNICODE, 2 bytes short */
        "8004" "8b" "ffffff7f" "2e",             /* LONG4 */
        "8004" "95" "ffffffffffffff7f" "4e2e",   /* FRAME */
    };
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++)
        CHECK_RC(decode_hex(huge[i], MPROC_CODEC_PICKLE, text, sizeof text), MPROC_EINVAL);
    /* ints: 2**63 (LONG1 of 9 bytes) refused; -2**63 - 1 too; 9 bytes that fit, fine */
    CHECK_RC(decode_hex("8004" "8a09" "000000000000008000" "2e", MPROC_CODEC_PICKLE, text, sizeof text), MPROC_EINVAL);
    CHECK_RC(decode_hex("8004" "8a09" "ffffffffffffff7fff" "2e", MPROC_CODEC_PICKLE, text, sizeof text), MPROC_EINVAL);
    CHECK_RC(decode_hex("8004" "8a09" "feffffffffffffffff" "2e", MPROC_CODEC_PICKLE, text, sizeof text), 0);
    CU_ASSERT_STRING_EQUAL(text, "-2");
    CHECK_RC(decode_hex("8004" "49" "39323233333732303336383534373735383038" "0a2e", MPROC_CODEC_PICKLE, text,
                        sizeof text), MPROC_EINVAL); /* INT 9223372036854775808 */
    /* nesting: 32 lists fine, 33 refused */
    char deep[512] = "8004";
    for (int i = 0; i < MPROC_VALUE_DEPTH_MAX; i++)
        strcat(deep, "5d");
    for (int i = 0; i < MPROC_VALUE_DEPTH_MAX - 1; i++)
        strcat(deep, "61");
    strcat(deep, "2e");
    CHECK_RC(decode_hex(deep, MPROC_CODEC_PICKLE, text, sizeof text), 0);
    char deeper[512] = "8004";
    for (int i = 0; i <= MPROC_VALUE_DEPTH_MAX; i++)
        strcat(deeper, "5d");
    for (int i = 0; i < MPROC_VALUE_DEPTH_MAX; i++)
        strcat(deeper, "61");
    strcat(deeper, "2e");
    CHECK_RC(decode_hex(deeper, MPROC_CODEC_PICKLE, text, sizeof text), MPROC_EINVAL);
    /* a list that contains itself: l = []; l.append(l) */
    CHECK_RC(decode_hex("80045d94680061" "2e", MPROC_CODEC_PICKLE, text, sizeof text), MPROC_EINVAL);
    /* structure: no STOP, bytes after it, two values, a bare APPEND, a
     * mark left open, a memo index out of order, BINGET of nothing */
    static const char *bad[] = {"80044e", "80044e2e00", "80044e4e2e", "80044e612e", "8004284e2e", "80044e7105" "2e",
                                "8004680" "0" "2e", "80042e", "8004" "5d" "4e" "73" "2e", "8004" "28" "4b01" "64" "2e"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_RC(decode_hex(bad[i], MPROC_CODEC_PICKLE, text, sizeof text), MPROC_EINVAL);
    /* exponential sharing (a "billion laughs"): each level twice the last */
    static unsigned char laughs[1024];
    size_t n = 0;
    laughs[n++] = 0x80;
    laughs[n++] = 4;
    laughs[n++] = 0x8c; /* a 200-byte string */
    laughs[n++] = 200;
    memset(laughs + n, 'x', 200);
    n += 200;
    laughs[n++] = 0x94; /* MEMOIZE 0 */
    for (int i = 0; i < 25; i++) { /* 25 deep: within the depth limit */
        laughs[n++] = 'h'; laughs[n++] = (unsigned char)i; /* BINGET i */
        laughs[n++] = '2';                                  /* DUP */
        laughs[n++] = 0x86;                                 /* TUPLE2 */
        laughs[n++] = 0x94;                                 /* MEMOIZE i + 1 */
        laughs[n++] = '0';                                  /* POP */
    }
    laughs[n++] = '0'; /* POP the string; the value is the last pair */
    laughs[n++] = 'h';
    laughs[n++] = 25;
    laughs[n++] = '.';
    mproc_mval v;
    CHECK_RC(mproc_value_decode(laughs, n, MPROC_CODEC_PICKLE, &v), MPROC_EMSGSIZE);
    mproc_mval_clear(&v);
}

/* ------------------------------------------------------------ transport */

/* The child: echoes values from its pipe end until None. */
static int t_echo(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    for (;;) {
        mproc_mval v;
        int rc = mproc_conn_recv_value(c, &v, MPROC_NOLIMIT);
        if (rc == MPROC_EINVAL) { /* a message that is no value: say so, go on */
            rc = mproc_conn_send_value(c, mproc_mv_str("not a value"));
            if (rc)
                return 2;
            continue;
        }
        if (rc)
            return 1;
        int stop = v.type == MPROC_MV_NIL;
        rc = mproc_conn_send_value(c, v);
        mproc_mval_clear(&v);
        if (rc)
            return 3;
        if (stop)
            return 0;
    }
}

static void test_pipe_round_trip(void)
{
    mproc_conn *a, *b;
    CHECK_RC(mproc_pipe(1, &a, &b), 0);
    mproc_args *args = mproc_args_new();
    mproc_args_add_obj(args, b);
    /* the codec belongs to the handle: the child's starts with AUTO and
     * answers a msgpack value in msgpack */
    CHECK_RC(mproc_conn_set_value_codec(b, MPROC_CODEC_PICKLE), 0);
    mproc_process *p = test_start(t_echo, args, NULL);
    mproc_conn_free(b);
    mproc_mval v;
    CU_ASSERT_EQUAL(mproc_conn_value_codec(a), MPROC_CODEC_MSGPACK);
    for (int codec = MPROC_CODEC_MSGPACK; codec <= MPROC_CODEC_PICKLE; codec++) {
        CHECK_RC(mproc_conn_set_value_codec(a, codec), 0);
        CU_ASSERT_EQUAL(mproc_conn_value_codec(a), codec);
        CHECK_RC(mproc_conn_send_value(a, every_type()), 0);
        CHECK_RC(mproc_conn_recv_value(a, &v, MPROC_NOLIMIT), 0);
        CU_ASSERT_STRING_EQUAL(repr(&v), every_repr);
        mproc_mval_clear(&v);
        for (int d = 0; d <= MPROC_VALUE_DEPTH_MAX; d += 8) {
            char want[256];
            snprintf(want, sizeof want, "%s", repr(&nest[0]));
            CHECK_RC(mproc_conn_send_value(a, nested(d)), 0);
            snprintf(want, sizeof want, "%s", repr(&nest[d]));
            CHECK_RC(mproc_conn_recv_value(a, &v, MPROC_NOLIMIT), 0);
            CU_ASSERT_STRING_EQUAL(repr(&v), want);
            mproc_mval_clear(&v);
        }
    }
    /* the child (AUTO) answered the pickles with pickles */
    CHECK_RC(mproc_conn_set_value_codec(a, MPROC_CODEC_AUTO), 0);
    CU_ASSERT_EQUAL(mproc_conn_value_codec(a), MPROC_CODEC_MSGPACK);
    CHECK_RC(mproc_conn_send_value(a, mproc_mv_int(5)), 0);
    CHECK_RC(mproc_conn_recv_value(a, &v, MPROC_NOLIMIT), 0);
    CU_ASSERT_EQUAL(v.v.i, 5);
    /* bytes that are not a value: the child says so and goes on; a message
     * over maxlength is refused as by recv_bytes */
    static const char global[] = "\x80\x04" "cos\nsystem\n.";
    CHECK_RC(mproc_conn_send_bytes(a, global, sizeof global - 1), 0);
    CHECK_RC(mproc_conn_recv_value(a, &v, MPROC_NOLIMIT), 0);
    CU_ASSERT_STRING_EQUAL(repr(&v), "'not a value'");
    mproc_mval_clear(&v);
    CHECK_RC(mproc_conn_send_bytes(a, "\xc1", 1), 0);
    CHECK_RC(mproc_conn_recv_value(a, &v, 5), MPROC_EMSGSIZE);
    CHECK_RC(mproc_conn_recv_value(a, &v, MPROC_NOLIMIT), MPROC_ECLOSED); /* that end stopped reading */
    CHECK_RC(mproc_conn_send_value(a, mproc_mv_nil()), 0);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CHECK_RC(mproc_conn_send_value(NULL, mproc_mv_nil()), MPROC_EINVAL);
    CHECK_RC(mproc_conn_recv_value(a, NULL, 1), MPROC_EINVAL);
    CHECK_RC(mproc_conn_set_value_codec(a, 9), MPROC_EINVAL);
    CHECK_RC(mproc_conn_value_codec((mproc_conn *)args), MPROC_EINVAL);
    mproc_conn_free(a);
    mproc_args_free(args);
}

/* AUTO follows the peer's last value; a forced codec refuses the other. */
static void test_codec_choice(void)
{
    mproc_conn *a, *b;
    CHECK_RC(mproc_pipe(1, &a, &b), 0);
    mproc_mval v;
    CHECK_RC(mproc_conn_set_value_codec(a, MPROC_CODEC_PICKLE), 0);
    CHECK_RC(mproc_conn_send_value(a, mproc_mv_int(1)), 0);
    CU_ASSERT_EQUAL(mproc_conn_value_codec(b), MPROC_CODEC_MSGPACK);
    CHECK_RC(mproc_conn_recv_value(b, &v, MPROC_NOLIMIT), 0);
    CU_ASSERT_EQUAL(mproc_conn_value_codec(b), MPROC_CODEC_PICKLE); /* the peer is Python */
    CHECK_RC(mproc_conn_set_value_codec(a, MPROC_CODEC_MSGPACK), 0);
    CHECK_RC(mproc_conn_send_value(a, mproc_mv_int(2)), 0);
    CHECK_RC(mproc_conn_recv_value(b, &v, MPROC_NOLIMIT), 0);
    CU_ASSERT_EQUAL(v.v.i, 2);
    CU_ASSERT_EQUAL(mproc_conn_value_codec(b), MPROC_CODEC_MSGPACK); /* and back */
    /* forced: the other encoding is refused, the connection goes on */
    CHECK_RC(mproc_conn_set_value_codec(b, MPROC_CODEC_MSGPACK), 0);
    CHECK_RC(mproc_conn_set_value_codec(a, MPROC_CODEC_PICKLE), 0);
    CHECK_RC(mproc_conn_send_value(a, mproc_mv_int(3)), 0);
    CHECK_RC(mproc_conn_recv_value(b, &v, MPROC_NOLIMIT), MPROC_EINVAL);
    CU_ASSERT_EQUAL(mproc_conn_value_codec(b), MPROC_CODEC_MSGPACK);
    CHECK_RC(mproc_conn_send_value(b, mproc_mv_int(4)), 0);
    CHECK_RC(mproc_conn_recv_value(a, &v, MPROC_NOLIMIT), MPROC_EINVAL);
    CHECK_RC(mproc_conn_set_value_codec(a, MPROC_CODEC_AUTO), 0);
    CHECK_RC(mproc_conn_send_value(b, mproc_mv_int(5)), 0);
    CHECK_RC(mproc_conn_recv_value(a, &v, MPROC_NOLIMIT), 0);
    CU_ASSERT_EQUAL(v.v.i, 5);
    /* closed */
    mproc_conn_close(b);
    CHECK_RC(mproc_conn_send_value(b, mproc_mv_int(6)), MPROC_ECLOSED);
    CHECK_RC(mproc_conn_recv_value(b, &v, MPROC_NOLIMIT), MPROC_ECLOSED);
    CHECK_RC(mproc_conn_recv_value(a, &v, MPROC_NOLIMIT), MPROC_EOS);
    mproc_conn_free(a);
    mproc_conn_free(b);
}

/* The child: takes values from queue 0 and puts them on queue 1 until None. */
static int t_queue_echo(const mproc_args *a)
{
    mproc_queue *in = mproc_args_obj(a, 0), *out = mproc_args_obj(a, 1);
    for (;;) {
        mproc_mval v;
        int rc = mproc_queue_get_value(in, &v, 60);
        if (rc)
            return rc == MPROC_EINVAL ? 4 : 1;
        int stop = v.type == MPROC_MV_NIL;
        rc = mproc_queue_put_value(out, v, 60);
        mproc_mval_clear(&v);
        if (rc)
            return 2;
        if (stop)
            return 0;
    }
}

static void queue_round_trip(mproc_queue *in, mproc_queue *out)
{
    mproc_args *args = mproc_args_new();
    mproc_args_add_obj(args, in);
    mproc_args_add_obj(args, out);
    mproc_process *p = test_start(t_queue_echo, args, NULL);
    mproc_mval v;
    CHECK_RC(mproc_queue_put_value(in, every_type(), 10), 0);
    CHECK_RC(mproc_queue_get_value(out, &v, 30), 0);
    CU_ASSERT_STRING_EQUAL(repr(&v), every_repr);
    mproc_mval_clear(&v);
    CHECK_RC(mproc_queue_put_value(in, nested(MPROC_VALUE_DEPTH_MAX), 10), 0);
    CHECK_RC(mproc_queue_get_value(out, &v, 30), 0);
    CU_ASSERT_EQUAL(v.type, MPROC_MV_ARRAY);
    mproc_mval_clear(&v);
    CHECK_RC(mproc_queue_put_value(in, nested(MPROC_VALUE_DEPTH_MAX + 1), 10), MPROC_EINVAL);
    CHECK_RC(mproc_queue_put_value(in, mproc_mv_nil(), 10), 0);
    CHECK_RC(mproc_queue_get_value(out, &v, 30), 0);
    CU_ASSERT_EQUAL(v.type, MPROC_MV_NIL);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    /* bytes that are not a value: consumed, refused */
    CHECK_RC(mproc_queue_put(in, "\xc1", 1, 10), 0);
    CHECK_RC(mproc_queue_get_value(in, &v, 10), MPROC_EINVAL);
    CHECK_RC(mproc_queue_get_value(in, &v, 0), MPROC_EEMPTY);
    CHECK_RC(mproc_queue_get_value(in, NULL, 0), MPROC_EINVAL);
    mproc_args_free(args);
}

static void test_queue_round_trip(void)
{
    mproc_queue *in = mproc_queue_new(0, NULL), *out = mproc_simplequeue_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    queue_round_trip(in, out);
    mproc_queue_free(in);
    mproc_queue_free(out);
}

static void test_manager_queue_round_trip(void)
{
    int err = -1;
    mproc_manager *m = mproc_manager_start(NULL, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    mproc_queue *in = mproc_manager_queue(m, MPROC_QUEUE_PLAIN, 0, &err);
    mproc_queue *out = mproc_manager_queue(m, MPROC_QUEUE_PLAIN, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    queue_round_trip(in, out);
    mproc_queue_free(in);
    mproc_queue_free(out);
    CHECK_RC(mproc_manager_shutdown(m), 0);
    mproc_manager_free(m);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"codecs: every type, round trip", test_round_trip_codecs},
        {"codecs: bad values and depth", test_bad_values},
        {"pickle: what Python wrote, protocols 2-5", test_python_pickles},
        {"pickle: malicious input refused", test_malicious_pickles},
        {"pipe: round trip through a child", test_pipe_round_trip},
        {"connection: the codec choice", test_codec_choice},
        {"queue: round trip through a child", test_queue_round_trip},
        {"manager queue: round trip through a child", test_manager_queue_round_trip},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "value", tests);
}
