/* SPDX-License-Identifier: MIT */
/* mpi_master.c - rank 0: the "mpi" pool transport. Worker i of the pool is
 * rank i + 1. The pool's result thread talks to each worker over a pipe,
 * as to a worker process; one bridge thread here carries each pipe's
 * messages to its rank and back (MPI_Isend, polled MPI_Iprobe), so the
 * pool itself has no MPI code. Ranks share no memory with us: the bridge
 * turns a map's shared-memory chunks into inline ones (the input goes with
 * the task) and writes the outputs the rank sends back into the segment.
 * It also notices lost ranks: an MPI error naming one (with ULFM, the
 * failed ranks the engine reports), or a rank silent for longer than
 * MPROC_MPI_TIMEOUT seconds (heartbeats every 0.5 s), whose unanswered
 * tasks it fails with MPROC_ETIMEDOUT. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/args.h"
#include "ipc/conn.h"
#include "base/base.h"
#include "mpi_link.h"
#include "pool/pool.h"

/* A map chunk sent inline, awaiting its reply. */
typedef struct chunk {
    uint64_t id, start, count, out_size, out_off;
    char seg_out[PW_SEG_MAX]; /* "": the pool segment seg_id in slot seg_slot */
    uint64_t seg_id, seg_slot;
    struct chunk *next;
} chunk;

/* The pool's own segments, handed over to this rank's bridge (pool.h). */
typedef struct own_seg {
    uint64_t id;
    be_shm *map;
} own_seg;

typedef struct rank_slot {
    mproc_conn *end;     /* the bridge's end of the worker's pipe; NULL: no session */
    mproc_conn *pending; /* a session to open: its end, and its START message */
    void *start_msg;
    size_t start_len;
    int widx;            /* the pool's worker index */
    int seq;             /* sessions started on it (TAG_DONE names one) */
    int lost;            /* never used again */
    double last_seen;
    chunk *chunks;
    own_seg own[PW_POOL_SEGS];
    uint64_t *ids;       /* tasks sent in this session and not answered, in order */
    size_t nids, capids;
    uint64_t last_sent;  /* the last task id forwarded in this session (a pool's ids grow) */
} rank_slot;

static struct {
    int size;            /* 0: not rank 0 of an MPI job */
    int finalized;
    long pid;
    rank_slot *ranks;    /* [size]; 0 unused */
    mproc_pool *pool;    /* the "mpi" pool, one at a time */
    be_thread *bridge;
    int stop;            /* the bridge must end (pool lock) */
    double timeout;
    sendq q;             /* bridge thread only */
} M;

int mproc_mpi_workers(void) { return M.size > 1 && !M.finalized ? M.size - 1 : 0; }

/* ------------------------------------------------------------- chunks */

/* A segment's memory: the caller's own, attached by name (*m to close
 * after), or the pool's, which the bridge holds. */
static char *seg_ptr(rank_slot *r, const char *name, uint64_t id, uint64_t slot, mproc_shm **m)
{
    int err;
    *m = NULL;
    if (name[0] == '\0')
        return slot < PW_POOL_SEGS && r->own[slot].map && r->own[slot].id == id ? mproc__be_shm_addr(r->own[slot].map)
                                                                                  : NULL;
    *m = mproc_shm_open(name, 0, 0, &err);
    return *m ? mproc_shm_ptr(*m) : NULL;
}

static void release_own(rank_slot *r)
{
    for (int i = 0; i < PW_POOL_SEGS; i++) {
        mproc__be_shm_close(r->own[i].map);
        r->own[i] = (own_seg){0, NULL};
    }
}

/* A PT_SEGMENT record: the segment follows the message on the pipe. */
static int take_segment(rank_slot *r, const pw_task *t)
{
    be_stream *s;
    be_shm *m = NULL;
    if (t->seg_slot >= PW_POOL_SEGS)
        return MPROC_EINVAL;
    int rc = mproc__core_conn_hold(r->end, 1, &s, NULL);
    if (rc)
        return rc;
    rc = mproc__be_shm_recv(s, 10.0, &m); /* sent right after the message, by this process */
    mproc__core_conn_unhold(r->end);
    mproc__be_shm_close(r->own[t->seg_slot].map);
    r->own[t->seg_slot] = (own_seg){m ? t->seg_id : 0, m};
    return rc;
}

