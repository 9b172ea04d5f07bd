/* SPDX-License-Identifier: MIT */
/* connection.c - mproc_conn: Python's Connection over a backend stream,
 * with Python's framing (frame.h), or none on a message stream (backend.h),
 * where the OS keeps each message's boundary.
 *
 * A handle is process-local: the stream, its direction, and two mutexes
 * so that threads never interleave messages. The gate (gate.h) lets one
 * thread close it while another is inside a call; the reference count
 * keeps the memory valid for mproc_args that hold it. */
#include <stdlib.h>
#include <string.h>

#include "ipc/conn.h"
#include "ipc/frame.h"
#include "base/gate.h"
#include "base/hooks.h"
#include "base/object.h"
#include "base/spin.h"

#define DISCARD_CHUNK 65536
#define SMALL_SEND 1024 /* copied behind the header, sent as one buffer */

struct mproc_conn {
    core_obj h;
    _Atomic uint32_t refs;
    core_gate gate;
    be_stream *s;
    unsigned flags;         /* CONN_READABLE | CONN_WRITABLE */
    atomic_int read_ended;  /* reads refused: see end_reading() */
    atomic_int write_ended; /* a bounded send stopped inside a message */
    be_mutex send_mu, recv_mu;
    _Atomic long mu_pid;    /* the process the mutexes were made for */
    int parent_only;        /* in the parent-only list (mproc__core_conn_parent_only) */
    core_spinner spin;      /* readers spin briefly before blocking (spin.h) */
    atomic_int value_codec; /* mproc_value_codec of the values sent (conn_value.c) */
};

/* -------------------------------------------------------------- handles */

mproc_conn *mproc__core_conn_wrap(be_stream *s, unsigned flags, int *err)
{
    int rc = 0;
    mproc_conn *c = mproc__core_handle_new(sizeof *c, K_CONN, &rc);
    if (c) {
        c->s = s;
        c->flags = flags;
        atomic_init(&c->refs, 1);
        atomic_init(&c->spin.misses, 0);
        atomic_init(&c->spin.waits, 0);
        atomic_init(&c->value_codec, MPROC_CODEC_AUTO);
        if ((rc = mproc__be_mutex_init(&c->send_mu)) != 0 || (rc = mproc__be_mutex_init(&c->recv_mu)) != 0) {
            mproc__core_handle_drop(c);
            c = NULL;
        } else {
            atomic_init(&c->mu_pid, mproc__be_getpid());
        }
    }
    if (!c)
        mproc__be_stream_close(s);
    if (err)
        *err = c ? 0 : rc;
    return c;
}

int mproc_pipe(int duplex, mproc_conn **a, mproc_conn **b)
{
    if (!a || !b)
        return MPROC_EINVAL;
    *a = *b = NULL;
    mproc__core_ensure_init();
    be_stream *sa, *sb;
    int rc = mproc__be_stream_pair(duplex != 0, &sa, &sb);
    if (rc)
        return rc;
    unsigned both = CONN_READABLE | CONN_WRITABLE;
    mproc_conn *ca = mproc__core_conn_wrap(sa, duplex ? both : CONN_READABLE, &rc);
    if (!ca) {
        mproc__be_stream_close(sb);
        return rc;
    }
    mproc_conn *cb = mproc__core_conn_wrap(sb, duplex ? both : CONN_WRITABLE, &rc);
    if (!cb) {
        mproc_conn_free(ca);
        return rc;
    }
    *a = ca;
    *b = cb;
    return 0;
}

/* After fork, a copy of this handle may hold mutexes locked by threads
 * that do not exist in the child: each process makes its own on first use. */
static int own_mutexes(mproc_conn *c)
{
    long me = mproc__be_getpid();
    if (atomic_load_explicit(&c->mu_pid, memory_order_acquire) == me)
        return 0;
    int rc = 0;
    mproc__be_core_lock();
    if (atomic_load(&c->mu_pid) != me && (rc = mproc__be_mutex_init(&c->send_mu)) == 0 &&
        (rc = mproc__be_mutex_init(&c->recv_mu)) == 0)
        atomic_store(&c->mu_pid, me);
    mproc__be_core_unlock();
    return rc;
}

