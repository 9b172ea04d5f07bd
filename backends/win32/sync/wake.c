/* SPDX-License-Identifier: MIT */
/* wake.c - this process's handles to the wake-up events of sync records:
 * a hash table from record address to HANDLE under one lock. Only waits
 * and wake-ups that cannot be avoided come here, never an uncontended
 * lock or post. An entry is checked against the record's id, so a record
 * that was freed elsewhere and whose address now holds another record gets
 * a fresh event; entries of a segment that is unmapped here are dropped
 * with it (mproc__be_shm_close). */
#include <stdlib.h>

#include "win32.h"

typedef struct entry {
    const void *rec;
    uint32_t pid;
    uint64_t nonce;
    HANDLE event;
    struct entry *next;
} entry;

static SRWLOCK mu = SRWLOCK_INIT;
static entry **buckets;
static size_t nbuckets, count;

static size_t bucket_of(const void *rec, size_t n)
{
    uint64_t h = (uint64_t)(uintptr_t)rec * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (n - 1);
}

/* Doubles the table when it gets crowded; stays as it is without memory. */
static void grow(void)
{
    size_t n = nbuckets ? nbuckets * 2 : 64;
    entry **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < nbuckets; i++) {
        for (entry *e = buckets[i], *next; e; e = next) {
            next = e->next;
            size_t k = bucket_of(e->rec, n);
            e->next = b[k];
            b[k] = e;
        }
    }
    free(buckets);
    buckets = b;
    nbuckets = n;
}

static HANDLE open_event(const w32_sync_id *id)
{
    wchar_t name[W32_NAME_MAX];
    mproc__w32_object_name(name, "w", id->pid, id->nonce);
    HANDLE h = CreateEventW(NULL, FALSE, FALSE, name); /* auto-reset: wakes one sleeper */
    if (!h)
        mproc__core_set_os_error((int)GetLastError());
    return h;
}

HANDLE mproc__w32_wake_event(const void *rec, const w32_sync_id *id)
{
    AcquireSRWLockExclusive(&mu);
    if (count >= nbuckets * 2)
        grow();
    HANDLE h = NULL;
    entry *e = NULL;
    if (nbuckets) {
        for (e = buckets[bucket_of(rec, nbuckets)]; e && e->rec != rec; e = e->next)
            ;
    }
    if (e && e->pid == id->pid && e->nonce == id->nonce) {
        h = e->event;
    } else if ((h = open_event(id)) != NULL) {
        if (e) { /* the address holds another record now */
            CloseHandle(e->event);
        } else if (nbuckets && (e = malloc(sizeof *e)) != NULL) {
            size_t k = bucket_of(rec, nbuckets);
            e->rec = rec;
            e->next = buckets[k];
            buckets[k] = e;
            count++;
        }
        if (e) {
            e->pid = id->pid;
            e->nonce = id->nonce;
            e->event = h;
        } else { /* no memory for the cache */
            CloseHandle(h);
            h = NULL;
            mproc__core_set_os_error(ERROR_NOT_ENOUGH_MEMORY);
        }
    }
    ReleaseSRWLockExclusive(&mu);
    return h;
}

/* Unlinks *pp and closes its event (caller holds mu). */
static void drop(entry **pp)
{
    entry *e = *pp;
    *pp = e->next;
    CloseHandle(e->event);
    free(e);
    count--;
}

void mproc__w32_wake_forget(const void *rec)
{
    AcquireSRWLockExclusive(&mu);
    if (nbuckets) {
        entry **pp = &buckets[bucket_of(rec, nbuckets)];
        while (*pp && (*pp)->rec != rec)
            pp = &(*pp)->next;
        if (*pp)
            drop(pp);
    }
    ReleaseSRWLockExclusive(&mu);
}

void mproc__w32_wake_forget_range(const void *base, size_t len)
{
    const char *lo = base, *hi = lo + len;
    AcquireSRWLockExclusive(&mu);
    for (size_t i = 0; i < nbuckets; i++) {
        for (entry **pp = &buckets[i]; *pp;) {
            if ((const char *)(*pp)->rec >= lo && (const char *)(*pp)->rec < hi)
                drop(pp);
            else
                pp = &(*pp)->next;
        }
    }
    ReleaseSRWLockExclusive(&mu);
}