/* Task ids sent and not answered yet (answered in order, as a worker does). */
static int add_id(rank_slot *r, uint64_t id)
{
    if (r->nids == r->capids) {
        size_t cap = r->capids ? 2 * r->capids : 16;
        uint64_t *n = realloc(r->ids, cap * sizeof *n);
        if (!n)
            return MPROC_ENOMEM;
        r->ids = n;
        r->capids = cap;
    }
    r->ids[r->nids++] = id;
    return 0;
}

static void answered(rank_slot *r, uint64_t id)
{
    for (size_t k = 0; k < r->nids; k++)
        if (r->ids[k] == id) {
            memmove(r->ids + k, r->ids + k + 1, (r->nids - k - 1) * sizeof *r->ids);
            r->nids--;
            return;
        }
}

/* The pool's message with PT_CHUNK_SHM records made inline (malloc'd),
 * remembering each so that its reply can be written back. */
static int convert_tasks(rank_slot *r, const char *msg, size_t len, char **out, size_t *outlen)
{
    size_t cap = len, pos = 0, o = 0;
    char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return MPROC_ENOMEM;
    while (pos + sizeof(pw_task) <= len) {
        pw_task t;
        memcpy(&t, msg + pos, sizeof t);
        size_t rec = sizeof t + t.modlen + (size_t)t.datalen;
        if (rec > len - pos)
            break;
        const char *module = msg + pos + sizeof t, *data = module + t.modlen;
        pos += rec;
        if (t.type == PT_RELEASE)
            continue; /* the rank maps no segment */
        if (t.type == PT_SEGMENT) { /* nor does it get one: the bridge keeps it */
            int rc = take_segment(r, &t);
            if (rc) {
                free(buf);
                return rc;
            }
            continue;
        }
        mproc_shm *m = NULL;
        const char *in = NULL;
        chunk *c = NULL;
        if (t.type == PT_CHUNK_SHM) {
            t.seg[PW_SEG_MAX - 1] = t.seg_out[PW_SEG_MAX - 1] = '\0';
            const char *base = seg_ptr(r, t.seg, t.seg_id, t.seg_slot, &m);
            if (!base || !(c = calloc(1, sizeof *c))) {
                if (m)
                    mproc_shm_close(m);
                free(buf);
                return MPROC_ENOMEM;
            }
            *c = (chunk){t.id, t.start, t.count, t.out_size, t.out_off, {0}, t.seg_id, t.seg_slot, r->chunks};
            memcpy(c->seg_out, t.seg_out, PW_SEG_MAX);
            r->chunks = c;
            in = base + t.in_off;
            t.type = PT_CHUNK_INLINE;
            t.datalen = t.count * t.in_size;
            data = in;
        }
        size_t need = o + sizeof t + t.modlen + (size_t)t.datalen;
        if (need > cap) {
            while (cap < need)
                cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                if (m)
                    mproc_shm_close(m);
                free(buf);
                return MPROC_ENOMEM;
            }
            buf = nb;
        }
        if (t.id > r->last_sent)
            r->last_sent = t.id;
        if (t.id && add_id(r, t.id) != 0) {
            if (m)
                mproc_shm_close(m);
            free(buf);
            return MPROC_ENOMEM;
        }
        memcpy(buf + o, &t, sizeof t);
        memcpy(buf + o + sizeof t, module, t.modlen);
        if (t.datalen)
            memcpy(buf + o + sizeof t + t.modlen, data, (size_t)t.datalen);
        o = need;
        if (m)
            mproc_shm_close(m);
    }
    *out = buf;
    *outlen = o;
    return 0;
}

/* A reply to an inline-converted chunk: outputs into the segment, then
 * the reply a shared-memory chunk gives (first failure, no data). */
