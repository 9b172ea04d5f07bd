/* SPDX-License-Identifier: MIT */
/* value_msgpack.c - mproc_mval trees as msgpack (between mproc peers):
 * nil, bool, int, float64, str, bin, array, map, and a tuple as ext
 * VALUE_EXT_TUPLE around the msgpack array of its items. */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "base/unpack.h"
#include "ipc/value.h"

static int vbuf_write(void *data, const char *buf, size_t len)
{
    vbuf *b = data;
    mproc__vbuf_put(b, buf, len);
    return b->err ? -1 : 0;
}

static int encode(msgpack_packer *pk, const mproc_mval *v, int depth);

static int encode_items(msgpack_packer *pk, const mproc_mval *items, size_t n, int depth, int keys)
{
    for (size_t i = 0; i < n; i++) {
        if (keys && i % 2 == 0 && !mproc__value_hashable(&items[i]))
            return MPROC_EINVAL;
        int rc = encode(pk, &items[i], depth);
        if (rc)
            return rc;
    }
    return 0;
}

int mproc__value_pack_scalar(msgpack_packer *pk, const mproc_mval *v)
{
    int rc;
    switch (v->type) {
    case MPROC_MV_NIL:
        rc = msgpack_pack_nil(pk);
        break;
    case MPROC_MV_BOOL:
        rc = v->v.i ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        break;
    case MPROC_MV_INT:
        rc = msgpack_pack_int64(pk, v->v.i);
        break;
    case MPROC_MV_DOUBLE:
        rc = msgpack_pack_double(pk, v->v.d);
        break;
    case MPROC_MV_STR:
    case MPROC_MV_BYTES:
        if ((!v->v.s.ptr && v->v.s.len) || v->v.s.len > UINT32_MAX || (v->type == MPROC_MV_STR && !v->v.s.ptr))
            return MPROC_EINVAL;
        rc = v->type == MPROC_MV_STR ? msgpack_pack_str_with_body(pk, v->v.s.ptr, v->v.s.len)
                                     : msgpack_pack_bin_with_body(pk, v->v.s.ptr, v->v.s.len);
        break;
    default:
        return 1;
    }
    return rc ? MPROC_ENOMEM : 0;
}

static int encode(msgpack_packer *pk, const mproc_mval *v, int depth)
{
    int rc = mproc__value_pack_scalar(pk, v);
    if (rc <= 0)
        return rc;
    switch (v->type) {
    case MPROC_MV_ARRAY:
    case MPROC_MV_MAP:
    case MPROC_MV_TUPLE: {
        size_t n = v->v.a.n;
        if (depth >= MPROC_VALUE_DEPTH_MAX || (!v->v.a.items && n) || n > UINT32_MAX)
            return MPROC_EINVAL;
        if (v->type == MPROC_MV_ARRAY) {
            if (msgpack_pack_array(pk, n))
                return MPROC_ENOMEM;
            return encode_items(pk, v->v.a.items, n, depth + 1, 0);
        }
        if (v->type == MPROC_MV_MAP) {
            if (msgpack_pack_map(pk, n))
                return MPROC_ENOMEM;
            return encode_items(pk, v->v.a.items, 2 * n, depth + 1, 1);
        }
        vbuf body = {0};
        msgpack_packer inner;
        msgpack_packer_init(&inner, &body, vbuf_write);
        rc = msgpack_pack_array(&inner, n) ? MPROC_ENOMEM : encode_items(&inner, v->v.a.items, n, depth + 1, 0);
        if (rc == 0 && body.err)
            rc = body.err;
        if (rc == 0 && body.len > UINT32_MAX)
            rc = MPROC_EINVAL;
        if (rc == 0 && msgpack_pack_ext_with_body(pk, body.p, body.len, VALUE_EXT_TUPLE))
            rc = MPROC_ENOMEM;
        free(body.p);
        return rc;
    }
    default: /* proxies (a manager's list or dict) are not values */
        return MPROC_EINVAL;
    }
}

int mproc__value_msgpack_encode(const mproc_mval *v, vbuf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, vbuf_write);
    int rc = encode(&pk, v, 0);
    return rc == 0 ? out->err : rc;
}

