/* SPDX-License-Identifier: MIT */
/* arena.c - see arena.h. Segment layout: a header (id, size, robust mutex,
 * bump pointer, one free list per size class), then blocks of
 * [u64 size][u64 next][payload]. Blocks come in power-of-two classes from
 * 64 B to 64 KiB and are reused within their class, so a program that
 * keeps creating and freeing objects does not grow. A bigger block gets a
 * segment of its own, unmapped here when freed. */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

#define SEG_MAGIC 0x6d70726f63736567ull /* "mprocseg" */
#define SEG_DEFAULT_SIZE ((size_t)1 << 20)
#define BLOCK_HDR 16
#define MIN_CLASS_SIZE 64
#define NCLASSES 11 /* 64 B .. 64 KiB */

typedef struct seg_header {
    uint64_t magic, pid, seq, size;
    be_mutex mu;
    uint64_t bump;                /* offset of the first never-used byte */
    uint64_t free_head[NCLASSES]; /* per class: first free block, 0 = none */
    uint64_t dedicated;           /* one big block, unmapped when freed */
    uint64_t in_use;              /* bytes in blocks handed out, not freed */
} seg_header;

typedef struct block {
    uint64_t size; /* whole block, header included */
    uint64_t next; /* next free block while free */
} block;

struct core_seg {
    be_shm *shm;
    seg_header *h;
    char *base;
    size_t size;
    uint64_t pid, seq;
};

static core_seg *segs;
static size_t nsegs, capsegs;
static uint64_t next_seq;

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static int add_seg(be_shm *shm, uint64_t pid, uint64_t seq)
{
    if (nsegs == capsegs) {
        size_t cap = capsegs ? capsegs * 2 : 8;
        core_seg *n = realloc(segs, cap * sizeof *n);
        if (!n)
            return MPROC_ENOMEM;
        segs = n;
        capsegs = cap;
    }
    core_seg *s = &segs[nsegs++];
    s->shm = shm;
    s->base = mproc__be_shm_addr(shm);
    s->h = (seg_header *)s->base;
    s->size = mproc__be_shm_size(shm);
    s->pid = pid;
    s->seq = seq;
    return 0;
}

static int new_seg(size_t need)
{
    size_t hdr = round16(sizeof(seg_header));
    size_t size = need + hdr > SEG_DEFAULT_SIZE ? round16(need + hdr) : SEG_DEFAULT_SIZE;
    be_shm *shm;
    int rc = mproc__be_shm_create(size, &shm);
    if (rc)
        return rc;
    seg_header *h = mproc__be_shm_addr(shm);
    h->pid = (uint64_t)mproc__be_getpid();
    h->seq = ++next_seq;
    h->size = size;
    h->bump = hdr;
    memset(h->free_head, 0, sizeof h->free_head);
    h->dedicated = need > (MIN_CLASS_SIZE << (NCLASSES - 1));
    if ((rc = mproc__be_mutex_init(&h->mu)) || (rc = add_seg(shm, h->pid, h->seq))) {
        mproc__be_shm_close(shm);
        return rc;
    }
    h->magic = SEG_MAGIC;
    return 0;
}

/* A robust lock: a holder that died leaves the list as it was between
 * two single-word updates, which is consistent enough to go on. */
static void seg_lock(seg_header *h) { mproc__be_mutex_lock(&h->mu, MPROC_FOREVER); }

/* The class of a block size (NCLASSES if too big for any). */
static int class_of(size_t need)
{
    int k = 0;
    while (k < NCLASSES && ((size_t)MIN_CLASS_SIZE << k) < need)
        k++;
    return k;
}

static void *seg_alloc(core_seg *s, size_t need)
{
    seg_header *h = s->h;
    int k = class_of(need);
    size_t bsize = k < NCLASSES ? (size_t)MIN_CLASS_SIZE << k : need;
    void *out = NULL;
    seg_lock(h);
    if (h->dedicated ? h->bump == round16(sizeof *h) : k < NCLASSES) {
        if (!h->dedicated && h->free_head[k]) {
            block *b = (block *)(s->base + h->free_head[k]);
            h->free_head[k] = b->next;
            out = (char *)b + BLOCK_HDR;
        } else if (h->bump + bsize <= h->size) {
            block *b = (block *)(s->base + h->bump);
            b->size = bsize;
            h->bump += bsize;
            out = (char *)b + BLOCK_HDR;
        }
    }
    if (out && !h->dedicated)
        h->in_use += bsize;
    mproc__be_mutex_unlock(&h->mu);
    /* A dedicated segment is fresh and zero-filled already: not touching it
     * keeps its pages unbacked until used (a queue's ring). */
    if (out && !h->dedicated)
        memset(out, 0, bsize - BLOCK_HDR);
    return out;
}