static void finish_chunk(rank_slot *r, chunk *c, pw_reply *rep, const char *data)
{
    size_t outlen = (size_t)(c->count * c->out_size);
    if (rep->status == 0 && rep->datalen == outlen + c->count * sizeof(int32_t)) {
        mproc_shm *m;
        char *base = seg_ptr(r, c->seg_out, c->seg_id, c->seg_slot, &m);
        if (base) {
            memcpy(base + c->out_off, data, outlen);
            if (m)
                mproc_shm_close(m);
            for (uint64_t i = 0; i < c->count; i++) {
                int32_t code;
                memcpy(&code, data + outlen + i * sizeof code, sizeof code);
                if (code) {
                    rep->status = MPROC_ETASK;
                    rep->code = code;
                    rep->index = c->start + i;
                    break;
                }
            }
        } else {
            rep->status = MPROC_ENOENT;
        }
    } else if (rep->status == 0) {
        rep->status = MPROC_EINVAL;
    }
    rep->datalen = 0;
}

/* Rewrites a rank's reply message in place where chunks were converted
 * (their replies shrink); returns the new length. */
static size_t convert_replies(rank_slot *r, char *msg, size_t len)
{
    size_t pos = 0, o = 0;
    while (len - pos >= sizeof(pw_reply)) {
        pw_reply rep;
        memcpy(&rep, msg + pos, sizeof rep);
        if (rep.datalen > len - pos - sizeof rep)
            break;
        const char *data = msg + pos + sizeof rep;
        pos += sizeof rep + (size_t)rep.datalen;
        if (rep.id)
            answered(r, rep.id);
        chunk **pp = &r->chunks;
        while (*pp && (*pp)->id != rep.id)
            pp = &(*pp)->next;
        if (rep.id && *pp) {
            chunk *c = *pp;
            *pp = c->next;
            finish_chunk(r, c, &rep, data);
            free(c);
        }
        memmove(msg + o + sizeof rep, data, (size_t)rep.datalen);
        memcpy(msg + o, &rep, sizeof rep);
        o += sizeof rep + (size_t)rep.datalen;
    }
    return o;
}

static void drop_chunks(rank_slot *r)
{
    while (r->chunks) {
        chunk *c = r->chunks;
        r->chunks = c->next;
        free(c);
    }
}

/* ------------------------------------------------------------- bridge */

/* The session on rank i is over; lost: every task forwarded may have run. */
static void end_session(int i, int lost)
{
    rank_slot *r = &M.ranks[i];
    mproc__core_pool_lock();
    mproc_conn *end = r->end;
    r->end = NULL;
    if (lost) {
        r->lost = 1;
        /* every task forwarded to the rank may have run: they fail; those
         * the pool queued on the pipe after it are given to other workers */
        if (M.pool)
            ((int64_t *)mproc_array_ptr(M.pool->progress))[r->widx] = (int64_t)r->last_sent;
    }
    mproc__core_pool_unlock();
    drop_chunks(r);
    r->nids = 0;
    release_own(r); /* the pool starts a new worker with none */
    if (end) { /* the pool reads the end of its pipe as the worker's death */
        mproc_conn_close(end);
        mproc_conn_free(end);
    }
}

static void lose_rank(int i)
{
    if (i <= 0 || i >= M.size || M.ranks[i].lost)
        return;
    fprintf(stderr, "mproc: MPI rank %d lost\n", i);
    end_session(i, 1);
}

/* Rank i went silent for M.timeout: each task it has not answered fails
 * with MPROC_ETIMEDOUT (replies in the order sent, as the pool expects),
 * then the rank is lost as any other. */
static void time_out_rank(int i)
{
    rank_slot *r = &M.ranks[i];
    if (r->end && r->nids) {
        size_t len = r->nids * sizeof(pw_reply);
        char *msg = malloc(len);
        if (msg) {
            for (size_t k = 0; k < r->nids; k++) {
                pw_reply rep = {r->ids[k], MPROC_ETIMEDOUT, 0, 0, 0};
                for (chunk *c = r->chunks; c; c = c->next)
                    if (c->id == rep.id)
                        rep.index = c->start;
                memcpy(msg + k * sizeof rep, &rep, sizeof rep);
            }
            mproc_conn_send_bytes(r->end, msg, len); /* on failure: EWORKERLOST at the pipe's end */
            free(msg);
        }
        r->nids = 0;
    }
    fprintf(stderr, "mproc: MPI rank %d silent for %g s\n", i, M.timeout);
    lose_rank(i);
}

