/* SPDX-License-Identifier: MIT */
/* pool.h - the Pool's parts, shared by its files.
 *
 * The parent keeps a queue of tasks; one result thread (pool_handler.c)
 * hands them to idle workers over each worker's own pipe, reads the
 * replies, completes the asyncs, runs callbacks and replaces workers.
 * Because the parent decides which worker runs what, a worker's death
 * names exactly the task it was running: that task fails with
 * MPROC_EWORKERLOST, the tasks queued behind it go back to the queue.
 *
 * All pool and async state is guarded by one process-wide lock
 * (mproc__core_pool_lock): there is little contention, and asyncs outlive their
 * pool.
 *
 * Subsystem pool/ (docs/architecture.md): Pool, its workers and
 * transports, map/imap/apply and asyncs. May use: base/, ipc/, sync/,
 * shmem/, proc/, queue/ and the backend. */
#ifndef MPROC_CORE_POOL_H
#define MPROC_CORE_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "base/object.h"

/* ------------------------------------------------------------ the wire */

enum pool_task_type {
    PT_APPLY = 1,        /* fn(args) -> result bytes */
    PT_CHUNK_SHM = 2,    /* count records in a shared segment, in place */
    PT_CHUNK_INLINE = 3, /* count records sent with the task, sent back */
    PT_RELEASE = 4,      /* unmap segment seg (no reply) */
    PT_SEGMENT = 5,      /* take the pool segment seg_id into slot seg_slot (no reply) */
};

#define PW_SEG_MAX 32

/* Map data that is not in the caller's own mproc_shm lives in a segment of
 * the pool's: anonymous (no name anywhere, so nothing outlives its last
 * user, even after SIGKILL). Workers are running already, so each gets it
 * handed over (mproc__be_shm_send) once, announced by a PT_SEGMENT record: the
 * message's frame is followed on the stream by one segment per such
 * record, in order, which the worker takes (mproc__be_shm_recv) as it reads the
 * record. That works because connections read exactly one frame at a
 * time. The parent decides which of the worker's PW_POOL_SEGS slots it
 * goes to, so both sides always agree on what the worker holds. */
#define PW_POOL_SEGS 2
typedef struct pool_seg {
    be_shm *map;
    uint64_t id; /* unique in this process, never 0 */
} pool_seg;

/* parent -> worker: records back to back in one message, each followed by
 * modlen bytes of module name and datalen bytes of data. */
typedef struct pw_task {
    uint32_t type;
    uint32_t modlen;
    uint64_t id;
    uint64_t fn_offset, fn_digest;
    uint64_t start, count;     /* chunks: index of the first item, items */
    uint64_t in_size, out_size;
    uint64_t in_off, out_off;  /* PT_CHUNK_SHM: byte offsets in seg, seg_out */
    uint64_t datalen;          /* apply: encoded args; inline: the input */
    char seg[PW_SEG_MAX];      /* PT_CHUNK_SHM: the input's segment (a name; "": */
    char seg_out[PW_SEG_MAX];  /* the pool segment seg_id); the output's segment */
    uint64_t seg_id;           /* PT_SEGMENT, PT_CHUNK_SHM with seg "": which pool */
    uint64_t seg_slot;         /* segment, and the worker's slot that holds it */
} pw_task;

/* worker -> parent: records back to back, each followed by datalen bytes;
 * one message per batch. */
typedef struct pw_reply {
    uint64_t id;      /* 0: the worker's start report */
    int32_t status;   /* 0, MPROC_ETASK, or why the task could not run */
    int32_t code;     /* the function's return value on MPROC_ETASK */
    uint64_t index;   /* the failed item */
    uint64_t datalen; /* apply: the result; inline chunk: the output */
} pw_reply;

/* The worker process's target (pool_worker.c). Its args: the initializer's
 * arguments, then the items below. */
int mproc__core_pool_worker_main(const mproc_args *args);
enum {
    PW_ARG_CONN,
    PW_ARG_INIT_MODULE,
    PW_ARG_INIT_OFFSET,
    PW_ARG_INIT_DIGEST,
    PW_ARG_MAXTASKS,
    PW_ARG_PROGRESS, /* int64 array: per worker, the id of the task it started last */
    PW_ARG_INDEX,    /* this worker's slot in it */
    PW_ARG_MAXRSS,   /* bytes (0: no limit): exit after a task that left it bigger */
    PW_NARGS
};