void *mproc__core_arena_alloc(size_t size, int *err)
{
    size_t need = round16(size) + BLOCK_HDR;
    uint64_t me = (uint64_t)mproc__be_getpid();
    void *p = NULL;
    int rc = 0;
    mproc__be_core_lock();
    /* Our own segments only: after fork the parent's are shared, but new
     * objects of a child are the child's, as in CPython's heap. */
    for (size_t i = nsegs; i-- > 0 && !p && class_of(need) < NCLASSES;)
        if (segs[i].pid == me && !segs[i].h->dedicated)
            p = seg_alloc(&segs[i], need);
    if (!p && (rc = new_seg(need)) == 0)
        p = seg_alloc(&segs[nsegs - 1], need);
    mproc__be_core_unlock();
    if (!p && !rc)
        rc = MPROC_ENOMEM;
    if (err)
        *err = rc;
    return p;
}

static core_seg *seg_of(const void *p)
{
    const char *c = p;
    for (size_t i = 0; i < nsegs; i++)
        if (c >= segs[i].base && c < segs[i].base + segs[i].size)
            return &segs[i];
    return NULL;
}

void mproc__core_arena_free(void *p)
{
    if (!p)
        return;
    mproc__be_core_lock();
    core_seg *s = seg_of(p);
    if (s && s->h->dedicated) {
        /* Its record is dead everywhere: drop our mapping of it. */
        be_shm *shm = s->shm;
        *s = segs[--nsegs];
        mproc__be_core_unlock();
        mproc__be_shm_close(shm);
        return;
    }
    mproc__be_core_unlock();
    if (!s)
        return;
    block *b = (block *)((char *)p - BLOCK_HDR);
    int k = class_of((size_t)b->size);
    if (k >= NCLASSES)
        return;
    seg_lock(s->h);
    b->next = s->h->free_head[k];
    s->h->free_head[k] = (uint64_t)((char *)b - s->base);
    s->h->in_use -= b->size;
    mproc__be_mutex_unlock(&s->h->mu);
}

size_t mproc__core_arena_in_use(void)
{
    uint64_t me = (uint64_t)mproc__be_getpid(), n = 0;
    mproc__be_core_lock();
    for (size_t i = 0; i < nsegs; i++)
        if (segs[i].pid == me && !segs[i].h->dedicated)
            n += segs[i].h->in_use;
    mproc__be_core_unlock();
    return (size_t)n;
}

int mproc__core_arena_ref(const void *p, core_ref *out)
{
    mproc__be_core_lock();
    core_seg *s = seg_of(p);
    if (s) {
        out->seg_pid = s->pid;
        out->seg_seq = s->seq;
        out->offset = (uint64_t)((const char *)p - s->base);
    }
    mproc__be_core_unlock();
    return s ? 0 : MPROC_EINVAL;
}

void *mproc__core_arena_resolve(const core_ref *ref)
{
    void *p = NULL;
    mproc__be_core_lock();
    for (size_t i = 0; i < nsegs; i++)
        if (segs[i].pid == ref->seg_pid && segs[i].seq == ref->seg_seq && ref->offset >= BLOCK_HDR &&
            ref->offset < segs[i].size)
            p = segs[i].base + ref->offset;
    mproc__be_core_unlock();
    return p;
}

be_shm *mproc__core_arena_shm_of(const void *p, uint64_t *pid, uint64_t *seq)
{
    mproc__be_core_lock();
    core_seg *s = seg_of(p);
    be_shm *shm = s ? s->shm : NULL;
    if (s) {
        *pid = s->pid;
        *seq = s->seq;
    }
    mproc__be_core_unlock();
    return shm;
}

int mproc__core_arena_adopt(size_t index, uint64_t pid, uint64_t seq)
{
    core_ref probe = {pid, seq, BLOCK_HDR};
    if (mproc__core_arena_resolve(&probe))
        return 0; /* mapped already (fork) */
    be_shm *shm;
    int rc = mproc__be_shm_inherited(index, &shm);
    if (rc)
        return rc;
    seg_header *h = mproc__be_shm_addr(shm);
    if (mproc__be_shm_size(shm) < sizeof *h || h->magic != SEG_MAGIC || h->pid != pid || h->seq != seq) {
        mproc__be_shm_close(shm);
        return MPROC_EINVAL;
    }
    mproc__be_core_lock();
    rc = add_seg(shm, pid, seq);
    mproc__be_core_unlock();
    if (rc)
        mproc__be_shm_close(shm);
    return rc;
}
