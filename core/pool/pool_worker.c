/* SPDX-License-Identifier: MIT */
/* pool_worker.c - the worker process: runs the initializer, reports its
 * start, then runs the tasks its parent sends until the pipe ends (the
 * pool closed, or the parent died) or its task budget is spent. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "proc/args.h"
#include "ipc/conn.h"
#include "pool/pool.h"

struct mproc_result {
    void *buf;
    size_t len;
};

int mproc_result_set(mproc_result *r, const void *buf, size_t len)
{
    if (!r || (!buf && len))
        return MPROC_EINVAL;
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return MPROC_ENOMEM;
    if (len)
        memcpy(copy, buf, len);
    free(r->buf);
    r->buf = copy;
    r->len = len;
    return 0;
}

/* Located functions, so that each is looked up once per worker. */
#define FN_CACHE 16
static struct {
    be_symref ref;
    be_fnptr fn;
} fns[FN_CACHE];
static size_t nfns;

static int resolve(const pw_task *t, const char *module, be_fnptr *out)
{
    if (t->modlen >= BE_MODULE_MAX)
        return MPROC_EINVAL;
    for (size_t i = 0; i < nfns && i < FN_CACHE; i++)
        if (fns[i].ref.offset == t->fn_offset && fns[i].ref.digest == t->fn_digest &&
            strlen(fns[i].ref.module) == t->modlen && memcmp(fns[i].ref.module, module, t->modlen) == 0) {
            *out = fns[i].fn;
            return 0;
        }
    be_symref ref = {{0}, t->fn_offset, t->fn_digest};
    memcpy(ref.module, module, t->modlen);
    int rc = mproc__be_sym_resolve(&ref, out);
    if (rc == 0) {
        size_t i = nfns++ % FN_CACHE;
        fns[i].ref = ref;
        fns[i].fn = *out;
    }
    return rc;
}

/* The map segments in use: a map's input and output (the same segment
 * unless the caller's own mproc_shm buffers are used in place). */
#define SEGS 2
static mproc_shm *segs[SEGS];
static unsigned seg_clock;

static void release_seg(const char *name)
{
    for (int i = 0; i < SEGS; i++)
        if (segs[i] && (!name || strcmp(mproc_shm_name(segs[i]), name) == 0)) {
            mproc_shm_close(segs[i]);
            segs[i] = NULL;
        }
}

static int find_seg(const char *name)
{
    for (int i = 0; i < SEGS; i++)
        if (segs[i] && strcmp(mproc_shm_name(segs[i]), name) == 0)
            return i;
    return -1;
}

/* The pool's own segments, handed over by the parent (PT_SEGMENT), in the
 * slots it chose. */
static struct {
    uint64_t id;
    be_shm *map;
    int err; /* why the last one handed to this slot could not be mapped */
} own[PW_POOL_SEGS];

static void release_own(void)
{
    for (int i = 0; i < PW_POOL_SEGS; i++) {
        mproc__be_shm_close(own[i].map);
        own[i].map = NULL;
        own[i].id = 0;
    }
}

/* How long the segment may take to follow the message that announced it
 * (the parent sends it right after). */
#define SEG_RECV_TIMEOUT 30.0

/* Takes the segment that follows the current message on the pipe. An
 * error means the pipe is out of step: the worker must stop. */
static int take_segment(mproc_conn *conn, const pw_task *t)
{
    if (t->seg_slot >= PW_POOL_SEGS || !t->seg_id)
        return MPROC_EINVAL;
    be_stream *s;
    be_shm *m = NULL;
    int rc = mproc__core_conn_hold(conn, 1, &s, NULL);
    if (rc)
        return rc;
    rc = mproc__be_shm_recv(s, SEG_RECV_TIMEOUT, &m);
    mproc__core_conn_unhold(conn);
    size_t i = (size_t)t->seg_slot;
    mproc__be_shm_close(own[i].map);
    own[i].map = m;
    own[i].id = m ? t->seg_id : 0;
    own[i].err = rc;
    /* Could not map it (no memory): the pipe is in step; the chunks that
     * need it fail and the parent hands it over again. */
    return rc == MPROC_ENOMEM || rc == MPROC_ESYS ? 0 : rc;
}

/* Maps the segment into a slot other than `keep`: its slot, or -1. */
static int attach_seg(const char *name, int keep, int *err)
{
    int i = find_seg(name);
    if (i >= 0)
        return i;
    i = (int)(seg_clock++ % SEGS);
    if (i == keep)
        i = (i + 1) % SEGS;
    if (segs[i])
        mproc_shm_close(segs[i]);
    segs[i] = mproc_shm_open(name, 0, 0, err);
    return segs[i] ? i : -1;
}

/* Replies go out together, one message per batch of tasks: the parent
 * then reads one message, not one per task. They are flushed at the end of
 * each batch, and before a task once the oldest has waited FLUSH_AFTER, so
 * that a long task never holds back results that are ready. */
#define FLUSH_AFTER 0.0002

typedef struct worker {
    mproc_conn *conn;
    _Atomic int64_t *started; /* the id of the task this worker started last */
    char *out;                /* replies not sent yet */
    size_t len, cap;
    double oldest;            /* when the first of them was queued */
} worker;

