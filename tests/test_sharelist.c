/* SPDX-License-Identifier: MIT */
/* test_sharelist.c - ShareableList (mproc_sharelist) and the manager's
 * SharedMemoryManager role (mproc_manager_shm, mproc_manager_sharelist).
 *
 *   test_sharelist [--method M]
 *       every item type, slot capacities and boundaries, count/index,
 *       bad input and segments that are not lists, Python 3.8's layout,
 *       children, several processes writing different items at once,
 *       leaks (a creator that exits or is killed), and the manager's
 *       segments: made, listed, released, gone at shutdown, when the
 *       owner is killed, when the server is killed (POSIX);
 *   test_sharelist --python CMD [--pyenv VERSION] --expect X.Y [--optional]
 *       a real Python's ShareableList (tests/interop/sharelist_peer.py)
 *       against mproc's, both ways, and writing beside mproc's processes
 *       (POSIX). A Python that cannot be run, or is not X.Y, is a
 *       failure; with --optional (Python 3.8) it is a skip (exit 77).
 *
 * The tables ITEMS / WRITES / TOO_LONG are those of sharelist_peer.py. */
#include <math.h>
#include <stdint.h>

#include "testutil.h"

#ifndef _WIN32
#include <fcntl.h>
#include <sys/stat.h>

#include "interop/pyproc.h"
#endif

/* ------------------------------------------------------------ tables */

#define N_ITEMS 20
#define SIZE_ITEMS 572 /* struct.calcsize of the whole layout, as Python computes it */
#define FORMAT_ITEMS "qqqddxxxxxxx?xxxxxxx?xxxxxx?x8s8s16s16s8s8s16s16s8s8s16s24s"
#define FORMAT_AFTER "8s8sdxxxxxx?xqxxxxxxx?xxxxxxx?q8s8s16sq8sxxxxxx?x16s16s8s8s16sxxxxxxx?"

static mproc_mval str_n(const char *s, size_t n)
{
    mproc_mval v = mproc_mv_str(s);
    v.v.s.len = n;
    return v;
}

/* sharelist_peer.py's ITEMS; stored: as made. read: as read back (the
 * trailing NULs of item 17 are lost). */
static void items(mproc_mval *v, int read)
{
    v[0] = mproc_mv_int(-1);
    v[1] = mproc_mv_int(INT64_MAX);
    v[2] = mproc_mv_int(INT64_MIN);
    v[3] = mproc_mv_double(1.5);
    v[4] = mproc_mv_double(-0.0);
    v[5] = mproc_mv_bool(1);
    v[6] = mproc_mv_bool(0);
    v[7] = mproc_mv_nil();
    v[8] = mproc_mv_str("");
    v[9] = mproc_mv_str("1234567");
    v[10] = mproc_mv_str("12345678");
    v[11] = mproc_mv_str("123456789");
    v[12] = mproc_mv_bytes("", 0);
    v[13] = mproc_mv_bytes("\0\1\xff", 3);
    v[14] = mproc_mv_bytes("abcdefgh", 8);
    v[15] = mproc_mv_str("h\xc3\xa9llo w\xc3\xb6rld");
    v[16] = str_n("a\0b", 3);
    v[17] = mproc_mv_bytes("ab\0\0", read ? 2 : 4);
    v[18] = mproc_mv_str("xxxxxxxxxxxxxxx");
    v[19] = mproc_mv_str("yyyyyyyyyyyyyyyy");
}

typedef struct write_op {
    int64_t i;
    mproc_mval v;
} write_op;

/* sharelist_peer.py's WRITES (n of them), and the items after them. */
static size_t writes(write_op *w)
{
    size_t n = 0;
    w[n++] = (write_op){0, mproc_mv_str("py")};
    w[n++] = (write_op){1, mproc_mv_bytes("12345678", 8)};
    w[n++] = (write_op){2, mproc_mv_double(3.25)};
    w[n++] = (write_op){3, mproc_mv_nil()};
    w[n++] = (write_op){4, mproc_mv_int(7)};
    w[n++] = (write_op){5, mproc_mv_bool(0)};
    w[n++] = (write_op){6, mproc_mv_bool(1)};
    w[n++] = (write_op){-13, mproc_mv_int(-42)};
    w[n++] = (write_op){8, mproc_mv_str("abcdefgh")};
    w[n++] = (write_op){9, mproc_mv_bytes("", 0)};
    w[n++] = (write_op){10, mproc_mv_str("0123456789abcdef")};
    w[n++] = (write_op){11, mproc_mv_int(-3)};
    w[n++] = (write_op){12, mproc_mv_str("\xc3\xa9")};
    w[n++] = (write_op){13, mproc_mv_nil()};
    w[n++] = (write_op){15, mproc_mv_bytes("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16)};
    w[n++] = (write_op){16, str_n("\0lead", 5)};
    w[n++] = (write_op){17, mproc_mv_bytes("z\0\0\0\0\0\0\0", 8)};
    w[n++] = (write_op){-1, mproc_mv_bool(1)};
    return n;
}

static void after(mproc_mval *v)
{
    write_op w[32];
    size_t n = writes(w);
    items(v, 1);
    for (size_t k = 0; k < n; k++)
        v[w[k].i < 0 ? w[k].i + N_ITEMS : w[k].i] = w[k].v;
    v[17] = mproc_mv_bytes("z", 1);
}

/* Values too long for their items' slots (Python: ValueError). */
static size_t too_long(write_op *w)
{
    size_t n = 0;
    w[n++] = (write_op){9, mproc_mv_str("123456789")};
    w[n++] = (write_op){0, mproc_mv_bytes("123456789", 9)};
    w[n++] = (write_op){19, mproc_mv_str("yyyyyyyyyyyyyyyyyyyyyyyyy")};
    w[n++] = (write_op){12, mproc_mv_str("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9")};
    return n;
}

static int same_val(const mproc_mval *a, const mproc_mval *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case MPROC_MV_NIL:
        return 1;
    case MPROC_MV_DOUBLE:
        return memcmp(&a->v.d, &b->v.d, sizeof a->v.d) == 0; /* -0.0 apart from 0.0 */
    case MPROC_MV_STR:
    case MPROC_MV_BYTES:
        return a->v.s.len == b->v.s.len && (a->v.s.len == 0 || memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len) == 0) &&
               (a->type == MPROC_MV_BYTES || a->v.s.ptr[a->v.s.len] == '\0');
    default:
        return a->v.i == b->v.i;
    }
}

/* Every item of l is want[i]; 0 or the first index + 1 that is not. */
static size_t differs(mproc_sharelist *l, const mproc_mval *want, size_t n)
{
    if (mproc_sharelist_len(l) != n)
        return n + 1;
    for (size_t i = 0; i < n; i++) {
        mproc_mval got;
        int rc = mproc_sharelist_get(l, (int64_t)i, &got);
        int ok = rc == 0 && same_val(&got, &want[i]);
        mproc_mval_clear(&got);
        if (!ok) {
            fprintf(stderr, "\n  item %zu differs (get: %s)\n", i, mproc_err_name(rc));
            return i + 1;
        }
    }
    return 0;
}

static int format_is(mproc_sharelist *l, const char *want)
{
    char *f = NULL;
    int ok = mproc_sharelist_format(l, &f) == 0 && strcmp(f, want) == 0;
    if (!ok)
        fprintf(stderr, "\n  format %s, want %s\n", f ? f : "(none)", want);
    mproc_free(f);
    return ok;
}

static mproc_sharelist *make_items(int *err)
{
    mproc_mval v[N_ITEMS];
    items(v, 0);
    return mproc_sharelist_new(NULL, v, N_ITEMS, err);
}

/* Applies WRITES and checks TOO_LONG: 0, or which step failed. */
static int apply_writes(mproc_sharelist *l)
{
    write_op w[32];
    size_t n = writes(w);
    for (size_t k = 0; k < n; k++)
        if (mproc_sharelist_set(l, w[k].i, w[k].v) != 0)
            return (int)k + 1;
    n = too_long(w);
    for (size_t k = 0; k < n; k++)
        if (mproc_sharelist_set(l, w[k].i, w[k].v) != MPROC_EMSGSIZE)
            return 100 + (int)k;
    return 0;
}

