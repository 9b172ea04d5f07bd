/* SPDX-License-Identifier: MIT */
/* pickle_encode.c - an mproc_mval tree as a pickle of protocol 4 (what
 * Python >= 3.4 reads; Python's Connection.recv unpickles it): data
 * opcodes only, no memo, no frames (both optional in protocol 4). */
#include <string.h>

#include "ipc/value.h"

static void op_len(vbuf *b, unsigned char op, uint64_t n, size_t bytes)
{
    unsigned char h[9];
    h[0] = op;
    for (size_t i = 0; i < bytes; i++)
        h[1 + i] = (unsigned char)(n >> (8 * i)); /* little-endian */
    mproc__vbuf_put(b, h, 1 + bytes);
}

/* Python decodes str as UTF-8 with 'surrogatepass': lone surrogates are fine. */
static int utf8_ok(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
        if (k == 4 || n - i - 1 < k || (k == 1 && c < 0xc2))
            return 0;
        uint32_t cp = k ? c & (0x3f >> k) : c;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += k + 1;
    }
    return 1;
}

static void put_buf(vbuf *b, const mproc_mval *v)
{
    int str = v->type == MPROC_MV_STR;
    size_t n = v->v.s.len;
    if (n < 256)
        op_len(b, str ? 0x8c : 'C', n, 1); /* SHORT_BINUNICODE, SHORT_BINBYTES */
    else if (n <= UINT32_MAX)
        op_len(b, str ? 'X' : 'B', n, 4); /* BINUNICODE, BINBYTES */
    else
        op_len(b, str ? 0x8d : 0x8e, n, 8); /* BINUNICODE8, BINBYTES8 */
    mproc__vbuf_put(b, v->v.s.ptr, n);
}

static int encode(vbuf *b, const mproc_mval *v, int depth)
{
    switch (v->type) {
    case MPROC_MV_NIL:
        mproc__vbuf_byte(b, 'N');
        return 0;
    case MPROC_MV_BOOL:
        mproc__vbuf_byte(b, v->v.i ? 0x88 : 0x89); /* NEWTRUE, NEWFALSE */
        return 0;
    case MPROC_MV_INT: {
        int64_t i = v->v.i;
        if (i >= 0 && i < 256)
            op_len(b, 'K', (uint64_t)i, 1); /* BININT1 */
        else if (i >= 0 && i < 65536)
            op_len(b, 'M', (uint64_t)i, 2); /* BININT2 */
        else if (i >= INT32_MIN && i <= INT32_MAX)
            op_len(b, 'J', (uint64_t)i, 4); /* BININT: two's complement */
        else {
            unsigned char h[10] = {0x8a, 8}; /* LONG1 of 8 bytes, little-endian two's complement */
            for (int k = 0; k < 8; k++)
                h[2 + k] = (unsigned char)((uint64_t)i >> (8 * k));
            mproc__vbuf_put(b, h, sizeof h);
        }
        return 0;
    }
    case MPROC_MV_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->v.d, sizeof bits);
        unsigned char h[9] = {'G'};
        for (int k = 0; k < 8; k++)
            h[1 + k] = (unsigned char)(bits >> (56 - 8 * k)); /* BINFLOAT: big-endian */
        mproc__vbuf_put(b, h, sizeof h);
        return 0;
    }
    case MPROC_MV_STR:
        if (!v->v.s.ptr || !utf8_ok((const unsigned char *)v->v.s.ptr, v->v.s.len))
            return MPROC_EINVAL;
        put_buf(b, v);
        return 0;
    case MPROC_MV_BYTES:
        if (!v->v.s.ptr && v->v.s.len)
            return MPROC_EINVAL;
        put_buf(b, v);
        return 0;
    case MPROC_MV_ARRAY:
    case MPROC_MV_TUPLE:
    case MPROC_MV_MAP:
        break;
    default: /* proxies are not values */
        return MPROC_EINVAL;
    }
    size_t n = v->v.a.n, count = v->type == MPROC_MV_MAP ? 2 * n : n;
    if (depth >= MPROC_VALUE_DEPTH_MAX || (!v->v.a.items && n) || (v->type == MPROC_MV_MAP && n > SIZE_MAX / 2))
        return MPROC_EINVAL;
    if (v->type == MPROC_MV_TUPLE && n == 0) {
        mproc__vbuf_byte(b, ')'); /* EMPTY_TUPLE */
        return 0;
    }
    if (v->type != MPROC_MV_TUPLE)
        mproc__vbuf_byte(b, v->type == MPROC_MV_ARRAY ? ']' : '}'); /* EMPTY_LIST, EMPTY_DICT */
    if (count == 0)
        return 0;
    int small_tuple = v->type == MPROC_MV_TUPLE && n <= 3;
    if (!small_tuple)
        mproc__vbuf_byte(b, '('); /* MARK */
    for (size_t i = 0; i < count; i++) {
        if (v->type == MPROC_MV_MAP && i % 2 == 0 && !mproc__value_hashable(&v->v.a.items[i]))
            return MPROC_EINVAL;
        int rc = encode(b, &v->v.a.items[i], depth + 1);
        if (rc)
            return rc;
    }
    if (small_tuple)
        mproc__vbuf_byte(b, (unsigned char)(0x84 + n)); /* TUPLE1, TUPLE2, TUPLE3 */
    else
        mproc__vbuf_byte(b, v->type == MPROC_MV_TUPLE ? 't' : v->type == MPROC_MV_ARRAY ? 'e' : 'u');
    return 0;
}

int mproc__value_pickle_encode(const mproc_mval *v, vbuf *out)
{
    static const unsigned char proto[2] = {0x80, 4}; /* PROTO 4 */
    mproc__vbuf_put(out, proto, 2);
    int rc = encode(out, v, 0);
    mproc__vbuf_byte(out, '.'); /* STOP */
    return rc ? rc : out->err;
}