/* ------------------------------------------------------------- the parent */

void mproc__core_pool_lock(void);
void mproc__core_pool_unlock(void);

typedef struct pool_slot {
    int done;
    int status;     /* 0 or an MPROC_E* code */
    int code;       /* MPROC_ETASK: the function's return value */
    size_t index;   /* failed item */
    void *data;     /* apply result / inline chunk output (malloc'd) */
    size_t len;
} pool_slot;

typedef struct pool_fnref { /* a located task function */
    be_fnptr fn;
    be_symref ref;
    struct pool_fnref *next;
} pool_fnref;

typedef struct pool_task {
    struct pool_task *next;
    pw_task w;
    const pool_fnref *fn; /* in the pool's cache: lives as long as the pool */
    void *data;           /* apply args / inline input: malloc'd, or inl */
    unsigned char inl[64];/* small apply args live here */
    mproc_async *async;
    size_t slot;
    int one_at_a_time;    /* chunks: never batched, so that workers balance */
    int embedded;         /* the async's own task1: freed with the async */
} pool_task;

enum async_kind { A_APPLY, A_MAP, A_STARMAP, A_IMAP, A_DONE };

typedef struct pool_waiter {
    be_bell *bell;
    struct pool_waiter *next;
} pool_waiter;

struct mproc_async {
    core_obj hdr;         /* K_ASYNC: mproc_wait takes it (pool_notify.c) */
    int kind;
    int refs;             /* the user's handle and each task not yet ended */
    int user_freed;
    size_t ntasks, ndone;
    pool_slot *slots;     /* one per task */
    size_t nslots;
    int ready;
    int cancelled;        /* mproc_async_cancel won: status MPROC_ECANCELLED */
    size_t ndispatched;   /* tasks handed to a worker (none: cancel may win) */
    int status;           /* the first failure to arrive */
    size_t fail_index;
    int fail_code;
    mproc_async_opts cb;
    pool_waiter *waiters;
    /* map: the pool segment (NULL: the caller's own) and where the
     * caller wants the output */
    pool_seg *seg;
    void *out;
    size_t out_total, out_off;
    mproc_pool *pool;     /* the pool it was submitted to; only looked at while
                             a task is queued there (mproc_async_cancel) */
    /* Submitted asyncs of this process, on one list (lock held), so that
     * a handle a program never freed stays reachable until it ends. */
    struct mproc_async *live_prev, *live_next;
    int live;
    /* An apply's one slot and one task live here: one allocation per
     * apply_async, made and freed by the caller's thread (no malloc arena
     * shared with the result thread). */
    pool_slot slot1;
    pool_task task1;
};

enum worker_state { W_STARTING, W_READY, W_DEAD };

typedef struct pool_worker {
    mproc_process *proc;
    mproc_conn *conn;        /* the parent's end of the worker's pipe */
    int state;
    pool_task *sent_head, *sent_tail; /* sent, not answered, in order */
    size_t nsent;
    unsigned tasks;          /* tasks given to it (maxtasksperchild) */
    uint64_t seg_ids[PW_POOL_SEGS]; /* the pool segments it holds, by slot (0: none) */
    unsigned seg_next;       /* the slot the next one replaces */
    unsigned start_failures; /* replacements in a row that could not start */
    double retry_at;         /* when to try the next one (mproc__be_monotonic; 0: none due) */
    int gone;                /* given up on, never started again (pool lock; mproc_pool_processes) */
} pool_worker;

enum pool_state { POOL_RUNNING, POOL_CLOSED, POOL_TERMINATED };

/* Where a pool's workers live. The default (NULL) runs each worker as a
 * child process with its own pipe (pool.c). Another engine (mpi/)
 * registers a transport under a start method name of its own: its workers
 * are reached through a pipe whose far end it serves in this process, so
 * the result thread treats both alike. Such a worker has no process here
 * (w->proc NULL): the end of its pipe is its death, and the transport
 * stores in progress[w] the id of the last task it knows started (or
 * INT64_MAX: every task sent may have run) before it closes that end. */
