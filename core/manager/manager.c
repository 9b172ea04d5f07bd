/* SPDX-License-Identifier: MIT */
/* manager.c - mproc_manager: start a server process (or attach to one) and
 * make proxies. The server is a daemonic child running mproc__core_manager_serve,
 * so it starts the same way under fork, spawn and forkserver; it reports
 * the address it bound over a pipe. */
#include <stdlib.h>
#include <string.h>

#include "base/hooks.h"
#include "manager/manager.h"
#include "base/opts.h"
#include "shmem/shmem.h"

#define MGR_KEY_LEN 32          /* like Python's process authkey */
#define START_TIMEOUT 60.0      /* for the server to report its address */
#define SHUTDOWN_GRACE 1.0      /* then terminate, as Python does */

struct mproc_manager {
    core_obj h; /* K_MANAGER */
    mproc_process *server; /* NULL when attached */
    mgr_client *cl;
    int shut;
    long creator_pid;
    int exit_done;                  /* the exit hook has dealt with it */
    struct mproc_manager *live_next; /* servers this process started */
};

static int shutdown_within(mproc_manager *m, double timeout);

/* Managers whose server this process started, under mproc__be_core_lock. At exit
 * each server is shut down (Python's manager finalizer): asked to stop,
 * then terminated after a grace. The handles stay valid. */
static mproc_manager *live_managers;
#define EXIT_SHUTDOWN_TIMEOUT 2.0

static mproc_manager *next_to_stop(void)
{
    long me = mproc__be_getpid();
    mproc__be_core_lock();
    mproc_manager *m = live_managers;
    while (m && (m->exit_done || m->creator_pid != me))
        m = m->live_next;
    if (m)
        m->exit_done = 1;
    mproc__be_core_unlock();
    return m;
}

static void stop_live_servers(void)
{
    for (mproc_manager *m; (m = next_to_stop()) != NULL;)
        shutdown_within(m, EXIT_SHUTDOWN_TIMEOUT);
}

static core_hook exit_hook = CORE_HOOK_INIT(stop_live_servers, CORE_EXIT_OWNERS);

static void live_add(mproc_manager *m)
{
    mproc__core_exit_hook_add(&exit_hook);
    m->creator_pid = mproc__be_getpid();
    mproc__be_core_lock();
    m->live_next = live_managers;
    live_managers = m;
    mproc__be_core_unlock();
}

static void live_del(mproc_manager *m)
{
    mproc__be_core_lock();
    for (mproc_manager **pp = &live_managers; *pp; pp = &(*pp)->live_next)
        if (*pp == m) {
            *pp = m->live_next;
            break;
        }
    mproc__be_core_unlock();
}

static mproc_manager *valid(const mproc_manager *m)
{
    return core_obj_kind(m) == K_MANAGER ? (mproc_manager *)m : NULL;
}

/* Waits for the server's address: "!code" on failure. */
static int read_report(mproc_conn *r, char *address, size_t cap)
{
    void *buf = NULL;
    size_t len = 0;
    int rc = mproc_conn_poll(r, START_TIMEOUT);
    if (rc == 0)
        return MPROC_ESPAWN;
    if (rc == 1 && (rc = mproc_conn_recv_bytes(r, &buf, &len, cap - 1)) == 0) {
        memcpy(address, buf, len);
        address[len] = '\0';
        if (len == 0)
            rc = MPROC_ESPAWN;
        else if (address[0] == '!')
            rc = atoi(address + 1) < 0 ? atoi(address + 1) : MPROC_ESPAWN;
    }
    mproc_free(buf);
    return rc == MPROC_EOS ? MPROC_ESPAWN : rc;
}

