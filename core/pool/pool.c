/* SPDX-License-Identifier: MIT */
/* pool.c - mproc_pool: creation, workers, task submission, close,
 * terminate, join and free. The work itself is handed out by the result
 * thread (pool_handler.c). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/args.h"
#include "ipc/conn.h"
#include "base/hooks.h"
#include "proc/proc.h"
#include "pool/pool.h"
#include "base/opts.h"

/* -------------------------------------------------------------- workers */

static const char *worker_prefix(const char *method)
{
    int m = method ? mproc__core_method_from_name(method) : mproc__core_default_method();
    return m == BE_SPAWN ? "SpawnPoolWorker" : m == BE_FORKSERVER ? "ForkServerPoolWorker" : "ForkPoolWorker";
}

/* ----------------------------------------------------------- transports */

#define TRANSPORTS_MAX 4
static const pool_transport *transports[TRANSPORTS_MAX];

int mproc__core_pool_transport_register(const pool_transport *t)
{
    if (!t || !t->name || !t->open || !t->start || !t->stop || !t->close || mproc__core_method_from_name(t->name))
        return MPROC_EINVAL;
    mproc__core_pool_lock();
    int rc = MPROC_ENOMEM;
    for (int i = 0; i < TRANSPORTS_MAX; i++) {
        if (transports[i] == t || (transports[i] && strcmp(transports[i]->name, t->name) == 0)) {
            rc = transports[i] == t ? 0 : MPROC_EEXIST;
            break;
        }
        if (!transports[i]) {
            transports[i] = t;
            rc = 0;
            break;
        }
    }
    mproc__core_pool_unlock();
    return rc;
}

static const pool_transport *transport_find(const char *name)
{
    const pool_transport *t = NULL;
    mproc__core_pool_lock();
    for (int i = 0; i < TRANSPORTS_MAX && transports[i] && !t; i++)
        if (strcmp(transports[i]->name, name) == 0)
            t = transports[i];
    mproc__core_pool_unlock();
    return t;
}

int mproc__pool_worker_start(mproc_pool *p, pool_worker *w)
{
    memset(w->seg_ids, 0, sizeof w->seg_ids); /* a new worker holds no segment */
    w->seg_next = 0;
    if (p->tr) {
        ((int64_t *)mproc_array_ptr(p->progress))[w - p->workers] = 0;
        int rc = p->tr->start(p, w);
        if (rc == 0) {
            w->state = W_STARTING;
            w->tasks = 0;
        }
        return rc;
    }
    mproc_conn *mine = NULL, *theirs = NULL;
    mproc_args *a = NULL;
    int rc = mproc_pipe(1, &mine, &theirs);
    if (rc)
        return rc;
    if ((rc = mproc__core_conn_parent_only(mine)))
        goto out;
    if ((rc = mproc__core_args_copy(p->initargs, &a)))
        goto out;
    const be_symref *init = &p->init_ref;
    if ((rc = mproc_args_add_obj(a, theirs)) || (rc = mproc_args_add_str(a, init->module)) ||
        (rc = mproc_args_add_int(a, p->has_init ? (int64_t)init->offset : 0)) ||
        (rc = mproc_args_add_int(a, (int64_t)init->digest)) || (rc = mproc_args_add_int(a, p->maxtasks)) ||
        (rc = mproc_args_add_obj(a, p->progress)) || (rc = mproc_args_add_int(a, w - p->workers)) ||
        (rc = mproc_args_add_int(a, (int64_t)p->max_rss)))
        goto out;
    ((int64_t *)mproc_array_ptr(p->progress))[w - p->workers] = 0;
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    o.daemon = 1;
    o.start_method = p->method;
    w->proc = mproc_process_new(mproc__core_pool_worker_main, a, &o, &rc);
    if (!w->proc)
        goto out;
    /* Python's names: the role and the process's identity, so the number
     * counts every child of this process (ForkPoolWorker-3) */
    if ((rc = mproc__core_process_name_as(w->proc, worker_prefix(p->method))) || (rc = mproc_process_start(w->proc))) {
        mproc_process_free(w->proc);
        w->proc = NULL;
        goto out;
    }
    /* Our copy of the worker's end must go, so that its death reads as EOS. */
    mproc_conn_close(theirs);
    w->conn = mine;
    mine = NULL;
    w->state = W_STARTING;
    w->tasks = 0;
out:
    mproc_args_free(a);
    mproc_conn_free(theirs);
    mproc_conn_free(mine);
    return rc;
}