static void release_stream(mproc_conn *c)
{
    mproc__be_stream_close(c->s);
    c->s = NULL;
}

static void conn_leave(mproc_conn *c)
{
    if (core_gate_leave(&c->gate))
        release_stream(c);
}

static int conn_enter(mproc_conn *c)
{
    if (core_obj_kind(c) != K_CONN)
        return MPROC_EINVAL;
    int rc = core_gate_enter(&c->gate);
    if (rc == 0 && (rc = own_mutexes(c)) != 0)
        conn_leave(c);
    return rc;
}

int mproc_conn_close(mproc_conn *c)
{
    if (core_obj_kind(c) != K_CONN)
        return MPROC_EINVAL;
    if (core_gate_close(&c->gate))
        release_stream(c);
    return 0;
}

int mproc__core_conn_open(const mproc_conn *c)
{
    return core_obj_kind(c) == K_CONN && !core_gate_closed(&c->gate);
}

atomic_int *mproc__core_conn_codec(mproc_conn *c) { return core_obj_kind(c) == K_CONN ? &c->value_codec : NULL; }

void mproc__core_conn_retain(mproc_conn *c) { atomic_fetch_add(&c->refs, 1); }

/* ------------------------------------------------ parent-only handles */

typedef struct parent_only {
    mproc_conn *c;
    struct parent_only *next;
} parent_only;
static parent_only *parent_only_list; /* under mproc__be_core_lock */

static void close_parent_only(void);
static core_hook close_hook = CORE_HOOK_INIT(close_parent_only, 0);

int mproc__core_conn_parent_only(mproc_conn *c)
{
    mproc__core_child_hook_add(&close_hook);
    parent_only *e = malloc(sizeof *e);
    if (!e)
        return MPROC_ENOMEM;
    e->c = c;
    mproc__be_core_lock();
    e->next = parent_only_list;
    parent_only_list = e;
    c->parent_only = 1;
    mproc__be_core_unlock();
    return 0;
}

/* Only for handles that were registered, so that releasing any other
 * never takes mproc__be_core_lock (callers may hold it). */
static void forget_parent_only(mproc_conn *c)
{
    if (!c->parent_only)
        return;
    mproc__be_core_lock();
    for (parent_only **pp = &parent_only_list; *pp; pp = &(*pp)->next)
        if ((*pp)->c == c) {
            parent_only *e = *pp;
            *pp = e->next;
            free(e);
            break;
        }
    mproc__be_core_unlock();
}

static void close_parent_only(void)
{
    /* Only the forking thread exists here, and it held mproc__be_core_lock while
     * it forked: the list is whole, and no call is inside any handle (the
     * counts copied from the parent mean its threads). */
    parent_only *e = parent_only_list;
    parent_only_list = NULL;
    while (e) {
        parent_only *next = e->next;
        atomic_store(&e->c->gate.state, 1u);
        mproc__be_stream_close(e->c->s);
        e->c->s = NULL;
        free(e);
        e = next;
    }
}

void mproc__core_conn_release(mproc_conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    forget_parent_only(c);
    mproc_conn_close(c);
    if (atomic_load(&c->mu_pid) == mproc__be_getpid()) {
        mproc__be_mutex_destroy(&c->send_mu);
        mproc__be_mutex_destroy(&c->recv_mu);
    }
    mproc__core_handle_drop(c);
}

void mproc_conn_free(mproc_conn *c)
{
    if (core_obj_kind(c) != K_CONN)
        return;
    mproc_conn_close(c);
    mproc__core_conn_release(c);
}

