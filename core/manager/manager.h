/* SPDX-License-Identifier: MIT */
/* manager.h - the Manager inside the core: wire op codes and object types
 * (docs/manager.md is the reference), value encoding, the client side
 * (connections to a server, calls) and the server entry.
 *
 * Subsystem manager/ (docs/architecture.md): the Manager's server,
 * client and proxies, including the proxy methods tables of sync/ and
 * queue/ kinds. May use: base/, ipc/, sync/, shmem/, proc/, queue/ and
 * the backend. */
#ifndef MPROC_CORE_MANAGER_H
#define MPROC_CORE_MANAGER_H

#include <msgpack.h>

#include "proc/proc.h"
#include "base/object.h"

/* Object types on the wire (CREATE's first argument, proxy descriptions). */
enum mgr_type {
    MT_LIST = 1,
    MT_DICT = 2,
    MT_NAMESPACE = 3,
    MT_LOCK = 4,
    MT_RLOCK = 5,
    MT_SEM = 6,
    MT_COND = 7,
    MT_EVENT = 8,
    MT_BARRIER = 9,
    MT_QUEUE = 10,
    MT_VALUE = 11,
    MT_ARRAY = 12,
    MT_MAX
};

/* Requests: [op, object id, args...]; replies: [status, value]. */
enum mgr_op {
    OP_HELLO = 0,    /* [0, 0, token(bin 16), pid] -> nil */
    OP_CREATE = 1,   /* [1, 0, type, params...] -> id */
    OP_SHUTDOWN = 2, /* [2, 0] -> nil; the server exits after replying */
    OP_TYPE = 3,     /* [3, id] -> type */
    OP_COUNT = 4,    /* [4, 0] -> how many objects the server holds */
    OP_INCREF = 5,   /* [5, id] -> nil; the client holds one more reference */
    OP_DECREF = 6,   /* [6, id] -> nil; one fewer (the last one frees the object) */
    /* list */
    OP_L_APPEND = 10, OP_L_EXTEND, OP_L_GET, OP_L_SET, OP_L_INSERT, OP_L_POP, OP_L_LEN, OP_L_REVERSE,
    OP_L_SLICE,
    /* dict and namespace */
    OP_D_SET = 30, OP_D_GET, OP_D_DEL, OP_D_CONTAINS, OP_D_LEN, OP_D_KEYS, OP_D_ITEMS,
    /* lock, rlock, semaphore, condition */
    OP_ACQUIRE = 50, OP_RELEASE, OP_SEM_VALUE, OP_IS_RLOCK, OP_COND_WAIT, OP_COND_NOTIFY,
    /* event */
    OP_EV_SET = 60, OP_EV_CLEAR, OP_EV_IS_SET, OP_EV_WAIT,
    /* barrier */
    OP_B_WAIT = 70, OP_B_RESET, OP_B_ABORT, OP_B_BROKEN, OP_B_N_WAITING, OP_B_PARTIES,
    /* queue */
    OP_Q_PUT = 80, OP_Q_GET, OP_Q_QSIZE, OP_Q_EMPTY, OP_Q_FULL, OP_Q_TASK_DONE, OP_Q_JOIN,
    OP_Q_PUT_MANY, OP_Q_GET_MANY,
    /* value and array */
    OP_V_GET = 90, OP_V_SET, OP_A_GET, OP_A_SET, OP_A_LEN, OP_A_READ,
    /* segments the server holds (SharedMemoryManager), object id 0:
     * [100, 0, size] -> name; [101, 0, name] -> nil; [102, 0] -> names */
    OP_SEG_CREATE = 100, OP_SEG_RELEASE, OP_SEG_LIST,
};

/* msgpack ext type of a proxy value stored in a list or dict: 1 byte
 * type, 8 bytes big-endian object id. */
#define MGR_EXT_PROXY 16
#define MGR_TOKEN_LEN 16
/* How long a client waits for the server's answer beyond a call's own
 * timeout (the whole wait for calls the server answers at once): 30 s, or
 * MPROC_MANAGER_TIMEOUT seconds from the environment. A server that is
 * stopped, or a remote host that vanished without closing the connection,
 * then gives MPROC_ETIMEDOUT instead of a hang. */
double mproc__mgr_reply_slack(void);
/* The wait of a call the server answers at once (no blocking on its side). */
#define MGR_NOW 0.0

/* ------------------------------------------------------------ values */

/* Packs a caller's value (a proxy must be of the manager `server` names,
 * else MPROC_EINVAL; server NULL skips that check). */