static int start_server(mproc_manager *m, const mproc_manager_opts *o, const void *key, size_t keylen, char *address,
                        size_t cap)
{
    mproc_conn *r = NULL, *w = NULL;
    int rc = mproc_pipe(0, &r, &w);
    mproc_args *a = rc ? NULL : mproc_args_new();
    if (!rc && !a)
        rc = MPROC_ENOMEM;
    if (!rc && !(rc = mproc_args_add_str(a, o && o->address ? o->address : "")) &&
        !(rc = mproc_args_add_bytes(a, key, keylen)) && !(rc = mproc_args_add_int(a, mproc__be_getpid())))
        rc = mproc_args_add_obj(a, w);
    mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
    po.daemon = 1; /* ends with us even if nobody calls shutdown */
    po.start_method = o ? o->start_method : NULL;
    if (!rc)
        m->server = mproc_process_new(mproc__core_manager_serve, a, &po, &rc);
    if (!rc)
        rc = mproc__core_process_name_as(m->server, "SyncManager");
    if (!rc)
        rc = mproc_process_start(m->server);
    mproc_args_free(a);
    mproc_conn_free(w);
    if (!rc)
        rc = read_report(r, address, cap);
    mproc_conn_free(r);
    return rc;
}

static void stop_server(mproc_manager *m)
{
    if (!m->server)
        return;
    if (mproc_process_join(m->server, SHUTDOWN_GRACE) != 0) {
        mproc_process_terminate(m->server);
        if (mproc_process_join(m->server, SHUTDOWN_GRACE) != 0) {
            mproc_process_kill(m->server);
            mproc_process_join(m->server, MPROC_FOREVER);
        }
    }
    mproc_process_free(m->server);
    m->server = NULL;
}

static mproc_manager *finish(mproc_manager *m, int rc, int *err)
{
    if (rc && m) {
        if (m->server) {
            mproc_process_kill(m->server);
            stop_server(m);
        }
        mproc__mgr_client_release(m->cl);
        mproc__core_handle_drop(m);
        m = NULL;
    }
    if (err)
        *err = rc;
    return m;
}

mproc_manager *mproc_manager_start(const mproc_manager_opts *opts, int *err)
{
    int rc = 0;
    unsigned char genkey[MGR_KEY_LEN];
    mproc_manager_opts o = MPROC_MANAGER_OPTS_INIT;
    if (opts && mproc__opts_read(&o, sizeof o, opts, NULL, 0))
        return finish(NULL, MPROC_EINVAL, err);
    opts = opts ? &o : NULL;
    const void *key = opts ? opts->authkey : NULL;
    size_t keylen = opts ? opts->keylen : 0;
    char address[BE_ADDR_MAX + 32];
    mproc__core_ensure_init();
    if (!key && keylen)
        return finish(NULL, MPROC_EINVAL, err);
    if (!key) {
        if ((rc = mproc__be_random(genkey, sizeof genkey)) != 0)
            return finish(NULL, rc, err);
        key = genkey;
        keylen = sizeof genkey;
    }
    mproc_manager *m = mproc__core_handle_new(sizeof *m, K_MANAGER, &rc);
    if (m && (rc = start_server(m, opts, key, keylen, address, sizeof address)) == 0 &&
        (m->cl = mproc__mgr_client_get(address, key, keylen, &rc)) != NULL)
        rc = mproc__mgr_client_probe(m->cl);
    if (rc == 0)
        live_add(m);
    memset(genkey, 0, sizeof genkey);
    return finish(m, rc, err);
}

mproc_manager *mproc_manager_connect(const char *address, const void *authkey, size_t keylen, int *err)
{
    int rc = 0;
    mproc__core_ensure_init();
    if (!address || !authkey)
        return finish(NULL, MPROC_EINVAL, err);
    mproc_manager *m = mproc__core_handle_new(sizeof *m, K_MANAGER, &rc);
    if (m && (m->cl = mproc__mgr_client_get(address, authkey, keylen, &rc)) != NULL)
        rc = mproc__mgr_client_probe(m->cl);
    return finish(m, rc, err);
}

mproc_process *mproc_manager_process(mproc_manager *m) { return valid(m) ? m->server : NULL; }

const char *mproc_manager_address(const mproc_manager *m)
{
    return valid(m) ? mproc__mgr_client_address(m->cl) : NULL;
}

const void *mproc_manager_authkey(const mproc_manager *m, size_t *keylen)
{
    size_t n = 0;
    const void *k = valid(m) ? mproc__mgr_client_key(m->cl, &n) : NULL;
    if (keylen)
        *keylen = n;
    return k;
}