int mproc__pool_worker_ready(pool_worker *w, double timeout)
{
    int rc = mproc_conn_poll(w->conn, timeout);
    if (rc == 0)
        return MPROC_ETIMEDOUT;
    if (rc < 0)
        return rc;
    pw_reply rep;
    size_t len;
    rc = mproc_conn_recv_bytes_into(w->conn, &rep, sizeof rep, &len);
    if (rc == MPROC_EOS)
        return MPROC_ESPAWN; /* it died before its initializer ended */
    if (rc)
        return rc;
    if (len != sizeof rep || rep.id != 0)
        return MPROC_ESPAWN;
    if (rep.status)
        return rep.status;
    w->state = W_READY;
    return 0;
}

/* how: 0 = it is ending by itself; BE_TERMINATE / BE_KILL */
void mproc__pool_worker_stop(mproc_pool *p, pool_worker *w, int how)
{
    if (p->tr && w->conn)
        p->tr->stop(p, w, how);
    if (w->proc) {
        if (how == BE_TERMINATE) {
            mproc_process_terminate(w->proc);
            if (mproc_process_join(w->proc, 1.0) == MPROC_ETIMEDOUT)
                mproc_process_kill(w->proc);
        } else if (how == BE_KILL) {
            mproc_process_kill(w->proc);
        }
        mproc_process_join(w->proc, -1);
        mproc_process_free(w->proc);
        w->proc = NULL;
    }
    mproc_conn_free(w->conn);
    w->conn = NULL;
    w->state = W_DEAD;
}

/* ---------------------------------------------------------------- tasks */

const pool_fnref *mproc__pool_fn(mproc_pool *p, be_fnptr fn, int *err)
{
    for (pool_fnref *f = p->fns; f; f = f->next)
        if (f->fn == fn)
            return f;
    pool_fnref *f = calloc(1, sizeof *f);
    if (!f) {
        *err = MPROC_ENOMEM;
        return NULL;
    }
    int rc = mproc__be_sym_locate(fn, &f->ref);
    if (rc) {
        free(f);
        *err = rc == MPROC_ESPAWN ? MPROC_EINVAL : rc; /* not code of a loaded module */
        return NULL;
    }
    f->fn = fn;
    f->next = p->fns;
    p->fns = f;
    return f;
}

pool_task *mproc__pool_task_new(mproc_pool *p, int type, be_fnptr fn, mproc_async *a, size_t slot, int *err)
{
    const pool_fnref *f = mproc__pool_fn(p, fn, err);
    if (!f)
        return NULL;
    pool_task *t = a->kind == A_APPLY ? &a->task1 : calloc(1, sizeof *t);
    if (!t) {
        *err = MPROC_ENOMEM;
        return NULL;
    }
    t->embedded = t == &a->task1;
    t->fn = f;
    t->w.type = (uint32_t)type;
    t->w.id = ++p->next_id;
    t->w.fn_offset = f->ref.offset;
    t->w.fn_digest = f->ref.digest;
    t->w.modlen = (uint32_t)strlen(f->ref.module);
    t->async = a;
    t->slot = slot;
    a->refs++;
    return t;
}

void mproc__pool_task_free(pool_task *t)
{
    if (!t)
        return;
    if (t->data != t->inl)
        free(t->data);
    if (!t->embedded)
        free(t);
}

void mproc__pool_wake(mproc_pool *p)
{
    if (p->wake_pending)
        return;
    p->wake_pending = 1;
    char c = 1;
    mproc_conn_send_bytes(p->wake_w, &c, 1);
}

int mproc__pool_live_workers(const mproc_pool *p)
{
    int n = 0;
    for (int i = 0; i < p->nworkers; i++)
        n += p->workers[i].state != W_DEAD;
    return n;
}

int mproc__pool_submit(mproc_pool *p, pool_task *t)
{
    if (p->state != POOL_RUNNING)
        return MPROC_ESTATE;
    if (p->broken && mproc__pool_live_workers(p) == 0)
        return MPROC_EBROKEN;
    mproc__pool_async_track(t->async);
    t->async->pool = p; /* for mproc_async_cancel, while a task of it is queued */
    t->next = NULL;
    if (p->qtail)
        p->qtail->next = t;
    else
        p->qhead = t;
    p->qtail = t;
    p->qlen++;
    mproc__pool_wake(p);
    return 0;
}

/* ------------------------------------------------------------ lifecycle */

