/* SPDX-License-Identifier: MIT */
/* manager_proxy.c - the list, dict, Namespace, Value and Array proxies:
 * each call is one request (manager.h) and returns what the server said. */
#include <stdlib.h>
#include <string.h>

#include "manager/manager.h"

#define T_LIST (1u << MT_LIST)
#define T_DICT (1u << MT_DICT)
#define T_NS (1u << MT_NAMESPACE)
#define T_VALUE (1u << MT_VALUE)
#define T_ARRAY (1u << MT_ARRAY)

/* [op, id, ints..., vals...] -> status, and the reply value in *out. */
static int call(const void *proxy, unsigned types, int op, const int64_t *ints, size_t ni, const mproc_mval *vals,
                size_t nv, mproc_mval *out)
{
    mgr_proxy *p = mproc__mgr_proxy_of(proxy, types);
    if (!p)
        return MPROC_EINVAL;
    mgr_call c;
    mproc__mgr_call_begin(&c, op, p->id, ni + nv);
    int rc = 0;
    for (size_t i = 0; i < ni; i++)
        msgpack_pack_int64(&c.pk, ints[i]);
    for (size_t i = 0; i < nv && rc == 0; i++)
        rc = mproc__mgr_pack_mval(&c.pk, &vals[i], p->cl);
    if (rc == 0)
        rc = mproc__mgr_proxy_call(&c, p, MGR_NOW);
    if (rc == 0 && out)
        rc = mproc__mgr_unpack_mval(c.value, p->cl, out);
    mproc__mgr_call_end(&c);
    return rc;
}

/* A reply that is a count or a flag. */
static int call_int(const void *proxy, unsigned types, int op, const mproc_mval *key)
{
    mproc_mval v = mproc_mv_nil();
    int rc = call(proxy, types, op, NULL, 0, key, key ? 1 : 0, &v);
    if (rc == 0)
        rc = v.type == MPROC_MV_INT && v.v.i >= 0 && v.v.i <= INT32_MAX ? (int)v.v.i : MPROC_EBROKEN;
    mproc_mval_clear(&v);
    return rc;
}

/* A reply that is an array of values. */
static int call_array(const void *proxy, unsigned types, int op, const int64_t *ints, size_t ni, mproc_mval **vals,
                      size_t *n)
{
    mgr_proxy *p = mproc__mgr_proxy_of(proxy, types);
    if (!p || !vals || !n)
        return MPROC_EINVAL;
    *vals = NULL;
    *n = 0;
    mgr_call c;
    mproc__mgr_call_begin(&c, op, p->id, ni);
    for (size_t i = 0; i < ni; i++)
        msgpack_pack_int64(&c.pk, ints[i]);
    int rc = mproc__mgr_proxy_call(&c, p, MGR_NOW);
    if (rc == 0 && c.value->type != MSGPACK_OBJECT_ARRAY)
        rc = MPROC_EBROKEN;
    size_t k = rc == 0 ? c.value->via.array.size : 0;
    mproc_mval *out = rc == 0 ? calloc(k ? k : 1, sizeof *out) : NULL;
    if (rc == 0 && !out)
        rc = MPROC_ENOMEM;
    for (size_t i = 0; i < k && rc == 0; i++)
        rc = mproc__mgr_unpack_mval(&c.value->via.array.ptr[i], p->cl, &out[i]);
    mproc__mgr_call_end(&c);
    if (rc) {
        mproc_mvals_free(out, k);
        return rc;
    }
    *vals = out;
    *n = k;
    return 0;
}

static void release(void *proxy, unsigned types)
{
    /* A handle that belongs to a child's args is theirs to free. */
    if (!core_obj_borrowed(proxy))
        mproc__mgr_proxy_release(mproc__mgr_proxy_of(proxy, types));
}

/* ------------------------------------------------------------ list */

int mproc_mlist_append(mproc_mlist *l, mproc_mval v) { return call(l, T_LIST, OP_L_APPEND, NULL, 0, &v, 1, NULL); }

