/* SPDX-License-Identifier: MIT */
/* shareable_list.c - mproc_sharelist: Python's ShareableList, byte for byte
 * in an mproc_shm segment, so that Python's ShareableList(name=...) reads
 * and writes a list made here and the other way round.
 *
 * The layout is CPython's Lib/multiprocessing/shared_memory.py, class
 * ShareableList (identical in 3.9.18, 3.10, 3.11, 3.12 and 3.13; 3.8
 * differs, see below). Everything is in native byte order, as struct's
 * default "@" format is:
 *
 *   offset 0        "q": n, the number of items
 *   offset 8        "q" * (n + 1): _allocated_offsets, each item's offset
 *                   into the data area (the first is 0, the last is the
 *                   data area's length): _format_size_metainfo
 *   (n + 2) * 8     the data area (_offset_data_start): item i at its
 *                   offset; an item takes _alignment = 8 bytes, a str or
 *                   bytes item 8 * (len // 8 + 1) (the slot keeps that
 *                   capacity for good: a longer value is a ValueError)
 *   after the data  "8s" * n: each item's struct format, NUL-padded
 *                   (_format_packing_metainfo, _offset_packing_formats):
 *                   _types_mapping: int "q", float "d", bool "xxxxxxx?",
 *                   None "xxxxxx?x", str and bytes "%ds" (the slot size)
 *   after those     "b" * n: each item's back-transform code
 *                   (_format_back_transform_codes,
 *                   _back_transforms_mapping): 0 the value as unpacked
 *                   (int, float, bool), 1 str (trailing NULs stripped,
 *                   then UTF-8 decoded), 2 bytes (trailing NULs stripped),
 *                   3 None
 *
 * The segment is exactly that long (struct.calcsize of the whole). struct
 * zero-fills what it packs ("x" pad bytes, the rest of an "%ds" slot), so
 * a bool is 7 zero bytes and 0 or 1, None is 8 zero bytes.
 *
 * Python 3.8 (checked against pyenv's 3.8.18) stored the items' sizes
 * instead: "q" n, then "q" * n slot sizes (no leading 0), the data area at
 * (n + 1) * 8, the rest as above. Attach reads that layout too (the first
 * offset is always 0, a 3.8 size never is); lists are always made in the
 * current one, which 3.8 cannot read.
 *
 * Python's ShareableList has no lock, and neither has this one: writes of
 * different items touch different bytes (an item's data, its format and
 * its code), so processes may write different items at once; an item
 * written while another process reads it may be read half-written (Python
 * raises then; here the read gives MPROC_EINVAL or a mix). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/object.h"
#include "shmem/shmem.h"

#define ALIGNMENT 8
#define FMT_LEN 8
/* "%ds" must fit 8 characters: slots up to 9999999 bytes, so (a multiple
 * of 8) 9999992, for strings of up to 9999991 bytes (Python asserts). */
#define SLOT_MAX 9999992u
/* A segment may be bigger than its list by its system's page rounding
 * (macOS: 16 KiB pages); this much more, and it holds something else. */
#define ROUNDING_MAX ((size_t)64 << 10)

enum { CODE_VALUE = 0, CODE_STR = 1, CODE_BYTES = 2, CODE_NONE = 3 };
enum { F_BAD = 0, F_INT, F_DOUBLE, F_BOOL, F_NONE, F_STR };

static const char FMT_INT[] = "q", FMT_DOUBLE[] = "d", FMT_BOOL[] = "xxxxxxx?", FMT_NONE[] = "xxxxxx?x";

typedef struct sl_shared {
    core_rec rec;
    char name[BE_SHM_NAME_MAX + 1];
} sl_shared;

struct mproc_sharelist {
    core_obj h;
    sl_shared *s;      /* carries the name to children */
    mproc_shm *shm;    /* owned (lent: mproc_shm_close refuses it) */
    unsigned char *base;
    size_t n;
    size_t data, fmts, codes; /* where the areas begin */
    uint64_t *off;     /* n + 1 offsets into the data area, read once */
};

static mproc_sharelist *valid(const mproc_sharelist *l)
{
    return core_obj_kind(l) == K_SHARELIST ? (mproc_sharelist *)l : NULL;
}

/* ------------------------------------------------------------ items */

/* An item as stored: for strings and bytes p/len point into the segment
 * (trailing NULs stripped). */
