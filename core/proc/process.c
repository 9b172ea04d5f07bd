/* SPDX-License-Identifier: MIT */
/* process.c - mproc_process: Python's Process, on top of be_proc_*.
 *
 * Every started, not yet reaped child sits in one list (the "children"),
 * guarded by mproc__be_core_lock. A freed process whose child is still alive stays
 * there, detached, until a later call reaps it. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/args.h"
#include "base/hooks.h"
#include "proc/proc.h"
#include "proc/ledger.h"
#include "base/object.h"
#include "base/opts.h"

enum pstate { P_NEW, P_STARTED, P_EXITED, P_CLOSED };

/* What mproc_process_sentinel hands out: an object mproc_wait knows. */
typedef struct sentinel {
    core_obj h; /* K_SENTINEL */
    mproc_process *p;
} sentinel;

struct mproc_process {
    sentinel sentinel;
    mproc_target fn;
    mproc_args *args;
    char *name;
    char *identity;
    int daemon;
    int method;          /* 0 = default at start */
    enum pstate state;
    int detached;        /* freed by the user while the child lived */
    long pid;
    long creator_pid;
    int exitcode;
    be_proc *bp;
    core_ledger *_Atomic ledger; /* the references its arguments gave it */
    struct mproc_process *prev, *next; /* children list while P_STARTED */
};

static mproc_process *children;

static void children_forget(void);
static void children_at_exit(void);
static core_hook forget_hook = CORE_HOOK_INIT(children_forget, 0);
static core_hook exit_hook = CORE_HOOK_INIT(children_at_exit, CORE_EXIT_CHILDREN);

static void list_add(mproc_process *p)
{
    mproc__core_child_hook_add(&forget_hook);
    mproc__core_exit_hook_add(&exit_hook);
    p->prev = NULL;
    p->next = children;
    if (children)
        children->prev = p;
    children = p;
}