/* An MPI call on any source failed: with ULFM, the engine names the ranks
 * that died (acknowledged, so that later calls succeed again). */
static void lose_failed_ranks(void)
{
#if MPROC_MPI_HAVE_ULFM
    MPI_Group failed, world;
    int n = 0;
    if (MPIX_Comm_failure_ack(MPI_COMM_WORLD) != MPI_SUCCESS ||
        MPIX_Comm_failure_get_acked(MPI_COMM_WORLD, &failed) != MPI_SUCCESS)
        return;
    if (MPI_Group_size(failed, &n) == MPI_SUCCESS && n > 0 && MPI_Comm_group(MPI_COMM_WORLD, &world) == MPI_SUCCESS) {
        int *in = malloc((size_t)n * sizeof *in), *out = malloc((size_t)n * sizeof *out);
        if (in && out) {
            for (int k = 0; k < n; k++)
                in[k] = k;
            if (MPI_Group_translate_ranks(failed, n, in, world, out) == MPI_SUCCESS)
                for (int k = 0; k < n; k++)
                    lose_rank(out[k]);
        }
        free(in);
        free(out);
        MPI_Group_free(&world);
    }
    MPI_Group_free(&failed);
#endif
}

static int from_ranks(void)
{
    int n = 0;
    for (;;) {
        int from, tag;
        void *buf;
        size_t len;
        int rc = mproc__link_try_recv(MPI_ANY_SOURCE, &from, &tag, &buf, &len);
        if (rc <= 0) {
            if (rc < 0 && from != MPI_ANY_SOURCE)
                lose_rank(from);
            else if (rc < 0)
                lose_failed_ranks();
            return n;
        }
        n++;
        rank_slot *r = from > 0 && from < M.size ? &M.ranks[from] : NULL;
        if (r && !r->lost) {
            r->last_seen = mproc__be_monotonic();
            int of_this = len >= sizeof(int) && memcmp(buf, &r->seq, sizeof(int)) == 0; /* session */
            if (tag == TAG_REPLY && r->end && of_this) { /* a late one, of a session over, is dropped */
                char *replies = (char *)buf + sizeof(int);
                len = convert_replies(r, replies, len - sizeof(int));
                if (mproc_conn_send_bytes(r->end, replies, len) != 0)
                    end_session(from, 0);
            } else if (tag == TAG_DONE && len == sizeof(int) && of_this) {
                end_session(from, 0); /* a late one, of a session already over, is dropped */
            }
        }
        free(buf);
    }
}

static int from_pool(void)
{
    int n = 0;
    for (int i = 1; i < M.size; i++) {
        rank_slot *r = &M.ranks[i];
        mproc__core_pool_lock();
        if (!r->end && r->pending && !r->lost) { /* open the next session */
            r->end = r->pending;
            r->pending = NULL;
            void *msg = r->start_msg;
            r->start_msg = NULL;
            r->last_seen = mproc__be_monotonic();
            r->last_sent = 0; /* ids are the pool's: a new pool starts again at 1 */
            r->seq++;
            mproc__core_pool_unlock();
            if (mproc__sendq_push(&M.q, i, TAG_START, msg, r->start_len) != 0)
                lose_rank(i);
            n++;
            mproc__core_pool_lock();
        }
        mproc_conn *end = r->end;
        mproc__core_pool_unlock();
        for (int k = 0; end && k < 64 && mproc_conn_poll(end, 0) == 1; k++) {
            void *msg;
            size_t len;
            n++;
            if (mproc_conn_recv_bytes(end, &msg, &len, MPROC_NOLIMIT) != 0) { /* the pool is done with it */
                end_session(i, 0);
                if (mproc__sendq_push(&M.q, i, TAG_END, NULL, 0) != 0)
                    lose_rank(i);
                break;
            }
            char *conv;
            size_t clen;
            int rc = convert_tasks(r, msg, len, &conv, &clen);
            mproc_free(msg);
            if (rc == 0 && (rc = mproc__sendq_push(&M.q, i, TAG_TASK, conv, clen)) != 0)
                lose_rank(i);
            else if (rc)
                end_session(i, 1);
        }
    }
    return n;
}

