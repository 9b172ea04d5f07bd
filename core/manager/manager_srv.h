/* SPDX-License-Identifier: MIT */
/* manager_srv.h - the server's state (one thread: every request runs to
 * its end before the next, which makes each operation atomic). A blocking
 * request that cannot finish at once becomes a waiter on its object and
 * its connection gets no reply until it is granted, times out, or the
 * connection goes. */
#ifndef MPROC_CORE_MANAGER_SRV_H
#define MPROC_CORE_MANAGER_SRV_H

#include "ipc/handshake.h"
#include "manager/manager.h"
#include "manager/manager_idmap.h"
#include "base/spin.h"

typedef struct blob {
    unsigned char *p; /* a msgpack object (values, keys) or raw bytes (queue items) */
    size_t n;
} blob;

typedef struct sconn sconn;
typedef struct sobj sobj;

/* A client process, known by the token its connections send in HELLO.
 * It holds references on objects (each proxy of it one); they go when
 * its last connection does, whether it closed them or died. */
typedef struct msess {
    struct msess *next;
    unsigned char token[MGR_TOKEN_LEN];
    size_t nconns;  /* its connections that said HELLO */
    mgr_idmap refs; /* object id -> references */
} msess;

typedef struct waiter {
    struct waiter *next; /* in its object's FIFO */
    sconn *conn;
    sobj *obj;
    int op;
    double deadline; /* < 0: none */
    uint64_t tid;
    int64_t n;   /* RLock count to restore, barrier index */
    int phase;   /* condition: 0 waits for notify, 1 takes the lock back */
    int result;  /* condition: the status to give once the lock is back */
    uint64_t gen; /* barrier generation */
    blob item;   /* queue put; put_many: the batch (manager_sync.c) */
    size_t max_items, max_bytes; /* queue get_many */
} waiter;

struct sconn {
    mproc_conn *c;
    be_stream *s;
    int hello, gone;
    unsigned char token[MGR_TOKEN_LEN];
    msess *sess; /* from HELLO on */
    waiter *pending;
};

typedef struct sdict {
    struct dentry {
        blob key, val;
        uint64_t hash;
        int live;
    } *e;
    size_t ne, cap, live;
    uint32_t *index; /* entry + 1, 0 = empty; size mask + 1 */
    size_t mask;
} sdict;

struct sobj {
    uint32_t type;
    uint64_t id;
    /* References: the clients' (msess.refs) plus the server's own (a
     * proxy stored in a list or dict, a Condition's lock). None left: the
     * object is doomed (out of the id map) and freed after the request. */
    int64_t refs;
    sobj *next_doomed;
    waiter *head, *tail;
    union {
        struct {
            blob *v;
            size_t n, cap;
        } list;
        sdict dict;
        struct {
            int held, owner_dead;
            unsigned char token[MGR_TOKEN_LEN];
            uint64_t tid;
            int64_t count;
        } lock;
        struct {
            int64_t value, max;
        } sem;
        struct {
            uint64_t lock;
        } cond;
        struct {
            int flag;
        } ev;
        struct {
            int64_t parties, count;
            uint64_t gen;
            int broken;
            double timeout;
        } bar;
        struct {
            blob *ring;
            size_t head, n, cap, maxsize;
            int64_t unfinished;
            int kind;
        } q;
        struct {
            char tc;
            size_t n, size;
            unsigned char *data;
        } arr; /* Value is an Array of one */
    } u;
};

typedef struct mgr_server {
    mgr_idmap objs;   /* id -> sobj * */
    uint64_t last_id; /* ids are never reused: a stale proxy finds nothing */
    sobj *doomed;     /* no references left; freed by mproc__srv_reap */
    msess *sessions;
    int closing;      /* teardown: objects go without counting */
    sconn **conns;
    size_t nconns, capconns;
    core_hs_set pending; /* handshakes of new connections, side by side */
    msgpack_sbuffer out; /* the reply being built */
    msgpack_packer pk;
    msgpack_sbuffer scratch; /* values being made canonical */
    mproc_shm **segs; /* segments made for clients, unlinked at the end */
    size_t nsegs, capsegs;
    int shutdown;
    core_spinner spin; /* the wait for requests spins briefly first (spin.h) */
} mgr_server;