static void list_del(mproc_process *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else if (children == p)
        children = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

/* The child has ended: the references it could not give back (it was
 * killed) go back now. Once; never under mproc__be_core_lock (a record destroyed
 * here frees arena memory, which takes it). */
static void settle(mproc_process *p)
{
    core_ledger *l = atomic_exchange(&p->ledger, NULL);
    if (l)
        mproc__core_ledger_settle(l, p->args);
}

static void destroy(mproc_process *p)
{
    settle(p);
    mproc_args_free(p->args);
    free(p->name);
    free(p->identity);
    mproc__core_handle_drop(p); /* the sentinel is its handle header */
}

mproc_process *mproc_process_new(mproc_target fn, const mproc_args *args,
                                 const mproc_process_opts *opts, int *err)
{
    int rc = 0;
    mproc_process *p = NULL;
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    mproc__core_ensure_init();
    if (!fn || (opts && mproc__opts_read(&o, sizeof o, opts, NULL, 0))) {
        rc = MPROC_EINVAL;
        goto out;
    }
    opts = opts ? &o : NULL;
    int method = 0;
    if (opts && opts->start_method) {
        method = mproc__core_method_from_name(opts->start_method);
        if (!method) {
            rc = MPROC_EINVAL;
            goto out;
        }
        if (!mproc__be_method_supported(method)) {
            rc = MPROC_ENOSYS;
            goto out;
        }
    }
    p = mproc__core_handle_new(sizeof *p, K_SENTINEL, &rc);
    if (!p)
        goto out;
    p->sentinel.p = p;
    p->fn = fn;
    p->method = method;
    p->daemon = opts ? opts->daemon != 0 : 0;
    if ((rc = mproc__core_args_copy(args, &p->args)))
        goto out;
    /* Python: identity = creator's identity + (counter,), name from it. */
    char ident[256];
    const char *parent = mproc__core_identity();
    snprintf(ident, sizeof ident, "%s%s%lu", parent, *parent ? ":" : "", mproc__core_next_child_number());
    char defname[300];
    snprintf(defname, sizeof defname, "Process-%s", ident);
    p->identity = mproc__core_strdup(ident);
    p->name = mproc__core_strdup(opts && opts->name ? opts->name : defname);
    if (!p->identity || !p->name)
        rc = MPROC_ENOMEM;
out:
    if (rc && p) {
        destroy(p);
        p = NULL;
    }
    if (err)
        *err = rc;
    return p;
}

int mproc__core_process_name_as(mproc_process *p, const char *prefix)
{
    char buf[320];
    snprintf(buf, sizeof buf, "%s-%s", prefix, p->identity);
    char *n = mproc__core_strdup(buf);
    if (!n)
        return MPROC_ENOMEM;
    free(p->name);
    p->name = n;
    return 0;
}

/* Checks common to every call on a process: not NULL, not closed, made by
 * this process (a forked child holds copies of its parent's objects). */
static int usable(const mproc_process *p)
{
    if (!p)
        return MPROC_EINVAL;
    if (p->state == P_CLOSED)
        return MPROC_ESTATE;
    if (p->state != P_NEW && p->creator_pid != mproc__be_getpid())
        return MPROC_ESTATE;
    return 0;
}

/* Detached children reaped under the lock, destroyed after it (settle). */
static mproc_process *reaped;

/* Reaps detached children that have exited (caller holds the lock); the
 * caller then calls destroy_reaped without it. */
static void reap_detached_locked(void)
{
    mproc_process *p = children, *next;
    for (; p; p = next) {
        next = p->next;
        int code;
        if (p->detached && mproc__be_proc_wait(p->bp, 0, &code) == 0) {
            list_del(p);
            mproc__be_proc_free(p->bp);
            p->next = reaped;
            reaped = p;
        }
    }
}

static void destroy_reaped(void)
{
    mproc__be_core_lock();
    mproc_process *p = reaped;
    reaped = NULL;
    mproc__be_core_unlock();
    while (p) {
        mproc_process *next = p->next;
        destroy(p);
        p = next;
    }
}

/* The segments a child needs for the objects in its arguments (each once),
 * and one reference per object taken on the child's behalf. */
typedef struct share_list {
    be_shm **shms;
    uint64_t *pids, *seqs;
    size_t n, cap;
    int failed;
} share_list;

static void share_segment(share_list *l, const void *rec)
{
    uint64_t pid, seq;
    be_shm *shm = mproc__core_arena_shm_of(rec, &pid, &seq);
    if (!shm) {
        l->failed = MPROC_EINVAL;
        return;
    }
    for (size_t i = 0; i < l->n; i++)
        if (l->shms[i] == shm)
            return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        be_shm **s = realloc(l->shms, cap * sizeof *s);
        if (s)
            l->shms = s;
        uint64_t *p = realloc(l->pids, cap * sizeof *p);
        if (p)
            l->pids = p;
        uint64_t *q = realloc(l->seqs, cap * sizeof *q);
        if (q)
            l->seqs = q;
        if (!s || !p || !q) {
            l->failed = MPROC_ENOMEM;
            return;
        }
        l->cap = cap;
    }
    l->shms[l->n] = shm;
    l->pids[l->n] = pid;
    l->seqs[l->n] = seq;
    l->n++;
}

static void share_add(core_rec *rec, void *ctx)
{
    share_list *l = ctx;
    const core_share_ops *ops = mproc__core_share_ops_for((core_kind)rec->kind);
    mproc__core_rec_retain(rec);
    mproc__core_rec_handover(rec, CORE_HANDOVER_SEND, 0);
    share_segment(l, rec);
    core_rec *dep = ops ? ops->dep(rec) : NULL;
    if (dep)
        share_segment(l, dep);
}

/* The child exists (ctx: its pid) or never will (NULL): the references
 * taken for it are its own, or go back. */
static void share_sent(core_rec *rec, void *ctx)
{
    mproc__core_rec_handover(rec, CORE_HANDOVER_SENT, ctx ? *(const long *)ctx : 0);
}

static void share_undo(core_rec *rec, void *ctx)
{
    share_sent(rec, ctx);
    mproc__core_rec_release_any(rec);
}

