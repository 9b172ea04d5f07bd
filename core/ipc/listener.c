/* SPDX-License-Identifier: MIT */
/* listener.c - mproc_listener: Python's Listener. Accepting a client
 * authenticates it first when the listener has a key: challenge, then
 * answer its challenge (Python's order). Handshakes run side by side
 * (handshake.h), each bounded by MPROC_CONNECT_TIMEOUT, so a peer that
 * connects and says nothing never keeps accept from the clients behind
 * it. */
#include <stdlib.h>
#include <string.h>

#include "ipc/address.h"
#include "base/gate.h"
#include "ipc/handshake.h"
#include "base/object.h"

#define LISTEN_BACKLOG 64 /* Python uses 1; more lets clients queue */
#define ACCEPT_SLICE 0.01 /* new clients are looked for this often while handshakes are pending */
#define ACCEPT_BATCH 16   /* most new clients taken in one look */

struct mproc_listener {
    core_obj h;
    core_gate gate;
    be_listener *bl;
    be_tlock *park_mu;
    core_hs_set parked; /* pending handshakes between accept calls */
    char address[BE_ADDR_MAX + 16];
    int keyed;
    unsigned char *key;
    size_t keylen;
};

static void release(mproc_listener *l)
{
    if (l->park_mu) {
        mproc__be_tlock_lock(l->park_mu);
        mproc__core_hs_set_clear(&l->parked);
        mproc__be_tlock_unlock(l->park_mu);
    }
    mproc__be_listener_close(l->bl);
    l->bl = NULL;
}

static void drop(mproc_listener *l)
{
    if (l->key)
        memset(l->key, 0, l->keylen);
    free(l->key);
    mproc__be_tlock_free(l->park_mu);
    mproc__core_handle_drop(l);
}

mproc_listener *mproc_listener_new(const char *address, const void *authkey, size_t keylen, int *err)
{
    int rc = 0;
    mproc_listener *l = NULL;
    be_addr want, bound;
    mproc__core_ensure_init();
    if ((!authkey && keylen) || (rc = mproc__core_addr_parse(address, &want)) != 0) {
        rc = rc ? rc : MPROC_EINVAL;
        goto out;
    }
    if (!(l = mproc__core_handle_new(sizeof *l, K_LISTENER, &rc)))
        goto out;
    l->keyed = authkey != NULL;
    l->keylen = keylen;
    if (l->keyed && !(l->key = malloc(keylen ? keylen : 1)))
        rc = MPROC_ENOMEM;
    else if (l->keyed && keylen)
        memcpy(l->key, authkey, keylen);
    if (rc == 0)
        rc = mproc__be_tlock_new(&l->park_mu);
    if (rc == 0 && (rc = mproc__be_listener_open(&want, LISTEN_BACKLOG, &l->bl, &bound)) == 0 &&
        (rc = mproc__core_addr_format(&bound, l->address, sizeof l->address)) != 0)
        release(l);
    if (rc) {
        drop(l);
        l = NULL;
    }
out:
    if (err)
        *err = rc;
    return l;
}

static mproc_listener *valid(const mproc_listener *l)
{
    return core_obj_kind(l) == K_LISTENER ? (mproc_listener *)l : NULL;
}

/* A new client's handshake (none without a key). */
static int start_hs(mproc_listener *l, be_stream *s, double timeout, core_hs **out)
{
    return mproc__core_hs_start(s, l->keyed ? l->key : NULL, l->keylen, mproc__core_deadline(timeout), out);
}

int mproc__core_listener_accept_hs(mproc_listener *l, double timeout, core_hs **out)
{
    be_stream *s;
    int rc = valid(l) ? mproc__be_listener_accept(l->bl, 0, &s) : MPROC_EINVAL;
    return rc ? rc : start_hs(l, s, timeout, out);
}

/* Starts handshakes for the clients waiting now (a few per round, so that
 * a flood cannot keep us here); 1 and *out when a keyless one is ready. */
static int take_new(mproc_listener *l, core_hs_set *set, mproc_conn **out)
{
    for (int k = 0; k < ACCEPT_BATCH; k++) {
        core_hs *h;
        int rc = mproc__core_listener_accept_hs(l, MPROC_CONNECT_TIMEOUT, &h);
        if (rc)
            return rc == MPROC_ETIMEDOUT ? 0 : rc;
        if (mproc__core_hs_done(h)) {
            *out = mproc__core_hs_finish(h, &rc);
            return *out ? 1 : rc;
        }
        mproc__core_hs_set_add(set, h);
    }
    return 0;
}

