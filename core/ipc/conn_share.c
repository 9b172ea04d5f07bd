/* SPDX-License-Identifier: MIT */
/* conn_share.c - a connection as a kind (core_share_ops): handed to a
 * child as its OS stream, which the child inherits (be_start.streams), and
 * waited on by mproc_wait through the same stream. The handle is
 * process-local: an argument list holds a reference on it, not on a
 * shared record. */
#include <msgpack.h>
#include <string.h>

#include "ipc/conn.h"
#include "base/object.h"

/* msgpack ext type of a connection handed to a child: kind u32, index of
 * its stream in be_start.streams u32, direction flags u32 (host byte
 * order: only this machine reads it). */
#define CONN_EXT_TYPE 2
#define CONN_EXT_LEN 12

static int hand(void *obj)
{
    if (!mproc__core_conn_open(obj))
        return MPROC_ECLOSED;
    mproc__core_conn_retain(obj);
    return 0;
}

static void retain(void *obj) { mproc__core_conn_retain(obj); }

static void release(void *obj) { mproc__core_conn_release(obj); }

/* Only a child's arguments can carry one, and only while it is held. */
static int pack(void *obj, const core_share_slot *slot, int for_child, msgpack_packer *pk)
{
    (void)obj;
    if (!for_child || !slot->held)
        return MPROC_EINVAL;
    unsigned char ext[CONN_EXT_LEN];
    uint32_t kind = K_CONN, flags = slot->flags;
    memcpy(ext, &kind, 4);
    memcpy(ext + 4, &slot->stream, 4);
    memcpy(ext + 8, &flags, 4);
    return msgpack_pack_ext_with_body(pk, ext, CONN_EXT_LEN, CONN_EXT_TYPE) ? MPROC_ENOMEM : 0;
}

/* A connection our parent handed us: its stream, taken once; the same
 * stream twice in one args list is one handle, as Python's pickling of one
 * object twice gives one object. */
static void *unpack(const void *body, size_t len, const core_share_decode *cx, core_share_slot *slot, int *err)
{
    uint32_t kind, index, flags;
    *err = MPROC_EINVAL;
    if (!cx->adopt || len != CONN_EXT_LEN)
        return NULL;
    memcpy(&kind, body, 4);
    memcpy(&index, (const unsigned char *)body + 4, 4);
    memcpy(&flags, (const unsigned char *)body + 8, 4);
    if (kind != K_CONN)
        return NULL;
    mproc_conn *c = cx->earlier(cx, index);
    if (c)
        mproc__core_conn_retain(c);
    else if (!(c = mproc__core_conn_inherit(index, flags, err)))
        return NULL;
    slot->stream = index;
    slot->flags = flags;
    return c;
}

static int hold(void *obj, int need_readable, be_stream **s, unsigned *flags)
{
    return mproc__core_conn_hold(obj, need_readable, s, flags);
}

static void unhold(void *obj) { mproc__core_conn_unhold(obj); }

static int wait_prepare(void *obj, be_wait_item *it) { return mproc__core_conn_hold(obj, 1, &it->stream, NULL); }

const core_share_ops mproc__core_conn_share_ops = {
    .kind = K_CONN,
    .ext_type = CONN_EXT_TYPE,
    .hand = hand,
    .retain = retain,
    .release = release,
    .pack = pack,
    .unpack = unpack,
    .hold = hold,
    .unhold = unhold,
    .wait_prepare = wait_prepare,
    .wait_undo = unhold,
};