static void bridge_main(void *arg)
{
    (void)arg;
    unsigned idle = 0;
    double last_check = mproc__be_monotonic();
    for (;;) {
        mproc__core_pool_lock();
        int stop = M.stop;
        mproc__core_pool_unlock();
        if (stop)
            break;
        int n = from_ranks() + from_pool();
        int failed;
        mproc__sendq_progress(&M.q, &failed);
        if (failed > 0)
            lose_rank(failed);
        double now = mproc__be_monotonic();
        if (now - last_check > 0.25) {
            last_check = now;
            for (int i = 1; i < M.size; i++)
                if (M.ranks[i].end && !M.ranks[i].lost && now - M.ranks[i].last_seen > M.timeout)
                    time_out_rank(i);
        }
        idle = n ? 0 : idle + 1;
        double s = mproc__link_backoff(idle);
        if (s > 0)
            mproc__be_sleep(s);
    }
    /* The pool is gone: end every session still open. */
    for (int i = 1; i < M.size; i++) {
        rank_slot *r = &M.ranks[i];
        if (r->end) {
            end_session(i, 0);
            if (!r->lost && mproc__sendq_push(&M.q, i, TAG_END, NULL, 0) != 0)
                lose_rank(i);
        }
        mproc_conn_free(r->pending);
        free(r->start_msg);
        r->pending = NULL;
        r->start_msg = NULL;
    }
    mproc__sendq_flush(&M.q, 5.0);
}

/* ---------------------------------------------------------- transport */

static int t_open(mproc_pool *p, int *n)
{
    int have = mproc_mpi_workers();
    if (have == 0)
        return MPROC_ENOSYS;
    if (*n == MPROC_POOL_CPUS)
        *n = have;
    if (*n < 1 || *n > have)
        return MPROC_EINVAL;
    mproc__core_pool_lock();
    int busy = M.pool != NULL;
    if (!busy) {
        M.pool = p;
        M.stop = 0;
        for (int i = 1; i < M.size; i++)
            M.ranks[i].widx = i - 1;
    }
    mproc__core_pool_unlock();
    if (busy)
        return MPROC_ESTATE; /* the ranks serve one pool at a time */
    int rc = mproc__be_thread_start(bridge_main, NULL, &M.bridge);
    if (rc) {
        mproc__core_pool_lock();
        M.pool = NULL;
        mproc__core_pool_unlock();
        return rc;
    }
    p->tr_ctx = &M;
    return 0;
}

static int t_start(mproc_pool *p, pool_worker *w)
{
    int i = (int)(w - p->workers) + 1;
    rank_slot *r = &M.ranks[i];
    for (size_t k = 0; k < mproc_args_count(p->initargs); k++)
        if (mproc_args_type(p->initargs, k) == MPROC_ARG_OBJ)
            return MPROC_EINVAL; /* a lock or a queue cannot reach another host */
    mproc_args *a = NULL;
    mproc_conn *mine = NULL, *theirs = NULL;
    void *msg = NULL;
    size_t len = 0;
    int rc = mproc__core_args_copy(p->initargs, &a);
    if (!rc)
        rc = mproc_args_add_str(a, p->init_ref.module);
    if (!rc)
        rc = mproc_args_add_int(a, p->has_init ? (int64_t)p->init_ref.offset : 0);
    if (!rc)
        rc = mproc_args_add_int(a, (int64_t)p->init_ref.digest);
    if (!rc)
        rc = mproc_args_add_int(a, p->maxtasks);
    if (!rc)
        rc = mproc_args_encode(a, &msg, &len);
    mproc_args_free(a);
    if (!rc && !(rc = mproc_pipe(1, &mine, &theirs)) && !(rc = mproc__core_conn_parent_only(mine)))
        rc = mproc__core_conn_parent_only(theirs);
    if (!rc) {
        mproc__core_pool_lock();
        if (r->lost) {
            rc = MPROC_EWORKERLOST;
        } else {
            mproc_conn_free(r->pending);
            free(r->start_msg);
            r->pending = theirs;
            r->start_msg = msg;
            r->start_len = len;
            theirs = NULL;
            msg = NULL;
        }
        mproc__core_pool_unlock();
    }
    free(msg);
    mproc_conn_free(theirs);
    if (rc) {
        mproc_conn_free(mine);
        return rc;
    }
    w->conn = mine;
    return 0;
}