typedef struct item {
    mproc_mval_type type;
    int64_t i;
    double d;
    const unsigned char *p;
    size_t len;
} item;

/* One 8-byte format: F_* and, for "%ds", its size. */
static int parse_format(const unsigned char f[FMT_LEN], size_t *size)
{
    size_t len = 0;
    while (len < FMT_LEN && f[len])
        len++;
    for (size_t k = len; k < FMT_LEN; k++)
        if (f[k]) /* a NUL inside: not a struct format */
            return F_BAD;
    if (len == 1 && f[0] == 'q')
        return F_INT;
    if (len == 1 && f[0] == 'd')
        return F_DOUBLE;
    if (len == 8 && memcmp(f, FMT_BOOL, 8) == 0)
        return F_BOOL;
    if (len == 8 && memcmp(f, FMT_NONE, 8) == 0)
        return F_NONE;
    if (len < 2 || f[len - 1] != 's')
        return F_BAD;
    size_t v = 0;
    for (size_t k = 0; k + 1 < len; k++) {
        if (f[k] < '0' || f[k] > '9')
            return F_BAD;
        v = v * 10 + (size_t)(f[k] - '0');
    }
    *size = v;
    return F_STR;
}

static size_t slot_size(const mproc_sharelist *l, size_t k) { return (size_t)(l->off[k + 1] - l->off[k]); }

/* Item k as Python's __getitem__ reads it: its format, unpacked, then its
 * back transform. A format that does not fit the slot or the code:
 * MPROC_EINVAL (a corrupt or half-written item). */
static int read_item(const mproc_sharelist *l, size_t k, item *it)
{
    unsigned char f[FMT_LEN];
    memcpy(f, l->base + l->fmts + k * FMT_LEN, FMT_LEN);
    signed char code = (signed char)l->base[l->codes + k];
    const unsigned char *at = l->base + l->data + l->off[k];
    size_t slot = slot_size(l, k), n = 0;
    int kind = parse_format(f, &n);
    memset(it, 0, sizeof *it);
    if (kind == F_BAD || (kind != F_STR && slot < ALIGNMENT) || (kind == F_STR && n > slot))
        return MPROC_EINVAL;
    if (code == CODE_NONE) { /* None whatever was unpacked */
        it->type = MPROC_MV_NIL;
        return 0;
    }
    if (code == CODE_VALUE) {
        switch (kind) {
        case F_INT:
            it->type = MPROC_MV_INT;
            memcpy(&it->i, at, sizeof it->i);
            return 0;
        case F_DOUBLE:
            it->type = MPROC_MV_DOUBLE;
            memcpy(&it->d, at, sizeof it->d);
            return 0;
        case F_BOOL:
            it->type = MPROC_MV_BOOL;
            it->i = at[7] != 0; /* struct's "?": any non-zero byte is True */
            return 0;
        default:
            return MPROC_EINVAL; /* None's format with code 0, or bytes unpacked as a number */
        }
    }
    if ((code == CODE_STR || code == CODE_BYTES) && kind == F_STR) {
        while (n > 0 && at[n - 1] == 0) /* value.rstrip(b'\x00') */
            n--;
        it->type = code == CODE_STR ? MPROC_MV_STR : MPROC_MV_BYTES;
        it->p = at;
        it->len = n;
        return 0;
    }
    return MPROC_EINVAL;
}

/* 0 for a value the list can hold, else MPROC_EINVAL (a manager proxy,
 * an unknown type, a string without its bytes). */
static int check_value(const mproc_mval *v)
{
    switch (v->type) {
    case MPROC_MV_NIL:
    case MPROC_MV_BOOL:
    case MPROC_MV_INT:
    case MPROC_MV_DOUBLE:
        return 0;
    case MPROC_MV_STR:
        return v->v.s.ptr && v->v.s.len != (size_t)-1 ? 0 : MPROC_EINVAL;
    case MPROC_MV_BYTES:
        return v->v.s.ptr || v->v.s.len == 0 ? 0 : MPROC_EINVAL;
    default: /* manager proxies, unknown types */
        return MPROC_EINVAL;
    }
}

static int is_text(const mproc_mval *v) { return v->type == MPROC_MV_STR || v->type == MPROC_MV_BYTES; }