static int flush(worker *w)
{
    if (!w->len)
        return 0;
    int rc = mproc_conn_send_bytes(w->conn, w->out, w->len);
    w->len = 0;
    return rc;
}

static int send_reply(worker *w, pw_reply *rep, const void *data, size_t len)
{
    rep->datalen = len;
    size_t need = w->len + sizeof *rep + len;
    if (need > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < need)
            cap *= 2;
        char *out = realloc(w->out, cap);
        if (!out)
            return MPROC_ENOMEM;
        w->out = out;
        w->cap = cap;
    }
    if (!w->len)
        w->oldest = mproc__be_monotonic();
    memcpy(w->out + w->len, rep, sizeof *rep);
    if (len)
        memcpy(w->out + w->len + sizeof *rep, data, len);
    w->len = need;
    return 0;
}

static int run_apply(worker *c, const pw_task *t, be_fnptr f, const void *data, void *state)
{
    pw_reply rep = {t->id, 0, 0, t->start, 0};
    int err = 0;
    mproc_args *args = mproc_args_decode(data, t->datalen, &err);
    mproc_result res = {NULL, 0};
    if (!args) {
        rep.status = err;
    } else {
        int code = ((mproc_apply_fn)(void (*)(void))f)(args, &res, state);
        if (code) {
            rep.status = MPROC_ETASK;
            rep.code = code;
        }
        mproc_args_free(args);
    }
    int rc = send_reply(c, &rep, rep.status ? NULL : res.buf, rep.status ? 0 : res.len);
    free(res.buf);
    return rc;
}

/* A chunk in a shared segment: stops at the first failure, as Python's
 * map does with a chunk. */
static int run_chunk_shm(worker *c, const pw_task *t, be_fnptr f, void *state)
{
    pw_reply rep = {t->id, 0, 0, 0, 0};
    char *in = NULL, *out = NULL;
    if (t->seg[0] == '\0') { /* the pool's segment, input and output */
        size_t i = (size_t)t->seg_slot;
        if (i < PW_POOL_SEGS && own[i].map && own[i].id == t->seg_id)
            in = out = mproc__be_shm_addr(own[i].map);
        else /* it could not be mapped here, or we are out of step */
            rep.status = i < PW_POOL_SEGS && own[i].err ? own[i].err : MPROC_ENOENT;
    } else {
        int si = attach_seg(t->seg, -1, &rep.status), so = si >= 0 ? attach_seg(t->seg_out, si, &rep.status) : -1;
        in = si >= 0 ? mproc_shm_ptr(segs[si]) : NULL;
        out = so >= 0 ? mproc_shm_ptr(segs[so]) : NULL;
    }
    mproc_map_fn fn = (mproc_map_fn)(void (*)(void))f;
    if (out) /* segments are reused: give each item a zeroed record */
        memset(out + t->out_off, 0, (size_t)(t->count * t->out_size));
    for (uint64_t i = 0; out && i < t->count; i++) {
        int code = fn(in + t->in_off + i * t->in_size, out + t->out_off + i * t->out_size, state);
        if (code) {
            rep.status = MPROC_ETASK;
            rep.code = code;
            rep.index = t->start + i;
            break;
        }
    }
    return send_reply(c, &rep, NULL, 0);
}

/* An inline chunk (imap): every item runs; the reply carries the outputs,
 * then one int32 return code per item. */
static int run_chunk_inline(worker *c, const pw_task *t, be_fnptr f, const char *in, void *state)
{
    pw_reply rep = {t->id, 0, 0, t->start, 0};
    size_t outlen = (size_t)(t->count * t->out_size), len = outlen + (size_t)t->count * sizeof(int32_t);
    char *out = calloc(1, len ? len : 1);
    if (!out) {
        rep.status = MPROC_ENOMEM;
        return send_reply(c, &rep, NULL, 0);
    }
    mproc_map_fn fn = (mproc_map_fn)(void (*)(void))f;
    for (uint64_t i = 0; i < t->count; i++) {
        int32_t code = fn(in + i * t->in_size, out + i * t->out_size, state);
        memcpy(out + outlen + i * sizeof code, &code, sizeof code);
    }
    int rc = send_reply(c, &rep, out, len);
    free(out);
    return rc;
}

/* Has this worker grown past max_rss bytes (mproc_pool_opts.max_worker_rss,
 * loky's memory limit)? Asked after each task; a worker that cannot tell
 * goes on. */
static int over_rss(uint64_t max_rss)
{
    uint64_t rss = 0;
    return mproc__be_rss(&rss) == 0 && rss > max_rss;
}

/* Runs the records of one message. 1 when the budget is spent or the
 * worker grew past max_rss, 0 to go on, < 0 when the pipe broke. */
