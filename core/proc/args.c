/* SPDX-License-Identifier: MIT */
/* args.c - mproc_args: a list of typed values, encoded as a msgpack array.
 * The same encoding carries a child's arguments after fork, spawn and
 * forkserver, so all three start methods decode exactly the same bytes. */
#include <msgpack.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "proc/args.h"
#include "proc/ledger.h"
#include "base/object.h"
#include "base/unpack.h"

/* Objects are what their kind's table says (core_share_ops, base/object.h;
 * the kinds are listed in core/kinds.c): this file knows none by name.
 * Kinds with a shared record are encoded here, as the record's place;
 * process-local kinds describe themselves, each in its own ext type. */

/* msgpack ext type of a shared record: kind u32, segment pid u64, segment
 * seq u64, offset u64 (host byte order: only this machine reads it). */
#define OBJ_EXT_TYPE 1
#define OBJ_EXT_LEN 28

typedef struct arg_item {
    mproc_arg_type type;
    union {
        int64_t i;
        double d;
        struct {
            char *p; /* strings are NUL-terminated; len excludes the NUL */
            size_t len;
        } b;
        struct {
            void *handle; /* what mproc_args_obj returns */
            const core_share_ops *ops;
            /* The shared record, or NULL for a process-local kind: then we
             * hold a reference on the handle itself (ops->retain). */
            core_rec *rec;
            int owned; /* 1: handle is ours (decoded); 0: the caller's, and we hold a reference on rec */
            core_share_slot slot; /* its stream, while handed to a child (ops->hold) */
            /* a child's: its flag in the parent's ledger (ledger.h) */
            _Atomic unsigned char *held_by_child;
        } o;
    } v;
} arg_item;

struct mproc_args {
    arg_item *items;
    size_t n, cap;
};

mproc_args *mproc_args_new(void) { return calloc(1, sizeof(mproc_args)); }

static const arg_item *item(const mproc_args *a, size_t i, mproc_arg_type t);

static void free_obj_item(arg_item *it)
{
    if (!it->v.o.rec) {
        it->v.o.ops->release(it->v.o.handle);
    } else if (it->v.o.owned) {
        if (it->v.o.held_by_child) /* from here on the reference is gone */
            atomic_store(it->v.o.held_by_child, 0);
        core_obj_lend(it->v.o.handle, 0);
        it->v.o.ops->free(it->v.o.handle);
    } else {
        mproc__core_rec_release_any(it->v.o.rec);
    }
}

void mproc_args_free(mproc_args *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        if (a->items[i].type == MPROC_ARG_STR || a->items[i].type == MPROC_ARG_BYTES)
            free(a->items[i].v.b.p);
        else if (a->items[i].type == MPROC_ARG_OBJ)
            free_obj_item(&a->items[i]);
    }
    free(a->items);
    free(a);
}

static arg_item *push(mproc_args *a, mproc_arg_type t)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        arg_item *items = realloc(a->items, cap * sizeof *items);
        if (!items)
            return NULL;
        a->items = items;
        a->cap = cap;
    }
    arg_item *it = &a->items[a->n++];
    memset(it, 0, sizeof *it);
    it->type = t;
    return it;
}

int mproc_args_add_int(mproc_args *a, int64_t v)
{
    if (!a)
        return MPROC_EINVAL;
    arg_item *it = push(a, MPROC_ARG_INT);
    if (!it)
        return MPROC_ENOMEM;
    it->v.i = v;
    return 0;
}

int mproc_args_add_double(mproc_args *a, double v)
{
    if (!a)
        return MPROC_EINVAL;
    arg_item *it = push(a, MPROC_ARG_DOUBLE);
    if (!it)
        return MPROC_ENOMEM;
    it->v.d = v;
    return 0;
}

/* Copies len bytes plus a terminating NUL (handy for strings, harmless for
 * bytes). */
static int add_buf(mproc_args *a, mproc_arg_type t, const void *buf, size_t len)
{
    if (len == SIZE_MAX)
        return MPROC_EINVAL;
    char *p = malloc(len + 1);
    if (!p)
        return MPROC_ENOMEM;
    if (len)
        memcpy(p, buf, len);
    p[len] = '\0';
    arg_item *it = push(a, t);
    if (!it) {
        free(p);
        return MPROC_ENOMEM;
    }
    it->v.b.p = p;
    it->v.b.len = len;
    return 0;
}

int mproc_args_add_str(mproc_args *a, const char *s)
{
    if (!a || !s)
        return MPROC_EINVAL;
    return add_buf(a, MPROC_ARG_STR, s, strlen(s));
}