/* The slot a new item takes: Python's 8 * (len // 8 + 1) for str and
 * bytes, 8 for the rest. len is the length in bytes (Python counts a
 * str's characters, so a non-ASCII str it makes may not fit its slot and
 * is cut short there: Python's own bug, which a list made here avoids). */
static int item_slot(const mproc_mval *v, size_t *slot)
{
    if (!is_text(v)) {
        *slot = ALIGNMENT;
        return 0;
    }
    if (v->v.s.len >= SLOT_MAX) /* its "%ds" would not fit 8 characters */
        return MPROC_EMSGSIZE;
    *slot = ALIGNMENT * (v->v.s.len / ALIGNMENT + 1);
    return 0;
}

static void put_format(unsigned char *dst, const char *fmt)
{
    unsigned char f[FMT_LEN] = {0};
    memcpy(f, fmt, strlen(fmt));
    memcpy(dst, f, FMT_LEN);
}

/* Writes v into item k, as Python's __setitem__: the format and code
 * first, then the value (zero-filled to the format's size). str/bytes keep
 * the slot's "%ds" (made "%ds" of the slot when it held something else). */
static void write_item(mproc_sharelist *l, size_t k, const mproc_mval *v, const char *str_fmt)
{
    unsigned char *at = l->base + l->data + l->off[k];
    unsigned char *fmt = l->base + l->fmts + k * FMT_LEN;
    unsigned char *code = l->base + l->codes + k;
    unsigned char cell[ALIGNMENT] = {0};
    switch (v->type) {
    case MPROC_MV_INT:
        put_format(fmt, FMT_INT);
        *code = CODE_VALUE;
        memcpy(cell, &v->v.i, sizeof v->v.i);
        break;
    case MPROC_MV_DOUBLE:
        put_format(fmt, FMT_DOUBLE);
        *code = CODE_VALUE;
        memcpy(cell, &v->v.d, sizeof v->v.d);
        break;
    case MPROC_MV_BOOL:
        put_format(fmt, FMT_BOOL);
        *code = CODE_VALUE;
        cell[7] = v->v.i != 0;
        break;
    case MPROC_MV_NIL:
        put_format(fmt, FMT_NONE);
        *code = CODE_NONE;
        break;
    default: { /* STR, BYTES (check_value came first); str_fmt is "%ds" */
        size_t n = (size_t)strtoul(str_fmt, NULL, 10);
        put_format(fmt, str_fmt);
        *code = v->type == MPROC_MV_STR ? CODE_STR : CODE_BYTES;
        if (v->v.s.len)
            memcpy(at, v->v.s.ptr, v->v.s.len);
        memset(at + v->v.s.len, 0, n - v->v.s.len);
        return;
    }
    }
    memcpy(at, cell, sizeof cell);
}

/* ------------------------------------------------------------ layout */

static int layout_size(const mproc_mval *items, size_t n, size_t *size)
{
    if ((!items && n) || n > INT32_MAX)
        return MPROC_EINVAL;
    size_t total = (n + 2) * 8 + n * (FMT_LEN + 1);
    for (size_t k = 0; k < n; k++) {
        size_t slot;
        int rc = check_value(&items[k]);
        if (rc || (rc = item_slot(&items[k], &slot)) != 0)
            return rc;
        if (total > SIZE_MAX - slot)
            return MPROC_ENOMEM;
        total += slot;
    }
    *size = total;
    return 0;
}

int mproc__core_sharelist_size(const mproc_mval *items, size_t n, size_t *size)
{
    return layout_size(items, n, size);
}

static void destroy(core_rec *r) { mproc__core_arena_free(r); }

/* A handle around shm (which it takes) once its layout is known: n items
 * at the offsets off (taken). */
static mproc_sharelist *wrap(mproc_shm *shm, size_t n, uint64_t *off, size_t data, int *err)
{
    int rc = 0;
    sl_shared *s = mproc__core_arena_alloc(sizeof *s, &rc);
    mproc_sharelist *l = s ? mproc__core_handle_new(sizeof *l, K_SHARELIST, &rc) : NULL;
    if (!l) {
        mproc__core_arena_free(s);
        free(off);
        *err = rc;
        return NULL;
    }
    strcpy(s->name, mproc_shm_name(shm));
    s->rec.kind = K_SHARELIST;
    atomic_init(&s->rec.refs, 1);
    l->s = s;
    l->shm = shm;
    core_obj_lend(shm, 1); /* the list's own: mproc_shm_close on it is MPROC_ESTATE */
    l->base = mproc_shm_ptr(shm);
    l->n = n;
    l->off = off;
    l->data = data;
    l->fmts = data + (size_t)off[n];
    l->codes = l->fmts + n * FMT_LEN;
    *err = 0;
    return l;
}