/* Pools alive in this process, under mproc__core_pool_lock. At exit each one this
 * process created is terminated, as Python's Pool finalizer does: workers
 * stopped, the result thread joined, pending results MPROC_ECLOSED. The
 * memory stays (other threads may still hold the handle). */
static mproc_pool *live_pools;
static _Atomic long pools_pid; /* the last process that made a pool */

static mproc_pool *next_to_end(void)
{
    long me = mproc__be_getpid();
    mproc__core_pool_lock();
    mproc_pool *p = live_pools;
    while (p && (p->exit_done || p->creator_pid != me))
        p = p->live_next;
    if (p)
        p->exit_done = 1;
    mproc__core_pool_unlock();
    return p;
}

static void terminate_live_pools(void)
{
    if (atomic_load(&pools_pid) != mproc__be_getpid())
        return; /* none of ours (a forked child holds only its parent's) */
    for (mproc_pool *p; (p = next_to_end()) != NULL;) {
        mproc__core_pool_lock();
        int in_handler = p->handler && p->handler_tid == mproc__be_thread_id();
        if (in_handler)
            p->state = POOL_TERMINATED;
        mproc__core_pool_unlock();
        if (!in_handler) {
            mproc_pool_terminate(p);
            continue;
        }
        /* exit() from a callback of this pool: its result thread is the
         * one ending the process and cannot be joined; stop the workers
         * from here. */
        for (int i = 0; i < p->nworkers; i++)
            mproc__pool_worker_stop(p, &p->workers[i], BE_KILL);
    }
}

static core_hook exit_hook = CORE_HOOK_INIT(terminate_live_pools, CORE_EXIT_OWNERS);

static void live_add(mproc_pool *p)
{
    mproc__core_exit_hook_add(&exit_hook);
    atomic_store(&pools_pid, mproc__be_getpid());
    mproc__core_pool_lock();
    p->live_next = live_pools;
    live_pools = p;
    mproc__core_pool_unlock();
}

static void live_del(mproc_pool *p)
{
    mproc__core_pool_lock();
    for (mproc_pool **pp = &live_pools; *pp; pp = &(*pp)->live_next)
        if (*pp == p) {
            *pp = p->live_next;
            break;
        }
    mproc__core_pool_unlock();
}

static void pool_destroy(mproc_pool *p)
{
    live_del(p);
    for (int i = 0; i < p->nworkers; i++)
        mproc__pool_worker_stop(p, &p->workers[i], BE_KILL);
    if (p->tr && p->tr_ctx)
        p->tr->close(p);
    free(p->workers);
    while (p->fns) {
        pool_fnref *f = p->fns;
        p->fns = f->next;
        free(f);
    }
    mproc_args_free(p->initargs);
    mproc_array_free(p->progress);
    mproc_conn_free(p->wake_r);
    mproc_conn_free(p->wake_w);
    if (p->done) {
        mproc__core_pool_lock();
        mproc__pool_async_release(p->done);
        mproc__core_pool_unlock();
    }
    free(p);
}

/* *tr: the transport the start method names, or NULL for processes. */
static int check_opts(const mproc_pool_opts *o, int *n, const pool_transport **tr)
{
    *tr = o && o->start_method && !mproc__core_method_from_name(o->start_method) ? transport_find(o->start_method) : NULL;
    if (*tr) {
        *n = o->processes;
        return *n < 1 && *n != MPROC_POOL_CPUS ? MPROC_EINVAL : 0;
    }
    *n = !o || o->processes == MPROC_POOL_CPUS ? mproc_cpu_count() : o->processes;
    if (*n < 1)
        return MPROC_EINVAL;
    if (o && o->start_method) {
        int m = mproc__core_method_from_name(o->start_method);
        if (!m)
            return MPROC_EINVAL;
        if (!mproc__be_method_supported(m))
            return MPROC_ENOSYS;
    }
    return 0;
}