int mproc_conn_fileno(mproc_conn *c, intptr_t *handle)
{
    if (!handle)
        return MPROC_EINVAL;
    int rc = conn_enter(c);
    if (rc)
        return rc;
    *handle = mproc__be_stream_os_handle(c->s);
    conn_leave(c);
    return 0;
}

/* ----------------------------------------------------------------- send */

static int lock_for(be_mutex *m, double deadline)
{
    int rc = mproc__be_mutex_lock(m, mproc__core_remaining(deadline));
    return rc == MPROC_EOWNERDEAD ? 0 : rc; /* a thread died holding it: nothing was half-done in memory */
}

int mproc__core_conn_send_timed(mproc_conn *c, const void *buf, size_t len, double timeout)
{
    if ((!buf && len) || (uint64_t)len > INT64_MAX)
        return MPROC_EINVAL;
    int rc = conn_enter(c);
    if (rc)
        return rc;
    if (!(c->flags & CONN_WRITABLE))
        rc = MPROC_EINVAL; /* Python: "connection is read-only" */
    else if (atomic_load(&c->write_ended))
        rc = MPROC_ECLOSED;
    else {
        double deadline = mproc__core_deadline(timeout);
        int msg = mproc__be_stream_is_message(c->s);
        /* Header and payload in one system call: no Nagle delay on TCP
         * (CPython bpo-20540) and no separate tiny write. A small message
         * is copied behind its header: one buffer is cheaper for the OS
         * than two. */
        unsigned char one[FRAME_HDR_MAX + SMALL_SEND];
        size_t hl = mproc__core_frame_encode(len, one);
        be_iov iov[2] = {{one, hl}, {buf, len}};
        size_t niov = 2;
        if (msg) { /* the OS keeps the boundary: no header (Python's AF_PIPE) */
            iov[0] = iov[1];
            niov = 1;
        } else if (len <= SMALL_SEND) {
            if (len)
                memcpy(one + hl, buf, len);
            iov[0].len = hl + len;
            niov = 1;
        }
        if ((rc = lock_for(&c->send_mu, deadline)) == 0) {
            rc = mproc__be_stream_write(c->s, iov, niov, mproc__core_remaining(deadline));
            if (rc == MPROC_ETIMEDOUT)
                atomic_store(&c->write_ended, 1); /* part of a message may have gone */
            mproc__be_mutex_unlock(&c->send_mu);
        }
    }
    conn_leave(c);
    return rc;
}

int mproc_conn_send_bytes(mproc_conn *c, const void *buf, size_t len)
{
    return mproc__core_conn_send_timed(c, buf, len, MPROC_FOREVER);
}

/* -------------------------------------------------------------- receive */

/* Where a message goes. */
typedef struct sink {
    void *buf;        /* the caller's buffer (into), unused when alloc */
    size_t cap;       /* most bytes accepted */
    int alloc;        /* 1: a new buffer of the message's size */
    int consume_long; /* a message over cap: read and drop it (else leave it) */
    void *out;        /* alloc: the buffer */
    size_t len;       /* the message's length */
} sink;

/* 0 and *len, or MPROC_EOS at the end of the stream; also MPROC_EOS with
 * *corrupt set for a header no sender makes. */
static int read_header(mproc_conn *c, uint64_t *len, double deadline, int *corrupt)
{
    unsigned char h[FRAME_HDR_MAX];
    int rc = mproc__be_stream_read(c->s, h, FRAME_SHORT, mproc__core_remaining(deadline));
    if (rc)
        return rc;
    rc = mproc__core_frame_decode_short(h, len);
    if (rc == 1) {
        if ((rc = mproc__be_stream_read(c->s, h + FRAME_SHORT, FRAME_LONG, mproc__core_remaining(deadline))) != 0)
            return rc;
        rc = mproc__core_frame_decode_long(h + FRAME_SHORT, len);
    }
    *corrupt = rc != 0;
    return rc;
}