mproc_sharelist *mproc__core_sharelist_format(mproc_shm *shm, const mproc_mval *items, size_t n, int *err)
{
    size_t need = 0;
    int rc = layout_size(items, n, &need);
    uint64_t *off = rc ? NULL : calloc(n + 1, sizeof *off);
    if (!rc && !off)
        rc = MPROC_ENOMEM;
    if (!rc && mproc_shm_size(shm) < need)
        rc = MPROC_EINVAL;
    if (rc) {
        free(off);
        *err = rc;
        return NULL;
    }
    for (size_t k = 0; k < n; k++) {
        size_t slot = 0;
        item_slot(&items[k], &slot);
        off[k + 1] = off[k] + slot;
    }
    mproc_sharelist *l = wrap(shm, n, off, (n + 2) * 8, err);
    if (!l)
        return NULL;
    int64_t count = (int64_t)n;
    memcpy(l->base, &count, sizeof count);
    memcpy(l->base + 8, off, (n + 1) * sizeof *off);
    for (size_t k = 0; k < n; k++) {
        char fmt[FMT_LEN + 1];
        snprintf(fmt, sizeof fmt, "%zus", slot_size(l, k));
        write_item(l, k, &items[k], fmt);
    }
    return l;
}

mproc_sharelist *mproc_sharelist_new(const char *name, const mproc_mval *items, size_t n, int *err)
{
    size_t size = 0;
    int rc = layout_size(items, n, &size);
    mproc_shm *shm = rc ? NULL : mproc_shm_open(name, size, 1, &rc);
    mproc_sharelist *l = shm ? mproc__core_sharelist_format(shm, items, n, &rc) : NULL;
    if (shm && !l) {
        mproc_shm_unlink(shm);
        mproc_shm_close(shm);
    }
    if (err)
        *err = l ? 0 : rc;
    return l;
}

/* Reads and checks the header of a list someone else made: the current
 * layout or Python 3.8's (see the top). Only what never changes after the
 * list was made is checked here, the count and the offsets, and that the
 * segment has the size they give it (page-rounded on some systems): items
 * may be written while we attach (Python checks nothing), so a format or
 * code is checked when its item is read (read_item). */
static int read_layout(const unsigned char *base, size_t size, size_t *pn, uint64_t **poff, size_t *pdata)
{
    int64_t count, first = 0;
    if (size < 8)
        return MPROC_EINVAL;
    memcpy(&count, base, sizeof count);
    if (count < 0 || count > INT32_MAX || (uint64_t)count > size / 8)
        return MPROC_EINVAL;
    size_t n = (size_t)count;
    if (n && size >= 16)
        memcpy(&first, base + 8, sizeof first);
    int old = n > 0 && first != 0; /* 3.8: sizes, not offsets */
    size_t data = old ? (n + 1) * 8 : (n + 2) * 8;
    if (n == 0 && size < 16)
        data = 8; /* 3.8's empty list: the count alone */
    if (data > size)
        return MPROC_EINVAL;
    uint64_t *off = calloc(n + 1, sizeof *off);
    if (!off)
        return MPROC_ENOMEM;
    int rc = 0;
    for (size_t k = 0; k < n && !rc; k++) {
        int64_t v; /* 3.8: item k's size; else item k + 1's offset */
        memcpy(&v, base + 8 + (old ? k : k + 1) * 8, sizeof v);
        if (v < 0 || (uint64_t)v > size)
            rc = MPROC_EINVAL;
        else
            off[k + 1] = old ? off[k] + (uint64_t)v : (uint64_t)v;
        /* each slot 8 bytes or a multiple of 8 more */
        if (!rc && (off[k + 1] < off[k] + ALIGNMENT || off[k + 1] % ALIGNMENT || off[k + 1] > size))
            rc = MPROC_EINVAL;
    }
    /* the data, formats and codes fit the segment, which is not much
     * bigger than they need: a page rounding at most */
    if (!rc && (off[n] > size - data || n * (FMT_LEN + 1) > size - data - off[n] ||
                size - data - off[n] - n * (FMT_LEN + 1) >= ROUNDING_MAX))
        rc = MPROC_EINVAL;
    if (rc) {
        free(off);
        return rc;
    }
    *pn = n;
    *poff = off;
    *pdata = data;
    return 0;
}