typedef struct pool_transport {
    const char *name; /* the start_method that selects it */
    /* Claims workers for p: *n is the number asked for (MPROC_POOL_CPUS:
     * as many as it has) and becomes the number claimed. */
    int (*open)(mproc_pool *p, int *n);
    /* Starts worker w (lock not held): sets w->conn, on which its start
     * report arrives as from a worker process. */
    int (*start)(mproc_pool *p, pool_worker *w);
    /* The pool is done with w: its conn is freed after this (how: 0,
     * BE_TERMINATE or BE_KILL, as for a worker process). */
    void (*stop)(mproc_pool *p, pool_worker *w, int how);
    void (*close)(mproc_pool *p); /* after the last stop: releases what open claimed */
} pool_transport;

/* Makes t selectable by its name; MPROC_EEXIST if that name is taken. */
int mproc__core_pool_transport_register(const pool_transport *t);

struct mproc_pool {
    int nworkers;
    pool_worker *workers;
    int state;
    unsigned maxtasks;
    uint64_t max_rss;        /* mproc_pool_opts.max_worker_rss */
    int broken;              /* no worker could be started: the error */
    const char *method;      /* start method name, or NULL */
    mproc_args *initargs;
    mproc_array *progress;   /* PW_ARG_PROGRESS */
    be_symref init_ref;
    int has_init;
    pool_task *qhead, *qtail;
    size_t qlen;
    uint64_t next_id;
    mproc_conn *wake_r, *wake_w;
    int wake_pending;
    be_thread *handler;
    uint64_t handler_tid;    /* its mproc__be_thread_id */
    int handler_running;
    struct mproc_pool *live_next; /* live pools of this process (pool.c) */
    int exit_done;           /* the exit hook has dealt with it */
    mproc_async *done;       /* ready when the handler has finished */
    long creator_pid;
    pool_fnref *fns;         /* every function located so far */
    const pool_transport *tr;/* NULL: worker processes */
    void *tr_ctx;            /* the transport's */
};

/* pool.c */
void mproc__pool_wake(mproc_pool *p);                       /* lock held */
int mproc__pool_submit(mproc_pool *p, pool_task *t);        /* lock held: queues or refuses */
int mproc__pool_live_workers(const mproc_pool *p);          /* lock held */
const pool_fnref *mproc__pool_fn(mproc_pool *p, be_fnptr fn, int *err); /* lock held */
pool_task *mproc__pool_task_new(mproc_pool *p, int type, be_fnptr fn, mproc_async *a, size_t slot, int *err);
void mproc__pool_task_free(pool_task *t);
int mproc__pool_worker_start(mproc_pool *p, pool_worker *w);  /* lock not held */
int mproc__pool_worker_ready(pool_worker *w, double timeout); /* reads the start report */
void mproc__pool_worker_stop(mproc_pool *p, pool_worker *w, int how); /* signal, join, free; lock not held */

/* pool_handler.c */
void mproc__pool_handler_main(void *pool);

/* pool_async.c (lock held unless said) */
mproc_async *mproc__pool_async_new(int kind, size_t ntasks, const mproc_async_opts *opts, int *err);
/* A task ended; takes data. Runs callbacks and completes the async when it
 * was the last one: called without the lock. */
void mproc__pool_async_task_done(mproc_async *a, size_t slot, int status, int code, size_t index, void *data,
                          size_t len);
void mproc__pool_async_release(mproc_async *a);              /* drops a reference */
int mproc__pool_async_wait_locked(mproc_async *a, double deadline, int (*done)(mproc_async *a, void *ctx),
                           void *ctx);                /* 0, MPROC_ETIMEDOUT, MPROC_EINTR */
void mproc__pool_async_wake_all(mproc_async *a);
void mproc__pool_async_track(mproc_async *a);                /* on its first submission */
int mproc__pool_async_usable(const mproc_async *a);          /* a handle the caller may use (lock not needed) */
/* A segment of at least size bytes for a map (lock held); it returns to a
 * spare slot when the map's async goes. */
pool_seg *mproc__pool_seg_take(size_t size, int *err);

/* pool_notify.c: a result became ready or an imap item arrived (lock held). */
void mproc__pool_notify(void);
/* pool_imap.c: 1 when mproc_imap_next would not wait for a worker. */
int mproc__pool_imap_readable(mproc_imap *m);

/* The failure behind this thread's last synchronous ETASK/EWORKERLOST. */
void mproc__pool_set_failure(int rc, size_t index, int code);

#endif
