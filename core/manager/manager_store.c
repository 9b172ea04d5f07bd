/* SPDX-License-Identifier: MIT */
/* manager_store.c - how the server keeps values: each list item, dict key
 * and value is a blob of canonical msgpack (integers in their shortest
 * form, floats as float64), so equal keys are equal bytes and a reply just
 * copies the blob. Dicts are insertion-ordered hash tables; Value/Array
 * elements are native C numbers of their typecode. */
#include <stdlib.h>
#include <string.h>

#include "manager/manager_srv.h"

/* msgpack's own calls return -1 on failure (no memory): MPROC_ENOMEM. */
static int packed(int r) { return r ? MPROC_ENOMEM : 0; }

static int pack_canon(msgpack_packer *pk, const msgpack_object *o, int key, mgr_server *S)
{
    int64_t i;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        if (mproc__mgr_obj_int(o, &i))
            return MPROC_EINVAL;
        return packed(msgpack_pack_int64(pk, i));
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return packed(msgpack_pack_double(pk, o->via.f64));
    case MSGPACK_OBJECT_STR:
        return packed(msgpack_pack_str_with_body(pk, o->via.str.ptr, o->via.str.size));
    case MSGPACK_OBJECT_BIN:
        return packed(msgpack_pack_bin_with_body(pk, o->via.bin.ptr, o->via.bin.size));
    case MSGPACK_OBJECT_NIL:
        return key ? MPROC_EINVAL : packed(msgpack_pack_nil(pk));
    case MSGPACK_OBJECT_BOOLEAN:
        return key ? MPROC_EINVAL : packed(o->via.boolean ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
    case MSGPACK_OBJECT_EXT: {
        /* A proxy: it must name a list or dict of this server. */
        const unsigned char *e = (const unsigned char *)o->via.ext.ptr;
        if (key || o->via.ext.type != MGR_EXT_PROXY || o->via.ext.size != 9)
            return MPROC_EINVAL;
        uint64_t id = 0;
        for (int k = 0; k < 8; k++)
            id = id << 8 | e[1 + k];
        if ((e[0] != MT_LIST && e[0] != MT_DICT) || !mproc__srv_obj(S, id, 1u << e[0]))
            return MPROC_EINVAL;
        return packed(msgpack_pack_ext_with_body(pk, e, 9, MGR_EXT_PROXY)); /* the caller takes the reference */
    }
    default:
        return MPROC_EINVAL;
    }
}

/* Packed into the server's scratch buffer, then copied out at its size
 * (an sbuffer's own allocation starts at 8 KiB: too much per item). */
int mproc__blob_canon(const msgpack_object *o, int key, mgr_server *S, blob *out)
{
    msgpack_sbuffer_clear(&S->scratch);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &S->scratch, msgpack_sbuffer_write);
    int rc = pack_canon(&pk, o, key, S);
    if (rc)
        return rc;
    if (!(out->p = malloc(S->scratch.size)))
        return MPROC_ENOMEM;
    memcpy(out->p, S->scratch.data, S->scratch.size);
    out->n = S->scratch.size;
    uint64_t id = mproc__blob_proxy_id(out);
    if (id)
        mproc__srv_ref(mproc__srv_obj(S, id, ~0u)); /* pack_canon found it */
    return 0;
}

void mproc__blob_free(blob *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/* A canonical proxy is msgpack ext 8: c7, size 9, type 16, then the
 * object type and its big-endian id. */
uint64_t mproc__blob_proxy_id(const blob *b)
{
    if (!b->p || b->n != 12 || b->p[0] != 0xc7 || b->p[1] != 9 || b->p[2] != MGR_EXT_PROXY)
        return 0;
    uint64_t id = 0;
    for (int k = 0; k < 8; k++)
        id = id << 8 | b->p[4 + k];
    return id;
}

void mproc__val_free(mgr_server *S, blob *b)
{
    uint64_t id = S->closing ? 0 : mproc__blob_proxy_id(b); /* teardown: nothing is counted */
    sobj *o = id ? mproc__srv_obj(S, id, ~0u) : NULL; /* NULL: doomed already */
    if (o)
        mproc__srv_unref(S, o);
    mproc__blob_free(b);
}

/* A stored msgpack object goes out as it is. */
void mproc__blob_pack(msgpack_packer *pk, const blob *b) { msgpack_sbuffer_write(pk->data, (const char *)b->p, b->n); }

uint64_t mproc__blob_hash(const blob *b)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < b->n; i++)
        h = (h ^ b->p[i]) * 1099511628211u;
    return h;
}

/* ------------------------------------------------------------ dict */

static size_t probe_start(const sdict *d, uint64_t hash) { return (size_t)(hash ^ (hash >> 29)) & d->mask; }

int mproc__dict_find(const sdict *d, const blob *key, uint64_t hash)
{
    if (!d->index)
        return -1;
    for (size_t s = probe_start(d, hash);; s = (s + 1) & d->mask) {
        uint32_t k = d->index[s];
        if (k == 0)
            return -1;
        const struct dentry *e = &d->e[k - 1];
        if (e->live && e->hash == hash && e->key.n == key->n && memcmp(e->key.p, key->p, key->n) == 0)
            return (int)(k - 1);
    }
}

