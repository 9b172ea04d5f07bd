/* SPDX-License-Identifier: MIT */
/* queue.h - Queue, SimpleQueue and JoinableQueue (private).
 *
 * One shared record per queue, in the arena: a byte ring of framed
 * messages ([u64 length][bytes, padded to 8]) after a header holding a
 * robust mutex, five wake-up semaphores, the ring state and the table of
 * processes that hold the queue. Any number of producers and consumers in
 * any processes; put and get copy under the mutex, so a message is never
 * torn or interleaved, and once put returns the message is in shared memory
 * (no feeder thread: a producer's exit never waits for a reader).
 *
 * Crash safety: the ring state exists twice and the mutex holder edits the
 * spare copy, then publishes it with one store (mproc__q_edit / mproc__q_commit). A
 * process killed inside put or get leaves either the old state or the new
 * one, never a mix; bytes it wrote past the tail are simply not there yet.
 *
 * Two lanes (queue_lanes.c): the mutex is two, one per side. A plain
 * message on a ring whose capacity is a power of two is put under the
 * producers' mutex alone and taken under the consumers' alone, each side
 * publishing its position and message count in one 64-bit word (pw, cw),
 * so a producer and a consumer never wait for each other. Everything else
 * (streams, JoinableQueue puts, blocking, sizes, holders) takes both
 * mutexes, "the whole lock", and works on the two-copy state as above;
 * queue_state.c keeps that state and the two words in step.
 *
 * Messages whose frame is bigger than the ring are streamed (queue_stream.c):
 * the writer announces the message, then moves it through the ring in
 * chunks while one reader, which claimed it, takes it out; the writer's put
 * returns once that reader has all of it.
 *
 * Subsystem queue/ (docs/architecture.md): Queue, SimpleQueue and
 * JoinableQueue and their local methods table (methods.h). May use:
 * base/, ipc/, sync/, shmem/, proc/ and the backend. */
#ifndef MPROC_CORE_QUEUE_H
#define MPROC_CORE_QUEUE_H

#include <stdatomic.h>
#include <stdint.h>

#include "proc/proc.h"
#include "base/object.h"
#include "base/spin.h"

#define Q_MIN_CAPACITY 64
#define Q_MAX_CAPACITY ((uint64_t)1 << 40)
#define Q_MAX_MESSAGE ((uint64_t)1 << 62)
#define Q_HOLDERS 128           /* processes tracked per queue */
#define Q_CHECK_INTERVAL 0.05   /* how often a blocked call looks for dead peers */
#define Q_FRAME_STREAM ((uint64_t)1 << 63) /* header flag: a streamed message */
/* The lanes' words hold positions in 8-byte units and message counts, 32
 * bits each: exact for a ring up to 16 GiB whose capacity divides 2^35. */
#define Q_LANE_MAX_CAP ((uint64_t)1 << 34)

/* What a blocked call sleeps on. */
enum q_wait {
    W_ITEMS,  /* getters: a message may be there */
    W_SPACE,  /* putters: room, or the stream writer finished */
    W_SREAD,  /* the reader of a stream: more of it arrived */
    W_SWRITE, /* the writer of a stream: the reader made room */
    W_TASKS,  /* JoinableQueue.join: unfinished tasks reached zero */
    W_COUNT
};

enum { Q_PLAIN = 0, Q_SIMPLE = 1, Q_JOINABLE = 2 }; /* = mproc_queue_kind */

/* Stream flags. S_TAKEN: its reader has all of it (its get returns it);
 * the writer, whose put has not returned yet, still holds s_wpid and lets
 * go when it sees this. */
enum { S_ACTIVE = 1, S_CANCELLED = 2, S_TAKEN = 4 };

/* Positions are byte counts since the queue was made (never wrap); the
 * ring index is position % cap (a mask when cap is a power of two).
 * Everything here changes only under the mutex, through
 * mproc__q_edit/mproc__q_commit. */
typedef struct qstate {
    uint64_t head, tail;  /* next byte to read / to write */
    uint64_t count;       /* messages not yet taken (a stream counts until claimed) */
    uint64_t nput;        /* messages put since the queue was made (mod 2^32 in pw) */
    uint64_t unfinished;  /* JoinableQueue: puts minus task_done calls */
    /* The one stream in the ring, while S_ACTIVE (or S_TAKEN). */
    uint64_t s_pos;       /* position of its header */
    uint64_t s_len;       /* its length */
    uint64_t s_written;   /* bytes of it in the ring so far (committed) */
    uint64_t s_read;      /* bytes of it its reader took */
    uint64_t s_wpid, s_wtid; /* its writer, until its put returns; 0 once gone */
    uint64_t s_rpid, s_rtid; /* the reader that claimed it; 0 = none */
    uint64_t s_flags;
} qstate;

