/* SPDX-License-Identifier: MIT */
/* manager_server.c - the Manager's server process: a listener and one loop
 * over the client connections and the handshakes of new ones, side by side
 * (manager_srv.h, handshake.h). Nothing a client does can stop it: a peer
 * that does not authenticate holds up nobody and goes after
 * HANDSHAKE_TIMEOUT, a dead client's connection ends (its waiters go, its
 * locks are freed for the next acquirer with MPROC_EOWNERDEAD, its
 * references go: manager_refs.c), a bad request gets MPROC_EINVAL, a
 * client that does not read its replies is dropped after SEND_TIMEOUT. It
 * exits on OP_SHUTDOWN and when its owner process is gone, and unlinks
 * then the segments it made for its clients (SharedMemoryManager). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/address.h"
#include "ipc/conn.h"
#include "manager/manager_srv.h"
#include "base/unpack.h"

#define ACCEPT_EVERY 0.005  /* new clients are looked for this often */
#define OWNER_EVERY 0.2     /* is the owner still alive? */
#define HANDSHAKE_TIMEOUT 5.0 /* each new connection's, side by side (handshake.h) */
#define SEND_TIMEOUT 10.0
#define REQUEST_MAX ((size_t)1 << 30) /* a longer request drops the client */

/* ------------------------------------------------------------ replies */

msgpack_packer *mproc__srv_begin(mgr_server *S, int status)
{
    msgpack_sbuffer_clear(&S->out);
    msgpack_pack_array(&S->pk, 2);
    msgpack_pack_int(&S->pk, status);
    return &S->pk;
}

void mproc__srv_send(mgr_server *S, sconn *c)
{
    if (c->gone)
        return;
    if (!S->out.data || mproc__core_conn_send_timed(c->c, S->out.data, S->out.size, SEND_TIMEOUT) != 0)
        c->gone = 1;
}

void mproc__srv_status(mgr_server *S, sconn *c, int status)
{
    msgpack_pack_nil(mproc__srv_begin(S, status));
    mproc__srv_send(S, c);
}

void mproc__srv_int(mgr_server *S, sconn *c, int64_t v)
{
    msgpack_pack_int64(mproc__srv_begin(S, 0), v);
    mproc__srv_send(S, c);
}

/* ------------------------------------------------------------ helpers */

sobj *mproc__srv_obj(mgr_server *S, uint64_t id, unsigned types)
{
    uint64_t v;
    if (!mproc__idmap_get(&S->objs, id, &v))
        return NULL;
    sobj *o = (sobj *)(uintptr_t)v;
    return (types >> o->type & 1u) ? o : NULL;
}

int mproc__srv_arg_int(const msgpack_object *a, uint32_t n, uint32_t i, int64_t *out)
{
    return i < n ? mproc__mgr_obj_int(&a[i], out) : MPROC_EINVAL;
}

int mproc__srv_arg_timeout(const msgpack_object *a, uint32_t n, uint32_t i, double *out)
{
    if (i >= n)
        return MPROC_EINVAL;
    if (a[i].type == MSGPACK_OBJECT_NIL) {
        *out = -1.0;
        return 0;
    }
    return mproc__mgr_obj_num(&a[i], out);
}

waiter *mproc__srv_wait(sobj *o, sconn *c, int op, double timeout)
{
    waiter *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->conn = c;
    w->obj = o;
    w->op = op;
    w->deadline = mproc__core_deadline(timeout);
    if (o->tail)
        o->tail->next = w;
    else
        o->head = w;
    o->tail = w;
    c->pending = w;
    return w;
}