/* Waits up to wait for a pending handshake to have news and steps those
 * that do: 1 and *out (one finished), 0, or the error of one that failed
 * (Python's accept raises it too). */
static int step_pending(core_hs_set *set, double wait, be_wait_item *items, mproc_conn **out)
{
    mproc__core_hs_set_items(set, items);
    int r = mproc__be_wait(items, set->n, wait);
    for (size_t i = set->n; r > 0 && i-- > 0;) {
        if (!items[i].ready)
            continue;
        int rc = mproc__core_hs_set_step(set, i, out);
        if (rc != 0)
            return rc;
    }
    return r < 0 ? r : 0;
}

/* One round of an accept call: a new client, or news from the pending
 * ones. With none pending it simply waits for a client; else new clients
 * are looked for every ACCEPT_SLICE, since a listening socket cannot join
 * mproc__be_wait on every backend (a Windows pipe listener is an instance waiting
 * in ConnectNamedPipe). */
static int accept_round(mproc_listener *l, core_hs_set *set, double deadline, mproc_conn **out)
{
    double left = mproc__core_remaining(deadline);
    double next = mproc__core_hs_set_expire(set, mproc__be_monotonic());
    if (set->n == 0) {
        be_stream *s;
        core_hs *h;
        int rc = mproc__be_listener_accept(l->bl, left, &s);
        if (rc == 0 && (rc = start_hs(l, s, MPROC_CONNECT_TIMEOUT, &h)) == 0) {
            if (mproc__core_hs_done(h))
                return (*out = mproc__core_hs_finish(h, &rc)) ? 1 : rc;
            mproc__core_hs_set_add(set, h);
        }
        return rc;
    }
    double wait = ACCEPT_SLICE;
    if (left >= 0 && left < wait)
        wait = left;
    if (next >= 0 && next < wait)
        wait = next;
    be_wait_item items[CORE_HS_PENDING_MAX];
    int rc = step_pending(set, wait, items, out);
    if (rc == 0)
        rc = take_new(l, set, out);
    if (rc == 0 && left == 0)
        rc = MPROC_ETIMEDOUT;
    return rc;
}

/* Handshakes still pending when a call returns wait in the listener for
 * the next call (of any thread): a good client that came during one call
 * is not lost by its end. */
static void take_parked(mproc_listener *l, core_hs_set *set)
{
    mproc__be_tlock_lock(l->park_mu);
    mproc__core_hs_set_move(set, &l->parked);
    mproc__be_tlock_unlock(l->park_mu);
}

static void park(mproc_listener *l, core_hs_set *set)
{
    mproc__be_tlock_lock(l->park_mu);
    mproc__core_hs_set_move(&l->parked, set);
    mproc__be_tlock_unlock(l->park_mu);
}

mproc_conn *mproc_listener_accept(mproc_listener *l, double timeout, int *err)
{
    int rc = valid(l) && !mproc__core_timeout_invalid(timeout) ? core_gate_enter(&l->gate) : MPROC_EINVAL;
    mproc_conn *c = NULL;
    if (rc == 0) {
        double deadline = mproc__core_deadline(timeout);
        core_hs_set set = {.n = 0};
        take_parked(l, &set);
        while ((rc = accept_round(l, &set, deadline, &c)) == 0 && !core_gate_closed(&l->gate))
            ;
        if (rc == 0 && !c)
            rc = MPROC_ECLOSED; /* closed by another thread meanwhile */
        if (rc == 1)
            rc = 0;
        park(l, &set);
        if (core_gate_leave(&l->gate))
            release(l);
    }
    if (err)
        *err = rc;
    return c;
}

const char *mproc_listener_address(const mproc_listener *l)
{
    mproc_listener *v = valid(l);
    return v && !core_gate_closed(&v->gate) ? v->address : NULL;
}

int mproc_listener_close(mproc_listener *l)
{
    if (!valid(l))
        return MPROC_EINVAL;
    if (core_gate_close(&l->gate))
        release(l);
    return 0;
}

void mproc_listener_free(mproc_listener *l)
{
    if (!valid(l))
        return;
    mproc_listener_close(l);
    drop(l);
}
