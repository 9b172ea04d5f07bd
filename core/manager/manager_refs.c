/* SPDX-License-Identifier: MIT */
/* manager_refs.c - object lifetime in the Manager's server, as Python's
 * Server.incref/decref: an object lives while something refers to it.
 * Each client process (a session: the token of its HELLO) holds one
 * reference per proxy it has; a proxy stored in a list or dict, and a
 * Condition's lock, are references of the server's own. A client's
 * references go when it frees its proxies (DECREF) or when its last
 * connection ends, so a client killed with SIGKILL gives them back too.
 *
 * An object whose last reference goes leaves the id map at once (later
 * requests find nothing) but is freed by mproc__srv_reap after the request that
 * dropped it: the request may still be working on it. */
#include <stdlib.h>
#include <string.h>

#include "manager/manager_srv.h"

static sobj *lookup(const mgr_server *S, uint64_t id)
{
    uint64_t v;
    return mproc__idmap_get(&S->objs, id, &v) ? (sobj *)(uintptr_t)v : NULL;
}

int mproc__srv_add_obj(mgr_server *S, sobj *o, msess *owner)
{
    uint64_t id = S->last_id + 1;
    int rc = mproc__idmap_put(&S->objs, id, (uint64_t)(uintptr_t)o);
    if (rc == 0 && (rc = mproc__idmap_put(&owner->refs, id, 1)) != 0)
        mproc__idmap_del(&S->objs, id);
    if (rc)
        return rc;
    S->last_id = id;
    o->id = id;
    o->refs = 1;
    return 0;
}

void mproc__srv_ref(sobj *o) { o->refs++; }

void mproc__srv_unref(mgr_server *S, sobj *o)
{
    if (S->closing || --o->refs > 0)
        return;
    mproc__idmap_del(&S->objs, o->id);
    o->next_doomed = S->doomed;
    S->doomed = o;
}

int mproc__srv_incref(mgr_server *S, msess *s, uint64_t id)
{
    sobj *o = lookup(S, id);
    uint64_t held = 0;
    if (!o)
        return MPROC_ENOENT;
    mproc__idmap_get(&s->refs, id, &held);
    int rc = mproc__idmap_put(&s->refs, id, held + 1);
    if (rc == 0)
        mproc__srv_ref(o);
    return rc;
}

int mproc__srv_decref(mgr_server *S, msess *s, uint64_t id)
{
    uint64_t held = 0;
    /* A client can only give back what it holds: a proxy a forked child
     * copied from its parent's memory holds nothing of the child's. */
    if (!mproc__idmap_get(&s->refs, id, &held))
        return lookup(S, id) ? MPROC_ESTATE : MPROC_ENOENT;
    if (held > 1)
        mproc__idmap_put(&s->refs, id, held - 1); /* the slot exists: no allocation */
    else
        mproc__idmap_del(&s->refs, id);
    sobj *o = lookup(S, id);
    if (o)
        mproc__srv_unref(S, o);
    return 0;
}

void mproc__srv_give(mgr_server *S, sconn *c, const blob *b)
{
    uint64_t id = mproc__blob_proxy_id(b);
    /* Failing (no memory) leaves the client's proxy without a reference:
     * it works while others keep the object alive. */
    if (id && c->sess)
        mproc__srv_incref(S, c->sess, id);
}

msess *mproc__srv_session(mgr_server *S, const unsigned char token[MGR_TOKEN_LEN])
{
    for (msess *s = S->sessions; s; s = s->next)
        if (memcmp(s->token, token, MGR_TOKEN_LEN) == 0)
            return s;
    msess *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    memcpy(s->token, token, MGR_TOKEN_LEN);
    s->next = S->sessions;
    S->sessions = s;
    return s;
}

void mproc__srv_session_end(mgr_server *S, msess *s)
{
    msess **pp = &S->sessions;
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    for (size_t i = 0; i < s->refs.cap; i++) {
        sobj *o = s->refs.keys[i] ? lookup(S, s->refs.keys[i]) : NULL;
        if (!o)
            continue;
        o->refs -= (int64_t)s->refs.vals[i] - 1;
        mproc__srv_unref(S, o);
    }
    mproc__idmap_free(&s->refs);
    free(s);
}

/* Nobody can name a doomed object any more, but a client may be waiting
 * on it (a forked child's copy of a proxy holds no reference). */
static void drop_waiters(mgr_server *S, sobj *o)
{
    while (o->head)
        mproc__srv_finish(S, o->head, MPROC_ENOENT);
}

void mproc__srv_reap(mgr_server *S)
{
    while (S->doomed) {
        sobj *o = S->doomed;
        S->doomed = o->next_doomed;
        drop_waiters(S, o);
        mproc__srv_destroy_obj(S, o); /* may doom more: the loop takes them too */
    }
}