static int run_message(worker *c, const char *msg, size_t len, void *state, uint64_t maxtasks,
                       uint64_t *ntasks, uint64_t max_rss)
{
    size_t pos = 0;
    int over = 0;
    while (pos + sizeof(pw_task) <= len) {
        pw_task t;
        memcpy(&t, msg + pos, sizeof t);
        pos += sizeof t;
        if (t.modlen > len - pos || t.datalen > len - pos - t.modlen)
            return MPROC_EINVAL; /* corrupt: the parent and we disagree */
        const char *module = msg + pos, *data = module + t.modlen;
        pos += t.modlen + (size_t)t.datalen;
        t.seg[PW_SEG_MAX - 1] = t.seg_out[PW_SEG_MAX - 1] = '\0';
        if (t.type == PT_RELEASE) {
            release_seg(t.seg);
            continue;
        }
        if (t.type == PT_SEGMENT) {
            int rc = take_segment(c->conn, &t);
            if (rc)
                return rc;
            continue;
        }
        if (c->len && mproc__be_monotonic() - c->oldest > FLUSH_AFTER && flush(c) != 0)
            return MPROC_EOS;
        /* From here on a death of ours is this task's (pool_handler.c). */
        atomic_store(c->started, (int64_t)t.id);
        be_fnptr f;
        int rc = resolve(&t, module, &f);
        if (rc) {
            pw_reply rep = {t.id, rc, 0, t.start, 0};
            rc = send_reply(c, &rep, NULL, 0);
        } else if (t.type == PT_APPLY) {
            rc = run_apply(c, &t, f, data, state);
        } else if (t.type == PT_CHUNK_SHM) {
            rc = run_chunk_shm(c, &t, f, state);
        } else if (t.type == PT_CHUNK_INLINE) {
            rc = run_chunk_inline(c, &t, f, data, state);
        } else {
            return MPROC_EINVAL;
        }
        if (rc)
            return rc;
        ++*ntasks;
        if (max_rss && over_rss(max_rss)) {
            over = 1; /* exit as maxtasksperchild does: the parent puts the tasks after this one back */
            break;
        }
    }
    if (flush(c) != 0)
        return MPROC_EOS;
    return over || (maxtasks && *ntasks >= maxtasks);
}

/* 0, MPROC_ETASK with *code, or why it could not run. */
static int run_initializer(const mproc_args *args, size_t base, void **state, int32_t *code, mproc_args **initargs)
{
    const char *module = mproc_args_str(args, base + PW_ARG_INIT_MODULE);
    be_symref ref = {{0}, (uint64_t)mproc_args_int(args, base + PW_ARG_INIT_OFFSET),
                     (uint64_t)mproc_args_int(args, base + PW_ARG_INIT_DIGEST)};
    if (!ref.offset)
        return 0;
    if (!module || strlen(module) >= BE_MODULE_MAX)
        return MPROC_EINVAL;
    strcpy(ref.module, module);
    be_fnptr f;
    int rc = mproc__be_sym_resolve(&ref, &f);
    if (rc)
        return rc;
    if ((rc = mproc__core_args_copy_range(args, 0, base, initargs)))
        return rc;
    /* initargs stay alive for the worker's life: state may point into them
     * (freed when it ends: a worker on an MPI rank is a thread, not a process) */
    *code = ((mproc_pool_init_fn)(void (*)(void))f)(*initargs, state);
    return *code ? MPROC_ETASK : 0;
}

int mproc__core_pool_worker_main(const mproc_args *args)
{
    size_t n = mproc_args_count(args);
    if (n < PW_NARGS)
        return 1;
    size_t base = n - PW_NARGS;
    worker c = {mproc_args_obj(args, base + PW_ARG_CONN), NULL, NULL, 0, 0, 0};
    uint64_t maxtasks = (uint64_t)mproc_args_int(args, base + PW_ARG_MAXTASKS);
    uint64_t max_rss = (uint64_t)mproc_args_int(args, base + PW_ARG_MAXRSS);
    mproc_array *progress = mproc_args_obj(args, base + PW_ARG_PROGRESS);
    int64_t index = mproc_args_int(args, base + PW_ARG_INDEX);
    if (!c.conn || !progress || index < 0 || (size_t)index >= mproc_array_len(progress))
        return 1;
    c.started = (_Atomic int64_t *)mproc_array_ptr(progress) + index;
    mproc__be_ignore_interrupts();

    void *state = NULL;
    pw_reply rep = {0, 0, 0, 0, 0};
    mproc_args *initargs = NULL;
    rep.status = run_initializer(args, base, &state, &rep.code, &initargs);
    if (send_reply(&c, &rep, NULL, 0) != 0 || flush(&c) != 0 || rep.status) {
        mproc_args_free(initargs);
        free(c.out);
        return 1;
    }

    uint64_t ntasks = 0;
    for (;;) {
        void *msg;
        size_t len;
        int rc = mproc_conn_recv_bytes(c.conn, &msg, &len, MPROC_NOLIMIT);
        if (rc)
            break; /* MPROC_EOS: the pool closed, or the parent is gone */
        rc = run_message(&c, msg, len, state, maxtasks, &ntasks, max_rss);
        mproc_free(msg);
        if (rc)
            break;
    }
    release_seg(NULL);
    release_own();
    free(c.out);
    mproc_args_free(initargs);
    return 0;
}