int mproc_args_add_bytes(mproc_args *a, const void *buf, size_t len)
{
    if (!a || (!buf && len))
        return MPROC_EINVAL;
    return add_buf(a, MPROC_ARG_BYTES, buf, len);
}

int mproc_args_add_obj(mproc_args *a, void *obj)
{
    const core_share_ops *ops = mproc__core_share_ops_for(core_obj_kind(obj));
    if (!a || !core_share_able(ops))
        return MPROC_EINVAL;
    arg_item *it = push(a, MPROC_ARG_OBJ);
    if (!it)
        return MPROC_ENOMEM;
    it->v.o.handle = obj;
    it->v.o.ops = ops;
    it->v.o.owned = 0;
    if (!ops->record) {
        int rc = ops->hand(obj);
        if (rc)
            a->n--; /* refused (a closed one): the item goes again */
        return rc;
    }
    it->v.o.rec = ops->record(obj);
    mproc__core_rec_retain(it->v.o.rec);
    return 0;
}

void *mproc_args_obj(const mproc_args *a, size_t i)
{
    const arg_item *it = item(a, i, MPROC_ARG_OBJ);
    return it ? it->v.o.handle : NULL;
}

void mproc__core_args_each_obj(const mproc_args *a, void (*fn)(core_rec *rec, void *ctx), void *ctx)
{
    for (size_t i = 0; a && i < a->n; i++)
        if (a->items[i].type == MPROC_ARG_OBJ && a->items[i].v.o.rec)
            fn(a->items[i].v.o.rec, ctx);
}

void mproc__core_args_attach_ledger(mproc_args *a, core_ledger *l)
{
    size_t k = 0;
    for (size_t i = 0; a && l && i < a->n; i++)
        if (a->items[i].type == MPROC_ARG_OBJ && a->items[i].v.o.rec && a->items[i].v.o.owned)
            a->items[i].v.o.held_by_child = mproc__core_ledger_flag(l, k++);
}

size_t mproc_args_count(const mproc_args *a) { return a ? a->n : 0; }

static const arg_item *item(const mproc_args *a, size_t i, mproc_arg_type t)
{
    if (!a || i >= a->n || a->items[i].type != t)
        return NULL;
    return &a->items[i];
}

mproc_arg_type mproc_args_type(const mproc_args *a, size_t i)
{
    return (a && i < a->n) ? a->items[i].type : MPROC_ARG_NONE;
}

int64_t mproc_args_int(const mproc_args *a, size_t i)
{
    const arg_item *it = item(a, i, MPROC_ARG_INT);
    return it ? it->v.i : 0;
}

double mproc_args_double(const mproc_args *a, size_t i)
{
    const arg_item *it = item(a, i, MPROC_ARG_DOUBLE);
    return it ? it->v.d : 0.0;
}

const char *mproc_args_str(const mproc_args *a, size_t i)
{
    const arg_item *it = item(a, i, MPROC_ARG_STR);
    return it ? it->v.b.p : NULL;
}

const void *mproc_args_bytes(const mproc_args *a, size_t i, size_t *len)
{
    const arg_item *it = item(a, i, MPROC_ARG_BYTES);
    if (len)
        *len = it ? it->v.b.len : 0;
    return it ? it->v.b.p : NULL;
}

int mproc__core_args_pack(const mproc_args *a, msgpack_packer *pk, int for_child)
{
    size_t n = a ? a->n : 0;
    if (msgpack_pack_array(pk, n))
        return MPROC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const arg_item *it = &a->items[i];
        int rc = 0;
        switch (it->type) {
        case MPROC_ARG_INT:
            rc = msgpack_pack_int64(pk, it->v.i);
            break;
        case MPROC_ARG_DOUBLE:
            rc = msgpack_pack_double(pk, it->v.d);
            break;
        case MPROC_ARG_STR:
            rc = msgpack_pack_str_with_body(pk, it->v.b.p, it->v.b.len);
            break;
        case MPROC_ARG_BYTES:
            rc = msgpack_pack_bin_with_body(pk, it->v.b.p, it->v.b.len);
            break;
        case MPROC_ARG_OBJ: {
            if (!it->v.o.rec) {
                int orc = it->v.o.ops->pack(it->v.o.handle, &it->v.o.slot, for_child, pk);
                if (orc)
                    return orc;
                break;
            }
            core_ref ref;
            if (mproc__core_arena_ref(it->v.o.rec, &ref))
                return MPROC_EINVAL;
            unsigned char ext[OBJ_EXT_LEN];
            uint32_t kind = it->v.o.rec->kind;
            memcpy(ext, &kind, 4);
            memcpy(ext + 4, &ref.seg_pid, 8);
            memcpy(ext + 12, &ref.seg_seq, 8);
            memcpy(ext + 20, &ref.offset, 8);
            rc = msgpack_pack_ext_with_body(pk, ext, OBJ_EXT_LEN, OBJ_EXT_TYPE);
            break;
        }
        default:
            return MPROC_EINVAL;
        }
        if (rc)
            return MPROC_ENOMEM;
    }
    return 0;
}