static int shutdown_within(mproc_manager *m, double timeout)
{
    if (m->shut)
        return 0;
    m->shut = 1;
    mgr_call c;
    mproc__mgr_call_begin(&c, OP_SHUTDOWN, 0, 0);
    int rc = mproc__mgr_call_run(&c, m->cl, timeout);
    mproc__mgr_call_end(&c);
    mproc__mgr_client_gone(m->cl); /* proxies freed from now on need not tell it */
    stop_server(m);
    return rc == MPROC_EBROKEN && !m->server ? 0 : rc;
}

int mproc_manager_shutdown(mproc_manager *m)
{
    if (!valid(m))
        return MPROC_EINVAL;
    return shutdown_within(m, 10.0);
}

int mproc_manager_object_count(mproc_manager *m)
{
    if (!valid(m))
        return MPROC_EINVAL;
    int64_t n = 0;
    int rc = mproc__mgr_client_simple(m->cl, OP_COUNT, 0, &n);
    if (rc)
        return rc;
    return n >= 0 && n <= INT32_MAX ? (int)n : MPROC_EBROKEN;
}

void mproc_manager_free(mproc_manager *m)
{
    if (!valid(m))
        return;
    live_del(m);
    if (m->server)
        mproc_manager_shutdown(m);
    mproc__mgr_client_release(m->cl);
    mproc__core_handle_drop(m);
}

/* ------------------------------------------------------------ creation */

/* CREATE [type, params...]: a proxy on the new object. pack adds the
 * params (nparams of them). */
static void *create(mproc_manager *m, uint32_t type, size_t nparams, int (*pack)(msgpack_packer *, const void *),
                    const void *ctx, int *err)
{
    int rc = valid(m) ? 0 : MPROC_EINVAL;
    mgr_proxy *p = NULL;
    if (rc == 0) {
        mgr_call c;
        mproc__mgr_call_begin(&c, OP_CREATE, 0, 1 + nparams);
        msgpack_pack_uint32(&c.pk, type);
        if (pack)
            rc = pack(&c.pk, ctx);
        int64_t id = 0;
        if (rc == 0 && (rc = mproc__mgr_call_run(&c, m->cl, MGR_NOW)) == 0 && mproc__mgr_obj_int(c.value, &id) != 0)
            rc = MPROC_EBROKEN;
        if (rc == 0 && !(p = mproc__mgr_proxy_new(m->cl, type, (uint64_t)id, 1, &rc)))
            mproc__mgr_client_simple(m->cl, OP_DECREF, (uint64_t)id, NULL); /* nobody will hold it */
        mproc__mgr_call_end(&c);
    }
    if (err)
        *err = rc;
    return p;
}

static int pack_ints(msgpack_packer *pk, const void *ctx)
{
    const int64_t *v = ctx;
    for (int64_t i = 1; i <= v[0]; i++)
        msgpack_pack_int64(pk, v[i]);
    return 0;
}

static void *create_ints(mproc_manager *m, uint32_t type, int64_t a, int64_t b, size_t n, int *err)
{
    int64_t v[3] = {(int64_t)n, a, b};
    return create(m, type, n, pack_ints, v, err);
}

mproc_mlist *mproc_manager_list(mproc_manager *m, int *err) { return create(m, MT_LIST, 0, NULL, NULL, err); }
mproc_mdict *mproc_manager_dict(mproc_manager *m, int *err) { return create(m, MT_DICT, 0, NULL, NULL, err); }
mproc_namespace *mproc_manager_namespace(mproc_manager *m, int *err)
{
    return create(m, MT_NAMESPACE, 0, NULL, NULL, err);
}
mproc_lock *mproc_manager_lock(mproc_manager *m, int *err) { return create(m, MT_LOCK, 0, NULL, NULL, err); }
mproc_lock *mproc_manager_rlock(mproc_manager *m, int *err) { return create(m, MT_RLOCK, 0, NULL, NULL, err); }
mproc_event *mproc_manager_event(mproc_manager *m, int *err) { return create(m, MT_EVENT, 0, NULL, NULL, err); }

mproc_sem *mproc_manager_sem(mproc_manager *m, unsigned value, int bounded, int *err)
{
    if (value > BE_SEM_VALUE_MAX) {
        if (err)
            *err = MPROC_EINVAL;
        return NULL;
    }
    return create_ints(m, MT_SEM, value, bounded != 0, 2, err);
}

