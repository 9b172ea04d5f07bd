/* SPDX-License-Identifier: MIT */
/* manager_idmap.c - see manager_idmap.h. */
#include <stdlib.h>

#include "manager/manager_idmap.h"
#include "mproc.h"

#define MIN_CAP 16

static size_t slot_of(const mgr_idmap *m, uint64_t key)
{
    key *= 0x9E3779B97F4A7C15u; /* Fibonacci hashing: ids are sequential */
    return (size_t)(key >> 32) & (m->cap - 1);
}

static size_t find(const mgr_idmap *m, uint64_t key)
{
    size_t s = slot_of(m, key);
    while (m->keys[s] && m->keys[s] != key)
        s = (s + 1) & (m->cap - 1);
    return s;
}

int mproc__idmap_get(const mgr_idmap *m, uint64_t key, uint64_t *val)
{
    if (!m->cap || !key)
        return 0;
    size_t s = find(m, key);
    if (!m->keys[s])
        return 0;
    if (val)
        *val = m->vals[s];
    return 1;
}

static int resize(mgr_idmap *m, size_t cap)
{
    uint64_t *keys = calloc(cap, sizeof *keys), *vals = malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return MPROC_ENOMEM;
    }
    mgr_idmap n = {keys, vals, cap, m->n};
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            size_t s = find(&n, m->keys[i]);
            keys[s] = m->keys[i];
            vals[s] = m->vals[i];
        }
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

int mproc__idmap_put(mgr_idmap *m, uint64_t key, uint64_t val)
{
    if (!key)
        return MPROC_EINVAL;
    if ((m->n + 1) * 4 > m->cap * 3) { /* at most 3/4 full */
        int rc = resize(m, m->cap ? m->cap * 2 : MIN_CAP);
        if (rc)
            return rc;
    }
    size_t s = find(m, key);
    if (!m->keys[s]) {
        m->keys[s] = key;
        m->n++;
    }
    m->vals[s] = val;
    return 0;
}

int mproc__idmap_del(mgr_idmap *m, uint64_t key)
{
    if (!m->cap || !key)
        return 0;
    size_t mask = m->cap - 1, hole = find(m, key);
    if (!m->keys[hole])
        return 0;
    /* Backward shift: move later entries of the run into the hole when
     * their home slot does not lie between the hole and them. */
    for (size_t s = (hole + 1) & mask; m->keys[s]; s = (s + 1) & mask) {
        size_t home = slot_of(m, m->keys[s]);
        if (((s - home) & mask) >= ((s - hole) & mask)) {
            m->keys[hole] = m->keys[s];
            m->vals[hole] = m->vals[s];
            hole = s;
        }
    }
    m->keys[hole] = 0;
    m->n--;
    if (m->cap > MIN_CAP && m->n * 8 < m->cap)
        resize(m, m->cap / 2); /* on failure it just stays big */
    return 1;
}

void mproc__idmap_free(mgr_idmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = m->vals = NULL;
    m->cap = m->n = 0;
}