mproc_sharelist *mproc_sharelist_attach(const char *name, int *err)
{
    int rc = name ? 0 : MPROC_EINVAL;
    mproc_shm *shm = rc ? NULL : mproc_shm_open(name, 0, 0, &rc);
    mproc_sharelist *l = NULL;
    size_t n = 0, data = 0;
    uint64_t *off = NULL;
    if (shm && (rc = read_layout(mproc_shm_ptr(shm), mproc_shm_size(shm), &n, &off, &data)) == 0)
        l = wrap(shm, n, off, data, &rc);
    if (shm && !l)
        mproc_shm_close(shm);
    if (err)
        *err = l ? 0 : rc;
    return l;
}

/* ------------------------------------------------------------ calls */

/* Python's index: negative counts from the end; out of range MPROC_ENOENT. */
static int position(const mproc_sharelist *l, int64_t i, size_t *k)
{
    if (i < 0)
        i += (int64_t)l->n;
    if (i < 0 || (uint64_t)i >= l->n)
        return MPROC_ENOENT;
    *k = (size_t)i;
    return 0;
}

size_t mproc_sharelist_len(const mproc_sharelist *l) { return valid(l) ? l->n : 0; }

int mproc_sharelist_get(mproc_sharelist *l, int64_t i, mproc_mval *out)
{
    size_t k;
    item it;
    if (out)
        *out = mproc_mv_nil();
    if (!valid(l) || !out)
        return MPROC_EINVAL;
    int rc = position(l, i, &k);
    if (rc || (rc = read_item(l, k, &it)) != 0)
        return rc;
    out->type = it.type;
    if (it.type == MPROC_MV_STR || it.type == MPROC_MV_BYTES) {
        char *p = malloc(it.len + 1);
        if (!p) {
            *out = mproc_mv_nil();
            return MPROC_ENOMEM;
        }
        memcpy(p, it.p, it.len);
        p[it.len] = '\0';
        out->v.s.ptr = p;
        out->v.s.len = it.len;
    } else if (it.type == MPROC_MV_DOUBLE) {
        out->v.d = it.d;
    } else {
        out->v.i = it.i;
    }
    return 0;
}

int mproc_sharelist_set(mproc_sharelist *l, int64_t i, mproc_mval v)
{
    size_t k;
    if (!valid(l))
        return MPROC_EINVAL;
    int rc = position(l, i, &k);
    if (rc || (rc = check_value(&v)) != 0)
        return rc;
    size_t slot = slot_size(l, k);
    char fmt[FMT_LEN + 1] = "";
    if (is_text(&v)) {
        if (v.v.s.len > slot) /* Python: ValueError, the slot keeps its capacity */
            return MPROC_EMSGSIZE;
        /* Python keeps a "%ds" format already there; one narrower than the
         * slot (never written by Python or mproc) would cut the value: the
         * slot's own then. */
        unsigned char cur[FMT_LEN];
        size_t have = 0;
        memcpy(cur, l->base + l->fmts + k * FMT_LEN, FMT_LEN);
        if (parse_format(cur, &have) == F_STR && have >= v.v.s.len && have <= slot)
            memcpy(fmt, cur, FMT_LEN);
        else
            snprintf(fmt, sizeof fmt, "%zus", slot);
    }
    write_item(l, k, &v, fmt);
    return 0;
}

/* Python's value == entry for the types a list holds: int and float
 * compare as numbers (1 == 1.0), a bool equals only a bool (Python:
 * True == 1; mproc keeps them apart, as the manager does), str and bytes
 * never equal each other, NaN equals nothing. */
static int int_eq_double(int64_t i, double d)
{
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return 0;
    int64_t t = (int64_t)d;
    return (double)t == d && t == i;
}