void mproc__srv_unlink(waiter *w)
{
    sobj *o = w->obj;
    waiter **pp = &o->head, *prev = NULL;
    while (*pp && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = w->next;
    if (o->tail == w)
        o->tail = prev;
    w->next = NULL;
}

void mproc__srv_drop_waiter(waiter *w)
{
    mproc__srv_unlink(w);
    w->conn->pending = NULL;
    mproc__blob_free(&w->item);
    free(w);
}

void mproc__srv_finish(mgr_server *S, waiter *w, int status)
{
    mproc__srv_status(S, w->conn, status);
    mproc__srv_drop_waiter(w);
}

/* ------------------------------------------------------------ requests */

/* A connection says which client it belongs to: a process's connections
 * share its locks and its references (its session). */
static void on_hello(mgr_server *S, sconn *c, const msgpack_object *a, uint32_t n)
{
    msess *s;
    if (n < 1 || a[0].type != MSGPACK_OBJECT_BIN || a[0].via.bin.size != MGR_TOKEN_LEN) {
        mproc__srv_status(S, c, MPROC_EINVAL);
        return;
    }
    if (c->hello) { /* one client per connection */
        mproc__srv_status(S, c, MPROC_ESTATE);
        return;
    }
    if (!(s = mproc__srv_session(S, (const unsigned char *)a[0].via.bin.ptr))) {
        mproc__srv_status(S, c, MPROC_ENOMEM);
        return;
    }
    memcpy(c->token, s->token, MGR_TOKEN_LEN);
    c->sess = s;
    s->nconns++;
    c->hello = 1;
    mproc__srv_status(S, c, 0);
}

static void on_create(mgr_server *S, sconn *c, const msgpack_object *a, uint32_t n)
{
    sobj *o = NULL;
    int rc = mproc__srv_create(S, c, a, n, &o);
    if (rc == 0 && (rc = mproc__srv_add_obj(S, o, c->sess)) != 0)
        mproc__srv_destroy_obj(S, o);
    if (rc)
        mproc__srv_status(S, c, rc);
    else
        mproc__srv_int(S, c, (int64_t)o->id);
}

/* ------------------------------------------------------------ segments */

/* SharedMemoryManager: the server creates segments for its clients and
 * owns their names; they live until it releases them or ends. */
static void on_seg_create(mgr_server *S, sconn *c, const msgpack_object *a, uint32_t n)
{
    int64_t size = 0;
    int rc = mproc__srv_arg_int(a, n, 0, &size);
    if (rc == 0 && (size <= 0 || (uint64_t)size > SIZE_MAX))
        rc = MPROC_EINVAL;
    if (rc == 0 && S->nsegs == S->capsegs) {
        size_t cap = S->capsegs ? S->capsegs * 2 : 8;
        mproc_shm **segs = realloc(S->segs, cap * sizeof *segs);
        if (segs) {
            S->segs = segs;
            S->capsegs = cap;
        } else {
            rc = MPROC_ENOMEM;
        }
    }
    mproc_shm *shm = rc ? NULL : mproc_shm_open(NULL, (size_t)size, 1, &rc);
    if (!shm) {
        mproc__srv_status(S, c, rc);
        return;
    }
    S->segs[S->nsegs++] = shm;
    const char *name = mproc_shm_name(shm);
    msgpack_packer *pk = mproc__srv_begin(S, 0);
    msgpack_pack_str(pk, strlen(name));
    msgpack_pack_str_body(pk, name, strlen(name));
    mproc__srv_send(S, c);
}

static void seg_drop(mgr_server *S, size_t i)
{
    mproc_shm_unlink(S->segs[i]); /* MPROC_ENOENT if a client unlinked it: fine */
    mproc_shm_close(S->segs[i]);
    S->segs[i] = S->segs[--S->nsegs];
}

static void on_seg_release(mgr_server *S, sconn *c, const msgpack_object *a, uint32_t n)
{
    int rc = MPROC_EINVAL;
    if (n >= 1 && a[0].type == MSGPACK_OBJECT_STR) {
        rc = MPROC_ENOENT;
        for (size_t i = 0; i < S->nsegs; i++) {
            const char *name = mproc_shm_name(S->segs[i]);
            if (strlen(name) == a[0].via.str.size && memcmp(name, a[0].via.str.ptr, a[0].via.str.size) == 0) {
                seg_drop(S, i);
                rc = 0;
                break;
            }
        }
    }
    mproc__srv_status(S, c, rc);
}

static void on_seg_list(mgr_server *S, sconn *c)
{
    msgpack_packer *pk = mproc__srv_begin(S, 0);
    msgpack_pack_array(pk, S->nsegs);
    for (size_t i = 0; i < S->nsegs; i++) {
        const char *name = mproc_shm_name(S->segs[i]);
        msgpack_pack_str(pk, strlen(name));
        msgpack_pack_str_body(pk, name, strlen(name));
    }
    mproc__srv_send(S, c);
}

static void handle(mgr_server *S, sconn *c, const void *buf, size_t len)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    const msgpack_object *r = &up.data;
    int64_t op, id;
    if (mproc__core_unpack(&up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len ||
        r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size < 2 || mproc__mgr_obj_int(&r->via.array.ptr[0], &op) ||
        mproc__mgr_obj_int(&r->via.array.ptr[1], &id)) {
        mproc__srv_status(S, c, MPROC_EINVAL);
        msgpack_unpacked_destroy(&up);
        return;
    }
    const msgpack_object *a = r->via.array.ptr + 2;
    uint32_t n = r->via.array.size - 2;
    unsigned types;
    sobj *o;
    if (op == OP_HELLO) {
        on_hello(S, c, a, n);
    } else if (!c->hello) {
        mproc__srv_status(S, c, MPROC_ESTATE);
    } else if (op == OP_CREATE) {
        on_create(S, c, a, n);
    } else if (op == OP_SHUTDOWN) {
        S->shutdown = 1;
        while (S->nsegs) /* gone before the reply, as in Python's SharedMemoryServer.shutdown */
            seg_drop(S, S->nsegs - 1);
        mproc__srv_status(S, c, 0);
    } else if (op == OP_COUNT) {
        mproc__srv_int(S, c, (int64_t)S->objs.n);
    } else if (op == OP_SEG_CREATE) {
        on_seg_create(S, c, a, n);
    } else if (op == OP_SEG_RELEASE) {
        on_seg_release(S, c, a, n);
    } else if (op == OP_SEG_LIST) {
        on_seg_list(S, c);
    } else if (op == OP_INCREF) {
        mproc__srv_status(S, c, mproc__srv_incref(S, c->sess, (uint64_t)id));
    } else if (op == OP_DECREF) {
        mproc__srv_status(S, c, mproc__srv_decref(S, c->sess, (uint64_t)id));
    } else if (op == OP_TYPE) {
        o = mproc__srv_obj(S, (uint64_t)id, ~0u);
        if (o)
            mproc__srv_int(S, c, o->type);
        else
            mproc__srv_status(S, c, MPROC_ENOENT);
    } else if ((types = mproc__srv_op_types((int)op)) == 0) {
        mproc__srv_status(S, c, MPROC_EINVAL);
    } else if ((o = mproc__srv_obj(S, (uint64_t)id, ~0u)) == NULL) {
        mproc__srv_status(S, c, MPROC_ENOENT);
    } else if (!(types >> o->type & 1u)) {
        mproc__srv_status(S, c, MPROC_EINVAL);
    } else if (mproc__srv_handle_data(S, c, (int)op, o, a, n) != 0 && mproc__srv_handle_sync(S, c, (int)op, o, a, n) != 0) {
        mproc__srv_status(S, c, MPROC_EINVAL);
    }
    msgpack_unpacked_destroy(&up);
}

/* ------------------------------------------------------------ connections */

static void add_conn(mgr_server *S, mproc_conn *c)
{
    sconn *sc = calloc(1, sizeof *sc);
    unsigned flags;
    if (sc && S->nconns == S->capconns) {
        size_t cap = S->capconns ? S->capconns * 2 : 16;
        sconn **conns = realloc(S->conns, cap * sizeof *conns);
        if (conns) {
            S->conns = conns;
            S->capconns = cap;
        }
    }
    if (!sc || S->nconns == S->capconns || mproc__core_conn_hold(c, 1, &sc->s, &flags) != 0) {
        free(sc);
        mproc_conn_free(c);
        return;
    }
    sc->c = c;
    S->conns[S->nconns++] = sc;
}

/* A connection ends; the last of its client ends the client's session:
 * its locks are freed (MPROC_EOWNERDEAD for the next owner) and its
 * references go. */
static void drop_conn(mgr_server *S, size_t i)
{
    sconn *c = S->conns[i];
    if (c->pending)
        mproc__srv_drop_waiter(c->pending);
    mproc__core_conn_unhold(c->c);
    mproc_conn_free(c->c);
    S->conns[i] = S->conns[--S->nconns];
    if (c->sess && --c->sess->nconns == 0) {
        mproc__srv_client_gone(S, c->token);
        mproc__srv_session_end(S, c->sess);
        mproc__srv_reap(S);
    }
    free(c);
}

static void read_one(mgr_server *S, sconn *c)
{
    void *buf = NULL;
    size_t len;
    int rc = mproc_conn_recv_bytes(c->c, &buf, &len, REQUEST_MAX);
    if (rc != 0 || c->pending) /* gone, or a request while one is pending: out of step */
        c->gone = 1;
    else
        handle(S, c, buf, len);
    mproc__srv_reap(S); /* what the request left without references */
    mproc_free(buf);
}

/* New clients start their handshakes; the loop steps them as their
 * answers come (serve_ready), so a silent one delays nobody. */
static void accept_all(mgr_server *S, mproc_listener *l)
{
    for (int k = 0; k < 16; k++) {
        core_hs *h;
        int rc = mproc__core_listener_accept_hs(l, HANDSHAKE_TIMEOUT, &h);
        if (rc == MPROC_ETIMEDOUT)
            return; /* nobody waiting */
        if (rc)
            continue; /* this client failed at once (or an OS error: the next round tries again) */
        if (mproc__core_hs_done(h)) {
            mproc_conn *c = mproc__core_hs_finish(h, &rc);
            if (c)
                add_conn(S, c);
        } else {
            mproc__core_hs_set_add(&S->pending, h);
        }
    }
}

/* Deadlines that passed; the time until the next one (< 0: none). */
static double expire(mgr_server *S, double now)
{
    double next = mproc__core_hs_set_expire(&S->pending, now);
    for (size_t i = 0; i < S->nconns; i++) {
        waiter *w = S->conns[i]->pending;
        if (!w || w->deadline < 0)
            continue;
        if (w->deadline <= now)
            mproc__srv_timeout(S, w);
        else if (next < 0 || w->deadline - now < next)
            next = w->deadline - now;
    }
    return next;
}

/* Handshakes that have news: done ones become clients. */
static void step_handshakes(mgr_server *S, const be_wait_item *items)
{
    for (size_t i = S->pending.n; i-- > 0;) {
        mproc_conn *c = NULL;
        if (items[i].ready && mproc__core_hs_set_step(&S->pending, i, &c) == 1)
            add_conn(S, c);
    }
}

/* Waits for requests (and handshake messages) up to timeout and serves
 * them. */
static int serve_ready(mgr_server *S, double timeout, be_wait_item **items, size_t *cap)
{
    size_t k = S->nconns, n = k + S->pending.n;
    if (n == 0) {
        mproc__be_sleep(timeout);
        return 0;
    }
    if (n == 1 && k == 1) { /* the common case, without building a poll set */
        int r = mproc__core_poll_stream(&S->spin, S->conns[0]->s, timeout);
        if (r == 1)
            read_one(S, S->conns[0]);
        return r < 0 ? r : 0;
    }
    if (*cap < n) {
        be_wait_item *m = realloc(*items, n * sizeof *m);
        if (!m)
            return MPROC_ENOMEM;
        *items = m;
        *cap = n;
    }
    for (size_t i = 0; i < k; i++)
        (*items)[i] = (be_wait_item){S->conns[i]->s, NULL, 0};
    mproc__core_hs_set_items(&S->pending, *items + k);
    int r = mproc__core_wait_set(&S->spin, *items, n, timeout);
    for (size_t i = 0; r > 0 && i < k; i++)
        if ((*items)[i].ready)
            read_one(S, S->conns[i]);
    if (r > 0)
        step_handshakes(S, *items + k); /* after the reads: new clients go at the end */
    return r < 0 ? r : 0;
}

static void run(mgr_server *S, mproc_listener *l, long owner)
{
    be_wait_item *items = NULL;
    size_t cap = 0;
    double next_accept = 0, next_owner = 0;
    while (!S->shutdown) {
        double now = mproc__be_monotonic();
        double t = expire(S, now);
        if (now >= next_owner) {
            if (owner && !mproc__be_pid_alive(owner))
                break;
            next_owner = now + OWNER_EVERY;
        }
        if (now >= next_accept) {
            accept_all(S, l);
            next_accept = now + ACCEPT_EVERY;
        }
        double until = next_accept - now;
        if (t < 0 || t > until)
            t = until;
        if (serve_ready(S, t < 0 ? 0 : t, &items, &cap) != 0)
            mproc__be_sleep(0.001);
        for (size_t i = S->nconns; i-- > 0;)
            if (S->conns[i]->gone)
                drop_conn(S, i);
    }
    free(items);
}

/* args: address, key (bytes), owner pid, report connection. The bound
 * address (or an error code) goes back over the report connection. */
/* Teardown shared by the server and the fuzz harness. */
static void server_clear(mgr_server *S)
{
    mproc__core_hs_set_clear(&S->pending);
    S->closing = 1; /* everything goes: no counting, no cascades */
    while (S->nconns)
        drop_conn(S, S->nconns - 1);
    while (S->sessions)
        mproc__srv_session_end(S, S->sessions);
    mproc__srv_reap(S);
    for (size_t i = 0; i < S->objs.cap; i++)
        if (S->objs.keys[i])
            mproc__srv_destroy_obj(S, (sobj *)(uintptr_t)S->objs.vals[i]);
    mproc__idmap_free(&S->objs);
    while (S->nsegs) /* SharedMemoryManager's shutdown: unlink them all */
        seg_drop(S, S->nsegs - 1);
    free(S->segs);
    free(S->conns);
    msgpack_sbuffer_destroy(&S->out);
    msgpack_sbuffer_destroy(&S->scratch);
}

static void server_init(mgr_server *S)
{
    memset(S, 0, sizeof *S);
    msgpack_sbuffer_init(&S->out);
    msgpack_sbuffer_init(&S->scratch);
    msgpack_packer_init(&S->pk, &S->out, msgpack_sbuffer_write);
}

int mproc__core_manager_fuzz(const void *const *reqs, const size_t *lens, size_t n)
{
    mproc_conn *srv, *cli;
    int rc = mproc_pipe(1, &srv, &cli);
    if (rc)
        return rc;
    mgr_server S;
    server_init(&S);
    add_conn(&S, srv);
    for (size_t i = 0; i < n && S.nconns && !S.shutdown; i++) {
        sconn *c = S.conns[0];
        if (c->pending) /* a request while one is parked: the server drops the client */
            break;
        handle(&S, c, reqs[i], lens[i]);
        mproc__srv_reap(&S);
        while (mproc_conn_poll(cli, 0) == 1) { /* the replies, read and dropped */
            void *buf;
            size_t len;
            if (mproc_conn_recv_bytes(cli, &buf, &len, MPROC_NOLIMIT) != 0)
                break;
            mproc_free(buf);
        }
    }
    server_clear(&S);
    mproc_conn_free(cli);
    return 0;
}

int mproc__core_manager_serve(const mproc_args *args)
{
    /* Ctrl-C at the terminal is for the program, not its server (which it
     * may still need to clean up), as in Python (bpo-36368). */
    mproc__be_ignore_interrupts();
    const char *address = mproc_args_str(args, 0);
    size_t keylen = 0;
    const void *key = mproc_args_bytes(args, 1, &keylen);
    long owner = (long)mproc_args_int(args, 2);
    mproc_conn *report = mproc_args_obj(args, 3);
    int rc = 0;
    be_addr priv;
    char buf[BE_ADDR_MAX + 16];
    int private = address == NULL || *address == '\0';
    if (private && (rc = mproc__be_private_address(&priv)) == 0)
        rc = mproc__core_addr_format(&priv, buf, sizeof buf);
    mproc_listener *l = rc ? NULL : mproc_listener_new(private ? buf : address, key, keylen, &rc);
    const char *bound = l ? mproc_listener_address(l) : "";
    char msg[BE_ADDR_MAX + 32]; /* the address, or "!" and the error code */
    int mlen = l ? snprintf(msg, sizeof msg, "%s", bound) : snprintf(msg, sizeof msg, "!%d", rc);
    mproc_conn_send_bytes(report, msg, mlen > 0 && (size_t)mlen < sizeof msg ? (size_t)mlen : 0);
    mproc_conn_close(report);
    if (!l) {
        if (private)
            mproc__be_private_address_remove(&priv);
        return 1;
    }
    mgr_server S;
    server_init(&S);
    run(&S, l, owner);
    mproc_listener_free(l);
    if (private)
        mproc__be_private_address_remove(&priv);
    server_clear(&S);
    return 0;
}