/* Is the segment's name in /dev/shm (Linux: where POSIX shm lives)? */
static int in_dev_shm(const char *name)
{
#ifdef __linux__
    char path[300];
    snprintf(path, sizeof path, "/dev/shm/%.256s", name);
    struct stat st;
    return stat(path, &st) == 0;
#else
    int err = 0;
    mproc_shm *s = mproc_shm_open(name, 0, 0, &err);
    if (s)
        mproc_shm_close(s);
    return s != NULL;
#endif
}

/* ------------------------------------------------------------ C alone */

static void test_every_type(void)
{
    int err = -1;
    mproc_sharelist *l = make_items(&err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    mproc_mval want[N_ITEMS];
    items(want, 1);
    CU_ASSERT_EQUAL(differs(l, want, N_ITEMS), 0);
    CU_ASSERT_TRUE(format_is(l, FORMAT_ITEMS));
    CU_ASSERT_EQUAL(mproc_sharelist_len(l), N_ITEMS);
    CU_ASSERT_EQUAL(strncmp(mproc_sharelist_name(l), "psm_", 4), 0);
    CU_ASSERT_STRING_EQUAL(mproc_sharelist_name(l), mproc_shm_name(mproc_sharelist_shm(l)));
    CU_ASSERT_EQUAL(mproc_shm_size(mproc_sharelist_shm(l)), SIZE_ITEMS);
    /* negative indexes, out of range */
    mproc_mval v;
    CHECK_RC(mproc_sharelist_get(l, -1, &v), 0);
    CU_ASSERT_TRUE(same_val(&v, &want[19]));
    mproc_mval_clear(&v);
    CHECK_RC(mproc_sharelist_get(l, -N_ITEMS, &v), 0);
    CU_ASSERT_TRUE(same_val(&v, &want[0]));
    CHECK_RC(mproc_sharelist_get(l, N_ITEMS, &v), MPROC_ENOENT);
    CU_ASSERT_EQUAL(v.type, MPROC_MV_NIL);
    CHECK_RC(mproc_sharelist_get(l, -N_ITEMS - 1, &v), MPROC_ENOENT);
    CHECK_RC(mproc_sharelist_get(l, INT64_MIN, &v), MPROC_ENOENT);
    CHECK_RC(mproc_sharelist_get(l, INT64_MAX, &v), MPROC_ENOENT);
    CHECK_RC(mproc_sharelist_set(l, N_ITEMS, mproc_mv_int(1)), MPROC_ENOENT);
    CHECK_RC(mproc_sharelist_set(l, INT64_MIN, mproc_mv_int(1)), MPROC_ENOENT);

    /* A second handle by name: writes through it are seen through the first. */
    mproc_sharelist *b = mproc_sharelist_attach(mproc_sharelist_name(l), &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(differs(b, want, N_ITEMS), 0);
    CHECK_RC(apply_writes(b), 0);
    mproc_mval now[N_ITEMS];
    after(now);
    CU_ASSERT_EQUAL(differs(l, now, N_ITEMS), 0);
    CU_ASSERT_TRUE(format_is(l, FORMAT_AFTER));
    CHECK_RC(mproc_sharelist_close(b), 0);
    /* the list's own segment handle is not the caller's to close */
    CHECK_RC(mproc_shm_close(mproc_sharelist_shm(l)), MPROC_ESTATE);
    CHECK_RC(mproc_sharelist_unlink(l), 0);
    CU_ASSERT_PTR_NULL(mproc_sharelist_attach(mproc_sharelist_name(l), &err));
    CHECK_RC(err, MPROC_ENOENT);
    CU_ASSERT_EQUAL(differs(l, now, N_ITEMS), 0); /* still mapped */
    CHECK_RC(mproc_sharelist_close(l), 0);
}

/* Slots: 8 * (len / 8 + 1) bytes for str and bytes, kept for good. */
static void test_slots(void)
{
    static const char s[] = "abcdefghijklmnopqrstuvwxyz";
    mproc_mval v[18];
    for (size_t n = 0; n < 18; n++)
        v[n] = n % 2 ? mproc_mv_bytes(s, n) : str_n(s, n);
    int err = -1;
    mproc_sharelist *l = mproc_sharelist_new(NULL, v, 18, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_TRUE(format_is(l, "8s8s8s8s8s8s8s8s16s16s16s16s16s16s16s16s24s24s"));
    CU_ASSERT_EQUAL(differs(l, v, 18), 0);
    for (size_t n = 0; n < 18; n++) {
        size_t slot = 8 * (n / 8 + 1);
        /* the whole slot fits, one more byte does not and changes nothing */
        CHECK_RC(mproc_sharelist_set(l, (int64_t)n, mproc_mv_bytes(s, slot + 1)), MPROC_EMSGSIZE);
        CHECK_RC(mproc_sharelist_set(l, (int64_t)n, str_n(s, slot + 1)), MPROC_EMSGSIZE);
        CU_ASSERT_EQUAL(differs(l, v, 18), 0);
        CHECK_RC(mproc_sharelist_set(l, (int64_t)n, str_n(s, slot)), 0);
        mproc_mval got;
        CHECK_RC(mproc_sharelist_get(l, (int64_t)n, &got), 0);
        CU_ASSERT_TRUE(got.type == MPROC_MV_STR && got.v.s.len == slot && memcmp(got.v.s.ptr, s, slot) == 0);
        mproc_mval_clear(&got);
        /* any type in between, and a str again: the slot is still there */
        CHECK_RC(mproc_sharelist_set(l, (int64_t)n, mproc_mv_double(0.5)), 0);
        CHECK_RC(mproc_sharelist_set(l, (int64_t)n, mproc_mv_nil()), 0);
        CHECK_RC(mproc_sharelist_set(l, (int64_t)n, v[n]), 0);
    }
    CU_ASSERT_EQUAL(differs(l, v, 18), 0);
    CU_ASSERT_TRUE(format_is(l, "8s8s8s8s8s8s8s8s16s16s16s16s16s16s16s16s24s24s"));
    /* Trailing NULs are lost (Python's rstrip), leading and inner ones stay. */
    CHECK_RC(mproc_sharelist_set(l, 9, mproc_mv_bytes("\0a\0b\0\0\0", 7)), 0);
    CHECK_RC(mproc_sharelist_set(l, 10, str_n("\0\0", 2)), 0);
    mproc_mval g;
    CHECK_RC(mproc_sharelist_get(l, 9, &g), 0);
    CU_ASSERT_TRUE(g.type == MPROC_MV_BYTES && g.v.s.len == 4 && memcmp(g.v.s.ptr, "\0a\0b", 4) == 0);
    mproc_mval_clear(&g);
    CHECK_RC(mproc_sharelist_get(l, 10, &g), 0);
    CU_ASSERT_TRUE(g.type == MPROC_MV_STR && g.v.s.len == 0 && g.v.s.ptr && g.v.s.ptr[0] == '\0');
    mproc_mval_clear(&g);
    /* An 8-byte item takes a str of up to 8 bytes: its format becomes 8s. */
    mproc_mval one = mproc_mv_int(5);
    mproc_sharelist *i = mproc_sharelist_new(NULL, &one, 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(i);
    CHECK_RC(mproc_sharelist_set(i, 0, mproc_mv_str("12345678")), 0);
    CU_ASSERT_TRUE(format_is(i, "8s"));
    CHECK_RC(mproc_sharelist_set(i, 0, mproc_mv_str("123456789")), MPROC_EMSGSIZE);
    CHECK_RC(mproc_sharelist_set(i, 0, mproc_mv_bool(1)), 0);
    CU_ASSERT_TRUE(format_is(i, "xxxxxxx?"));
    mproc_sharelist_unlink(i);
    mproc_sharelist_close(i);
    mproc_sharelist_unlink(l);
    mproc_sharelist_close(l);
}

static void test_count_index(void)
{
    mproc_mval v[] = {mproc_mv_int(1),      mproc_mv_double(1.0),  mproc_mv_bool(1),   mproc_mv_nil(),
                      mproc_mv_str("a"),    mproc_mv_bytes("a", 1), mproc_mv_double(2.5), mproc_mv_double(NAN),
                      mproc_mv_int(1),      mproc_mv_int(INT64_MAX), mproc_mv_double(9007199254740992.0),
                      mproc_mv_bytes("", 0)};
    size_t n = sizeof v / sizeof v[0];
    mproc_sharelist *l = mproc_sharelist_new(NULL, v, n, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_int(1)), 3);      /* 1, 1.0, 1 (Python: True too) */
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_double(1.0)), 3);
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_bool(1)), 1);     /* a bool equals only a bool */
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_bool(0)), 0);
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_nil()), 1);
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_str("a")), 1);    /* str and bytes apart */
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_bytes("a", 1)), 1);
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_double(NAN)), 0); /* NaN equals nothing */
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_str("")), 0);
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_bytes("", 0)), 1);
    /* int against double: exact, no rounding through double */
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_double(9223372036854775807.0)), 0); /* 2^63 */
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_int(9007199254740992)), 1);
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_int(9007199254740993)), 0);
    CHECK_RC(mproc_sharelist_index(l, mproc_mv_int(1)), 0);
    CHECK_RC(mproc_sharelist_index(l, mproc_mv_bool(1)), 2);
    CHECK_RC(mproc_sharelist_index(l, mproc_mv_nil()), 3);
    CHECK_RC(mproc_sharelist_index(l, mproc_mv_bytes("a", 1)), 5);
    CHECK_RC(mproc_sharelist_index(l, mproc_mv_double(2.5)), 6);
    CHECK_RC(mproc_sharelist_index(l, mproc_mv_int(INT64_MAX)), 9);
    CHECK_RC(mproc_sharelist_index(l, mproc_mv_str("b")), MPROC_ENOENT);
    CHECK_RC(mproc_sharelist_index(l, mproc_mv_double(NAN)), MPROC_ENOENT);
    mproc_mval proxy = mproc_mv_nil();
    proxy.type = MPROC_MV_LIST;
    CHECK_RC(mproc_sharelist_count(l, proxy), MPROC_EINVAL);
    CHECK_RC(mproc_sharelist_index(l, proxy), MPROC_EINVAL);
    CHECK_RC(mproc_sharelist_count(NULL, mproc_mv_int(1)), MPROC_EINVAL);
    mproc_sharelist_unlink(l);
    mproc_sharelist_close(l);
}