/* An earlier item of the list being decoded, of the same kind, on the
 * same stream (core_share_decode.earlier). */
static void *earlier(const core_share_decode *cx, uint32_t stream)
{
    const mproc_args *a = cx->list;
    for (size_t i = 0; i < a->n; i++) {
        const arg_item *it = &a->items[i];
        if (it->type == MPROC_ARG_OBJ && !it->v.o.rec && it->v.o.ops == cx->ops && it->v.o.slot.stream == stream)
            return it->v.o.handle;
    }
    return NULL;
}

/* A process-local object: its kind decodes it, found by ext type. */
static int add_decoded_local(mproc_args *a, const msgpack_object *v, int adopt)
{
    const core_share_ops *ops = NULL;
    for (int k = 0; k < K_KIND_MAX && !ops; k++) {
        const core_share_ops *o = mproc__core_share_ops_for((core_kind)k);
        if (o && o->unpack && o->ext_type == v->via.ext.type)
            ops = o;
    }
    if (!ops)
        return MPROC_EINVAL;
    core_share_decode cx = {adopt, earlier, a, ops};
    core_share_slot slot = {0};
    int err = 0;
    void *h = ops->unpack(v->via.ext.ptr, v->via.ext.size, &cx, &slot, &err);
    if (!h)
        return err ? err : MPROC_EINVAL;
    arg_item *it = push(a, MPROC_ARG_OBJ);
    if (!it) {
        ops->release(h);
        return MPROC_ENOMEM;
    }
    it->v.o.handle = h;
    it->v.o.ops = ops;
    it->v.o.owned = 1;
    it->v.o.slot = slot;
    return 0;
}

/* An object reference: a handle on the record it names. adopt: the sender
 * took a reference for us (a child's arguments); else take our own. */
static int add_decoded_obj(mproc_args *a, const msgpack_object *v, int adopt)
{
    if (v->via.ext.type != OBJ_EXT_TYPE)
        return add_decoded_local(a, v, adopt);
    if (v->via.ext.size != OBJ_EXT_LEN)
        return MPROC_EINVAL;
    uint32_t kind;
    core_ref ref;
    memcpy(&kind, v->via.ext.ptr, 4);
    memcpy(&ref.seg_pid, v->via.ext.ptr + 4, 8);
    memcpy(&ref.seg_seq, v->via.ext.ptr + 12, 8);
    memcpy(&ref.offset, v->via.ext.ptr + 20, 8);
    const core_share_ops *ops = mproc__core_share_ops_for((core_kind)kind);
    core_rec *rec = mproc__core_arena_resolve(&ref);
    if (!ops || !ops->record || !rec || rec->kind != kind)
        return MPROC_EINVAL;
    if (!adopt)
        mproc__core_rec_retain(rec);
    int err = 0;
    void *h = ops->adopt(rec, &err);
    if (!h) {
        if (!adopt)
            mproc__core_rec_release(rec, ops->destroy);
        return err ? err : MPROC_EINVAL;
    }
    if (adopt)
        mproc__core_rec_handover(rec, CORE_HANDOVER_RECEIVED, 0);
    arg_item *it = push(a, MPROC_ARG_OBJ);
    if (!it) {
        ops->free(h);
        return MPROC_ENOMEM;
    }
    core_obj_lend(h, 1);
    it->v.o.handle = h;
    it->v.o.ops = ops;
    it->v.o.rec = rec;
    it->v.o.owned = 1;
    return 0;
}