mproc_cond *mproc_manager_cond(mproc_manager *m, mproc_lock *lock, int *err)
{
    int rc = 0;
    mgr_proxy *own = NULL, *l = lock ? mproc__mgr_proxy_of(lock, (1u << MT_LOCK) | (1u << MT_RLOCK)) : NULL;
    if (lock && (!l || !valid(m) || l->cl != m->cl))
        rc = MPROC_EINVAL;
    else if (!lock && (own = (mgr_proxy *)mproc_manager_rlock(m, &rc)) != NULL)
        l = own;
    mproc_cond *c = rc ? NULL : create_ints(m, MT_COND, (int64_t)l->id, 0, 1, &rc);
    mproc__mgr_proxy_release(own); /* the server keeps the lock */
    if (err)
        *err = rc;
    return c;
}

static int pack_barrier(msgpack_packer *pk, const void *ctx)
{
    const double *v = ctx;
    msgpack_pack_int64(pk, (int64_t)v[0]);
    return msgpack_pack_double(pk, v[1]) ? MPROC_ENOMEM : 0;
}

mproc_barrier *mproc_manager_barrier(mproc_manager *m, unsigned parties, double timeout, int *err)
{
    double v[2] = {(double)parties, timeout < 0 ? -1.0 : timeout};
    if (parties == 0 || parties > INT32_MAX || mproc__core_timeout_invalid(timeout)) {
        if (err)
            *err = MPROC_EINVAL;
        return NULL;
    }
    return create(m, MT_BARRIER, 2, pack_barrier, v, err);
}

mproc_queue *mproc_manager_queue(mproc_manager *m, mproc_queue_kind kind, size_t maxsize, int *err)
{
    if (maxsize > INT64_MAX) {
        if (err)
            *err = MPROC_EINVAL;
        return NULL;
    }
    return create_ints(m, MT_QUEUE, kind, (int64_t)maxsize, 2, err);
}

typedef struct value_init {
    char tc;
    const mproc_mval *v;
    size_t n;
    const void *init;
} value_init;

static int pack_value(msgpack_packer *pk, const void *ctx)
{
    const value_init *vi = ctx;
    msgpack_pack_int(pk, vi->tc);
    return mproc__mgr_pack_mval(pk, vi->v, NULL);
}

static int pack_array(msgpack_packer *pk, const void *ctx)
{
    const value_init *vi = ctx;
    size_t size = mproc_typecode_size(vi->tc);
    if (!size || vi->n > ((size_t)1 << 28))
        return MPROC_EINVAL;
    msgpack_pack_int(pk, vi->tc);
    msgpack_pack_uint64(pk, vi->n);
    if (vi->init)
        return msgpack_pack_bin_with_body(pk, vi->init, vi->n * size) ? MPROC_ENOMEM : 0;
    return msgpack_pack_nil(pk) ? MPROC_ENOMEM : 0;
}

mproc_mvalue *mproc_manager_value(mproc_manager *m, char typecode, mproc_mval init, int *err)
{
    value_init vi = {typecode, &init, 1, NULL};
    if (init.type != MPROC_MV_INT && init.type != MPROC_MV_DOUBLE && init.type != MPROC_MV_NIL) {
        if (err)
            *err = MPROC_EINVAL;
        return NULL;
    }
    return create(m, MT_VALUE, 2, pack_value, &vi, err);
}

mproc_marray *mproc_manager_array(mproc_manager *m, char typecode, size_t n, const void *init, int *err)
{
    value_init vi = {typecode, NULL, n, init};
    return create(m, MT_ARRAY, 3, pack_array, &vi, err);
}

/* ------------------------------------------------------------ segments */

/* SharedMemoryManager: the server creates a segment of size bytes and
 * keeps it until it ends; its name into name. */
