/* SPDX-License-Identifier: MIT */
/* payload.c - the child description as msgpack:
 * [version, method, fnptr, module, offset, digest, segments, args, name,
 *  identity, parent_pid, daemon, default_method, argv, ledger]
 * where segments = [[pid, seq], ...]: the arena segments handed to the child
 * (be_start.shms, same order), mapped before the args that refer to them,
 * and ledger = [pid, seq, offset] of the args' ledger (ledger.h) or nil. */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "proc/args.h"
#include "proc/proc.h"
#include "proc/ledger.h"
#include "base/unpack.h"

#define PAYLOAD_VERSION 2
#define PAYLOAD_FIELDS 15

static int pack_str(msgpack_packer *pk, const char *s)
{
    if (!s)
        return msgpack_pack_nil(pk);
    return msgpack_pack_str_with_body(pk, s, strlen(s));
}

int mproc__core_desc_encode(const core_child_desc *d, void **buf, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int bad = msgpack_pack_array(&pk, PAYLOAD_FIELDS);
    bad |= msgpack_pack_int(&pk, PAYLOAD_VERSION);
    bad |= msgpack_pack_int(&pk, d->method);
    bad |= msgpack_pack_uint64(&pk, (uint64_t)(uintptr_t)d->fn);
    bad |= pack_str(&pk, d->target.module);
    bad |= msgpack_pack_uint64(&pk, d->target.offset);
    bad |= msgpack_pack_uint64(&pk, d->target.digest);
    bad |= msgpack_pack_array(&pk, d->nsegs);
    for (size_t i = 0; i < d->nsegs; i++) {
        bad |= msgpack_pack_array(&pk, 2);
        bad |= msgpack_pack_uint64(&pk, d->seg_pids[i]);
        bad |= msgpack_pack_uint64(&pk, d->seg_seqs[i]);
    }
    if (!bad && mproc__core_args_pack(d->args, &pk, 1))
        bad = 1;
    bad |= pack_str(&pk, d->name);
    bad |= pack_str(&pk, d->identity);
    bad |= msgpack_pack_int64(&pk, d->parent_pid);
    bad |= msgpack_pack_int(&pk, d->daemon);
    bad |= msgpack_pack_int(&pk, d->default_method);
    bad |= msgpack_pack_array(&pk, (size_t)(d->argv ? d->argc : 0));
    for (int i = 0; d->argv && i < d->argc; i++)
        bad |= pack_str(&pk, d->argv[i]);
    core_ref lr;
    if (d->ledger && mproc__core_arena_ref(d->ledger, &lr) == 0) {
        bad |= msgpack_pack_array(&pk, 3);
        bad |= msgpack_pack_uint64(&pk, lr.seg_pid);
        bad |= msgpack_pack_uint64(&pk, lr.seg_seq);
        bad |= msgpack_pack_uint64(&pk, lr.offset);
    } else {
        bad |= msgpack_pack_nil(&pk);
    }
    if (bad) {
        msgpack_sbuffer_destroy(&sb);
        return MPROC_ENOMEM;
    }
    *len = sb.size;
    *buf = msgpack_sbuffer_release(&sb);
    return 0;
}

static int get_u64(const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return MPROC_EINVAL;
    *v = o->via.u64;
    return 0;
}

static int get_int(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *v = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *v = o->via.i64;
    else
        return MPROC_EINVAL;
    return 0;
}

/* NULL for nil; a malloc'd copy of a msgpack str otherwise. */
static int get_str(const msgpack_object *o, char **out)
{
    *out = NULL;
    if (o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_STR)
        return MPROC_EINVAL;
    char *s = malloc(o->via.str.size + 1);
    if (!s)
        return MPROC_ENOMEM;
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = '\0';
    *out = s;
    return 0;
}

