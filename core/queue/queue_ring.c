/* SPDX-License-Identifier: MIT */
/* queue_ring.c - copies in and out of a queue's byte ring, wrapping at its
 * end. Frame headers sit at multiples of 8 and the capacity is one too, so
 * a header never wraps. */
#include <string.h>

#include "queue/queue.h"

/* A 64-bit division costs tens of cycles, several times per message: the
 * default capacity is a power of two, and a mask does. */
static uint64_t ring_off(const queue_shared *s, uint64_t pos) { return s->mask ? pos & s->mask : pos % s->cap; }

void mproc__q_ring_write(queue_shared *s, uint64_t pos, const void *src, uint64_t n)
{
    uint64_t off = ring_off(s, pos), first = s->cap - off < n ? s->cap - off : n;
    memcpy(s->ring + off, src, (size_t)first);
    if (n > first)
        memcpy(s->ring, (const char *)src + first, (size_t)(n - first));
}

void mproc__q_ring_read(queue_shared *s, uint64_t pos, void *dst, uint64_t n)
{
    uint64_t off = ring_off(s, pos), first = s->cap - off < n ? s->cap - off : n;
    memcpy(dst, s->ring + off, (size_t)first);
    if (n > first)
        memcpy((char *)dst + first, s->ring, (size_t)(n - first));
}

uint64_t mproc__q_ring_header(queue_shared *s, uint64_t pos)
{
    uint64_t h;
    memcpy(&h, s->ring + ring_off(s, pos), sizeof h);
    return h;
}

void mproc__q_ring_set_header(queue_shared *s, uint64_t pos, uint64_t hdr)
{
    memcpy(s->ring + ring_off(s, pos), &hdr, sizeof hdr);
}
