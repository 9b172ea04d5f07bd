/* SPDX-License-Identifier: MIT */
/* manager_data.c - the server's list, dict, Namespace, Value and Array:
 * creation and requests. Indexes follow Python (negative from the end;
 * out of range: MPROC_ENOENT). */
#include <stdlib.h>
#include <string.h>

#include "manager/manager_srv.h"

#define BIT(t) (1u << (t))
#define DICTS (BIT(MT_DICT) | BIT(MT_NAMESPACE))
#define ARRAYS (BIT(MT_VALUE) | BIT(MT_ARRAY))

static int list_push(sobj *o, size_t at, blob b)
{
    if (o->u.list.n == o->u.list.cap) {
        size_t cap = o->u.list.cap ? o->u.list.cap * 2 : 8;
        blob *v = realloc(o->u.list.v, cap * sizeof *v);
        if (!v)
            return MPROC_ENOMEM;
        o->u.list.v = v;
        o->u.list.cap = cap;
    }
    memmove(o->u.list.v + at + 1, o->u.list.v + at, (o->u.list.n - at) * sizeof(blob));
    o->u.list.v[at] = b;
    o->u.list.n++;
    return 0;
}

/* Appends every value of a msgpack array (all or none). */
static int list_extend(mgr_server *S, sobj *o, const msgpack_object *arr)
{
    if (arr->type != MSGPACK_OBJECT_ARRAY)
        return MPROC_EINVAL;
    size_t n0 = o->u.list.n;
    int rc = 0;
    for (uint32_t i = 0; i < arr->via.array.size && rc == 0; i++) {
        blob b;
        if ((rc = mproc__blob_canon(&arr->via.array.ptr[i], 0, S, &b)) == 0 && (rc = list_push(o, o->u.list.n, b)) != 0)
            mproc__val_free(S, &b);
    }
    while (rc && o->u.list.n > n0)
        mproc__val_free(S, &o->u.list.v[--o->u.list.n]);
    return rc;
}

static int create_array(sobj *o, const msgpack_object *a, uint32_t n)
{
    int64_t tc, count = 1;
    if (mproc__srv_arg_int(a, n, 1, &tc) || tc <= 0 || tc > 127 || tc == 'u' || !mproc_typecode_size((char)tc))
        return MPROC_EINVAL;
    if (o->type == MT_ARRAY && (mproc__srv_arg_int(a, n, 2, &count) || count < 0 || count > (1 << 28)))
        return MPROC_EINVAL;
    o->u.arr.tc = (char)tc;
    o->u.arr.size = mproc_typecode_size((char)tc);
    o->u.arr.n = (size_t)count;
    if (!(o->u.arr.data = calloc(count ? (size_t)count : 1, o->u.arr.size)))
        return MPROC_ENOMEM;
    if (o->type == MT_VALUE)
        return n > 2 && a[2].type != MSGPACK_OBJECT_NIL ? mproc__tc_store(o->u.arr.tc, o->u.arr.data, &a[2]) : 0;
    if (n > 3 && a[3].type == MSGPACK_OBJECT_BIN) {
        if (a[3].via.bin.size != o->u.arr.n * o->u.arr.size)
            return MPROC_EINVAL;
        memcpy(o->u.arr.data, a[3].via.bin.ptr, a[3].via.bin.size);
    }
    return 0;
}

int mproc__srv_create(mgr_server *S, sconn *c, const msgpack_object *a, uint32_t n, sobj **out)
{
    (void)c;
    int64_t type;
    if (mproc__srv_arg_int(a, n, 0, &type) || type <= 0 || type >= MT_MAX)
        return MPROC_EINVAL;
    sobj *o = calloc(1, sizeof *o);
    if (!o)
        return MPROC_ENOMEM;
    o->type = (uint32_t)type;
    int rc = 0;
    if (type == MT_LIST && n > 1)
        rc = list_extend(S, o, &a[1]);
    else if (type == MT_VALUE || type == MT_ARRAY)
        rc = create_array(o, a, n);
    else if (type != MT_LIST && type != MT_DICT && type != MT_NAMESPACE)
        rc = mproc__srv_create_sync(o, a, n, S);
    if (rc) {
        mproc__srv_destroy_obj(S, o);
        return rc;
    }
    *out = o;
    return 0;
}