int mproc_mlist_extend(mproc_mlist *l, const mproc_mval *vals, size_t n)
{
    mgr_proxy *p = mproc__mgr_proxy_of(l, T_LIST);
    if (!p || (!vals && n) || n > UINT32_MAX)
        return MPROC_EINVAL;
    mgr_call c;
    mproc__mgr_call_begin(&c, OP_L_EXTEND, p->id, 1);
    msgpack_pack_array(&c.pk, n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = mproc__mgr_pack_mval(&c.pk, &vals[i], p->cl);
    if (rc == 0)
        rc = mproc__mgr_proxy_call(&c, p, MGR_NOW);
    mproc__mgr_call_end(&c);
    return rc;
}

int mproc_mlist_get(mproc_mlist *l, int64_t i, mproc_mval *out)
{
    return out ? call(l, T_LIST, OP_L_GET, &i, 1, NULL, 0, out) : MPROC_EINVAL;
}

int mproc_mlist_set(mproc_mlist *l, int64_t i, mproc_mval v) { return call(l, T_LIST, OP_L_SET, &i, 1, &v, 1, NULL); }

int mproc_mlist_insert(mproc_mlist *l, int64_t i, mproc_mval v)
{
    return call(l, T_LIST, OP_L_INSERT, &i, 1, &v, 1, NULL);
}

int mproc_mlist_pop(mproc_mlist *l, int64_t i, mproc_mval *out)
{
    mproc_mval v;
    int rc = call(l, T_LIST, OP_L_POP, &i, 1, NULL, 0, &v);
    if (rc == 0 && out)
        *out = v;
    else if (rc == 0)
        mproc_mval_clear(&v);
    return rc;
}

int mproc_mlist_len(mproc_mlist *l) { return call_int(l, T_LIST, OP_L_LEN, NULL); }

int mproc_mlist_reverse(mproc_mlist *l) { return call(l, T_LIST, OP_L_REVERSE, NULL, 0, NULL, 0, NULL); }

int mproc_mlist_slice(mproc_mlist *l, int64_t start, int64_t stop, mproc_mval **vals, size_t *n)
{
    int64_t b[2] = {start, stop};
    return call_array(l, T_LIST, OP_L_SLICE, b, 2, vals, n);
}

void mproc_mlist_free(mproc_mlist *l) { release(l, T_LIST); }

/* ------------------------------------------------------------ dict */

int mproc_mdict_set(mproc_mdict *d, mproc_mval key, mproc_mval v)
{
    mproc_mval kv[2] = {key, v};
    return call(d, T_DICT, OP_D_SET, NULL, 0, kv, 2, NULL);
}

int mproc_mdict_get(mproc_mdict *d, mproc_mval key, mproc_mval *out)
{
    return out ? call(d, T_DICT, OP_D_GET, NULL, 0, &key, 1, out) : MPROC_EINVAL;
}

int mproc_mdict_del(mproc_mdict *d, mproc_mval key) { return call(d, T_DICT, OP_D_DEL, NULL, 0, &key, 1, NULL); }

int mproc_mdict_contains(mproc_mdict *d, mproc_mval key) { return call_int(d, T_DICT, OP_D_CONTAINS, &key); }

int mproc_mdict_len(mproc_mdict *d) { return call_int(d, T_DICT, OP_D_LEN, NULL); }

int mproc_mdict_keys(mproc_mdict *d, mproc_mval **keys, size_t *n)
{
    return call_array(d, T_DICT, OP_D_KEYS, NULL, 0, keys, n);
}

int mproc_mdict_items(mproc_mdict *d, mproc_mval **kv, size_t *n)
{
    int rc = call_array(d, T_DICT, OP_D_ITEMS, NULL, 0, kv, n);
    if (rc == 0)
        *n /= 2;
    return rc;
}

void mproc_mdict_free(mproc_mdict *d) { release(d, T_DICT); }

/* ------------------------------------------------------------ namespace */

int mproc_namespace_set(mproc_namespace *ns, const char *name, mproc_mval v)
{
    mproc_mval kv[2] = {mproc_mv_str(name), v};
    return name ? call(ns, T_NS, OP_D_SET, NULL, 0, kv, 2, NULL) : MPROC_EINVAL;
}

int mproc_namespace_get(mproc_namespace *ns, const char *name, mproc_mval *out)
{
    mproc_mval k = mproc_mv_str(name);
    return name && out ? call(ns, T_NS, OP_D_GET, NULL, 0, &k, 1, out) : MPROC_EINVAL;
}

int mproc_namespace_del(mproc_namespace *ns, const char *name)
{
    mproc_mval k = mproc_mv_str(name);
    return name ? call(ns, T_NS, OP_D_DEL, NULL, 0, &k, 1, NULL) : MPROC_EINVAL;
}

void mproc_namespace_free(mproc_namespace *ns) { release(ns, T_NS); }

/* ------------------------------------------------------------ value, array */

int mproc_mvalue_get(mproc_mvalue *v, mproc_mval *out)
{
    return out ? call(v, T_VALUE, OP_V_GET, NULL, 0, NULL, 0, out) : MPROC_EINVAL;
}

int mproc_mvalue_set(mproc_mvalue *v, mproc_mval x) { return call(v, T_VALUE, OP_V_SET, NULL, 0, &x, 1, NULL); }

void mproc_mvalue_free(mproc_mvalue *v) { release(v, T_VALUE); }

int mproc_marray_get(mproc_marray *a, int64_t i, mproc_mval *out)
{
    return out ? call(a, T_ARRAY, OP_A_GET, &i, 1, NULL, 0, out) : MPROC_EINVAL;
}

int mproc_marray_set(mproc_marray *a, int64_t i, mproc_mval x) { return call(a, T_ARRAY, OP_A_SET, &i, 1, &x, 1, NULL); }

int mproc_marray_len(mproc_marray *a) { return call_int(a, T_ARRAY, OP_A_LEN, NULL); }

/* The reply is [element size, bytes]. */
int mproc_marray_read(mproc_marray *a, int64_t start, int64_t stop, void *buf, size_t cap, size_t *n)
{
    mgr_proxy *p = mproc__mgr_proxy_of(a, T_ARRAY);
    if (!p || (!buf && cap) || !n)
        return MPROC_EINVAL;
    *n = 0;
    mgr_call c;
    mproc__mgr_call_begin(&c, OP_A_READ, p->id, 2);
    msgpack_pack_int64(&c.pk, start);
    msgpack_pack_int64(&c.pk, stop);
    int rc = mproc__mgr_proxy_call(&c, p, MGR_NOW);
    int64_t size = 0;
    const msgpack_object *v = c.value;
    if (rc == 0 && (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size != 2 ||
                    mproc__mgr_obj_int(&v->via.array.ptr[0], &size) || size <= 0 ||
                    v->via.array.ptr[1].type != MSGPACK_OBJECT_BIN))
        rc = MPROC_EBROKEN;
    if (rc == 0) {
        const msgpack_object *b = &v->via.array.ptr[1];
        size_t count = b->via.bin.size / (size_t)size;
        *n = count;
        if (count > cap)
            rc = MPROC_EMSGSIZE;
        else if (count)
            memcpy(buf, b->via.bin.ptr, b->via.bin.size);
    }
    mproc__mgr_call_end(&c);
    return rc;
}

void mproc_marray_free(mproc_marray *a) { release(a, T_ARRAY); }
