/* SPDX-License-Identifier: MIT */
/* manager_client.c - a process's side of its managers: one record per
 * server (address + key), holding idle connections. A call takes an idle
 * connection (or makes one), runs one request/reply on it and gives it
 * back, so threads of one process never share a connection in flight and
 * a thread blocked in acquire does not hold up the others.
 *
 * The server knows a process by a random token sent in HELLO on each new
 * connection: it ties a Lock to its holder across that process's
 * connections, and releases it once they are all gone. A forked child must
 * not talk over its parent's sockets: a record used in another process
 * than the one that made its connections closes them (the parent's stay
 * open) and draws a new token. */
#include <stdlib.h>
#include <string.h>

#include "ipc/conn.h"
#include "base/hooks.h"
#include "manager/manager.h"
#include "manager/mproxy.h"
#include "base/unpack.h"

struct mgr_client {
    mgr_client *next;
    int refs; /* under mproc__be_core_lock */
    char *address;
    unsigned char *key;
    size_t keylen;
    long pid; /* the process the token and connections belong to */
    unsigned char token[MGR_TOKEN_LEN];
    mproc_conn **idle;
    size_t nidle, cap;
    /* Connections that failed a call (out of step): kept open, unused,
     * until a new connection has said HELLO, so that a live process never
     * has none and the server never ends its session (its locks and its
     * references) because of a slow reply. */
    mproc_conn **retired;
    size_t nretired, capretired;
    /* The last call found the server gone or mute: giving references back
     * is skipped until a connection works again (a free must not wait
     * for a dead host; the session's end returns them anyway). */
    atomic_int unreachable;
};

static mgr_client *clients; /* under mproc__be_core_lock */

static void drop_retired(mgr_client *cl)
{
    for (size_t i = 0; i < cl->nretired; i++)
        mproc_conn_free(cl->retired[i]);
    cl->nretired = 0;
}

static void drop_idle(mgr_client *cl)
{
    for (size_t i = 0; i < cl->nidle; i++)
        mproc_conn_free(cl->idle[i]);
    cl->nidle = 0;
    drop_retired(cl);
}

/* A connection that failed a call; see struct mgr_client. */
static void retire(mgr_client *cl, mproc_conn *c)
{
    mproc__be_core_lock();
    if (cl->pid == mproc__be_getpid() && cl->nretired == cl->capretired) {
        size_t cap = cl->capretired ? cl->capretired * 2 : 4;
        mproc_conn **n = realloc(cl->retired, cap * sizeof *n);
        if (n) {
            cl->retired = n;
            cl->capretired = cap;
        }
    }
    if (cl->pid == mproc__be_getpid() && cl->nretired < cl->capretired) {
        cl->retired[cl->nretired++] = c;
        c = NULL;
    }
    mproc__be_core_unlock();
    mproc_conn_free(c);
}

/* Under mproc__be_core_lock: make the record this process's own. */
static void own(mgr_client *cl)
{
    long pid = mproc__be_getpid();
    if (cl->pid == pid)
        return;
    drop_idle(cl);
    mproc__be_random(cl->token, sizeof cl->token);
    cl->pid = pid;
}

/* In a new child after fork: the parent's connections are the parent's.
 * Closing our copies now (not at first use) lets a server see a client
 * die while its forked children live on. The child runs one thread here. */
static void forget_clients(void)
{
    for (mgr_client *cl = clients; cl; cl = cl->next)
        own(cl);
}

static core_hook forget_hook = CORE_HOOK_INIT(forget_clients, 0);

mgr_client *mproc__mgr_client_get(const char *address, const void *key, size_t keylen, int *err)
{
    mproc__core_child_hook_add(&forget_hook);
    if (!address || (!key && keylen)) {
        *err = MPROC_EINVAL;
        return NULL;
    }
    mproc__be_core_lock();
    mgr_client *cl = clients;
    while (cl && !(strcmp(cl->address, address) == 0 && cl->keylen == keylen &&
                   (keylen == 0 || memcmp(cl->key, key, keylen) == 0)))
        cl = cl->next;
    if (cl) {
        cl->refs++;
    } else if ((cl = calloc(1, sizeof *cl)) != NULL && (cl->address = mproc__core_strdup(address)) != NULL &&
               (cl->key = malloc(keylen ? keylen : 1)) != NULL) {
        if (keylen)
            memcpy(cl->key, key, keylen);
        cl->keylen = keylen;
        cl->refs = 1;
        cl->next = clients;
        clients = cl;
    } else if (cl) {
        free(cl->address);
        free(cl);
        cl = NULL;
    }
    mproc__be_core_unlock();
    *err = cl ? 0 : MPROC_ENOMEM;
    return cl;
}