void mproc__srv_destroy_obj(mgr_server *S, sobj *o)
{
    if (o->type == MT_LIST) {
        for (size_t i = 0; i < o->u.list.n; i++)
            mproc__val_free(S, &o->u.list.v[i]);
        free(o->u.list.v);
    } else if (o->type == MT_DICT || o->type == MT_NAMESPACE) {
        mproc__dict_clear(S, &o->u.dict);
    } else if (o->type == MT_VALUE || o->type == MT_ARRAY) {
        free(o->u.arr.data);
    } else {
        mproc__srv_destroy_sync(S, o);
    }
    free(o);
}

/* Python's index: negative counts from the end. end: insert may name n. */
static int list_index(const sobj *o, const msgpack_object *a, uint32_t n, uint32_t i, size_t *at)
{
    int64_t k;
    if (mproc__srv_arg_int(a, n, i, &k))
        return MPROC_EINVAL;
    int64_t len = (int64_t)o->u.list.n;
    if (k < 0)
        k += len;
    if (k < 0 || k >= len)
        return MPROC_ENOENT;
    *at = (size_t)k;
    return 0;
}

/* Python's slice bounds, clamped to [0, len]. */
static size_t clamp(int64_t k, size_t len)
{
    if (k < 0)
        k += (int64_t)len;
    return k < 0 ? 0 : (uint64_t)k > len ? len : (size_t)k;
}

static void reply_blob(mgr_server *S, sconn *c, const blob *b)
{
    mproc__blob_pack(mproc__srv_begin(S, 0), b);
    mproc__srv_give(S, c, b);
    mproc__srv_send(S, c);
}

static void on_list(mgr_server *S, sconn *c, int op, sobj *o, const msgpack_object *a, uint32_t n)
{
    size_t at = 0;
    int64_t k1, k2;
    blob b = {0};
    int rc = 0;
    switch (op) {
    case OP_L_APPEND:
    case OP_L_INSERT: {
        uint32_t vi = op == OP_L_APPEND ? 0 : 1;
        at = o->u.list.n;
        if (op == OP_L_INSERT && (rc = mproc__srv_arg_int(a, n, 0, &k1)) == 0)
            at = clamp(k1, o->u.list.n);
        if (rc == 0 && (rc = n > vi ? mproc__blob_canon(&a[vi], 0, S, &b) : MPROC_EINVAL) == 0 &&
            (rc = list_push(o, at, b)) != 0)
            mproc__val_free(S, &b);
        break;
    }
    case OP_L_EXTEND:
        rc = n ? list_extend(S, o, &a[0]) : MPROC_EINVAL;
        break;
    case OP_L_GET:
        if ((rc = list_index(o, a, n, 0, &at)) == 0) {
            reply_blob(S, c, &o->u.list.v[at]);
            return;
        }
        break;
    case OP_L_SET:
        if ((rc = list_index(o, a, n, 0, &at)) == 0 && (rc = n > 1 ? mproc__blob_canon(&a[1], 0, S, &b) : MPROC_EINVAL) == 0) {
            mproc__val_free(S, &o->u.list.v[at]);
            o->u.list.v[at] = b;
        }
        break;
    case OP_L_POP:
        if ((rc = list_index(o, a, n, 0, &at)) == 0) {
            b = o->u.list.v[at];
            memmove(o->u.list.v + at, o->u.list.v + at + 1, (--o->u.list.n - at) * sizeof(blob));
            reply_blob(S, c, &b);
            mproc__val_free(S, &b);
            return;
        }
        break;
    case OP_L_LEN:
        mproc__srv_int(S, c, (int64_t)o->u.list.n);
        return;
    case OP_L_REVERSE:
        for (size_t i = 0, j = o->u.list.n; i + 1 < j; i++, j--) {
            b = o->u.list.v[i];
            o->u.list.v[i] = o->u.list.v[j - 1];
            o->u.list.v[j - 1] = b;
        }
        break;
    case OP_L_SLICE:
        if ((rc = mproc__srv_arg_int(a, n, 0, &k1)) == 0 && (rc = mproc__srv_arg_int(a, n, 1, &k2)) == 0) {
            size_t s = clamp(k1, o->u.list.n), e = clamp(k2, o->u.list.n);
            e = e < s ? s : e;
            msgpack_packer *pk = mproc__srv_begin(S, 0);
            msgpack_pack_array(pk, e - s);
            for (size_t i = s; i < e; i++) {
                mproc__blob_pack(pk, &o->u.list.v[i]);
                mproc__srv_give(S, c, &o->u.list.v[i]);
            }
            mproc__srv_send(S, c);
            return;
        }
        break;
    }
    mproc__srv_status(S, c, rc);
}