typedef struct q_holder {
    uint64_t pid;
    uint64_t count; /* handles (and references on their way to it); 0 = free slot */
} q_holder;

typedef struct queue_shared {
    core_rec rec;
    uint32_t variant; /* Q_PLAIN, Q_SIMPLE, Q_JOINABLE */
    uint64_t maxsize; /* messages; 0 = only the ring's room */
    uint64_t cap;     /* ring bytes, a multiple of 8 */
    uint64_t mask;    /* cap - 1 when cap is a power of two (the default), else 0 */
    uint32_t lanes;   /* 1: plain puts and gets take one side's mutex (queue_lanes.c) */
    uint32_t busy;    /* under both mutexes: a whole-lock holder is inside */
    /* Each side's mutex and word on cache lines of their own. */
    char pad0[64];
    be_mutex mu;               /* producers' side; with mu_get, the whole lock */
    _Atomic uint64_t pw;       /* [nput:32][tail/8:32], stored under mu */
    char pad1[64];
    be_mutex mu_get;           /* consumers' side */
    _Atomic uint64_t cw;       /* [nget:32][head/8:32], stored under mu_get */
    char pad2[64];
    be_sem sem[W_COUNT];
    uint32_t waiting[W_COUNT]; /* sleepers per semaphore (under the whole lock) */
    _Atomic uint32_t cur;      /* which st[] is current */
    qstate st[2];
    /* Holders (under mu; see queue_holders.c). */
    uint64_t first_pid;  /* the first process that held the queue */
    uint32_t multi;      /* a second process has held it since */
    uint32_t untracked;  /* holders that found the table full */
    uint32_t transit;    /* references on their way to a child */
    q_holder holders[Q_HOLDERS];
    unsigned char ring[];
} queue_shared;

struct mproc_queue {
    core_obj h;
    queue_shared *s;
    long owner_pid;        /* the process whose reference this handle holds */
    _Atomic long reg_pid;  /* the process registered as a holder through it; 0 = none */
    _Atomic int closed;
    core_spinner spin;     /* blocked calls spin briefly first (spin.h) */
    core_spinner lane_spin; /* and so do the lanes, before they hand over */
    /* The other side's word as a lane last read it, and its own side's
     * word as the lane left it (under mu / under mu_get). The first is
     * read again when it says full or empty, or when anyone else moved the
     * second: so it lags the truth by less than the ring, which keeps
     * 32-bit differences exact. */
    uint64_t cw_seen, pw_left; /* producers' lane */
    uint64_t pw_seen, cw_left; /* consumers' lane */
};

/* Bytes a message of len takes in the ring. */
static inline uint64_t q_frame(uint64_t len) { return 8 + ((len + 7) & ~(uint64_t)7); }
static inline uint64_t q_round8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* A lane's word: [messages:32][position/8:32] (pw, cw). */
static inline uint64_t q_word(uint32_t n, uint64_t pos) { return ((uint64_t)n << 32) | (uint32_t)(pos >> 3); }
static inline uint32_t q_word_n(uint64_t w) { return (uint32_t)(w >> 32); }
static inline uint64_t q_word_pos(uint64_t w) { return (uint64_t)(uint32_t)w << 3; }
/* Bytes from a's position on to b's, modulo 2^35. */
static inline uint64_t q_word_gap(uint64_t a, uint64_t b)
{
    return (uint64_t)(uint32_t)((uint32_t)b - (uint32_t)a) * 8;
}

/* ---------------------------------------------------- queue_state.c */
/* The whole lock: waits as long as it takes; a dead holder is fine. On
 * return the state (q_st) includes what the lanes did meanwhile; unlock
 * publishes it to them. */
void mproc__q_lock(queue_shared *s);
void mproc__q_unlock(queue_shared *s);
/* One side's mutex (mu or mu_get), for the lanes. */
void mproc__q_lock_side(be_mutex *mu);
static inline qstate *q_st(queue_shared *s)
{
    return &s->st[atomic_load_explicit(&s->cur, memory_order_relaxed)];
}
/* The spare copy, filled with the current state: change it, then commit. */
qstate *mproc__q_edit(queue_shared *s);
void mproc__q_commit(queue_shared *s);
/* Wake one sleeper / all sleepers of a kind (under mu). */
void mproc__q_wake_one(queue_shared *s, enum q_wait w);
void mproc__q_wake_all(queue_shared *s, enum q_wait w);
void mproc__q_wake_everyone(queue_shared *s);

