/* SPDX-License-Identifier: MIT */
/* ring.h - the raw single-producer/single-consumer ring of mproc-bench
 * (raw_ring_stream), shared by raw_posix.c and raw_win32.c: only the
 * shared memory, the child and the yield differ per OS.
 *
 * Fixed-size slots in memory shared by two processes; C11 atomics, the
 * producer's head and the consumer's tail on cache lines of their own,
 * each side keeping a private copy of the other's index and reading the
 * shared one only when its copy says full/empty (the usual fast SPSC
 * ring). Waiting spins RING_SPIN times, then yields the CPU. Every message
 * is copied in from the producer's buffer and out into the consumer's, and
 * carries its sequence number (checked), as a queue's would: this is the
 * physical bound for a queue of such messages on the machine. */
#ifndef MPROC_BENCH_RING_H
#define MPROC_BENCH_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "raw.h"

#define RING_LINE 64
#define RING_BYTES ((size_t)1 << 18) /* slot memory: 4096 x 64 B, 64 x 4 KiB */
#define RING_SPIN 200                /* polls before each yield */
#define RING_STALL 60.0              /* seconds without progress: fail */

typedef struct ring_hdr {
    alignas(RING_LINE) _Atomic(uint64_t) head; /* messages written, by the producer */
    alignas(RING_LINE) _Atomic(uint64_t) tail; /* messages read, by the consumer */
    alignas(RING_LINE) atomic_int ready;          /* the producer runs */
    atomic_int go;                                /* the clock runs: produce */
    atomic_int failed;                            /* either side gave up */
} ring_hdr;

/* Slots of sz bytes (at least 16, a power of two), and the size of the
 * whole shared block for them. */
static inline size_t ring_slots(size_t sz)
{
    size_t n = 16;
    while (n * 2 * sz <= RING_BYTES)
        n *= 2;
    return n;
}

static inline size_t ring_size(size_t sz)
{
    size_t hdr = (sizeof(ring_hdr) + RING_LINE - 1) / RING_LINE * RING_LINE;
    return hdr + ring_slots(sz) * ((sz + RING_LINE - 1) / RING_LINE * RING_LINE);
}

/* Where the slots are, and how far apart (computed once per stream). */
typedef struct ring_geom {
    char *base;
    size_t stride;
    uint64_t mask;
} ring_geom;

static inline ring_geom ring_geometry(void *mem, size_t sz)
{
    ring_geom g;
    g.base = (char *)mem + (sizeof(ring_hdr) + RING_LINE - 1) / RING_LINE * RING_LINE;
    g.stride = (sz + RING_LINE - 1) / RING_LINE * RING_LINE;
    g.mask = ring_slots(sz) - 1;
    return g;
}

static inline char *ring_slot(const ring_geom *g, uint64_t i) { return g->base + (size_t)(i & g->mask) * g->stride; }

static inline void ring_init(void *mem)
{
    ring_hdr *h = mem;
    atomic_init(&h->head, 0);
    atomic_init(&h->tail, 0);
    atomic_init(&h->ready, 0);
    atomic_init(&h->go, 0);
    atomic_init(&h->failed, 0);
}

/* Waits until *v (acquire) differs from `old` (a shared index) or, for a
 * flag, is non-zero: returns its value, or `old` after RING_STALL seconds
 * without a change or when the other side failed. */
static inline uint64_t ring_wait(ring_hdr *h, _Atomic(uint64_t) *v, uint64_t old, void (*yield)(void))
{
    for (int i = 0; i < RING_SPIN; i++) {
        uint64_t x = atomic_load_explicit(v, memory_order_acquire);
        if (x != old)
            return x;
    }
    double deadline = bench_now() + RING_STALL;
    for (unsigned k = 1;; k++) {
        yield();
        uint64_t x = atomic_load_explicit(v, memory_order_acquire);
        if (x != old)
            return x;
        if (k % 256 == 0 && (atomic_load(&h->failed) || bench_now() > deadline))
            return old;
    }
}

static inline int ring_wait_flag(ring_hdr *h, atomic_int *f, void (*yield)(void))
{
    double deadline = bench_now() + RING_STALL;
    while (!atomic_load_explicit(f, memory_order_acquire)) {
        yield();
        if (atomic_load(&h->failed) || bench_now() > deadline)
            return -1;
    }
    return 0;
}

/* The producer (the child): says it is ready, waits for go, writes n
 * messages of sz bytes. 0 on success. */
static inline int ring_produce(void *mem, size_t sz, long n, void (*yield)(void))
{
    ring_hdr *h = mem;
    const ring_geom g = ring_geometry(mem, sz);
    const uint64_t slots = g.mask + 1;
    unsigned char msg[4096];
    unsigned char *m = sz <= sizeof msg ? msg : NULL;
    if (!m || sz < sizeof(uint64_t)) {
        atomic_store(&h->failed, 1);
        return -1;
    }
    memset(m, 0x5a, sz);
    atomic_store_explicit(&h->ready, 1, memory_order_release);
    if (ring_wait_flag(h, &h->go, yield) != 0)
        return -1;
    uint64_t head = 0, tail = 0; /* tail: the producer's copy of the consumer's */
    for (long i = 0; i < n; i++, head++) {
        if (head - tail == slots) {
            uint64_t t = ring_wait(h, &h->tail, tail, yield);
            if (t == tail) {
                atomic_store(&h->failed, 1);
                return -1;
            }
            tail = t;
        }
        memcpy(m, &head, sizeof head);
        memcpy(ring_slot(&g, head), m, sz);
        atomic_store_explicit(&h->head, head + 1, memory_order_release);
    }
    return 0;
}

/* The consumer (the parent): waits until the producer is ready, then
 * starts the clock, says go and reads the n messages. Microseconds per
 * message, or a negative number on failure. */
static inline double ring_consume(void *mem, size_t sz, long n, void (*yield)(void))
{
    ring_hdr *h = mem;
    const ring_geom g = ring_geometry(mem, sz);
    unsigned char msg[4096];
    if (sz > sizeof msg || sz < sizeof(uint64_t) || ring_wait_flag(h, &h->ready, yield) != 0)
        return -1;
    double t0 = bench_now();
    atomic_store_explicit(&h->go, 1, memory_order_release);
    uint64_t tail = 0, head = 0; /* head: the consumer's copy of the producer's */
    for (long i = 0; i < n; i++, tail++) {
        if (tail == head) {
            uint64_t x = ring_wait(h, &h->head, head, yield);
            if (x == head) {
                atomic_store(&h->failed, 1);
                return -1;
            }
            head = x;
        }
        memcpy(msg, ring_slot(&g, tail), sz);
        atomic_store_explicit(&h->tail, tail + 1, memory_order_release);
        uint64_t seq;
        memcpy(&seq, msg, sizeof seq);
        if (seq != tail) {
            atomic_store(&h->failed, 1);
            return -1;
        }
    }
    return (bench_now() - t0) / (double)n * 1e6;
}

#endif