/* Rebuilds the index (dropping deleted entries) with room to grow. */
static int rebuild(sdict *d)
{
    size_t live = 0;
    for (size_t i = 0; i < d->ne; i++)
        if (d->e[i].live)
            d->e[live++] = d->e[i];
    d->ne = live;
    size_t slots = 8;
    while (slots < (live + 1) * 2)
        slots *= 2;
    uint32_t *index = calloc(slots, sizeof *index);
    if (!index)
        return MPROC_ENOMEM;
    free(d->index);
    d->index = index;
    d->mask = slots - 1;
    for (size_t i = 0; i < live; i++) {
        size_t s = probe_start(d, d->e[i].hash);
        while (index[s])
            s = (s + 1) & d->mask;
        index[s] = (uint32_t)(i + 1);
    }
    return 0;
}

int mproc__dict_set(mgr_server *S, sdict *d, blob *key, blob *val)
{
    uint64_t h = mproc__blob_hash(key);
    int at = mproc__dict_find(d, key, h);
    if (at >= 0) {
        mproc__val_free(S, &d->e[at].val);
        d->e[at].val = *val;
        mproc__blob_free(key);
        return 0;
    }
    /* Entries (deleted ones included) fill at most half of the index. */
    if (!d->index || (d->ne + 1) * 2 > d->mask + 1) {
        int rc = rebuild(d);
        if (rc)
            return rc;
    }
    if (d->ne == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct dentry *e = realloc(d->e, cap * sizeof *e);
        if (!e)
            return MPROC_ENOMEM;
        d->e = e;
        d->cap = cap;
    }
    struct dentry *e = &d->e[d->ne];
    e->key = *key;
    e->val = *val;
    e->hash = h;
    e->live = 1;
    size_t s = probe_start(d, h);
    while (d->index[s])
        s = (s + 1) & d->mask;
    d->index[s] = (uint32_t)(++d->ne);
    d->live++;
    return 0;
}

/* The entry stays in the index as a tombstone until the next rebuild. */
int mproc__dict_del(mgr_server *S, sdict *d, size_t i)
{
    mproc__blob_free(&d->e[i].key);
    mproc__val_free(S, &d->e[i].val);
    d->e[i].live = 0;
    d->live--;
    return 0;
}

void mproc__dict_clear(mgr_server *S, sdict *d)
{
    for (size_t i = 0; i < d->ne; i++)
        if (d->e[i].live)
            mproc__dict_del(S, d, i);
    free(d->e);
    free(d->index);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------ typecodes */

/* Integers wrap to the element's width (ctypes does the same). */
int mproc__tc_store(char tc, unsigned char *at, const msgpack_object *v)
{
    int64_t i = 0;
    double d;
    size_t size = mproc_typecode_size(tc);
    if (tc == 'f' || tc == 'd') {
        if (mproc__mgr_obj_num(v, &d))
            return MPROC_EINVAL;
        if (tc == 'f') {
            float f = (float)d;
            memcpy(at, &f, sizeof f);
        } else {
            memcpy(at, &d, sizeof d);
        }
        return 0;
    }
    if (mproc__mgr_obj_int(v, &i)) {
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return MPROC_EINVAL;
        i = (int64_t)v->via.u64; /* Q above INT64_MAX */
    }
    uint64_t u = (uint64_t)i;
    uint8_t b8 = (uint8_t)u;
    uint16_t b16 = (uint16_t)u;
    uint32_t b32 = (uint32_t)u;
    switch (size) {
    case 1: memcpy(at, &b8, 1); break;
    case 2: memcpy(at, &b16, 2); break;
    case 4: memcpy(at, &b32, 4); break;
    case 8: memcpy(at, &u, 8); break;
    default: return MPROC_EINVAL;
    }
    return 0;
}

static int tc_signed(char tc) { return tc == 'c' || tc == 'b' || tc == 'h' || tc == 'i' || tc == 'l' || tc == 'q'; }

void mproc__tc_load(char tc, const unsigned char *at, msgpack_packer *pk)
{
    size_t size = mproc_typecode_size(tc);
    if (tc == 'f') {
        float f;
        memcpy(&f, at, sizeof f);
        msgpack_pack_double(pk, f);
        return;
    }
    if (tc == 'd') {
        double d;
        memcpy(&d, at, sizeof d);
        msgpack_pack_double(pk, d);
        return;
    }
    int s = tc_signed(tc);
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64 = 0;
    if (size == 8)
        memcpy(&i64, at, 8);
    switch (size) {
    case 1: memcpy(&i8, at, 1); i64 = s ? (int64_t)i8 : (int64_t)(uint8_t)i8; break;
    case 2: memcpy(&i16, at, 2); i64 = s ? (int64_t)i16 : (int64_t)(uint16_t)i16; break;
    case 4: memcpy(&i32, at, 4); i64 = s ? (int64_t)i32 : (int64_t)(uint32_t)i32; break;
    default: break;
    }
    msgpack_pack_int64(pk, i64);
}
