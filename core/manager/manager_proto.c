/* SPDX-License-Identifier: MIT */
/* manager_proto.c - mproc_mval on the wire (msgpack): the scalars as values
 * over connections have them (ipc/value_msgpack.c), and proxies as ext
 * MGR_EXT_PROXY. */
#include <stdlib.h>
#include <string.h>

#include "ipc/value.h"
#include "manager/manager.h"

static int pack_proxy(msgpack_packer *pk, const void *proxy, uint32_t type, const mgr_client *server)
{
    const mgr_proxy *p = mproc__mgr_proxy_of(proxy, 1u << type);
    if (!p || (server && p->cl != server))
        return MPROC_EINVAL;
    unsigned char ext[9];
    ext[0] = (unsigned char)type;
    for (int i = 0; i < 8; i++)
        ext[1 + i] = (unsigned char)(p->id >> (56 - 8 * i));
    return msgpack_pack_ext_with_body(pk, ext, sizeof ext, MGR_EXT_PROXY) ? MPROC_ENOMEM : 0;
}

int mproc__mgr_pack_mval(msgpack_packer *pk, const mproc_mval *v, const mgr_client *server)
{
    int rc = mproc__value_pack_scalar(pk, v); /* ipc/value_msgpack.c */
    if (rc <= 0)
        return rc;
    if (v->type == MPROC_MV_LIST)
        return pack_proxy(pk, v->v.list, MT_LIST, server);
    if (v->type == MPROC_MV_DICT)
        return pack_proxy(pk, v->v.dict, MT_DICT, server);
    return MPROC_EINVAL; /* the local containers are not stored */
}

static int unpack_proxy(const msgpack_object *o, mgr_client *cl, mproc_mval *out)
{
    const unsigned char *e = (const unsigned char *)o->via.ext.ptr;
    if (o->via.ext.type != MGR_EXT_PROXY || o->via.ext.size != 9 || (e[0] != MT_LIST && e[0] != MT_DICT) || !cl)
        return MPROC_EINVAL;
    uint64_t id = 0;
    for (int i = 0; i < 8; i++)
        id = id << 8 | e[1 + i];
    int rc = 0;
    mgr_proxy *p = mproc__mgr_proxy_new(cl, e[0], id, 1, &rc); /* the server gave us a reference */
    if (!p)
        return rc;
    out->type = e[0] == MT_LIST ? MPROC_MV_LIST : MPROC_MV_DICT;
    if (e[0] == MT_LIST)
        out->v.list = (mproc_mlist *)p;
    else
        out->v.dict = (mproc_mdict *)p;
    return 0;
}

int mproc__mgr_unpack_mval(const msgpack_object *o, mgr_client *cl, mproc_mval *out)
{
    int rc = mproc__value_unpack_scalar(o, out);
    if (rc <= 0)
        return rc;
    return o->type == MSGPACK_OBJECT_EXT ? unpack_proxy(o, cl, out) : MPROC_EINVAL;
}

int mproc__mgr_obj_int(const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *out = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = o->via.i64;
    else
        return MPROC_EINVAL;
    return 0;
}

int mproc__mgr_obj_num(const msgpack_object *o, double *out)
{
    int64_t i;
    if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
        *out = o->via.f64;
    else if (mproc__mgr_obj_int(o, &i) == 0)
        *out = (double)i;
    else
        return MPROC_EINVAL;
    return 0;
}

void mproc_mval_clear(mproc_mval *v)
{
    if (!v)
        return;
    if (v->type == MPROC_MV_LIST || v->type == MPROC_MV_DICT)
        mproc__mgr_proxy_release(mproc__mgr_proxy_of(v->type == MPROC_MV_LIST ? (void *)v->v.list : (void *)v->v.dict,
                                       (1u << MT_LIST) | (1u << MT_DICT)));
    else
        mproc__value_free(v); /* strings, bytes, a received tree (ipc/value.c) */
    *v = mproc_mv_nil();
}

void mproc_mvals_free(mproc_mval *vals, size_t n)
{
    for (size_t i = 0; vals && i < n; i++)
        mproc_mval_clear(&vals[i]);
    free(vals);
}