mproc_pool *mproc_pool_new(const mproc_pool_opts *opts, int *err)
{
    mproc__core_ensure_init();
    const pool_transport *tr = NULL;
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    static const size_t older[] = {sizeof(mproc_pool_opts_v1)};
    int n = 0, rc = opts ? mproc__opts_read(&o, sizeof o, opts, older, 1) : 0;
    opts = opts ? &o : NULL;
    if (!rc)
        rc = check_opts(opts, &n, &tr);
    mproc_pool *p = NULL;
    if (rc)
        goto out;
    if (!(p = calloc(1, sizeof *p))) {
        rc = MPROC_ENOMEM;
        goto out;
    }
    p->creator_pid = mproc__be_getpid();
    if (tr) {
        p->tr = tr;
        if ((rc = tr->open(p, &n)) != 0) /* sets p->tr_ctx */
            goto out;
    }
    if (!(p->workers = calloc((size_t)n, sizeof *p->workers))) {
        rc = MPROC_ENOMEM;
        goto out;
    }
    p->nworkers = n;
    if (opts) {
        p->maxtasks = opts->maxtasksperchild;
        p->max_rss = opts->max_worker_rss;
        p->method = tr ? NULL : mproc__core_method_name(mproc__core_method_from_name(opts->start_method));
        if (opts->initializer) {
            if ((rc = mproc__be_sym_locate((be_fnptr)opts->initializer, &p->init_ref)))
                goto out;
            p->has_init = 1;
        }
    }
    if (!(p->progress = mproc_array_new('q', (size_t)n, NULL, 0, &rc)))
        goto out;
    if ((rc = mproc__core_args_copy(opts ? opts->initargs : NULL, &p->initargs)) ||
        (rc = mproc_pipe(0, &p->wake_r, &p->wake_w)) || (rc = mproc__core_conn_parent_only(p->wake_r)) ||
        (rc = mproc__core_conn_parent_only(p->wake_w)))
        goto out;
    if (!(p->done = mproc__pool_async_new(A_DONE, 1, NULL, &rc)))
        goto out;
    for (int i = 0; i < n && !rc; i++)
        rc = mproc__pool_worker_start(p, &p->workers[i]);
    /* Python starts workers without waiting; we wait for their
     * initializers, so that a failing one is an error here, not a hang. */
    for (int i = 0; i < n && !rc; i++)
        rc = mproc__pool_worker_ready(&p->workers[i], -1);
    if (rc)
        goto out;
    p->done->refs++; /* the handler's */
    if ((rc = mproc__be_thread_start(mproc__pool_handler_main, p, &p->handler))) {
        p->done->refs--;
        goto out;
    }
    p->handler_running = 1;
    live_add(p);
out:
    if (rc && p) {
        pool_destroy(p);
        p = NULL;
    }
    if (err)
        *err = rc;
    return p;
}

int mproc_pool_processes(const mproc_pool *p)
{
    if (!p)
        return MPROC_EINVAL;
    int n = p->nworkers;
    mproc__core_pool_lock();
    for (int i = 0; i < p->nworkers; i++)
        n -= p->workers[i].gone;
    mproc__core_pool_unlock();
    return n;
}

static int usable(const mproc_pool *p) { return !p ? MPROC_EINVAL : p->creator_pid != mproc__be_getpid() ? MPROC_ESTATE : 0; }

int mproc_pool_close(mproc_pool *p)
{
    int rc = usable(p);
    if (rc)
        return rc;
    mproc__core_pool_lock();
    if (p->state == POOL_RUNNING)
        p->state = POOL_CLOSED;
    mproc__pool_wake(p);
    mproc__core_pool_unlock();
    return 0;
}

static int handler_done(mproc_async *a, void *ctx)
{
    (void)ctx;
    return a->ready;
}

/* Waits for the result thread to finish, then reaps it. */
static int wait_handler(mproc_pool *p, double timeout)
{
    mproc__core_pool_lock();
    int rc = mproc__pool_async_wait_locked(p->done, mproc__core_deadline(timeout), handler_done, NULL);
    be_thread *t = rc == 0 ? p->handler : NULL; /* one caller joins it */
    if (t)
        p->handler = NULL;
    mproc__core_pool_unlock();
    if (t)
        mproc__be_thread_join(t);
    return rc;
}

int mproc_pool_terminate(mproc_pool *p)
{
    int rc = usable(p);
    if (rc)
        return rc;
    mproc__core_pool_lock();
    p->state = POOL_TERMINATED;
    mproc__pool_wake(p);
    mproc__core_pool_unlock();
    return wait_handler(p, -1);
}

int mproc_pool_join(mproc_pool *p, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    int rc = usable(p);
    if (rc)
        return rc;
    mproc__core_pool_lock();
    int running = p->state == POOL_RUNNING;
    mproc__core_pool_unlock();
    if (running)
        return MPROC_ESTATE; /* Python: ValueError("Pool is still running") */
    return wait_handler(p, timeout);
}

void mproc_pool_free(mproc_pool *p)
{
    if (!p)
        return;
    if (p->creator_pid == mproc__be_getpid())
        mproc_pool_terminate(p);
    pool_destroy(p);
}