/* A blocked call: its deadline and when it next looks for dead peers. */
typedef struct q_waiter {
    double deadline;
    double next_check; /* 0 = not blocked yet */
} q_waiter;
/* Under mu, when the caller cannot go on: sleeps on w (mu released
 * meanwhile) and returns 0 to look again; or MPROC_ETIMEDOUT (deadline
 * passed), MPROC_ECLOSED (q closed meanwhile, unless Q_OPEN_OR_NOT),
 * MPROC_EOS (with Q_EOS, when every other holder is dead). Repairs a
 * stream whose writer or reader died. */
enum { Q_EOS = 1, Q_OPEN_OR_NOT = 2 };
int mproc__q_block(mproc_queue *q, q_waiter *wt, enum q_wait w, int flags);

/* ----------------------------------------------------- queue_ring.c */
void mproc__q_ring_write(queue_shared *s, uint64_t pos, const void *src, uint64_t n);
void mproc__q_ring_read(queue_shared *s, uint64_t pos, void *dst, uint64_t n);
uint64_t mproc__q_ring_header(queue_shared *s, uint64_t pos);
void mproc__q_ring_set_header(queue_shared *s, uint64_t pos, uint64_t hdr);

/* -------------------------------------------------- queue_holders.c */
/* Under mu: pid holds one more / one less handle. */
void mproc__q_hold(queue_shared *s, uint64_t pid, int delta);
/* Is every other process that held the queue gone (and was there one)? */
int mproc__q_peers_gone(queue_shared *s);
/* Registers the calling process through q if it is not yet (a handle
 * inherited across fork); cheap when it is. */
void mproc__q_touch(mproc_queue *q);
/* Drops the registration made through q, if it is this process's. */
void mproc__q_untouch(mproc_queue *q);
/* Its handover step (core_share_ops.handover): the references in transit
 * to a child count as held. */
void mproc__core_queue_handover(core_rec *r, enum core_handover step, long pid);

/* --------------------------------------------------- queue_stream.c */
/* Under mu, with the stream at the head (q_stream_at_head). 0 and the
 * message; Q_RETRY when a cancelled stream was dropped (look again);
 * Q_BUSY when another reader has it (wait for W_ITEMS); or an error. */
#define Q_RETRY 1
#define Q_BUSY 2
static inline int q_stream_at_head(const qstate *st) { return (st->s_flags & S_ACTIVE) && st->head >= st->s_pos; }
int mproc__q_stream_get(mproc_queue *q, void **buf, size_t *len);
/* Under mu: puts a message whose frame is bigger than the ring. */
int mproc__q_stream_put(mproc_queue *q, q_waiter *wt, const void *buf, size_t len);
/* Under mu, while blocked: repairs the stream if its writer or reader died. */
void mproc__q_stream_repair(queue_shared *s);

/* ----------------------------------------------------- queue_lanes.c */
/* A put or get on one side's mutex alone. Q_SLOW when the call needs the
 * whole lock (no lanes on this queue, a stream, a JoinableQueue put, a
 * dead whole-lock holder to repair, or nothing to do within a short
 * spin); else 0 or an error, as the whole call would return. */
#define Q_SLOW 3
int mproc__q_lane_put(mproc_queue *q, const void *const *bufs, const size_t *lens, size_t n, uint64_t f,
                      double timeout);
int mproc__q_lane_get(mproc_queue *q, size_t max, uint64_t max_bytes, void *dest, void **buf, size_t *lens,
                      size_t *count, double timeout);
/* Frames from pos (before end): how many fit max and max_bytes, their
 * lengths in lens, total bytes and the position after them; stops at a
 * stream's header. */
size_t mproc__q_scan(queue_shared *s, uint64_t pos, uint64_t end, size_t max, uint64_t max_bytes, size_t *lens,
                     uint64_t *total, uint64_t *next);
/* Copies k scanned messages from pos into dest, or a new *buf: MPROC_ENOMEM or 0. */
int mproc__q_copy_out(queue_shared *s, uint64_t pos, size_t k, const size_t *lens, uint64_t total, void *dest,
                      void **buf);

/* ------------------------------------------------------ queue_misc.c */
/* The local implementation's other methods (queue.c's table lists them). */
int mproc__q_local_qsize(mproc_queue *q);
int mproc__q_local_empty(mproc_queue *q);
int mproc__q_local_full(mproc_queue *q);
int mproc__q_local_close(mproc_queue *q);
int mproc__q_local_join_thread(mproc_queue *q);
int mproc__q_local_cancel_join_thread(mproc_queue *q);
int mproc__q_local_task_done(mproc_queue *q);
int mproc__q_local_join(mproc_queue *q, double timeout);

/* ----------------------------------------------------------- queue.c */
/* For mproc_wait: 1 if a get on q would find a message now, 0 if not,
 * MPROC_EINVAL if q is no queue. */
int mproc__core_queue_readable(void *q);

#endif