void mproc__mgr_client_retain(mgr_client *cl)
{
    mproc__be_core_lock();
    cl->refs++;
    mproc__be_core_unlock();
}

void mproc__mgr_client_release(mgr_client *cl)
{
    if (!cl)
        return;
    mproc__be_core_lock();
    int last = --cl->refs == 0;
    if (last) {
        mgr_client **pp = &clients;
        while (*pp != cl)
            pp = &(*pp)->next;
        *pp = cl->next;
        if (cl->pid == mproc__be_getpid())
            drop_idle(cl);
    }
    mproc__be_core_unlock();
    if (last) {
        free(cl->idle);
        free(cl->retired);
        memset(cl->key, 0, cl->keylen);
        free(cl->key);
        free(cl->address);
        free(cl);
    }
}

const char *mproc__mgr_client_address(const mgr_client *cl) { return cl->address; }

const void *mproc__mgr_client_key(const mgr_client *cl, size_t *keylen)
{
    *keylen = cl->keylen;
    return cl->key;
}

/* A new authenticated connection, introduced to the server. */
static mproc_conn *connect_new(mgr_client *cl, int *err)
{
    unsigned char token[MGR_TOKEN_LEN];
    mproc__be_core_lock();
    own(cl);
    memcpy(token, cl->token, sizeof token);
    mproc__be_core_unlock();
    mproc_conn *c = mproc_client(cl->address, cl->key, cl->keylen, err);
    if (!c)
        return NULL;
    mgr_call call;
    mproc__mgr_call_begin(&call, OP_HELLO, 0, 2);
    msgpack_pack_bin_with_body(&call.pk, token, sizeof token);
    msgpack_pack_int64(&call.pk, mproc__be_getpid());
    int rc = mproc_conn_send_bytes(c, call.sb.data, call.sb.size);
    void *buf = NULL;
    size_t len;
    if (rc == 0 && (rc = mproc_conn_poll(c, MPROC_CONNECT_TIMEOUT)) == 1)
        rc = mproc_conn_recv_bytes(c, &buf, &len, 64);
    else if (rc == 0)
        rc = MPROC_ETIMEDOUT;
    mproc_free(buf);
    mproc__mgr_call_end(&call);
    if (rc) {
        mproc_conn_free(c);
        *err = rc == MPROC_EOS ? MPROC_EBROKEN : rc;
        return NULL;
    }
    mproc__be_core_lock();
    if (cl->pid == mproc__be_getpid())
        drop_retired(cl); /* this one carries the session now */
    mproc__be_core_unlock();
    atomic_store(&cl->unreachable, 0);
    return c;
}

static mproc_conn *take_conn(mgr_client *cl, int *err)
{
    mproc_conn *c = NULL;
    mproc__be_core_lock();
    own(cl);
    if (cl->nidle)
        c = cl->idle[--cl->nidle];
    mproc__be_core_unlock();
    return c ? c : connect_new(cl, err);
}

static void give_back(mgr_client *cl, mproc_conn *c)
{
    mproc__be_core_lock();
    if (cl->pid == mproc__be_getpid() && (cl->nidle < cl->cap || (cl->cap < 64 && cl->nidle == cl->cap))) {
        if (cl->nidle == cl->cap) {
            size_t cap = cl->cap ? cl->cap * 2 : 4;
            mproc_conn **n = realloc(cl->idle, cap * sizeof *n);
            if (n) {
                cl->idle = n;
                cl->cap = cap;
            }
        }
        if (cl->nidle < cl->cap) {
            cl->idle[cl->nidle++] = c;
            c = NULL;
        }
    }
    mproc__be_core_unlock();
    mproc_conn_free(c);
}

int mproc__mgr_client_probe(mgr_client *cl)
{
    int rc = 0;
    mproc_conn *c = take_conn(cl, &rc);
    if (c)
        give_back(cl, c);
    return rc;
}