struct mgr_client;
int mproc__mgr_pack_mval(msgpack_packer *pk, const mproc_mval *v, const struct mgr_client *server);
/* Decodes a reply value into an owned mproc_mval (proxies become new
 * proxies on cl). */
int mproc__mgr_unpack_mval(const msgpack_object *o, struct mgr_client *cl, mproc_mval *out);
int mproc__mgr_obj_int(const msgpack_object *o, int64_t *out); /* MPROC_EINVAL unless an integer */
int mproc__mgr_obj_num(const msgpack_object *o, double *out);  /* integer or float */

/* ------------------------------------------------------------ client */

/* One server as seen by this process: address, key, idle connections. */
typedef struct mgr_client mgr_client;
mgr_client *mproc__mgr_client_get(const char *address, const void *key, size_t keylen, int *err);
void mproc__mgr_client_retain(mgr_client *cl);
void mproc__mgr_client_release(mgr_client *cl);
const char *mproc__mgr_client_address(const mgr_client *cl);
const void *mproc__mgr_client_key(const mgr_client *cl, size_t *keylen);
/* Checks that a connection can be made (and authenticated) now. */
int mproc__mgr_client_probe(mgr_client *cl);
/* 0 after a call found the server gone or mute (until a new connection
 * works), or after mproc__mgr_client_gone (the server was shut down). */
int mproc__mgr_client_reachable(const mgr_client *cl);
void mproc__mgr_client_gone(mgr_client *cl);
/* [op, id] answered at once (INCREF, DECREF, COUNT): the status, and the
 * integer value when out is not NULL. */
int mproc__mgr_client_simple(mgr_client *cl, int op, uint64_t id, int64_t *out);

/* A call in progress: the request being built, then the reply. */
typedef struct mgr_call {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    void *buf; /* the reply message */
    msgpack_unpacked up;
    const msgpack_object *value; /* the reply's value */
} mgr_call;
/* Starts a request [op, id, + nargs more]. */
void mproc__mgr_call_begin(mgr_call *c, int op, uint64_t id, size_t nargs);
/* Sends, waits for the reply (wait: the call's own timeout, < 0 none) and
 * returns its status; c->value is valid until mproc__mgr_call_end. A lost server:
 * MPROC_EBROKEN. */
int mproc__mgr_call_run(mgr_call *c, mgr_client *cl, double wait);
void mproc__mgr_call_end(mgr_call *c);

/* ------------------------------------------------------------ proxies */

/* Every proxy handle: public types (mproc_mlist, mproc_lock made by a
 * manager, ...) are this struct. */
typedef struct mgr_proxy {
    core_obj h; /* K_MPROXY */
    uint32_t type; /* enum mgr_type */
    uint64_t id;
    mgr_client *cl;
    _Atomic uint32_t refs; /* mproc_args hold one each */
    atomic_int closed;     /* a queue handle after mproc_queue_close */
    /* The server reference this handle owns (docs/manager.md, "Object
     * lifetime"): given back when the handle goes, by the process that
     * took it (a forked child's copy of the handle owns nothing). */
    atomic_int held;
    atomic_int unclaimed; /* decoded from args: takes one at first use */
    long holder;          /* the pid of the handle's process */
} mgr_proxy;

/* A handle on object id. held: the server gave this process a reference
 * for it (CREATE, a proxy in a reply); else it takes one at first use. */
mgr_proxy *mproc__mgr_proxy_new(mgr_client *cl, uint32_t type, uint64_t id, int held, int *err);
/* Takes this process's own reference if the handle has none yet (a proxy
 * decoded from args): before its first call, or before it is handed on. */
void mproc__mgr_proxy_claim(mgr_proxy *p);
/* mproc__mgr_call_run for a call on p (claims first). */
int mproc__mgr_proxy_call(mgr_call *c, mgr_proxy *p, double wait);
/* The proxy when p is one of these types (mask of 1u << type), else NULL. */
mgr_proxy *mproc__mgr_proxy_of(const void *p, unsigned types);
void mproc__mgr_proxy_retain(mgr_proxy *p);
void mproc__mgr_proxy_release(mgr_proxy *p);
/* For mproc_args: the description a child needs, and the way back. */
int mproc__mgr_proxy_pack(const mgr_proxy *p, msgpack_packer *pk);
int mproc__mgr_proxy_unpack(const void *body, size_t len, mgr_proxy **out);


/* ------------------------------------------------------------ server */

/* The server's process target. */
int mproc__core_manager_serve(const mproc_args *args);
/* The fuzz harness (tests/fuzz): runs n requests through a server state in
 * this process, on one client connection, replies read and dropped. */
int mproc__core_manager_fuzz(const void *const *reqs, const size_t *lens, size_t n);

#endif