static void test_empty(void)
{
    int err = -1;
    mproc_sharelist *l = mproc_sharelist_new(NULL, NULL, 0, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(mproc_sharelist_len(l), 0);
    CU_ASSERT_EQUAL(mproc_shm_size(mproc_sharelist_shm(l)), 16); /* count and the one offset */
    CU_ASSERT_TRUE(format_is(l, ""));
    mproc_mval v;
    CHECK_RC(mproc_sharelist_get(l, 0, &v), MPROC_ENOENT);
    CHECK_RC(mproc_sharelist_get(l, -1, &v), MPROC_ENOENT);
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_nil()), 0);
    CHECK_RC(mproc_sharelist_index(l, mproc_mv_nil()), MPROC_ENOENT);
    mproc_sharelist *b = mproc_sharelist_attach(mproc_sharelist_name(l), &err);
    CU_ASSERT_PTR_NOT_NULL(b);
    CU_ASSERT_EQUAL(mproc_sharelist_len(b), 0);
    mproc_sharelist_close(b);
    mproc_sharelist_unlink(l);
    mproc_sharelist_close(l);
}

static void test_bad_input(void)
{
    int err = 0;
    char name[40];
    snprintf(name, sizeof name, "mproc_sl_%ld", mproc_current_pid());
    mproc_mval good = mproc_mv_int(1), bad = mproc_mv_nil();
    bad.type = MPROC_MV_DICT;
    CU_ASSERT_PTR_NULL(mproc_sharelist_new(NULL, NULL, 3, &err)); /* items NULL, n > 0 */
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_sharelist_new(NULL, &bad, 1, &err)); /* a manager proxy */
    CHECK_RC(err, MPROC_EINVAL);
    bad.type = (mproc_mval_type)99;
    CU_ASSERT_PTR_NULL(mproc_sharelist_new(NULL, &bad, 1, &err));
    CHECK_RC(err, MPROC_EINVAL);
    bad = mproc_mv_str(NULL);
    CU_ASSERT_PTR_NULL(mproc_sharelist_new(NULL, &bad, 1, &err));
    CHECK_RC(err, MPROC_EINVAL);
    bad = mproc_mv_bytes(NULL, 3);
    CU_ASSERT_PTR_NULL(mproc_sharelist_new(NULL, &bad, 1, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_sharelist_new("a/b", &good, 1, &err));
    CHECK_RC(err, MPROC_EINVAL);
    /* a str whose "%ds" would not fit 8 characters (Python's limit too) */
    char *big = calloc(1, 10000000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    bad = mproc_mv_bytes(big, 9999992);
    CU_ASSERT_PTR_NULL(mproc_sharelist_new(NULL, &bad, 1, &err));
    CHECK_RC(err, MPROC_EMSGSIZE);
    bad = str_n(big, 9999991); /* the longest: slot 9999992, "9999992s" */
    mproc_sharelist *l = mproc_sharelist_new(NULL, &bad, 1, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_TRUE(l && format_is(l, "9999992s"));
    if (l) {
        mproc_sharelist_unlink(l);
        mproc_sharelist_close(l);
    }
    free(big);
    /* a taken name; attaching a missing one */
    l = mproc_sharelist_new(name, &good, 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_STRING_EQUAL(mproc_sharelist_name(l), name);
    CU_ASSERT_PTR_NULL(mproc_sharelist_new(name, &good, 1, &err));
    CHECK_RC(err, MPROC_EEXIST);
    CU_ASSERT_PTR_NULL(mproc_sharelist_attach("mproc_no_such_list", &err));
    CHECK_RC(err, MPROC_ENOENT);
    CU_ASSERT_PTR_NULL(mproc_sharelist_attach(NULL, &err));
    CHECK_RC(err, MPROC_EINVAL);
    /* set: wrong type, and the item is untouched */
    bad = mproc_mv_nil();
    bad.type = MPROC_MV_LIST;
    CHECK_RC(mproc_sharelist_set(l, 0, bad), MPROC_EINVAL);
    CHECK_RC(mproc_sharelist_set(l, 0, mproc_mv_str(NULL)), MPROC_EINVAL);
    CU_ASSERT_EQUAL(differs(l, &good, 1), 0);
    /* NULL handles and outputs */
    mproc_mval v;
    char *f = (char *)"x";
    CHECK_RC(mproc_sharelist_get(NULL, 0, &v), MPROC_EINVAL);
    CHECK_RC(mproc_sharelist_get(l, 0, NULL), MPROC_EINVAL);
    CHECK_RC(mproc_sharelist_set(NULL, 0, good), MPROC_EINVAL);
    CHECK_RC(mproc_sharelist_index(NULL, good), MPROC_EINVAL);
    CHECK_RC(mproc_sharelist_format(NULL, &f), MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(f);
    CHECK_RC(mproc_sharelist_format(l, NULL), MPROC_EINVAL);
    CHECK_RC(mproc_sharelist_close(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_sharelist_unlink(NULL), MPROC_EINVAL);
    CU_ASSERT_EQUAL(mproc_sharelist_len(NULL), 0);
    CU_ASSERT_PTR_NULL(mproc_sharelist_name(NULL));
    CU_ASSERT_PTR_NULL(mproc_sharelist_shm(NULL));
    /* another kind of handle */
    CHECK_RC(mproc_sharelist_close((mproc_sharelist *)mproc_sharelist_shm(l)), MPROC_EINVAL);
    CHECK_RC(mproc_sharelist_unlink(l), 0);
    CHECK_RC(mproc_sharelist_close(l), 0);
}

/* What attaching a segment gives. */
enum { NOT_A_LIST, A_LIST, BAD_ITEM };

/* A segment of size bytes holding what fill writes, attached as a list:
 * MPROC_EINVAL (NOT_A_LIST), a list (A_LIST), or a list whose item 0
 * reads as MPROC_EINVAL (BAD_ITEM: formats and codes may change at any
 * time, so they are checked when read, not on attach). */
static void attach_segment(size_t size, void (*fill)(unsigned char *p, size_t size), int want)
{
    char name[40];
    static int seq;
    snprintf(name, sizeof name, "mproc_sl_bad_%ld_%d", mproc_current_pid(), seq++);
    int err = 0;
    mproc_shm *s = mproc_shm_open(name, size, 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    fill(mproc_shm_ptr(s), size);
    mproc_sharelist *l = mproc_sharelist_attach(name, &err);
    if (want == NOT_A_LIST) {
        CU_ASSERT_PTR_NULL(l);
        CHECK_RC(err, MPROC_EINVAL);
    } else {
        CHECK_RC(err, 0);
    }
    if (l && mproc_sharelist_len(l) > 0) {
        mproc_mval v;
        CHECK_RC(mproc_sharelist_get(l, 0, &v), want == BAD_ITEM ? MPROC_EINVAL : 0);
        CHECK_RC(mproc_sharelist_count(l, mproc_mv_nil()), want == BAD_ITEM ? MPROC_EINVAL : 0);
        mproc_mval_clear(&v);
    }
    if (l)
        mproc_sharelist_close(l);
    mproc_shm_unlink(s);
    mproc_shm_close(s);
}

static void put64(unsigned char *p, int64_t v) { memcpy(p, &v, 8); }

static void fill_text(unsigned char *p, size_t size)
{
    for (size_t i = 0; i < size; i++)
        p[i] = (unsigned char)"not a ShareableList at all! "[i % 28];
}
static void fill_nothing(unsigned char *p, size_t size) { (void)p, (void)size; }
static void fill_huge_count(unsigned char *p, size_t size) { (void)size, put64(p, INT64_MAX); }
static void fill_negative_count(unsigned char *p, size_t size) { (void)size, put64(p, -1); }
/* One int item, well made: [1][0][8] 8 bytes, "q", 0. */
static void fill_one(unsigned char *p, size_t size)
{
    (void)size;
    put64(p, 1);
    put64(p + 8, 0);
    put64(p + 16, 8);
    put64(p + 24, 42);
    memcpy(p + 32, "q\0\0\0\0\0\0\0", 8);
    if (size > 40)
        p[40] = 0;
}
static void fill_bad_format(unsigned char *p, size_t size) { fill_one(p, size), memcpy(p + 32, "zz\0\0\0\0\0\0", 8); }
static void fill_nul_in_format(unsigned char *p, size_t size) { fill_one(p, size), memcpy(p + 32, "q\0q\0\0\0\0\0", 8); }
static void fill_wide_format(unsigned char *p, size_t size) { fill_one(p, size), memcpy(p + 32, "16s\0\0\0\0\0", 8); }
static void fill_bad_code(unsigned char *p, size_t size) { fill_one(p, size), p[size - 1] = 7; }
static void fill_bad_offset(unsigned char *p, size_t size) { fill_one(p, size), put64(p + 16, 4000); }
static void fill_odd_offset(unsigned char *p, size_t size) { fill_one(p, size), put64(p + 16, 12); }

static void test_not_a_list(void)
{
    attach_segment(4, fill_nothing, NOT_A_LIST);          /* shorter than the count */
    attach_segment(4096, fill_text, NOT_A_LIST);          /* text */
    attach_segment(64, fill_huge_count, NOT_A_LIST);      /* more items than bytes */
    attach_segment(64, fill_negative_count, NOT_A_LIST);
    attach_segment(41, fill_one, A_LIST);                 /* the real thing */
    attach_segment(40, fill_one, NOT_A_LIST);             /* one byte short (the code) */
    attach_segment(41 + 65536, fill_one, NOT_A_LIST);     /* far bigger than its list */
    attach_segment(41, fill_bad_offset, NOT_A_LIST);
    attach_segment(41, fill_odd_offset, NOT_A_LIST);
    attach_segment(41, fill_bad_format, BAD_ITEM);
    attach_segment(41, fill_nul_in_format, BAD_ITEM);
    attach_segment(41, fill_wide_format, BAD_ITEM);       /* "16s" in an 8-byte slot */
    attach_segment(41, fill_bad_code, BAD_ITEM);
    attach_segment(16, fill_nothing, A_LIST);             /* zeros: an empty list, as in Python */
    attach_segment(4096, fill_nothing, A_LIST);           /* also page-rounded (macOS) */
    attach_segment((size_t)1 << 20, fill_nothing, NOT_A_LIST); /* but not a big segment of zeros */

    /* An item made invalid after attach: get, count and index say so. */
    char name[40];
    snprintf(name, sizeof name, "mproc_sl_corrupt_%ld", mproc_current_pid());
    mproc_mval v[2] = {mproc_mv_int(1), mproc_mv_str("abc")};
    mproc_sharelist *l = mproc_sharelist_new(name, v, 2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    unsigned char *p = mproc_shm_ptr(mproc_sharelist_shm(l));
    size_t codes = 8 * 4 + 16 + 16; /* header, data, formats */
    p[codes + 1] = 0;               /* "8s" unpacked as a number: not a valid item */
    mproc_mval g;
    CHECK_RC(mproc_sharelist_get(l, 1, &g), MPROC_EINVAL);
    CHECK_RC(mproc_sharelist_get(l, 0, &g), 0);
    CHECK_RC(mproc_sharelist_count(l, mproc_mv_int(1)), MPROC_EINVAL);
    p[codes + 1] = 9; /* no such code */
    CHECK_RC(mproc_sharelist_get(l, 1, &g), MPROC_EINVAL);
    p[codes + 1] = 1;
    memcpy(p + 32 + 16 + 8, "99s\0\0\0\0\0", 8); /* wider than the slot */
    CHECK_RC(mproc_sharelist_get(l, 1, &g), MPROC_EINVAL);
    memcpy(p + 32 + 16 + 8, "8s\0\0\0\0\0\0", 8);
    CHECK_RC(mproc_sharelist_get(l, 1, &g), 0);
    CU_ASSERT_TRUE(g.type == MPROC_MV_STR && strcmp(g.v.s.ptr, "abc") == 0);
    mproc_mval_clear(&g);
    mproc_sharelist_unlink(l);
    mproc_sharelist_close(l);
}

/* Python 3.8's layout, made by hand: [n][sizes...] then data at (n+1)*8,
 * formats, codes. Items: 7, "hello" (16-byte slot), None. */
static void test_python38_layout(void)
{
    char name[40];
    snprintf(name, sizeof name, "mproc_sl_38_%ld", mproc_current_pid());
    size_t size = 8 + 3 * 8 + (8 + 16 + 8) + 3 * 8 + 3;
    mproc_shm *s = mproc_shm_open(name, size, 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    unsigned char *p = mproc_shm_ptr(s);
    put64(p, 3);
    put64(p + 8, 8);
    put64(p + 16, 16);
    put64(p + 24, 8);
    unsigned char *d = p + 32;
    put64(d, 7);
    memcpy(d + 8, "hello", 5);
    unsigned char *f = d + 32;
    memcpy(f, "q", 1);
    memcpy(f + 8, "16s", 3);
    memcpy(f + 16, "xxxxxx?x", 8);
    f[24] = 0, f[25] = 1, f[26] = 3;
    int err = -1;
    mproc_sharelist *l = mproc_sharelist_attach(name, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    mproc_mval want[3] = {mproc_mv_int(7), mproc_mv_str("hello"), mproc_mv_nil()};
    CU_ASSERT_EQUAL(differs(l, want, 3), 0);
    CU_ASSERT_TRUE(format_is(l, "q16sxxxxxx?x"));
    /* writes land where 3.8 reads them */
    CHECK_RC(mproc_sharelist_set(l, 1, mproc_mv_str("0123456789abcdef")), 0);
    CHECK_RC(mproc_sharelist_set(l, 1, mproc_mv_str("0123456789abcdefg")), MPROC_EMSGSIZE);
    CHECK_RC(mproc_sharelist_set(l, 2, mproc_mv_double(2.5)), 0);
    CU_ASSERT_EQUAL(memcmp(d + 8, "0123456789abcdef", 16), 0);
    double x;
    memcpy(&x, d + 24, 8);
    CU_ASSERT_EQUAL(x, 2.5);
    CU_ASSERT_EQUAL(memcmp(f + 16, "d\0\0\0\0\0\0\0", 8), 0);
    CU_ASSERT_EQUAL(f[26], 0);
    mproc_sharelist_close(l);
    mproc_shm_unlink(s);
    mproc_shm_close(s);
}

/* ------------------------------------------------------------ children */

/* args: list. Checks it, writes item 0, and cannot close the args' handle. */
static int t_child_list(const mproc_args *a)
{
    mproc_sharelist *l = mproc_args_obj(a, 0);
    mproc_mval want[N_ITEMS];
    items(want, 1);
    if (differs(l, want, N_ITEMS))
        return 1;
    if (mproc_sharelist_close(l) != MPROC_ESTATE)
        return 2;
    return mproc_sharelist_set(l, 0, mproc_mv_str("child")) == 0 ? 0 : 3;
}

/* args: name. Attaches by name, writes item 1. */
static int t_child_name(const mproc_args *a)
{
    int err;
    mproc_sharelist *l = mproc_sharelist_attach(mproc_args_str(a, 0), &err);
    if (!l)
        return 1;
    int rc = mproc_sharelist_set(l, 1, mproc_mv_double(-2.5));
    mproc_sharelist_close(l);
    return rc ? 2 : 0;
}

static void test_children(void)
{
    mproc_sharelist *l = make_items(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    mproc_args *a = mproc_args_new();
    CHECK_RC(mproc_args_add_obj(a, l), 0);
    CU_ASSERT_EQUAL(mproc_args_type(a, 0), MPROC_ARG_OBJ);
    CU_ASSERT_EQUAL(test_finish(test_start(t_child_list, a, NULL)), 0);
    mproc_args_free(a);
    a = mproc_args_new();
    mproc_args_add_str(a, mproc_sharelist_name(l));
    CU_ASSERT_EQUAL(test_finish(test_start(t_child_name, a, NULL)), 0);
    mproc_args_free(a);
    mproc_mval want[N_ITEMS];
    items(want, 1);
    want[0] = mproc_mv_str("child");
    want[1] = mproc_mv_double(-2.5);
    CU_ASSERT_EQUAL(differs(l, want, N_ITEMS), 0);
    /* args outlive the handle they were given */
    a = mproc_args_new();
    mproc_args_add_obj(a, l);
    mproc_sharelist *again = mproc_sharelist_attach(mproc_sharelist_name(l), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(again);
    CHECK_RC(mproc_sharelist_close(l), 0);
    items(want, 1); /* what t_child_list expects */
    CHECK_RC(mproc_sharelist_set(again, 0, want[0]), 0);
    CHECK_RC(mproc_sharelist_set(again, 1, want[1]), 0);
    CU_ASSERT_EQUAL(test_finish(test_start(t_child_list, a, NULL)), 0);
    mproc_args_free(a);
    mproc_sharelist_unlink(again);
    mproc_sharelist_close(again);
}

#define WRITERS 4
#define ROUNDS 20000

/* Writes item k (every type in turn) `rounds` times, reading each back;
 * ends with "done-k". */
static int hammer(mproc_sharelist *l, int k, int rounds)
{
    char buf[32];
    for (int i = 0; i < rounds; i++) {
        mproc_mval v;
        switch (i % 6) {
        case 0: v = mproc_mv_int(i); break;
        case 1: snprintf(buf, sizeof buf, "c%d:%d", k, i); v = mproc_mv_str(buf); break;
        case 2: v = mproc_mv_bool(i % 4 == 2); break;
        case 3: v = mproc_mv_double(i + 0.5); break;
        case 4: snprintf(buf, sizeof buf, "b%d", i); v = mproc_mv_bytes(buf, strlen(buf)); break;
        default: v = mproc_mv_nil(); break;
        }
        mproc_mval got;
        if (mproc_sharelist_set(l, k, v) != 0 || mproc_sharelist_get(l, k, &got) != 0)
            return 1;
        int ok = same_val(&got, &v);
        mproc_mval_clear(&got);
        if (!ok)
            return 2;
    }
    snprintf(buf, sizeof buf, "done-%d", k);
    return mproc_sharelist_set(l, k, mproc_mv_str(buf)) ? 3 : 0;
}

/* args: list, item, rounds, event. Starts when the event is set, so
 * that the writers overlap. */
static int t_writer(const mproc_args *a)
{
    if (mproc_event_wait(mproc_args_obj(a, 3), 60) != 0)
        return 9;
    return hammer(mproc_args_obj(a, 0), (int)mproc_args_int(a, 1), (int)mproc_args_int(a, 2));
}

/* WRITERS processes writing items 0.. of l once go is set. */
static void start_writers(mproc_process **p, mproc_sharelist *l, mproc_event *go)
{
    for (int k = 0; k < WRITERS; k++) {
        mproc_args *a = mproc_args_new();
        mproc_args_add_obj(a, l);
        mproc_args_add_int(a, k);
        mproc_args_add_int(a, ROUNDS);
        mproc_args_add_obj(a, go);
        p[k] = test_start(t_writer, a, NULL);
        mproc_args_free(a);
    }
}

typedef struct hammer_arg {
    mproc_sharelist *l;
    int k, rc;
} hammer_arg;

static TEST_THREAD_FN(hammer_thread)
{
    hammer_arg *h = arg;
    h->rc = hammer(h->l, h->k, ROUNDS);
    return 0;
}

/* A list of n items of 16-byte slots (a 15-character str each). */
static mproc_sharelist *slots16(size_t n)
{
    mproc_mval v[16];
    for (size_t k = 0; k < n; k++)
        v[k] = mproc_mv_str("...............");
    return mproc_sharelist_new(NULL, v, n, NULL);
}

static int finals_ok(mproc_sharelist *l, int from, int to)
{
    for (int k = from; k < to; k++) {
        char want[32];
        snprintf(want, sizeof want, "done-%d", k);
        mproc_mval got;
        int ok = mproc_sharelist_get(l, k, &got) == 0 && got.type == MPROC_MV_STR && strcmp(got.v.s.ptr, want) == 0;
        mproc_mval_clear(&got);
        if (!ok)
            return 0;
    }
    return 1;
}

/* No lock, as in Python: processes (and threads) writing different items
 * at once never disturb each other, whatever the types they write. */
static void test_concurrent_writers(void)
{
    mproc_sharelist *l = slots16(WRITERS + 2);
    mproc_event *go = mproc_event_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_PTR_NOT_NULL_FATAL(go);
    mproc_process *p[WRITERS];
    start_writers(p, l, go);
    CHECK_RC(mproc_event_set(go), 0);
    /* and two threads here, on the last two items */
    hammer_arg h[2] = {{l, WRITERS, -1}, {l, WRITERS + 1, -1}};
    test_thread t[2];
    for (int k = 0; k < 2; k++)
        CU_ASSERT_EQUAL(test_thread_start(&t[k], hammer_thread, &h[k]), 0);
    for (int k = 0; k < 2; k++) {
        test_thread_join(&t[k]);
        CU_ASSERT_EQUAL(h[k].rc, 0);
    }
    for (int k = 0; k < WRITERS; k++) {
        int code = test_finish(p[k]);
        if (code != 0)
            fprintf(stderr, "\n  writer %d: exit code %d\n", k, code);
        CU_ASSERT_EQUAL(code, 0);
    }
    CU_ASSERT_TRUE(finals_ok(l, 0, WRITERS + 2));
    mproc_event_free(go);
    mproc_sharelist_unlink(l);
    mproc_sharelist_close(l);
}

/* args: name, conn (may be absent). Makes a list of that name, says so,
 * then exits without unlinking it, or waits to be killed. */
static int t_leave_list(const mproc_args *a)
{
    mproc_mval v = mproc_mv_str("left behind");
    mproc_sharelist *l = mproc_sharelist_new(mproc_args_str(a, 0), &v, 1, NULL);
    if (!l)
        return 1;
    if (mproc_args_count(a) < 2)
        return 0;
    if (mproc_conn_send_bytes(mproc_args_obj(a, 1), "made", 4) != 0)
        return 2;
    test_sleep(60); /* killed long before */
    return 3;
}

/* A list its creator did not unlink goes when the creator exits, or, if
 * it is killed, with the resource tracker (POSIX) or its handles
 * (Windows), as an mproc_shm does. */
static void test_creator_ends(void)
{
    char name[40];
    snprintf(name, sizeof name, "mproc_sl_exit_%ld", mproc_current_pid());
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, name);
    CU_ASSERT_EQUAL(test_finish(test_start(t_leave_list, a, NULL)), 0);
    mproc_args_free(a);
    CU_ASSERT_FALSE(in_dev_shm(name));
    int err = 0;
    CU_ASSERT_PTR_NULL(mproc_sharelist_attach(name, &err));
    CHECK_RC(err, MPROC_ENOENT);

    snprintf(name, sizeof name, "mproc_sl_kill_%ld", mproc_current_pid());
    mproc_conn *r, *w;
    CHECK_RC(mproc_pipe(0, &r, &w), 0);
    a = mproc_args_new();
    mproc_args_add_str(a, name);
    mproc_args_add_obj(a, w);
    mproc_process *p = test_start(t_leave_list, a, NULL);
    mproc_args_free(a);
    char msg[8];
    size_t len = 0;
    CU_ASSERT_EQUAL(mproc_conn_poll(r, 60), 1);
    CHECK_RC(mproc_conn_recv_bytes_into(r, msg, sizeof msg, &len), 0);
    CU_ASSERT_TRUE(in_dev_shm(name));
    CHECK_RC(mproc_process_kill(p), 0);
    CU_ASSERT_EQUAL(test_finish(p), -9);
    CU_ASSERT_TRUE(test_shm_gone_within(name, 10));
    CU_ASSERT_FALSE(in_dev_shm(name));
    mproc_conn_free(r);
    mproc_conn_free(w);
}

/* ------------------------------------------------------------ manager */

static int seg_listed(mproc_manager *m, const char *name)
{
    mproc_mval *names = NULL;
    size_t n = 0;
    if (mproc_manager_segments(m, &names, &n) != 0)
        return -1;
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found += names[i].type == MPROC_MV_STR && strcmp(names[i].v.s.ptr, name) == 0;
    mproc_mvals_free(names, n);
    return found;
}

static int seg_count(mproc_manager *m)
{
    mproc_mval *names = NULL;
    size_t n = 0;
    int rc = mproc_manager_segments(m, &names, &n);
    mproc_mvals_free(names, n);
    return rc ? rc : (int)n;
}

/* args: name. Attaches to the manager's list and writes item 0. */
static int t_client_writes(const mproc_args *a)
{
    mproc_sharelist *l = mproc_sharelist_attach(mproc_args_str(a, 0), NULL);
    if (!l)
        return 1;
    int rc = mproc_sharelist_set(l, 0, mproc_mv_str("client"));
    mproc_sharelist_close(l);
    return rc ? 2 : 0;
}

static void test_manager_segments(void)
{
    int err = -1;
    mproc_manager *m = mproc_manager_start(NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CHECK_RC(seg_count(m), 0);
    mproc_shm *s = mproc_manager_shm(m, 100, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(mproc_shm_size(s), 100);
    CU_ASSERT_EQUAL(strncmp(mproc_shm_name(s), "psm_", 4), 0);
    memcpy(mproc_shm_ptr(s), "via the manager", 16);
    mproc_mval v[N_ITEMS];
    items(v, 0);
    mproc_sharelist *l = mproc_manager_sharelist(m, v, N_ITEMS, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    items(v, 1);
    CU_ASSERT_EQUAL(differs(l, v, N_ITEMS), 0);
    CU_ASSERT_TRUE(format_is(l, FORMAT_ITEMS));
    char sname[64], lname[64];
    snprintf(sname, sizeof sname, "%s", mproc_shm_name(s));
    snprintf(lname, sizeof lname, "%s", mproc_sharelist_name(l));
    CHECK_RC(seg_count(m), 2);
    CU_ASSERT_EQUAL(seg_listed(m, sname), 1);
    CU_ASSERT_EQUAL(seg_listed(m, lname), 1);
    /* closing our handles removes nothing: the server owns the names */
    CHECK_RC(mproc_shm_close(s), 0);
    s = mproc_shm_open(sname, 0, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(memcmp(mproc_shm_ptr(s), "via the manager", 16), 0);
    /* a client attaches and writes */
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, lname);
    CU_ASSERT_EQUAL(test_finish(test_start(t_client_writes, a, NULL)), 0);
    mproc_args_free(a);
    v[0] = mproc_mv_str("client");
    CU_ASSERT_EQUAL(differs(l, v, N_ITEMS), 0);
    /* bad input: nothing made */
    mproc_mval bad = mproc_mv_nil();
    bad.type = MPROC_MV_LIST;
    CU_ASSERT_PTR_NULL(mproc_manager_shm(m, 0, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_manager_shm(NULL, 10, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_manager_sharelist(m, &bad, 1, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_manager_sharelist(m, NULL, 2, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_manager_sharelist(NULL, v, 1, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CHECK_RC(mproc_manager_release_segment(m, "psm_not_ours"), MPROC_ENOENT);
    CHECK_RC(mproc_manager_release_segment(m, NULL), MPROC_EINVAL);
    CHECK_RC(mproc_manager_release_segment(NULL, sname), MPROC_EINVAL);
    CHECK_RC(mproc_manager_segments(m, NULL, NULL), MPROC_EINVAL);
    CHECK_RC(seg_count(m), 2);
    /* an empty list through the manager */
    mproc_sharelist *e = mproc_manager_sharelist(m, NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(mproc_sharelist_len(e), 0);
    char ename[64];
    snprintf(ename, sizeof ename, "%s", mproc_sharelist_name(e));
    mproc_sharelist_close(e);
    /* release: that one goes now */
    CHECK_RC(mproc_manager_release_segment(m, ename), 0);
    CU_ASSERT_FALSE(in_dev_shm(ename));
    CHECK_RC(mproc_manager_release_segment(m, ename), MPROC_ENOENT);
    CHECK_RC(seg_count(m), 2);
    /* shutdown: every segment is gone when it returns; our mappings stay */
    CU_ASSERT_TRUE(in_dev_shm(sname) && in_dev_shm(lname));
    CHECK_RC(mproc_manager_shutdown(m), 0);
    CU_ASSERT_FALSE(in_dev_shm(sname));
    CU_ASSERT_FALSE(in_dev_shm(lname));
    CU_ASSERT_PTR_NULL(mproc_sharelist_attach(lname, &err));
    CHECK_RC(err, MPROC_ENOENT);
    CU_ASSERT_EQUAL(differs(l, v, N_ITEMS), 0);
    CU_ASSERT_EQUAL(memcmp(mproc_shm_ptr(s), "via the manager", 16), 0);
    CU_ASSERT_PTR_NULL(mproc_manager_shm(m, 10, &err)); /* the server is gone */
    CU_ASSERT_NOT_EQUAL(err, 0);
    mproc_sharelist_close(l);
    mproc_shm_close(s);
    mproc_manager_free(m);
}

/* args: address, key, conn. A client that makes a list through the
 * manager, says its name, and exits (or is killed: arg 3 set). */
static int t_client_makes(const mproc_args *a)
{
    size_t keylen = 0;
    const void *key = mproc_args_bytes(a, 1, &keylen);
    mproc_manager *m = mproc_manager_connect(mproc_args_str(a, 0), key, keylen, NULL);
    mproc_mval v = mproc_mv_str("made by a client");
    mproc_sharelist *l = m ? mproc_manager_sharelist(m, &v, 1, NULL) : NULL;
    if (!l)
        return 1;
    const char *name = mproc_sharelist_name(l);
    if (mproc_conn_send_bytes(mproc_args_obj(a, 2), name, strlen(name)) != 0)
        return 2;
    if (mproc_args_int(a, 3))
        test_sleep(60); /* killed long before */
    mproc_sharelist_close(l);
    mproc_manager_free(m); /* an attached handle: the server runs on */
    return 0;
}

static void recv_name(mproc_conn *r, char *name, size_t cap)
{
    void *buf = NULL;
    size_t len = 0;
    name[0] = '\0';
    CU_ASSERT_EQUAL(mproc_conn_poll(r, 60), 1);
    if (mproc_conn_recv_bytes(r, &buf, &len, cap - 1) == 0) {
        memcpy(name, buf, len);
        name[len] = '\0';
    }
    mproc_free(buf);
}

/* Segments belong to the server, not to the client that asked: they
 * outlive it, killed or not, until the server ends. */
static void test_manager_segments_outlive_clients(void)
{
    mproc_manager *m = mproc_manager_start(NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    size_t keylen = 0;
    const void *key = mproc_manager_authkey(m, &keylen);
    char names[2][64];
    for (int kill_it = 0; kill_it < 2; kill_it++) {
        mproc_conn *r, *w;
        CHECK_RC(mproc_pipe(0, &r, &w), 0);
        mproc_args *a = mproc_args_new();
        mproc_args_add_str(a, mproc_manager_address(m));
        mproc_args_add_bytes(a, key, keylen);
        mproc_args_add_obj(a, w);
        mproc_args_add_int(a, kill_it);
        mproc_process *p = test_start(t_client_makes, a, NULL);
        mproc_args_free(a);
        recv_name(r, names[kill_it], sizeof names[kill_it]);
        if (kill_it)
            CHECK_RC(mproc_process_kill(p), 0);
        CU_ASSERT_EQUAL(test_finish(p), kill_it ? -9 : 0);
        mproc_conn_free(r);
        mproc_conn_free(w);
        mproc_sharelist *l = mproc_sharelist_attach(names[kill_it], NULL);
        mproc_mval want = mproc_mv_str("made by a client");
        CU_ASSERT_TRUE(l && differs(l, &want, 1) == 0);
        if (l)
            mproc_sharelist_close(l);
    }
    CHECK_RC(seg_count(m), 2);
    mproc_manager_free(m); /* shuts the server down */
    for (int k = 0; k < 2; k++)
        CU_ASSERT_FALSE(in_dev_shm(names[k]));
}

/* args: conn. Starts a manager, makes a segment and a list through it,
 * sends "NAME NAME SERVERPID", waits to be killed. */
static int t_owner(const mproc_args *a)
{
    mproc_manager *m = mproc_manager_start(NULL, NULL);
    mproc_mval v = mproc_mv_int(1);
    mproc_shm *s = m ? mproc_manager_shm(m, 4096, NULL) : NULL;
    mproc_sharelist *l = s ? mproc_manager_sharelist(m, &v, 1, NULL) : NULL;
    if (!l)
        return 1;
    char msg[160];
    snprintf(msg, sizeof msg, "%s %s %ld", mproc_shm_name(s), mproc_sharelist_name(l),
             mproc_process_pid(mproc_manager_process(m)));
    if (mproc_conn_send_bytes(mproc_args_obj(a, 0), msg, strlen(msg)) != 0)
        return 2;
    test_sleep(120); /* killed long before */
    return 3;
}

static int pid_ended_within(long pid, double seconds)
{
    for (double t = 0; t < seconds; t += 0.02) {
        if (test_pid_gone(pid))
            return 1;
        test_sleep(0.02);
    }
    return test_pid_gone(pid);
}

/* The owner of the manager is killed: the server notices, unlinks its
 * segments and ends (on Windows its job kills it too, and the segments go
 * with their last handles). */
static void test_manager_owner_killed(void)
{
    mproc_conn *r, *w;
    CHECK_RC(mproc_pipe(0, &r, &w), 0);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, w);
    mproc_process *p = test_start(t_owner, a, NULL);
    mproc_args_free(a);
    char msg[160], n1[64] = "", n2[64] = "";
    long server = 0;
    recv_name(r, msg, sizeof msg);
    CU_ASSERT_EQUAL_FATAL(sscanf(msg, "%63s %63s %ld", n1, n2, &server), 3);
    CU_ASSERT_TRUE(in_dev_shm(n1) && in_dev_shm(n2));
    CHECK_RC(mproc_process_kill(p), 0);
    CU_ASSERT_EQUAL(test_finish(p), -9);
    CU_ASSERT_TRUE(test_shm_gone_within(n1, 10));
    CU_ASSERT_TRUE(test_shm_gone_within(n2, 10));
    CU_ASSERT_FALSE(in_dev_shm(n1));
    CU_ASSERT_FALSE(in_dev_shm(n2));
    CU_ASSERT_TRUE(pid_ended_within(server, 10));
    mproc_conn_free(r);
    mproc_conn_free(w);
}

#ifndef _WIN32
/* The server itself is killed: the resource tracker unlinks what it made. */
static void test_manager_server_killed(void)
{
    mproc_manager *m = mproc_manager_start(NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    mproc_mval v = mproc_mv_nil();
    mproc_shm *s = mproc_manager_shm(m, 10, NULL);
    mproc_sharelist *l = mproc_manager_sharelist(m, &v, 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "%s", mproc_shm_name(s));
    snprintf(n2, sizeof n2, "%s", mproc_sharelist_name(l));
    CHECK_RC(mproc_process_kill(mproc_manager_process(m)), 0);
    CHECK_RC(mproc_process_join(mproc_manager_process(m), 30), 0);
    CU_ASSERT_TRUE(test_shm_gone_within(n1, 10));
    CU_ASSERT_TRUE(test_shm_gone_within(n2, 10));
    CU_ASSERT_FALSE(in_dev_shm(n1) || in_dev_shm(n2));
    mproc_sharelist_close(l);
    mproc_shm_close(s);
    mproc_manager_free(m);
}
#endif

/* ------------------------------------------------------------ Python */

#ifndef _WIN32
static const char *py_cmd, *py_pyenv, *py_expect;
static int py_optional;
static char py_problem[256]; /* why the Python could not be used */

/* Runs sharelist_peer.py with up to four arguments; its first line must
 * name the expected version. 0, or -1 with py_problem set. */
static int peer_start(py_proc *p, const char *a1, const char *a2, const char *a3, const char *a4)
{
    int in[2], out[2];
    if (pipe(in) != 0)
        return -1;
    if (pipe(out) != 0) {
        close(in[0]), close(in[1]);
        return -1;
    }
    /* the environment, PYENV_VERSION set to ours or removed */
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    char pyenv[64];
    size_t k = 0;
    for (size_t i = 0; env && i < n; i++)
        if (strncmp(environ[i], "PYENV_VERSION=", 14) != 0)
            env[k++] = environ[i];
    if (env && py_pyenv) {
        snprintf(pyenv, sizeof pyenv, "PYENV_VERSION=%s", py_pyenv);
        env[k++] = pyenv;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    int fds[4] = {in[0], in[1], out[0], out[1]};
    for (int i = 0; i < 4; i++)
        posix_spawn_file_actions_addclose(&fa, fds[i]);
    char *argv[] = {(char *)py_cmd, (char *)MPROC_SHARELIST_PEER, (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    int rc = env ? posix_spawnp(&p->pid, py_cmd, &fa, NULL, argv, env) : ENOMEM;
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        snprintf(py_problem, sizeof py_problem, "cannot run %s: %s", py_cmd, strerror(rc));
        return -1;
    }
    p->in = in[1];
    p->out = out[0];
    return 0;
}

/* Starts the peer and checks its version line. */
static int py_begin(py_proc *p, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char line[128], want[64];
    if (peer_start(p, a1, a2, a3, a4) != 0)
        return -1;
    snprintf(want, sizeof want, "python %s", py_expect);
    if (py_line(p, line, sizeof line, 60) != 0 || strcmp(line, want) != 0) {
        snprintf(py_problem, sizeof py_problem, "%s%s%s%s is not Python %s (it said \"%s\")",
                 py_pyenv ? "PYENV_VERSION=" : "", py_pyenv ? py_pyenv : "", py_pyenv ? " " : "", py_cmd, py_expect, line);
        py_finish(p, 10);
        return -1;
    }
    return 0;
}

static void py_unusable(void)
{
    fprintf(stderr, "\n  FAILED: %s (tests/CMakeLists.txt: MPROC_SHARELIST_PY*)\n", py_problem);
    CU_FAIL("the Python to test against is not available");
}

/* mproc makes the list; Python checks it, writes, and checks its errors. */
static void test_python_reads_mproc(void)
{
    mproc_sharelist *l = make_items(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    py_proc p;
    if (py_begin(&p, "check", mproc_sharelist_name(l), NULL, NULL) != 0) {
        py_unusable();
    } else {
        char line[256] = "";
        CU_ASSERT_EQUAL(py_line(&p, line, sizeof line, 60), 0);
        CU_ASSERT_STRING_EQUAL(line, "ok");
        CU_ASSERT_EQUAL(py_finish(&p, 60), 0);
        mproc_mval want[N_ITEMS];
        after(want);
        CU_ASSERT_EQUAL(differs(l, want, N_ITEMS), 0);
        CU_ASSERT_TRUE(format_is(l, FORMAT_AFTER));
        CU_ASSERT_TRUE(in_dev_shm(mproc_sharelist_name(l))); /* Python's tracker left it alone */
    }
    mproc_sharelist_unlink(l);
    mproc_sharelist_close(l);
}

/* Python makes the list; mproc checks it and writes; Python checks that. */
static void test_mproc_reads_python(void)
{
    py_proc p;
    if (py_begin(&p, "create", NULL, NULL, NULL) != 0) {
        py_unusable();
        return;
    }
    char name[128] = "";
    CU_ASSERT_EQUAL(py_line(&p, name, sizeof name, 60), 0);
    int err = -1;
    mproc_sharelist *l = mproc_sharelist_attach(name, &err);
    CHECK_RC(err, 0);
    if (l) {
        mproc_mval want[N_ITEMS];
        items(want, 1);
        CU_ASSERT_EQUAL(differs(l, want, N_ITEMS), 0);
        CU_ASSERT_TRUE(format_is(l, FORMAT_ITEMS));
        CHECK_RC(mproc_sharelist_count(l, mproc_mv_double(1.5)), 1);
        CHECK_RC(mproc_sharelist_index(l, mproc_mv_nil()), 7);
        CHECK_RC(apply_writes(l), 0);
        after(want);
        CU_ASSERT_EQUAL(differs(l, want, N_ITEMS), 0);
        CU_ASSERT_TRUE(format_is(l, FORMAT_AFTER));
    }
    CU_ASSERT_EQUAL(write(p.in, "go\n", 3), 3);
    char line[256] = "";
    CU_ASSERT_EQUAL(py_line(&p, line, sizeof line, 60), 0);
    CU_ASSERT_STRING_EQUAL(line, "ok");
    CU_ASSERT_EQUAL(py_finish(&p, 60), 0);
    CU_ASSERT_FALSE(in_dev_shm(name)); /* Python unlinked it */
    if (l)
        mproc_sharelist_close(l);
}

/* A Python writes one item while mproc's processes and threads write the
 * others. */
static void test_python_writes_beside_mproc(void)
{
    mproc_sharelist *l = slots16(WRITERS + 2);
    mproc_event *go = mproc_event_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_PTR_NOT_NULL_FATAL(go);
    mproc_process *p[WRITERS];
    start_writers(p, l, go); /* they wait for go */
    char slot[16], rounds[16];
    snprintf(slot, sizeof slot, "%d", WRITERS + 1);
    snprintf(rounds, sizeof rounds, "%d", ROUNDS);
    py_proc py;
    int py_ok = py_begin(&py, "hammer", mproc_sharelist_name(l), slot, rounds) == 0;
    if (!py_ok)
        py_unusable();
    CHECK_RC(mproc_event_set(go), 0); /* Python is writing by now */
    hammer_arg h = {l, WRITERS, -1};
    test_thread t;
    CU_ASSERT_EQUAL(test_thread_start(&t, hammer_thread, &h), 0);
    test_thread_join(&t);
    CU_ASSERT_EQUAL(h.rc, 0);
    for (int k = 0; k < WRITERS; k++)
        CU_ASSERT_EQUAL(test_finish(p[k]), 0);
    CU_ASSERT_TRUE(finals_ok(l, 0, WRITERS + 1));
    if (py_ok) {
        char line[256] = "";
        CU_ASSERT_EQUAL(py_line(&py, line, sizeof line, 120), 0);
        CU_ASSERT_STRING_EQUAL(line, "ok");
        CU_ASSERT_EQUAL(py_finish(&py, 60), 0);
        mproc_mval got;
        CHECK_RC(mproc_sharelist_get(l, WRITERS + 1, &got), 0);
        CU_ASSERT_TRUE(got.type == MPROC_MV_STR && strcmp(got.v.s.ptr, "py-done") == 0);
        mproc_mval_clear(&got);
    }
    mproc_event_free(go);
    mproc_sharelist_unlink(l);
    mproc_sharelist_close(l);
}

/* --optional: a Python that is not there is a skip, said as such. */
static int py_available(void)
{
    py_proc p;
    if (py_begin(&p, "version", NULL, NULL, NULL) != 0)
        return 0;
    py_finish(&p, 10);
    return 1;
}
#endif

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"every item type, both ways", test_every_type},
        {"slots keep their capacity", test_slots},
        {"count and index", test_count_index},
        {"an empty list", test_empty},
        {"bad input", test_bad_input},
        {"segments that are not lists", test_not_a_list},
        {"Python 3.8's layout", test_python38_layout},
        {"children", test_children},
        {"processes and threads write different items at once", test_concurrent_writers},
        {"a creator that exits or is killed leaves nothing", test_creator_ends},
        {"manager: segments made, listed, released, gone at shutdown", test_manager_segments},
        {"manager: segments outlive the clients that asked", test_manager_segments_outlive_clients},
        {"manager: its owner killed leaves nothing", test_manager_owner_killed},
#ifndef _WIN32
        {"manager: the server killed leaves nothing", test_manager_server_killed},
#endif
        {NULL, NULL},
    };
#ifndef _WIN32
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--optional") == 0)
            py_optional = 1;
        if (i + 1 >= argc)
            continue;
        if (strcmp(argv[i], "--python") == 0)
            py_cmd = argv[i + 1];
        else if (strcmp(argv[i], "--pyenv") == 0)
            py_pyenv = argv[i + 1];
        else if (strcmp(argv[i], "--expect") == 0)
            py_expect = argv[i + 1];
    }
    if (py_cmd) {
        static const test_case py_tests[] = {
            {"python: mproc makes, Python reads and writes", test_python_reads_mproc},
            {"python: Python makes, mproc reads and writes", test_mproc_reads_python},
            {"python: a Python writes beside mproc's writers", test_python_writes_beside_mproc},
            {NULL, NULL},
        };
        /* Python 3.8 reads only its own layout: mproc reads and writes its lists */
        static const test_case py38_tests[] = {
            {"python: Python makes, mproc reads and writes", test_mproc_reads_python},
            {NULL, NULL},
        };
        if (!py_expect) {
            fprintf(stderr, "--python needs --expect X.Y\n");
            return 2;
        }
        if (py_optional && !py_available()) {
            printf("skipped: %s\n", py_problem);
            return 77;
        }
        return run_tests(argc, argv, "sharelist-python", strcmp(py_expect, "3.8") == 0 ? py38_tests : py_tests);
    }
#endif
    return run_tests(argc, argv, "sharelist", tests);
}