int mproc_process_start(mproc_process *p)
{
    int rc = usable(p);
    if (rc)
        return rc;
    if (p->state != P_NEW)
        return MPROC_ESTATE; /* cannot start a process twice */
    if (mproc_current_daemon())
        return MPROC_ESTATE; /* daemonic processes are not allowed to have children */
    core_child_desc d;
    memset(&d, 0, sizeof d);
    d.method = p->method ? p->method : mproc__core_default_method();
    if (!mproc__be_method_supported(d.method))
        return MPROC_ENOSYS;
    d.fn = p->fn;
    if (d.method != BE_FORK && (rc = mproc__be_sym_locate((be_fnptr)p->fn, &d.target)))
        return rc;
    d.args = p->args;
    d.name = p->name;
    d.identity = p->identity;
    d.parent_pid = mproc__be_getpid();
    d.daemon = p->daemon;
    d.default_method = mproc__core_default_method();
    mproc__core_saved_argv(&d.argc, &d.argv);
    share_list sl = {0};
    mproc__core_args_each_obj(p->args, share_add, &sl);
    core_ledger *ledger = sl.failed ? NULL : mproc__core_ledger_new(p->args, &sl.failed);
    if (ledger)
        share_segment(&sl, ledger);
    d.ledger = ledger;
    /* Connections stay open until the child has its copies. */
    core_stream_table st = {0};
    void *payload = NULL;
    size_t len = 0;
    if (sl.failed) {
        rc = sl.failed;
    } else if ((rc = mproc__core_args_hold_streams(p->args, &st)) == 0) {
        d.nsegs = sl.n;
        d.seg_pids = sl.pids;
        d.seg_seqs = sl.seqs;
        rc = mproc__core_desc_encode(&d, &payload, &len);
        if (rc == 0 && len > BE_PAYLOAD_MAX)
            rc = MPROC_EMSGSIZE;
    }
    if (rc == 0) {
        /* Buffered output would otherwise be written twice, by parent and child. */
        fflush(NULL);
        be_start how = {d.method, payload, len, sl.shms, sl.n, st.streams, st.n};
        mproc__be_core_lock();
        reap_detached_locked();
        rc = mproc__be_proc_start(&how, &p->bp);
        if (rc == 0) {
            p->state = P_STARTED;
            p->pid = mproc__be_proc_pid(p->bp);
            p->creator_pid = mproc__be_getpid();
            atomic_store(&p->ledger, ledger);
            list_add(p);
        }
        mproc__be_core_unlock();
        destroy_reaped();
    }
    mproc__core_args_unhold_streams(p->args, &st);
    if (rc) { /* the child never ran: the references we took for it go back */
        mproc__core_args_each_obj(p->args, share_undo, NULL);
        mproc__core_arena_free(ledger);
    } else {
        mproc__core_args_each_obj(p->args, share_sent, &p->pid);
    }
    free(payload);
    free(sl.shms);
    free(sl.pids);
    free(sl.seqs);
    return rc;
}

/* Waits for the child; on exit records the code and drops it from the list. */
static int wait_child(mproc_process *p, double timeout)
{
    if (p->state != P_EXITED) {
        int code;
        int rc = mproc__be_proc_wait(p->bp, timeout, &code);
        if (rc)
            return rc;
        mproc__be_core_lock();
        if (p->state == P_STARTED) {
            p->exitcode = code;
            p->state = P_EXITED;
            list_del(p);
        }
        mproc__be_core_unlock();
    }
    settle(p);
    return 0;
}

int mproc_process_join(mproc_process *p, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    int rc = usable(p);
    if (rc)
        return rc;
    if (p->state == P_NEW)
        return MPROC_ESTATE; /* can only join a started process */
    return wait_child(p, timeout);
}

int mproc_process_is_alive(mproc_process *p)
{
    int rc = usable(p);
    if (rc)
        return rc;
    if (p->state != P_STARTED)
        return 0;
    rc = wait_child(p, 0);
    if (rc == MPROC_ETIMEDOUT)
        return 1;
    return rc ? rc : 0;
}

int mproc_process_exitcode(mproc_process *p, int *code)
{
    int rc = usable(p);
    if (rc)
        return rc;
    if (p->state == P_NEW)
        return MPROC_ESTATE;
    rc = wait_child(p, 0);
    if (rc == MPROC_ETIMEDOUT)
        return MPROC_ERUNNING;
    if (rc)
        return rc;
    if (code)
        *code = p->exitcode;
    return 0;
}

static int send_signal(mproc_process *p, int how)
{
    int rc = usable(p);
    if (rc)
        return rc;
    if (p->state == P_NEW)
        return MPROC_ESTATE;
    if (p->state == P_EXITED)
        return 0; /* no-op after exit, as in Python */
    return mproc__be_proc_signal(p->bp, how);
}

int mproc_process_terminate(mproc_process *p) { return send_signal(p, BE_TERMINATE); }

int mproc_process_kill(mproc_process *p) { return send_signal(p, BE_KILL); }

