/* listener.c - mproc_listener: Python's Listener. Accepting a client
 * authenticates it first when the listener has a key: challenge, then
 * answer its challenge (Python's order). */
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "auth.h"
#include "gate.h"
#include "object.h"

#define LISTEN_BACKLOG 64 /* Python uses 1; more lets clients queue */

struct mproc_listener {
    core_obj h;
    core_gate gate;
    be_listener *bl;
    char address[BE_ADDR_MAX + 16];
    int keyed;
    unsigned char *key;
    size_t keylen;
};

static void release(mproc_listener *l)
{
    be_listener_close(l->bl);
    l->bl = NULL;
}

static void drop(mproc_listener *l)
{
    if (l->key)
        memset(l->key, 0, l->keylen);
    free(l->key);
    core_handle_drop(l);
}

mproc_listener *mproc_listener_new(const char *address, const void *authkey, size_t keylen, int *err)
{
    int rc = 0;
    mproc_listener *l = NULL;
    be_addr want, bound;
    core_ensure_init();
    if ((!authkey && keylen) || (rc = core_addr_parse(address, &want)) != 0) {
        rc = rc ? rc : MPROC_EINVAL;
        goto out;
    }
    if (!(l = core_handle_new(sizeof *l, K_LISTENER, &rc)))
        goto out;
    l->keyed = authkey != NULL;
    l->keylen = keylen;
    if (l->keyed && !(l->key = malloc(keylen ? keylen : 1)))
        rc = MPROC_ENOMEM;
    else if (l->keyed && keylen)
        memcpy(l->key, authkey, keylen);
    if (rc == 0 && (rc = be_listener_open(&want, LISTEN_BACKLOG, &l->bl, &bound)) == 0 &&
        (rc = core_addr_format(&bound, l->address, sizeof l->address)) != 0)
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

/* The handshake, server side; closes the connection when it fails. */
static int authenticate(mproc_listener *l, mproc_conn *c, double deadline)
{
    int rc = core_auth_deliver(c, l->key, l->keylen, deadline);
    if (rc == 0)
        rc = core_auth_answer(c, l->key, l->keylen, deadline);
    return rc;
}

mproc_conn *mproc_listener_accept(mproc_listener *l, double timeout, int *err)
{
    int rc = valid(l) && !core_timeout_invalid(timeout) ? core_gate_enter(&l->gate) : MPROC_EINVAL;
    mproc_conn *c = NULL;
    if (rc == 0) {
        double deadline = core_deadline(timeout);
        be_stream *s;
        rc = be_listener_accept(l->bl, timeout, &s);
        if (core_gate_leave(&l->gate))
            release(l);
        if (rc == 0)
            c = core_conn_wrap(s, CONN_READABLE | CONN_WRITABLE, &rc);
        if (c && l->keyed) {
            /* Waiting for a client had no bound: its handshake gets one. */
            if (timeout < 0)
                deadline = core_deadline(MPROC_CONNECT_TIMEOUT);
            if ((rc = authenticate(l, c, deadline)) != 0) {
                mproc_conn_free(c);
                c = NULL;
            }
        }
    }
    if (err)
        *err = rc;
    return c;
}

/* The manager server's accept: a client already waiting (else
 * MPROC_ETIMEDOUT at once), then its handshake within handshake_timeout. */
mproc_conn *core_listener_accept_ready(mproc_listener *l, double handshake_timeout, int *err);
mproc_conn *core_listener_accept_ready(mproc_listener *l, double handshake_timeout, int *err)
{
    be_stream *s;
    mproc_conn *c = NULL;
    int rc = valid(l) ? be_listener_accept(l->bl, 0, &s) : MPROC_EINVAL;
    if (rc == 0 && (c = core_conn_wrap(s, CONN_READABLE | CONN_WRITABLE, &rc)) != NULL && l->keyed &&
        (rc = authenticate(l, c, core_deadline(handshake_timeout))) != 0) {
        mproc_conn_free(c);
        c = NULL;
    }
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