static void on_dict(mgr_server *S, sconn *c, int op, sobj *o, const msgpack_object *a, uint32_t n)
{
    sdict *d = &o->u.dict;
    blob key = {0}, val = {0};
    int rc = 0, at = -1;
    if (op == OP_D_LEN) {
        mproc__srv_int(S, c, (int64_t)d->live);
        return;
    }
    if (op == OP_D_KEYS || op == OP_D_ITEMS) {
        msgpack_packer *pk = mproc__srv_begin(S, 0);
        msgpack_pack_array(pk, op == OP_D_KEYS ? d->live : 2 * d->live);
        for (size_t i = 0; i < d->ne; i++)
            if (d->e[i].live) {
                mproc__blob_pack(pk, &d->e[i].key);
                if (op == OP_D_ITEMS) {
                    mproc__blob_pack(pk, &d->e[i].val);
                    mproc__srv_give(S, c, &d->e[i].val);
                }
            }
        mproc__srv_send(S, c);
        return;
    }
    /* The rest take a key; a Namespace's keys are names. */
    if (n < 1 || (o->type == MT_NAMESPACE && a[0].type != MSGPACK_OBJECT_STR)) {
        mproc__srv_status(S, c, MPROC_EINVAL);
        return;
    }
    if ((rc = mproc__blob_canon(&a[0], 1, S, &key)) != 0) {
        mproc__srv_status(S, c, rc);
        return;
    }
    if (op != OP_D_SET)
        at = mproc__dict_find(d, &key, mproc__blob_hash(&key));
    int replied = 0;
    switch (op) {
    case OP_D_SET:
        if ((rc = n > 1 ? mproc__blob_canon(&a[1], 0, S, &val) : MPROC_EINVAL) == 0 && (rc = mproc__dict_set(S, d, &key, &val)) == 0)
            key.p = val.p = NULL; /* taken */
        break;
    case OP_D_GET:
        if (at >= 0) {
            reply_blob(S, c, &d->e[at].val);
            replied = 1;
        }
        rc = MPROC_ENOENT;
        break;
    case OP_D_DEL:
        rc = at >= 0 ? mproc__dict_del(S, d, (size_t)at) : MPROC_ENOENT;
        break;
    default: /* OP_D_CONTAINS */
        mproc__srv_int(S, c, at >= 0);
        replied = 1;
    }
    mproc__blob_free(&key);
    mproc__val_free(S, &val);
    if (!replied)
        mproc__srv_status(S, c, rc);
}

static int array_index(const sobj *o, const msgpack_object *a, uint32_t n, size_t *at)
{
    int64_t k = 0;
    if (o->type == MT_VALUE) {
        *at = 0;
        return 0;
    }
    if (mproc__srv_arg_int(a, n, 0, &k))
        return MPROC_EINVAL;
    if (k < 0)
        k += (int64_t)o->u.arr.n;
    if (k < 0 || (uint64_t)k >= o->u.arr.n)
        return MPROC_ENOENT;
    *at = (size_t)k;
    return 0;
}

