/* SPDX-License-Identifier: MIT */
/* value.c - what both value codecs share: trees, the output buffer, and
 * the public mproc_value_encode / mproc_value_decode. */
#include <stdlib.h>
#include <string.h>

#include "ipc/value.h"

void mproc__vbuf_put(vbuf *b, const void *src, size_t n)
{
    if (b->err || !n)
        return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->err = MPROC_ENOMEM;
                return;
            }
            cap *= 2;
        }
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->err = MPROC_ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

void mproc__vbuf_byte(vbuf *b, unsigned char c) { mproc__vbuf_put(b, &c, 1); }

void mproc__value_free(mproc_mval *v)
{
    if (v->type == MPROC_MV_STR || v->type == MPROC_MV_BYTES) {
        free((void *)v->v.s.ptr);
    } else if (v->type == MPROC_MV_ARRAY || v->type == MPROC_MV_TUPLE || v->type == MPROC_MV_MAP) {
        mproc_mval *items = (mproc_mval *)v->v.a.items;
        size_t n = v->type == MPROC_MV_MAP ? 2 * v->v.a.n : v->v.a.n;
        for (size_t i = 0; items && i < n; i++)
            mproc__value_free(&items[i]);
        free(items);
    }
    *v = mproc_mv_nil();
}

static int hashable(const mproc_mval *v, int depth)
{
    if (v->type == MPROC_MV_ARRAY || v->type == MPROC_MV_MAP || v->type == MPROC_MV_LIST || v->type == MPROC_MV_DICT)
        return 0;
    if (v->type == MPROC_MV_TUPLE) {
        if (depth >= MPROC_VALUE_DEPTH_MAX || (!v->v.a.items && v->v.a.n))
            return 0; /* too deep to encode anyway (or a tuple that holds itself) */
        for (size_t i = 0; i < v->v.a.n; i++)
            if (!hashable(&v->v.a.items[i], depth + 1))
                return 0;
    }
    return 1;
}

int mproc__value_hashable(const mproc_mval *v) { return hashable(v, 0); }

int mproc__value_copy_buf(mproc_mval *out, mproc_mval_type t, const char *p, size_t n)
{
    char *b = n < SIZE_MAX ? malloc(n + 1) : NULL;
    if (!b)
        return MPROC_ENOMEM;
    if (n)
        memcpy(b, p, n);
    b[n] = '\0';
    out->type = t;
    out->v.s.ptr = b;
    out->v.s.len = n;
    return 0;
}

int mproc_value_encode(mproc_mval v, int codec, void **buf, size_t *len)
{
    if (!buf || !len)
        return MPROC_EINVAL;
    *buf = NULL;
    *len = 0;
    vbuf b = {0};
    int rc;
    if (codec == MPROC_CODEC_MSGPACK)
        rc = mproc__value_msgpack_encode(&v, &b);
    else if (codec == MPROC_CODEC_PICKLE)
        rc = mproc__value_pickle_encode(&v, &b);
    else
        return MPROC_EINVAL;
    if (rc == 0)
        rc = b.err;
    if (rc == 0 && !b.p)
        rc = MPROC_EINVAL; /* every encoding has a byte at least */
    if (rc != 0) {
        free(b.p);
        return rc;
    }
    *buf = b.p;
    *len = b.len;
    return 0;
}

int mproc_value_decode(const void *buf, size_t len, int codec, mproc_mval *out)
{
    if (!out)
        return MPROC_EINVAL;
    *out = mproc_mv_nil();
    if (!buf || !len)
        return MPROC_EINVAL;
    const unsigned char *p = buf;
    if (codec == MPROC_CODEC_AUTO)
        codec = p[0] == 0x80 && len > 1 ? MPROC_CODEC_PICKLE : MPROC_CODEC_MSGPACK;
    if (codec == MPROC_CODEC_MSGPACK)
        return mproc__value_msgpack_decode(p, len, out);
    if (codec == MPROC_CODEC_PICKLE)
        return mproc__value_pickle_decode(p, len, out);
    return MPROC_EINVAL;
}