static int discard(mproc_conn *c, uint64_t n, double deadline)
{
    char *tmp = malloc(DISCARD_CHUNK);
    if (!tmp)
        return MPROC_ENOMEM;
    int rc = 0;
    while (rc == 0 && n > 0) {
        size_t k = n < DISCARD_CHUNK ? (size_t)n : DISCARD_CHUNK;
        rc = mproc__be_stream_read(c->s, tmp, k, mproc__core_remaining(deadline));
        n -= k;
    }
    free(tmp);
    return rc;
}

/* The length of the next framed message. */
static int read_frame_header(mproc_conn *c, uint64_t *n, double deadline, int *out_of_step)
{
    /* Bounded: wait for the first byte first, so that a timeout leaves
     * the stream where it was. Unbounded: the read below waits. */
    int r = deadline >= 0 ? mproc__core_poll_stream(&c->spin, c->s, mproc__core_remaining(deadline))
                          : mproc__core_spin_stream(&c->spin, c->s, MPROC_FOREVER);
    if (r < 0)
        return r;
    if (r == 0 && deadline >= 0)
        return MPROC_ETIMEDOUT;
    int corrupt = 0;
    int rc = read_header(c, n, deadline, &corrupt);
    if (rc)
        *out_of_step = corrupt || rc != MPROC_EOS;
    return rc;
}

/* The body of a message of n bytes into k. */
static int read_body(mproc_conn *c, sink *k, uint64_t n, double deadline, int *out_of_step)
{
    int rc;
    k->len = n > SIZE_MAX ? SIZE_MAX : (size_t)n;
    if (n > k->cap) {
        if (!k->consume_long) {
            *out_of_step = 1; /* the body is still there */
            return MPROC_EMSGSIZE;
        }
        rc = discard(c, n, deadline);
        *out_of_step = rc != 0 && rc != MPROC_EOS;
        return rc ? rc : MPROC_EMSGSIZE;
    }
    void *dst = k->buf;
    if (k->alloc && !(dst = malloc(n ? (size_t)n : 1))) {
        *out_of_step = 1;
        return MPROC_ENOMEM;
    }
    rc = mproc__be_stream_read(c->s, dst, (size_t)n, mproc__core_remaining(deadline));
    if (rc) {
        if (k->alloc)
            free(dst);
        *out_of_step = rc != MPROC_EOS;
        return rc;
    }
    if (k->alloc)
        k->out = dst;
    return 0;
}

/* One message into k. *out_of_step: the stream was left inside a message
 * (or its header is garbage), so nothing after it can be read. */
static int read_message(mproc_conn *c, sink *k, double deadline, int *out_of_step)
{
    uint64_t n = 0;
    int rc;
    if (mproc__be_stream_is_message(c->s)) {
        /* The size comes first, so a long message is refused before any
         * of it is read, as Python's message-mode reader does. */
        size_t sz = 0;
        rc = mproc__be_stream_next_message(c->s, &sz, mproc__core_remaining(deadline));
        if (rc) {
            *out_of_step = rc != MPROC_EOS && rc != MPROC_ETIMEDOUT;
            return rc;
        }
        n = sz;
    } else if ((rc = read_frame_header(c, &n, deadline, out_of_step)) != 0) {
        return rc;
    }
    return read_body(c, k, n, deadline, out_of_step);
}

static int recv_msg(mproc_conn *c, sink *k, double timeout)
{
    int rc = conn_enter(c);
    if (rc)
        return rc;
    int close_it = 0;
    double deadline = mproc__core_deadline(timeout);
    if (!(c->flags & CONN_READABLE))
        rc = MPROC_EINVAL; /* Python: "connection is write-only" */
    else if (atomic_load(&c->read_ended))
        rc = MPROC_ECLOSED;
    else if ((rc = lock_for(&c->recv_mu, deadline)) == 0) {
        int out_of_step = 0;
        if (atomic_load(&c->read_ended)) /* ended while we waited for the lock */
            rc = MPROC_ECLOSED;
        else
            rc = read_message(c, k, deadline, &out_of_step);
        if (out_of_step) {
            /* Python's _bad_message_length: a duplex end stops reading,
             * a receive-only end is closed. */
            atomic_store(&c->read_ended, 1);
            close_it = !(c->flags & CONN_WRITABLE);
        }
        mproc__be_mutex_unlock(&c->recv_mu);
    }
    conn_leave(c);
    if (close_it)
        mproc_conn_close(c);
    return rc;
}