static int decode_obj(const msgpack_object *o, int depth, mproc_mval *out);

static int decode_packed(const unsigned char *buf, size_t len, int depth, mproc_mval *out)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = MPROC_EINVAL;
    if (mproc__core_unpack(&up, (const char *)buf, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len)
        rc = decode_obj(&up.data, depth, out);
    msgpack_unpacked_destroy(&up);
    return rc;
}

/* An array of n msgpack objects. On failure the items not decoded are
 * NIL, so the caller frees the whole tree. */
static int decode_items(const msgpack_object *objs, size_t n, int depth, mproc_mval *out)
{
    mproc_mval *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return MPROC_ENOMEM;
    out->type = MPROC_MV_ARRAY;
    out->v.a.items = items;
    out->v.a.n = n;
    for (size_t i = 0; i < n; i++) {
        int rc = decode_obj(&objs[i], depth, &items[i]);
        if (rc)
            return rc;
    }
    return 0;
}

int mproc__value_unpack_scalar(const msgpack_object *o, mproc_mval *out)
{
    *out = mproc_mv_nil();
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        *out = mproc_mv_bool(o->via.boolean);
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > INT64_MAX)
            return MPROC_EINVAL;
        *out = mproc_mv_int((int64_t)o->via.u64);
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = mproc_mv_int(o->via.i64);
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = mproc_mv_double(o->via.f64);
        return 0;
    case MSGPACK_OBJECT_STR:
        return mproc__value_copy_buf(out, MPROC_MV_STR, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return mproc__value_copy_buf(out, MPROC_MV_BYTES, o->via.bin.ptr, o->via.bin.size);
    default:
        return 1;
    }
}

static int decode_obj(const msgpack_object *o, int depth, mproc_mval *out)
{
    int rc = mproc__value_unpack_scalar(o, out);
    if (rc <= 0)
        return rc;
    switch (o->type) {
    case MSGPACK_OBJECT_ARRAY:
        if (depth >= MPROC_VALUE_DEPTH_MAX)
            return MPROC_EINVAL;
        return decode_items(o->via.array.ptr, o->via.array.size, depth + 1, out);
    case MSGPACK_OBJECT_MAP: {
        if (depth >= MPROC_VALUE_DEPTH_MAX)
            return MPROC_EINVAL;
        /* msgpack-c keeps a map as key/value structs: flatten them */
        size_t n = o->via.map.size;
        mproc_mval *items = calloc(n ? 2 * n : 1, sizeof *items);
        if (!items)
            return MPROC_ENOMEM;
        out->type = MPROC_MV_MAP;
        out->v.a.items = items;
        out->v.a.n = n;
        for (size_t i = 0; i < n; i++) {
            int rc = decode_obj(&o->via.map.ptr[i].key, depth + 1, &items[2 * i]);
            if (rc == 0)
                rc = decode_obj(&o->via.map.ptr[i].val, depth + 1, &items[2 * i + 1]);
            if (rc)
                return rc; /* the unset items are NIL: the caller frees the lot */
        }
        return 0;
    }
    case MSGPACK_OBJECT_EXT: {
        if (o->via.ext.type != VALUE_EXT_TUPLE || depth >= MPROC_VALUE_DEPTH_MAX)
            return MPROC_EINVAL;
        const unsigned char *b = (const unsigned char *)o->via.ext.ptr;
        if (!o->via.ext.size || !((b[0] >= 0x90 && b[0] <= 0x9f) || b[0] == 0xdc || b[0] == 0xdd))
            return MPROC_EINVAL; /* the body must be an array */
        int rc = decode_packed(b, o->via.ext.size, depth, out);
        if (out->type == MPROC_MV_ARRAY)
            out->type = MPROC_MV_TUPLE;
        return rc;
    }
    default:
        return MPROC_EINVAL;
    }
}

int mproc__value_msgpack_decode(const unsigned char *buf, size_t len, mproc_mval *out)
{
    int rc = decode_packed(buf, len, 0, out);
    if (rc)
        mproc__value_free(out);
    return rc;
}