int mproc__mgr_client_reachable(const mgr_client *cl) { return !atomic_load(&cl->unreachable); }

void mproc__mgr_client_gone(mgr_client *cl) { atomic_store(&cl->unreachable, 1); }

int mproc__mgr_client_simple(mgr_client *cl, int op, uint64_t id, int64_t *out)
{
    mgr_call c;
    mproc__mgr_call_begin(&c, op, id, 0);
    int rc = mproc__mgr_call_run(&c, cl, MGR_NOW);
    if (rc == 0 && out && mproc__mgr_obj_int(c.value, out) != 0)
        rc = MPROC_EBROKEN;
    mproc__mgr_call_end(&c);
    return rc;
}

void mproc__mgr_call_begin(mgr_call *c, int op, uint64_t id, size_t nargs)
{
    memset(c, 0, sizeof *c);
    msgpack_sbuffer_init(&c->sb);
    msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
    msgpack_unpacked_init(&c->up);
    msgpack_pack_array(&c->pk, 2 + nargs);
    msgpack_pack_int(&c->pk, op);
    msgpack_pack_uint64(&c->pk, id);
}

/* [status, value] */
static int parse_reply(mgr_call *c, size_t len)
{
    size_t off = 0;
    const msgpack_object *o = &c->up.data;
    int64_t status;
    if (mproc__core_unpack(&c->up, c->buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len ||
        o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 || mproc__mgr_obj_int(&o->via.array.ptr[0], &status) ||
        status > 0 || status < -1000)
        return MPROC_EBROKEN;
    c->value = &o->via.array.ptr[1];
    return (int)status;
}

/* Read at each call (a lookup in the environment costs far less than the
 * round trip), so a program may change it between calls. */
double mproc__mgr_reply_slack(void)
{
    const char *env = getenv("MPROC_MANAGER_TIMEOUT");
    char *end = NULL;
    double t = env && *env ? strtod(env, &end) : -1;
    return t > 0 && t < 1e6 && end && *end == '\0' ? t : 30.0;
}

int mproc__mgr_call_run(mgr_call *c, mgr_client *cl, double wait)
{
    if (!cl)
        return MPROC_EINVAL;
    if (c->sb.data == NULL)
        return MPROC_ENOMEM;
    int rc = 0;
    mproc_conn *conn = take_conn(cl, &rc);
    if (!conn) { /* the server went away (or never was): no way to ask it */
        if (rc == MPROC_EAUTH || rc == MPROC_ENOMEM)
            return rc;
        atomic_store(&cl->unreachable, 1);
        return MPROC_EBROKEN;
    }
    size_t len = 0;
    rc = mproc_conn_send_bytes(conn, c->sb.data, c->sb.size);
    /* A blocking call's reply comes within its timeout; the slack covers a
     * busy server. A server that died closes the socket: MPROC_EOS. */
    if (rc == 0)
        rc = mproc__core_conn_recv_alloc_timed(conn, &c->buf, &len, wait >= 0 ? wait + mproc__mgr_reply_slack() : MPROC_FOREVER);
    if (rc) {
        retire(cl, conn); /* out of step or dead */
        atomic_store(&cl->unreachable, 1);
        return rc == MPROC_ETIMEDOUT ? rc : MPROC_EBROKEN;
    }
    give_back(cl, conn);
    return parse_reply(c, len);
}

void mproc__mgr_call_end(mgr_call *c)
{
    msgpack_sbuffer_destroy(&c->sb);
    msgpack_unpacked_destroy(&c->up);
    mproc_free(c->buf);
    c->buf = NULL;
}

/* ------------------------------------------------------------ proxies */

mgr_proxy *mproc__mgr_proxy_new(mgr_client *cl, uint32_t type, uint64_t id, int held, int *err)
{
    mgr_proxy *p = mproc__core_handle_new(sizeof *p, K_MPROXY, err);
    if (!p)
        return NULL;
    p->h.methods = mproc__mgr_proxy_methods(type); /* how mproc_lock_acquire & co. reach it */
    p->type = type;
    p->id = id;
    p->cl = cl;
    atomic_init(&p->held, held);
    atomic_init(&p->unclaimed, !held);
    p->holder = mproc__be_getpid();
    atomic_init(&p->refs, 1);
    mproc__mgr_client_retain(cl);
    return p;
}

mgr_proxy *mproc__mgr_proxy_of(const void *p, unsigned types)
{
    if (core_obj_kind(p) != K_MPROXY)
        return NULL;
    mgr_proxy *m = (mgr_proxy *)p;
    return m->type < 32 && (types >> m->type & 1u) ? m : NULL;
}

void mproc__mgr_proxy_retain(mgr_proxy *p) { atomic_fetch_add(&p->refs, 1); }

/* The last handle on an object anywhere frees it in the server (a failure
 * here only means the server is gone or this process's session ended:
 * either way it no longer counts this reference). */
void mproc__mgr_proxy_release(mgr_proxy *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    if (atomic_load(&p->held) && p->holder == mproc__be_getpid() && mproc__mgr_client_reachable(p->cl))
        mproc__mgr_client_simple(p->cl, OP_DECREF, p->id, NULL);
    mproc__mgr_client_release(p->cl);
    mproc__core_handle_drop(p);
}

/* The sender's reference lasts until then: a process handle keeps its
 * args until the child has ended. One thread claims; the others go on
 * meanwhile (the sender's reference still holds). A server that cannot
 * be reached leaves the handle without one; its calls fail anyway. */
void mproc__mgr_proxy_claim(mgr_proxy *p)
{
    if (atomic_load(&p->unclaimed) && p->holder == mproc__be_getpid() && atomic_exchange(&p->unclaimed, 0))
        atomic_store(&p->held, mproc__mgr_client_simple(p->cl, OP_INCREF, p->id, NULL) == 0);
}

int mproc__mgr_proxy_call(mgr_call *c, mgr_proxy *p, double wait)
{
    mproc__mgr_proxy_claim(p);
    return mproc__mgr_call_run(c, p->cl, wait);
}

/* [type, id, address, key] */
int mproc__mgr_proxy_pack(const mgr_proxy *p, msgpack_packer *pk)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer in;
    msgpack_packer_init(&in, &sb, msgpack_sbuffer_write);
    size_t alen = strlen(p->cl->address);
    int rc = msgpack_pack_array(&in, 4) || msgpack_pack_uint32(&in, p->type) || msgpack_pack_uint64(&in, p->id) ||
             msgpack_pack_str_with_body(&in, p->cl->address, alen) ||
             msgpack_pack_bin_with_body(&in, p->cl->key, p->cl->keylen) ||
             msgpack_pack_ext_with_body(pk, sb.data, sb.size, MGR_EXT_PROXY);
    msgpack_sbuffer_destroy(&sb);
    return rc ? MPROC_ENOMEM : 0;
}