int mproc_conn_recv_bytes(mproc_conn *c, void **buf, size_t *len, size_t maxlength)
{
    if (!buf || !len)
        return MPROC_EINVAL;
    *buf = NULL;
    *len = 0;
    sink k = {NULL, maxlength, 1, 0, NULL, 0};
    int rc = recv_msg(c, &k, MPROC_FOREVER);
    if (rc == 0)
        *buf = k.out;
    if (rc == 0 || rc == MPROC_EMSGSIZE)
        *len = k.len;
    return rc;
}

int mproc_conn_recv_bytes_into(mproc_conn *c, void *buf, size_t cap, size_t *len)
{
    if ((!buf && cap) || !len)
        return MPROC_EINVAL;
    *len = 0;
    sink k = {buf, cap, 0, 1, NULL, 0};
    int rc = recv_msg(c, &k, MPROC_FOREVER);
    if (rc == 0 || rc == MPROC_EMSGSIZE)
        *len = k.len;
    return rc;
}

int mproc__core_conn_recv_alloc_timed(mproc_conn *c, void **buf, size_t *len, double timeout)
{
    sink k = {NULL, MPROC_NOLIMIT, 1, 0, NULL, 0};
    int rc = recv_msg(c, &k, timeout);
    *buf = rc == 0 ? k.out : NULL;
    *len = rc == 0 ? k.len : 0;
    return rc;
}

int mproc__core_conn_recv_timed(mproc_conn *c, void *buf, size_t cap, size_t *len, double timeout)
{
    sink k = {buf, cap, 0, 0, NULL, 0};
    int rc = recv_msg(c, &k, timeout);
    *len = k.len;
    return rc;
}

int mproc_conn_poll(mproc_conn *c, double timeout)
{
    if (mproc__core_timeout_invalid(timeout))
        return MPROC_EINVAL; /* NaN */
    int rc = conn_enter(c);
    if (rc)
        return rc;
    if (!(c->flags & CONN_READABLE))
        rc = MPROC_EINVAL;
    else if (atomic_load(&c->read_ended))
        rc = MPROC_ECLOSED;
    else
        rc = mproc__core_poll_stream(&c->spin, c->s, timeout);
    conn_leave(c);
    return rc;
}

/* ------------------------------------------------- children, mproc_wait */

int mproc__core_conn_hold(mproc_conn *c, int need_readable, be_stream **s, unsigned *flags)
{
    int rc = conn_enter(c);
    if (rc)
        return rc;
    int reading = (c->flags & CONN_READABLE) && !atomic_load(&c->read_ended);
    if (need_readable && !(c->flags & CONN_READABLE))
        rc = MPROC_EINVAL;
    else if (need_readable && !reading)
        rc = MPROC_ECLOSED;
    if (rc) {
        conn_leave(c);
        return rc;
    }
    *s = c->s;
    if (flags) /* a child gets the end as it is now, as Python's pickling does */
        *flags = (c->flags & ~CONN_READABLE) | (reading ? CONN_READABLE : 0);
    return 0;
}

void mproc__core_conn_unhold(mproc_conn *c) { conn_leave(c); }

mproc_conn *mproc__core_conn_inherit(size_t index, unsigned flags, int *err)
{
    be_stream *s;
    int rc = mproc__be_stream_inherited(index, &s);
    if (rc) {
        *err = rc;
        return NULL;
    }
    return mproc__core_conn_wrap(s, flags & (CONN_READABLE | CONN_WRITABLE), err);
}