int mproc_process_set_daemon(mproc_process *p, int daemon)
{
    int rc = usable(p);
    if (rc)
        return rc;
    if (p->state != P_NEW)
        return MPROC_ESTATE;
    p->daemon = daemon != 0;
    return 0;
}

int mproc_process_daemon(const mproc_process *p) { return p ? p->daemon : 0; }

long mproc_process_pid(const mproc_process *p) { return p ? p->pid : 0; }

const char *mproc_process_name(const mproc_process *p) { return p ? p->name : NULL; }

int mproc_process_close(mproc_process *p)
{
    if (!p)
        return MPROC_EINVAL;
    if (p->state == P_CLOSED)
        return 0;
    if (p->state == P_STARTED) {
        int rc = mproc_process_is_alive(p);
        if (rc == 1)
            return MPROC_ERUNNING;
        if (rc < 0)
            return rc;
    }
    if (p->bp && p->creator_pid == mproc__be_getpid())
        mproc__be_proc_free(p->bp);
    p->bp = NULL;
    p->state = P_CLOSED;
    return 0;
}

void mproc_process_free(mproc_process *p)
{
    if (!p)
        return;
    if (p->state == P_STARTED && p->creator_pid == mproc__be_getpid()) {
        mproc__be_core_lock();
        if (p->state == P_STARTED) {
            p->detached = 1; /* reaped later, by start/active_children/exit */
            reap_detached_locked();
            mproc__be_core_unlock();
            destroy_reaped();
            return;
        }
        mproc__be_core_unlock();
    }
    if (p->bp && p->creator_pid == mproc__be_getpid())
        mproc__be_proc_free(p->bp);
    destroy(p);
}

void *mproc_process_sentinel(mproc_process *p)
{
    if (!p || p->state == P_NEW || p->state == P_CLOSED)
        return NULL;
    return &p->sentinel;
}

int mproc__core_sentinel_proc(void *obj, be_proc **out)
{
    sentinel *s = obj;
    if (core_obj_kind(s) != K_SENTINEL)
        return MPROC_EINVAL;
    mproc_process *p = s->p;
    if (p->state == P_CLOSED)
        return MPROC_ECLOSED;
    if (p->state == P_NEW || p->creator_pid != mproc__be_getpid())
        return MPROC_ESTATE;
    *out = p->bp;
    return 0;
}

/* A sentinel's kind (core/kinds.c): not shareable, only waited on. */
static int sentinel_wait_prepare(void *obj, be_wait_item *it) { return mproc__core_sentinel_proc(obj, &it->proc); }

const core_share_ops mproc__core_sentinel_ops = {.kind = K_SENTINEL, .wait_prepare = sentinel_wait_prepare};

size_t mproc_active_children(mproc_process **out, size_t cap)
{
    mproc__core_ensure_init();
    size_t n = 0;
    mproc__be_core_lock();
    reap_detached_locked();
    mproc_process *p = children, *next;
    for (; p; p = next) {
        next = p->next;
        int code;
        if (mproc__be_proc_wait(p->bp, 0, &code) == 0) {
            if (!p->detached) {
                p->exitcode = code;
                p->state = P_EXITED;
                list_del(p);
            }
            continue; /* detached ones go on the next reap */
        }
        if (out && !p->detached && n < cap)
            out[n] = p;
        n++;
    }
    mproc__be_core_unlock();
    destroy_reaped();
    return n;
}

static void children_forget(void)
{
    /* A new child does not own its parent's children; their records stay as
     * memory the child never touches (usable() refuses them). */
    children = NULL;
}

static void children_at_exit(void)
{
    /* Python's _exit_function: terminate daemonic children, then join all. */
    mproc__be_core_lock();
    for (mproc_process *p = children; p; p = p->next)
        if (p->daemon)
            mproc__be_proc_signal(p->bp, BE_TERMINATE);
    while (children) {
        mproc_process *p = children;
        int code;
        list_del(p);
        mproc__be_core_unlock();
        mproc__be_proc_wait(p->bp, MPROC_FOREVER, &code);
        settle(p);
        if (p->detached) { /* out of the list: only we know it */
            mproc__be_proc_free(p->bp);
            destroy(p);
            mproc__be_core_lock();
        } else {
            mproc__be_core_lock();
            p->exitcode = code;
            p->state = P_EXITED;
        }
    }
    mproc__be_core_unlock();
}
