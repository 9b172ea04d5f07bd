/* SPDX-License-Identifier: MIT */
/* value.c - mproc_value and mproc_array (Python's sharedctypes): typed
 * memory in the arena, with an optional RLock of their own. */
#include <stdlib.h>
#include <string.h>

#include "sync/sync.h"

typedef struct value_shared {
    core_rec rec;
    core_ref lock_ref; /* offset 0 = no lock */
    uint64_t n, elem;
    char typecode;
    _Alignas(16) unsigned char data[];
} value_shared;

/* One struct for both kinds; h.kind tells which. */
typedef struct shared_buf {
    core_obj h;
    value_shared *s;
    mproc_lock *lock;
} shared_buf;
struct mproc_value {
    shared_buf b;
};
struct mproc_array {
    shared_buf b;
};

size_t mproc_typecode_size(char tc)
{
    switch (tc) {
    case 'c':
    case 'b':
    case 'B':
        return 1;
    case 'h':
    case 'H':
        return sizeof(short);
    case 'i':
    case 'I':
        return sizeof(int);
    case 'l':
    case 'L':
        return sizeof(long);
    case 'q':
    case 'Q':
        return sizeof(long long);
    case 'f':
        return sizeof(float);
    case 'd':
        return sizeof(double);
    case 'u':
        return sizeof(wchar_t);
    default:
        return 0;
    }
}

static void destroy(core_rec *r)
{
    value_shared *s = (value_shared *)r;
    if (s->lock_ref.offset) {
        core_rec *lock = mproc__core_arena_resolve(&s->lock_ref);
        if (lock)
            mproc__core_lock_rec_release(lock);
    }
    mproc__core_arena_free(s);
}

static core_rec *dep(core_rec *rec)
{
    value_shared *s = (value_shared *)rec;
    return s->lock_ref.offset ? mproc__core_arena_resolve(&s->lock_ref) : NULL;
}

static void *adopt(core_rec *rec, int *err)
{
    value_shared *s = (value_shared *)rec;
    core_rec *lrec = dep(rec);
    if (s->lock_ref.offset && !lrec) {
        *err = MPROC_EINVAL;
        return NULL;
    }
    shared_buf *b = mproc__core_handle_new(sizeof *b, (core_kind)rec->kind, err);
    if (b && lrec && !(b->lock = mproc__core_lock_view(lrec, err))) {
        mproc__core_handle_drop(b);
        b = NULL;
    }
    if (b)
        b->s = s;
    return b;
}

static shared_buf *create(core_kind kind, char tc, size_t n, const void *init, int locked, int *err)
{
    int rc = 0;
    shared_buf *b = NULL;
    mproc__core_ensure_init();
    size_t elem = mproc_typecode_size(tc);
    if (!elem || n > (SIZE_MAX - sizeof(value_shared)) / elem) {
        rc = MPROC_EINVAL;
        goto out;
    }
    mproc_lock *lock = locked ? mproc_rlock_new(&rc) : NULL;
    if (locked && !lock)
        goto out;
    value_shared *s = mproc__core_arena_alloc(sizeof *s + n * elem, &rc);
    if (s) {
        s->n = n;
        s->elem = elem;
        s->typecode = tc;
        if (init && n)
            memcpy(s->data, init, n * elem);
        if (lock) {
            mproc__core_arena_ref(mproc__core_lock_record(lock), &s->lock_ref);
            mproc__core_rec_retain(mproc__core_lock_record(lock)); /* the record's reference */
        }
        s->rec.kind = kind;
        atomic_init(&s->rec.refs, 1);
        if (!(b = adopt(&s->rec, &rc)))
            destroy(&s->rec);
    }
    mproc_lock_free(lock);
out:
    if (err)
        *err = b ? 0 : rc;
    return b;
}

static shared_buf *buf_of(const void *p, core_kind kind)
{
    return core_obj_kind(p) == kind ? (shared_buf *)p : NULL;
}

static void buf_free(shared_buf *b)
{
    mproc__core_lock_view_free(b->lock);
    mproc__core_rec_release(&b->s->rec, destroy);
    mproc__core_handle_drop(b);
}

mproc_value *mproc_value_new(char tc, const void *init, int locked, int *err)
{
    return (mproc_value *)create(K_VALUE, tc, 1, init, locked, err);
}

void *mproc_value_ptr(mproc_value *v)
{
    shared_buf *b = buf_of(v, K_VALUE);
    return b ? b->s->data : NULL;
}

mproc_lock *mproc_value_get_lock(mproc_value *v)
{
    shared_buf *b = buf_of(v, K_VALUE);
    return b ? b->lock : NULL;
}

char mproc_value_typecode(const mproc_value *v)
{
    shared_buf *b = buf_of(v, K_VALUE);
    return b ? b->s->typecode : 0;
}

void mproc_value_free(mproc_value *v)
{
    if (core_obj_borrowed(v))
        return;
    shared_buf *b = buf_of(v, K_VALUE);
    if (b)
        buf_free(b);
}

mproc_array *mproc_array_new(char tc, size_t n, const void *init, int locked, int *err)
{
    return (mproc_array *)create(K_ARRAY, tc, n, init, locked, err);
}

void *mproc_array_ptr(mproc_array *a)
{
    shared_buf *b = buf_of(a, K_ARRAY);
    return b ? b->s->data : NULL;
}

size_t mproc_array_len(const mproc_array *a)
{
    shared_buf *b = buf_of(a, K_ARRAY);
    return b ? (size_t)b->s->n : 0;
}

mproc_lock *mproc_array_get_lock(mproc_array *a)
{
    shared_buf *b = buf_of(a, K_ARRAY);
    return b ? b->lock : NULL;
}

char mproc_array_typecode(const mproc_array *a)
{
    shared_buf *b = buf_of(a, K_ARRAY);
    return b ? b->s->typecode : 0;
}

void mproc_array_free(mproc_array *a)
{
    if (core_obj_borrowed(a))
        return;
    shared_buf *b = buf_of(a, K_ARRAY);
    if (b)
        buf_free(b);
}

static core_rec *record(const void *obj) { return &((const shared_buf *)obj)->s->rec; }

static void free_obj(void *obj) { buf_free(obj); }

const core_share_ops mproc__core_value_ops = {
    .kind = K_VALUE,
    .record = record,
    .dep = dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
};
const core_share_ops mproc__core_array_ops = {
    .kind = K_ARRAY,
    .record = record,
    .dep = dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
};