int mproc__core_args_from_object(const msgpack_object *o, mproc_args **out, int adopt)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return MPROC_EINVAL;
    mproc_args *a = mproc_args_new();
    if (!a)
        return MPROC_ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; i < o->via.array.size && rc == 0; i++) {
        const msgpack_object *v = &o->via.array.ptr[i];
        switch (v->type) {
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            if (v->via.u64 > INT64_MAX)
                rc = MPROC_EINVAL;
            else
                rc = mproc_args_add_int(a, (int64_t)v->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            rc = mproc_args_add_int(a, v->via.i64);
            break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            rc = mproc_args_add_double(a, v->via.f64);
            break;
        case MSGPACK_OBJECT_STR:
            rc = add_buf(a, MPROC_ARG_STR, v->via.str.ptr, v->via.str.size);
            break;
        case MSGPACK_OBJECT_BIN:
            rc = add_buf(a, MPROC_ARG_BYTES, v->via.bin.ptr, v->via.bin.size);
            break;
        case MSGPACK_OBJECT_EXT:
            rc = add_decoded_obj(a, v, adopt);
            break;
        default:
            rc = MPROC_EINVAL;
        }
    }
    if (rc) {
        mproc_args_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int mproc_args_encode(const mproc_args *a, void **buf, size_t *len)
{
    if (!buf || !len)
        return MPROC_EINVAL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = mproc__core_args_pack(a, &pk, 0);
    if (rc) {
        msgpack_sbuffer_destroy(&sb);
        return rc;
    }
    *len = sb.size;
    *buf = msgpack_sbuffer_release(&sb);
    return 0;
}

mproc_args *mproc_args_decode(const void *buf, size_t len, int *err)
{
    mproc_args *a = NULL;
    int rc = MPROC_EINVAL;
    if (buf || !len) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        if (buf && mproc__core_unpack(&up, buf, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len)
            rc = mproc__core_args_from_object(&up.data, &a, 0);
        msgpack_unpacked_destroy(&up);
    }
    if (err)
        *err = rc;
    return a;
}

/* A copy refers to the same record, holding its own reference. */
static int copy_obj(mproc_args *a, const arg_item *src)
{
    arg_item *it = push(a, MPROC_ARG_OBJ);
    if (!it)
        return MPROC_ENOMEM;
    it->v.o.handle = src->v.o.handle;
    it->v.o.ops = src->v.o.ops;
    it->v.o.rec = src->v.o.rec;
    it->v.o.owned = 0;
    if (it->v.o.rec)
        mproc__core_rec_retain(it->v.o.rec);
    else
        it->v.o.ops->retain(it->v.o.handle);
    return 0;
}

int mproc__core_args_hold_streams(mproc_args *a, core_stream_table *t)
{
    for (size_t i = 0; a && i < a->n; i++) {
        arg_item *it = &a->items[i];
        if (it->type != MPROC_ARG_OBJ || !it->v.o.ops->hold)
            continue;
        be_stream *s;
        int rc = it->v.o.ops->hold(it->v.o.handle, 0, &s, &it->v.o.slot.flags);
        if (rc)
            return rc; /* the caller unholds what was held */
        it->v.o.slot.held = 1;
        size_t k = 0;
        while (k < t->n && t->streams[k] != s)
            k++;
        if (k == t->n) {
            if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 4;
                be_stream **n = realloc(t->streams, cap * sizeof *n);
                if (!n)
                    return MPROC_ENOMEM;
                t->streams = n;
                t->cap = cap;
            }
            t->streams[t->n++] = s;
        }
        it->v.o.slot.stream = (uint32_t)k;
    }
    return 0;
}

void mproc__core_args_unhold_streams(mproc_args *a, core_stream_table *t)
{
    for (size_t i = 0; a && i < a->n; i++) {
        arg_item *it = &a->items[i];
        if (it->type == MPROC_ARG_OBJ && it->v.o.slot.held) {
            it->v.o.slot.held = 0;
            it->v.o.ops->unhold(it->v.o.handle);
        }
    }
    free(t->streams);
    t->streams = NULL;
    t->n = t->cap = 0;
}

int mproc__core_args_copy(const mproc_args *src, mproc_args **out)
{
    return mproc__core_args_copy_range(src, 0, src ? src->n : 0, out);
}

int mproc__core_args_copy_range(const mproc_args *src, size_t from, size_t to, mproc_args **out)
{
    if (to > (src ? src->n : 0) || from > to)
        return MPROC_EINVAL;
    mproc_args *a = mproc_args_new();
    if (!a)
        return MPROC_ENOMEM;
    for (size_t i = from; i < to; i++) {
        const arg_item *it = &src->items[i];
        int rc;
        if (it->type == MPROC_ARG_STR || it->type == MPROC_ARG_BYTES)
            rc = add_buf(a, it->type, it->v.b.p, it->v.b.len);
        else if (it->type == MPROC_ARG_OBJ)
            rc = copy_obj(a, it);
        else
            rc = push(a, it->type) ? 0 : MPROC_ENOMEM;
        if (rc) {
            mproc_args_free(a);
            return rc;
        }
        if (it->type == MPROC_ARG_INT || it->type == MPROC_ARG_DOUBLE)
            a->items[a->n - 1].v = it->v;
    }
    *out = a;
    return 0;
}

void mproc_free(void *buf) { free(buf); }