/* Replies: begin packs [status, then the caller packs one value, send. */
msgpack_packer *mproc__srv_begin(mgr_server *S, int status);
void mproc__srv_send(mgr_server *S, sconn *c);
void mproc__srv_status(mgr_server *S, sconn *c, int status); /* [status, nil] */
void mproc__srv_int(mgr_server *S, sconn *c, int64_t v);     /* [0, v] */

sobj *mproc__srv_obj(mgr_server *S, uint64_t id, unsigned types);
int mproc__srv_arg_int(const msgpack_object *a, uint32_t n, uint32_t i, int64_t *out);
int mproc__srv_arg_timeout(const msgpack_object *a, uint32_t n, uint32_t i, double *out);

/* Waiters. */
waiter *mproc__srv_wait(sobj *o, sconn *c, int op, double timeout);
void mproc__srv_unlink(waiter *w);      /* off its object's FIFO */
void mproc__srv_drop_waiter(waiter *w); /* unlinks and frees, no reply */
void mproc__srv_finish(mgr_server *S, waiter *w, int status); /* replies [status, nil], then drops */

/* Values (manager_store.c). A value blob that is a proxy holds a
 * reference on its object from mproc__blob_canon to mproc__val_free. */
int mproc__blob_canon(const msgpack_object *o, int key, mgr_server *S, blob *out);
void mproc__blob_free(blob *b); /* keys and queue items */
void mproc__val_free(mgr_server *S, blob *b);
/* The object a value names, when it is a proxy (else 0). */
uint64_t mproc__blob_proxy_id(const blob *b);
void mproc__blob_pack(msgpack_packer *pk, const blob *b);
int mproc__dict_find(const sdict *d, const blob *key, uint64_t hash);
uint64_t mproc__blob_hash(const blob *b);
int mproc__dict_set(mgr_server *S, sdict *d, blob *key, blob *val); /* takes both */
int mproc__dict_del(mgr_server *S, sdict *d, size_t i);
void mproc__dict_clear(mgr_server *S, sdict *d);

/* References (manager_refs.c). */
int mproc__srv_add_obj(mgr_server *S, sobj *o, msess *owner); /* a new id; the owner's first reference */
void mproc__srv_ref(sobj *o);                 /* the server's own */
void mproc__srv_unref(mgr_server *S, sobj *o);
int mproc__srv_incref(mgr_server *S, msess *s, uint64_t id); /* MPROC_ENOENT: no such object */
int mproc__srv_decref(mgr_server *S, msess *s, uint64_t id); /* MPROC_ESTATE: the client holds none */
/* A value going out in a reply: a proxy gives the receiving client a
 * reference, which its new proxy owns. */
void mproc__srv_give(mgr_server *S, sconn *c, const blob *b);
msess *mproc__srv_session(mgr_server *S, const unsigned char token[MGR_TOKEN_LEN]); /* found or new */
void mproc__srv_session_end(mgr_server *S, msess *s); /* its references go; frees it */
/* Frees the doomed objects (their waiters get MPROC_ENOENT); after each
 * request, and after a client left. */
void mproc__srv_reap(mgr_server *S);
int mproc__tc_store(char tc, unsigned char *at, const msgpack_object *v);
void mproc__tc_load(char tc, const unsigned char *at, msgpack_packer *pk);

/* Object types: create and request handlers. */
int mproc__srv_create(mgr_server *S, sconn *c, const msgpack_object *a, uint32_t n, sobj **out);
int mproc__srv_create_sync(sobj *o, const msgpack_object *a, uint32_t n, mgr_server *S); /* manager_sync.c */
void mproc__srv_destroy_obj(mgr_server *S, sobj *o); /* drops the references it held */
void mproc__srv_destroy_sync(mgr_server *S, sobj *o);
int mproc__srv_handle_data(mgr_server *S, sconn *c, int op, sobj *o, const msgpack_object *a, uint32_t n);
int mproc__srv_handle_sync(mgr_server *S, sconn *c, int op, sobj *o, const msgpack_object *a, uint32_t n);
unsigned mproc__srv_op_types(int op); /* the object types an op applies to, 0 = unknown op */
/* A waiter's deadline passed. */
void mproc__srv_timeout(mgr_server *S, waiter *w);
/* The last connection of a client went: locks it held become free with
 * their owner dead. */
void mproc__srv_client_gone(mgr_server *S, const unsigned char token[MGR_TOKEN_LEN]);

#endif