static int equal(const item *it, const mproc_mval *v)
{
    switch (v->type) {
    case MPROC_MV_NIL:
        return it->type == MPROC_MV_NIL;
    case MPROC_MV_BOOL:
        return it->type == MPROC_MV_BOOL && it->i == (v->v.i != 0);
    case MPROC_MV_INT:
        return (it->type == MPROC_MV_INT && it->i == v->v.i) || (it->type == MPROC_MV_DOUBLE && int_eq_double(v->v.i, it->d));
    case MPROC_MV_DOUBLE:
        return (it->type == MPROC_MV_DOUBLE && it->d == v->v.d) || (it->type == MPROC_MV_INT && int_eq_double(it->i, v->v.d));
    default: /* STR, BYTES */
        return it->type == v->type && it->len == v->v.s.len && (it->len == 0 || memcmp(it->p, v->v.s.ptr, it->len) == 0);
    }
}

/* The first item equal to v into *first (n if none); with count not
 * NULL, how many there are into *count. */
static int scan(mproc_sharelist *l, const mproc_mval *v, size_t *first, int *count)
{
    if (!valid(l))
        return MPROC_EINVAL;
    int rc = check_value(v);
    *first = l->n;
    for (size_t k = 0; k < l->n && !rc; k++) {
        item it;
        if ((rc = read_item(l, k, &it)) == 0 && equal(&it, v)) {
            if (*first == l->n)
                *first = k;
            if (!count)
                break;
            (*count)++;
        }
    }
    return rc;
}

int mproc_sharelist_count(mproc_sharelist *l, mproc_mval v)
{
    size_t first;
    int count = 0;
    int rc = scan(l, &v, &first, &count);
    return rc ? rc : count;
}

int mproc_sharelist_index(mproc_sharelist *l, mproc_mval v)
{
    size_t first;
    int rc = scan(l, &v, &first, NULL);
    if (rc)
        return rc;
    return first < l->n ? (int)first : MPROC_ENOENT;
}

int mproc_sharelist_format(mproc_sharelist *l, char **out)
{
    if (out)
        *out = NULL;
    if (!valid(l) || !out)
        return MPROC_EINVAL;
    char *s = malloc(l->n * FMT_LEN + 1);
    if (!s)
        return MPROC_ENOMEM;
    size_t len = 0;
    for (size_t k = 0; k < l->n; k++) {
        const unsigned char *f = l->base + l->fmts + k * FMT_LEN;
        for (size_t c = 0; c < FMT_LEN && f[c]; c++)
            s[len++] = (char)f[c];
    }
    s[len] = '\0';
    *out = s;
    return 0;
}

const char *mproc_sharelist_name(const mproc_sharelist *l) { return valid(l) ? mproc_shm_name(l->shm) : NULL; }

mproc_shm *mproc_sharelist_shm(mproc_sharelist *l) { return valid(l) ? l->shm : NULL; }

int mproc_sharelist_unlink(mproc_sharelist *l) { return valid(l) ? mproc_shm_unlink(l->shm) : MPROC_EINVAL; }

static void release(mproc_sharelist *l)
{
    core_obj_lend(l->shm, 0);
    mproc_shm_close(l->shm);
    mproc__core_rec_release(&l->s->rec, destroy);
    free(l->off);
    mproc__core_handle_drop(l);
}

int mproc_sharelist_close(mproc_sharelist *l)
{
    if (!valid(l))
        return MPROC_EINVAL;
    if (core_obj_borrowed(l))
        return MPROC_ESTATE; /* owned by the args it came in */
    release(l);
    return 0;
}

/* ------------------------------------------------------------ children */

/* A child attaches by name (the record carries it). */
static void *adopt(core_rec *rec, int *err)
{
    sl_shared *s = (sl_shared *)rec;
    mproc_sharelist *l = mproc_sharelist_attach(s->name, err);
    if (!l)
        return NULL;
    /* the child's handle uses the parent's record, whose reference the
     * args hand to it, instead of its own new one */
    mproc__core_rec_release(&l->s->rec, destroy);
    l->s = s;
    return l;
}

static core_rec *record(const void *obj) { return &((const mproc_sharelist *)obj)->s->rec; }

static void free_obj(void *obj) { mproc_sharelist_close(obj); }

const core_share_ops mproc__core_sharelist_ops = {
    .kind = K_SHARELIST,
    .record = record,
    .dep = mproc__core_no_dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
};