int mproc__mgr_proxy_unpack(const void *body, size_t len, mgr_proxy **out)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = MPROC_EINVAL;
    const msgpack_object *a = &up.data, *f;
    int64_t type, id;
    if (mproc__core_unpack(&up, body, len, &off) == MSGPACK_UNPACK_SUCCESS && a->type == MSGPACK_OBJECT_ARRAY &&
        a->via.array.size == 4 && (f = a->via.array.ptr) != NULL && mproc__mgr_obj_int(&f[0], &type) == 0 &&
        type > 0 && type < MT_MAX && mproc__mgr_obj_int(&f[1], &id) == 0 && id > 0 && f[2].type == MSGPACK_OBJECT_STR &&
        f[2].via.str.size < BE_ADDR_MAX + 16 && f[3].type == MSGPACK_OBJECT_BIN) {
        char address[BE_ADDR_MAX + 16];
        if (f[2].via.str.size) /* an empty str may have no pointer */
            memcpy(address, f[2].via.str.ptr, f[2].via.str.size);
        address[f[2].via.str.size] = '\0';
        mgr_client *cl = mproc__mgr_client_get(address, f[3].via.bin.ptr, f[3].via.bin.size, &rc);
        if (cl) {
            *out = mproc__mgr_proxy_new(cl, (uint32_t)type, (uint64_t)id, 0, &rc);
            mproc__mgr_client_release(cl);
        }
        /* It takes its own reference at first use (mproc__mgr_proxy_claim):
         * decoding never talks to a server. */
    }
    msgpack_unpacked_destroy(&up);
    return rc;
}