static int seg_create(mproc_manager *m, size_t size, char name[BE_SHM_NAME_MAX + 1])
{
    mgr_call c;
    if (size == 0 || size > INT64_MAX)
        return MPROC_EINVAL;
    mproc__mgr_call_begin(&c, OP_SEG_CREATE, 0, 1);
    msgpack_pack_uint64(&c.pk, size);
    int rc = mproc__mgr_call_run(&c, m->cl, MGR_NOW);
    if (rc == 0) {
        const msgpack_object *v = c.value;
        if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0 || v->via.str.size > BE_SHM_NAME_MAX) {
            rc = MPROC_EBROKEN;
        } else {
            memcpy(name, v->via.str.ptr, v->via.str.size);
            name[v->via.str.size] = '\0';
        }
    }
    mproc__mgr_call_end(&c);
    return rc;
}

static int seg_release(mproc_manager *m, const char *name)
{
    mgr_call c;
    mproc__mgr_call_begin(&c, OP_SEG_RELEASE, 0, 1);
    msgpack_pack_str(&c.pk, strlen(name));
    msgpack_pack_str_body(&c.pk, name, strlen(name));
    int rc = mproc__mgr_call_run(&c, m->cl, MGR_NOW);
    mproc__mgr_call_end(&c);
    return rc;
}

/* A new segment of the server's, attached here. */
static mproc_shm *seg_attach(mproc_manager *m, size_t size, int *rc)
{
    char name[BE_SHM_NAME_MAX + 1];
    if ((*rc = valid(m) ? seg_create(m, size, name) : MPROC_EINVAL) != 0)
        return NULL;
    mproc_shm *shm = mproc_shm_open(name, 0, 0, rc); /* MPROC_ENOENT: a server on another machine */
    if (!shm)
        seg_release(m, name);
    return shm;
}

mproc_shm *mproc_manager_shm(mproc_manager *m, size_t size, int *err)
{
    int rc = 0;
    mproc_shm *shm = seg_attach(m, size, &rc);
    if (err)
        *err = rc;
    return shm;
}

mproc_sharelist *mproc_manager_sharelist(mproc_manager *m, const mproc_mval *items, size_t n, int *err)
{
    size_t size = 0;
    int rc = mproc__core_sharelist_size(items, n, &size);
    mproc_shm *shm = rc ? NULL : seg_attach(m, size, &rc);
    mproc_sharelist *l = shm ? mproc__core_sharelist_format(shm, items, n, &rc) : NULL;
    if (shm && !l) {
        char name[BE_SHM_NAME_MAX + 1];
        strcpy(name, mproc_shm_name(shm));
        mproc_shm_close(shm);
        seg_release(m, name);
    }
    if (err)
        *err = l ? 0 : rc;
    return l;
}

int mproc_manager_release_segment(mproc_manager *m, const char *name)
{
    if (!valid(m) || !name)
        return MPROC_EINVAL;
    return seg_release(m, name);
}

int mproc_manager_segments(mproc_manager *m, mproc_mval **names, size_t *n)
{
    if (names)
        *names = NULL;
    if (n)
        *n = 0;
    if (!valid(m) || !names || !n)
        return MPROC_EINVAL;
    mgr_call c;
    mproc__mgr_call_begin(&c, OP_SEG_LIST, 0, 0);
    int rc = mproc__mgr_call_run(&c, m->cl, MGR_NOW);
    const msgpack_object *v = c.value;
    if (rc == 0 && v->type != MSGPACK_OBJECT_ARRAY)
        rc = MPROC_EBROKEN;
    mproc_mval *out = NULL;
    size_t k = 0, count = rc ? 0 : v->via.array.size;
    if (rc == 0 && count && !(out = calloc(count, sizeof *out)))
        rc = MPROC_ENOMEM;
    for (; rc == 0 && k < count; k++) {
        const msgpack_object *e = &v->via.array.ptr[k];
        char *s = e->type == MSGPACK_OBJECT_STR ? malloc(e->via.str.size + 1) : NULL;
        if (!s) {
            rc = e->type == MSGPACK_OBJECT_STR ? MPROC_ENOMEM : MPROC_EBROKEN;
            break;
        }
        memcpy(s, e->via.str.ptr, e->via.str.size);
        s[e->via.str.size] = '\0';
        out[k].type = MPROC_MV_STR;
        out[k].v.s.ptr = s;
        out[k].v.s.len = e->via.str.size;
    }
    mproc__mgr_call_end(&c);
    if (rc) {
        mproc_mvals_free(out, k);
        return rc;
    }
    *names = out;
    *n = count;
    return 0;
}