static void on_array(mgr_server *S, sconn *c, int op, sobj *o, const msgpack_object *a, uint32_t n)
{
    size_t at = 0, sz = o->u.arr.size;
    int64_t k1, k2;
    int rc;
    switch (op) {
    case OP_V_GET:
    case OP_A_GET:
        if ((rc = array_index(o, a, n, &at)) != 0)
            break;
        mproc__tc_load(o->u.arr.tc, o->u.arr.data + at * sz, mproc__srv_begin(S, 0));
        mproc__srv_send(S, c);
        return;
    case OP_V_SET:
    case OP_A_SET: {
        uint32_t vi = op == OP_V_SET ? 0 : 1;
        if ((rc = array_index(o, a, n, &at)) == 0)
            rc = n > vi ? mproc__tc_store(o->u.arr.tc, o->u.arr.data + at * sz, &a[vi]) : MPROC_EINVAL;
        break;
    }
    case OP_A_LEN:
        mproc__srv_int(S, c, (int64_t)o->u.arr.n);
        return;
    default: /* OP_A_READ */
        if ((rc = mproc__srv_arg_int(a, n, 0, &k1)) == 0 && (rc = mproc__srv_arg_int(a, n, 1, &k2)) == 0) {
            size_t s = clamp(k1, o->u.arr.n), e = clamp(k2, o->u.arr.n);
            e = e < s ? s : e;
            msgpack_packer *pk = mproc__srv_begin(S, 0);
            msgpack_pack_array(pk, 2);
            msgpack_pack_uint64(pk, sz);
            msgpack_pack_bin_with_body(pk, o->u.arr.data + s * sz, (e - s) * sz);
            mproc__srv_send(S, c);
            return;
        }
    }
    mproc__srv_status(S, c, rc);
}

int mproc__srv_handle_data(mgr_server *S, sconn *c, int op, sobj *o, const msgpack_object *a, uint32_t n)
{
    if (o->type == MT_LIST)
        on_list(S, c, op, o, a, n);
    else if (o->type == MT_DICT || o->type == MT_NAMESPACE)
        on_dict(S, c, op, o, a, n);
    else if (o->type == MT_VALUE || o->type == MT_ARRAY)
        on_array(S, c, op, o, a, n);
    else
        return MPROC_EINVAL;
    return 0;
}

unsigned mproc__srv_op_types(int op)
{
    const unsigned locks = BIT(MT_LOCK) | BIT(MT_RLOCK);
    if (op >= OP_L_APPEND && op <= OP_L_SLICE)
        return BIT(MT_LIST);
    if (op >= OP_D_SET && op <= OP_D_ITEMS)
        return DICTS;
    switch (op) {
    case OP_ACQUIRE:
    case OP_RELEASE:
        return locks | BIT(MT_SEM) | BIT(MT_COND);
    case OP_IS_RLOCK:
        return locks;
    case OP_SEM_VALUE:
        return BIT(MT_SEM);
    case OP_COND_WAIT:
    case OP_COND_NOTIFY:
        return BIT(MT_COND);
    case OP_EV_SET: case OP_EV_CLEAR: case OP_EV_IS_SET: case OP_EV_WAIT:
        return BIT(MT_EVENT);
    case OP_B_WAIT: case OP_B_RESET: case OP_B_ABORT: case OP_B_BROKEN: case OP_B_N_WAITING: case OP_B_PARTIES:
        return BIT(MT_BARRIER);
    case OP_Q_PUT: case OP_Q_GET: case OP_Q_QSIZE: case OP_Q_EMPTY: case OP_Q_FULL: case OP_Q_TASK_DONE:
    case OP_Q_JOIN: case OP_Q_PUT_MANY: case OP_Q_GET_MANY:
        return BIT(MT_QUEUE);
    case OP_V_GET: case OP_V_SET:
        return BIT(MT_VALUE);
    case OP_A_GET: case OP_A_SET: case OP_A_LEN: case OP_A_READ:
        return BIT(MT_ARRAY);
    default:
        return 0;
    }
}