static void t_stop(mproc_pool *p, pool_worker *w, int how)
{
    (void)p, (void)w, (void)how; /* the bridge sees the pipe end and tells the rank */
}

static void t_close(mproc_pool *p)
{
    mproc__core_pool_lock();
    M.stop = 1;
    mproc__core_pool_unlock();
    if (M.bridge)
        mproc__be_thread_join(M.bridge);
    M.bridge = NULL;
    mproc__core_pool_lock();
    if (M.pool == p)
        M.pool = NULL;
    mproc__core_pool_unlock();
    p->tr_ctx = NULL;
}

static const pool_transport mpi_transport = {"mpi", t_open, t_start, t_stop, t_close};

/* ----------------------------------------------------------- lifecycle */

static int finalize(int at_exit)
{
    if (!M.size || M.finalized || mproc__be_getpid() != M.pid) /* not in a forked child */
        return 0;
    mproc__core_pool_lock();
    mproc_pool *p = M.pool;
    mproc__core_pool_unlock();
    if (p && !at_exit)
        return MPROC_ERUNNING;
    if (p) /* exiting with a pool alive: its ranks' sessions end first */
        t_close(p);
    M.finalized = 1;
    for (int i = 1; i < M.size; i++) {
        free(M.ranks[i].ids);
        M.ranks[i].ids = NULL;
        M.ranks[i].capids = 0;
    }
    for (int i = 1; i < M.size; i++) /* lost ones too: a rank that was only silent exits with us */
        mproc__sendq_push(&M.q, i, TAG_EXIT, NULL, 0);
    mproc__sendq_flush(&M.q, 5.0);
    MPI_Finalize();
    return 0;
}

static void at_exit(void) { finalize(1); }

int mproc_mpi_finalize(void) { return finalize(0); }

/* Only an engine with the ULFM calls reports a dead rank instead of ending
 * the job, and not every one that declares them: the MPICH 4.0 ch4 device
 * (Debian 12's ch4:ucx) fails an assertion in MPI_Test on a request to the
 * dead rank, and its mpiexec's proxy exits when it cannot write to the dead
 * process, so the job ends (docs/mpi.md, the probe there). */
int mproc_mpi_survives_rank_death(void)
{
    if (M.size < 2 || M.finalized || !MPROC_MPI_HAVE_ULFM)
        return 0;
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (MPI_Get_library_version(v, &len) != MPI_SUCCESS)
        return 0;
    v[len < (int)sizeof v ? len : (int)sizeof v - 1] = '\0';
    const char *ver = strstr(v, "MPICH Version:");
    int major = 0, minor = 0;
    if (ver && sscanf(ver + strlen("MPICH Version:"), " %d.%d", &major, &minor) == 2 && strstr(v, "ch4") &&
        (major < 4 || (major == 4 && minor == 0)))
        return 0;
    return 1;
}

int mproc__mpi_master_init(int size)
{
    M.size = size;
    M.pid = mproc__be_getpid();
    const char *t = getenv("MPROC_MPI_TIMEOUT");
    M.timeout = t && atof(t) > 0 ? atof(t) : 30.0;
    if (!(M.ranks = calloc((size_t)size, sizeof *M.ranks)))
        return MPROC_ENOMEM;
    atexit(at_exit);
    return size > 1 ? mproc__core_pool_transport_register(&mpi_transport) : 0;
}