/* Maps the segments our parent handed us (found already after fork). */
static int adopt_segments(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return MPROC_EINVAL;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *p = &o->via.array.ptr[i];
        uint64_t pid, seq;
        int rc;
        if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 2 ||
            (rc = get_u64(&p->via.array.ptr[0], &pid)) || (rc = get_u64(&p->via.array.ptr[1], &seq)))
            return MPROC_EINVAL;
        if ((rc = mproc__core_arena_adopt(i, pid, seq)))
            return rc;
    }
    return 0;
}

/* The ledger of our arguments' references, if the parent made one. */
static int decode_ledger(const msgpack_object *o, mproc_args *args)
{
    if (o->type == MSGPACK_OBJECT_NIL)
        return 0;
    core_ref r;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3 || get_u64(&o->via.array.ptr[0], &r.seg_pid) ||
        get_u64(&o->via.array.ptr[1], &r.seg_seq) || get_u64(&o->via.array.ptr[2], &r.offset))
        return MPROC_EINVAL;
    core_ledger *l = mproc__core_ledger_resolve(&r);
    if (!l)
        return MPROC_EINVAL;
    mproc__core_args_attach_ledger(args, l);
    return 0;
}

static int decode_fields(const msgpack_object *f, core_child_desc *d)
{
    int64_t version, method, pid, daemon, defm;
    uint64_t fn;
    char *module = NULL;
    int rc = get_int(&f[0], &version);
    if (rc || version != PAYLOAD_VERSION)
        return MPROC_EINVAL;
    if ((rc = get_int(&f[1], &method)) || (rc = get_u64(&f[2], &fn)) ||
        (rc = get_str(&f[3], &module)))
        return rc;
    if (module && strlen(module) >= BE_MODULE_MAX)
        rc = MPROC_EINVAL;
    else if (module)
        strcpy(d->target.module, module);
    free(module);
    if (rc || (rc = get_u64(&f[4], &d->target.offset)) || (rc = get_u64(&f[5], &d->target.digest)) ||
        (rc = adopt_segments(&f[6])) || (rc = mproc__core_args_from_object(&f[7], &d->args, 1)) ||
        (rc = get_str(&f[8], &d->name)) || (rc = get_str(&f[9], &d->identity)) ||
        (rc = get_int(&f[10], &pid)) || (rc = get_int(&f[11], &daemon)) ||
        (rc = get_int(&f[12], &defm)))
        return rc;
    d->method = (int)method;
    d->fn = (mproc_target)(uintptr_t)fn;
    d->parent_pid = (long)pid;
    d->daemon = daemon != 0;
    d->default_method = (int)defm;
    const msgpack_object *av = &f[13];
    if (av->type != MSGPACK_OBJECT_ARRAY)
        return MPROC_EINVAL;
    d->argv = calloc(av->via.array.size + 1, sizeof(char *));
    if (!d->argv)
        return MPROC_ENOMEM;
    for (uint32_t i = 0; i < av->via.array.size; i++) {
        if ((rc = get_str(&av->via.array.ptr[i], &d->argv[i])))
            return rc;
        if (!d->argv[i])
            return MPROC_EINVAL;
        d->argc = (int)i + 1;
    }
    return decode_ledger(&f[14], d->args);
}

int mproc__core_desc_decode(const void *buf, size_t len, core_child_desc *d)
{
    memset(d, 0, sizeof *d);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = MPROC_EINVAL;
    if (mproc__core_unpack(&up, buf, len, &off) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_ARRAY && up.data.via.array.size == PAYLOAD_FIELDS)
        rc = decode_fields(up.data.via.array.ptr, d);
    msgpack_unpacked_destroy(&up);
    if (rc)
        mproc__core_desc_clear(d);
    return rc;
}

void mproc__core_desc_clear(core_child_desc *d)
{
    mproc_args_free(d->args);
    free(d->name);
    free(d->identity);
    for (int i = 0; d->argv && d->argv[i]; i++)
        free(d->argv[i]);
    free(d->argv);
    memset(d, 0, sizeof *d);
}
