/* SPDX-License-Identifier: MIT */
/* manager_share.c - a Manager proxy as a kind (core_share_ops): handed to
 * a child as a description (the server's address and key, the object's
 * type and id, manager_client.c); the receiver connects on first use. The
 * handle is process-local: an argument list holds a reference on it. */
#include "manager/manager.h"

static int hand(void *obj)
{
    mproc__mgr_proxy_retain(obj);
    mproc__mgr_proxy_claim(obj); /* handed on: it must hold a reference of this process */
    return 0;
}

static void retain(void *obj) { mproc__mgr_proxy_retain(obj); }

static void release(void *obj) { mproc__mgr_proxy_release(obj); }

static int pack(void *obj, const core_share_slot *slot, int for_child, msgpack_packer *pk)
{
    (void)slot;
    (void)for_child;
    return mproc__mgr_proxy_pack(obj, pk);
}

/* The list owns the decoded handle: freeing it by mistake does nothing. */
static void *unpack(const void *body, size_t len, const core_share_decode *cx, core_share_slot *slot, int *err)
{
    (void)cx;
    (void)slot;
    mgr_proxy *p = NULL;
    if ((*err = mproc__mgr_proxy_unpack(body, len, &p)) != 0)
        return NULL;
    core_obj_lend(p, 1);
    return p;
}

const core_share_ops mproc__core_mproxy_share_ops = {
    .kind = K_MPROXY,
    .ext_type = MGR_EXT_PROXY,
    .hand = hand,
    .retain = retain,
    .release = release,
    .pack = pack,
    .unpack = unpack,
};
