/* SPDX-License-Identifier: MIT */
/* shm.c - mproc_shm: Python's SharedMemory. The segment is named (so other
 * programs can attach); a small arena record carries name and size to
 * children, which attach by name. A process unlinks at exit the segments
 * it created and did not unlink; should it be killed first, the resource
 * tracker does (mproc__be_shm_track), as Python's does. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hooks.h"
#include "shmem/shmem.h"
#include "sync/sync.h"

typedef struct shm_shared {
    core_rec rec;
    char name[BE_SHM_NAME_MAX + 1];
    uint64_t size;
} shm_shared;

struct mproc_shm {
    core_obj h;
    shm_shared *s;
    be_shm *map;
};

/* Names created here and not unlinked yet (process-local). */
typedef struct created {
    char name[BE_SHM_NAME_MAX + 1];
    struct created *next;
} created;
static created *created_list;
static long created_pid;

static void unlink_created(void);
static core_hook exit_hook = CORE_HOOK_INIT(unlink_created, CORE_EXIT_RESOURCES);

static void track(const char *name, int add)
{
    mproc__core_exit_hook_add(&exit_hook);
    mproc__be_core_lock();
    if (created_pid != mproc__be_getpid()) { /* a forked child owns none of them */
        while (created_list) { /* our copy of the parent's list */
            created *c = created_list;
            created_list = c->next;
            free(c);
        }
        created_pid = mproc__be_getpid();
    }
    created **pp = &created_list;
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    if (add && !*pp && (*pp = calloc(1, sizeof **pp)))
        strcpy((*pp)->name, name);
    int known = *pp != NULL;
    if (!add && *pp) {
        created *c = *pp;
        *pp = c->next;
        free(c);
    }
    mproc__be_core_unlock();
    /* The resource tracker unlinks it should we be killed before we do
     * (best effort: at a normal exit unlink_created does it anyway). */
    if (add || known)
        mproc__be_shm_track(name, add);
}

/* Python's resource tracker unlinks what a process left behind; we do it
 * on the way out (and ours does it if we are killed). */
static void unlink_created(void)
{
    mproc__be_core_lock();
    int ours = created_pid == mproc__be_getpid(); /* else a forked child's copy of the list */
    created *c = created_list;
    created_list = NULL;
    mproc__be_core_unlock();
    while (c) {
        created *next = c->next;
        if (ours) {
            mproc__be_shm_unlink(c->name);
            mproc__be_shm_track(c->name, 0);
        }
        free(c);
        c = next;
    }
}

int mproc__core_shm_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > BE_SHM_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static void destroy(core_rec *r) { mproc__core_arena_free(r); }

/* Segments mapped here, for mproc__core_shm_locate (under mproc__be_core_lock). */
typedef struct open_seg {
    mproc_shm *m;
    struct open_seg *next;
} open_seg;
static open_seg *open_list;

static void register_open(mproc_shm *m, int add)
{
    mproc__be_core_lock();
    open_seg **pp = &open_list;
    while (*pp && (*pp)->m != m)
        pp = &(*pp)->next;
    if (add && !*pp && (*pp = calloc(1, sizeof **pp)))
        (*pp)->m = m;
    if (!add && *pp) {
        open_seg *e = *pp;
        *pp = e->next;
        free(e);
    }
    mproc__be_core_unlock();
}

int mproc__core_shm_locate(const void *p, size_t len, char name[BE_SHM_NAME_MAX + 1], size_t *offset)
{
    int rc = MPROC_ENOENT;
    const char *c = p;
    mproc__be_core_lock();
    for (open_seg *e = open_list; e; e = e->next) {
        const char *base = mproc__be_shm_addr(e->m->map);
        size_t size = mproc__be_shm_size(e->m->map);
        if (c >= base && c - base <= (ptrdiff_t)size && len <= size - (size_t)(c - base)) {
            strcpy(name, e->m->s->name);
            *offset = (size_t)(c - base);
            rc = 0;
            break;
        }
    }
    mproc__be_core_unlock();
    return rc;
}

static void *adopt(core_rec *rec, int *err)
{
    shm_shared *s = (shm_shared *)rec;
    mproc_shm *m = mproc__core_handle_new(sizeof *m, K_SHM, err);
    int rc = m ? mproc__be_shm_open(s->name, (size_t)s->size, 0, &m->map) : MPROC_ENOMEM;
    if (rc) {
        if (m)
            mproc__core_handle_drop(m);
        *err = rc;
        return NULL;
    }
    m->s = s;
    register_open(m, 1);
    return m;
}

mproc_shm *mproc_shm_open(const char *name, size_t size, int create, int *err)
{
    int rc = 0;
    mproc_shm *m = NULL;
    char gen[BE_SHM_NAME_MAX + 1];
    mproc__core_ensure_init();
    if ((!name && !create) || (create && size == 0)) {
        rc = MPROC_EINVAL;
        goto out;
    }
    be_shm *map = NULL;
    for (int tries = 0; !name && tries < 16; tries++) {
        /* Python's prefix, 64 random bits (Python: 32): not guessable, and
         * created exclusively (mode 0600), so not pre-creatable either */
        unsigned char r[8];
        if ((rc = mproc__be_random(r, sizeof r)))
            goto out;
        snprintf(gen, sizeof gen, "psm_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                 r[7]);
        rc = mproc__be_shm_open(gen, size, 1, &map);
        if (rc != MPROC_EEXIST)
            break;
    }
    if (name)
        rc = mproc__be_shm_open(name, size, create, &map);
    if (rc)
        goto out;
    const char *used = name ? name : gen;
    shm_shared *s = mproc__core_arena_alloc(sizeof *s, &rc);
    m = s ? mproc__core_handle_new(sizeof *m, K_SHM, &rc) : NULL;
    if (!m) {
        mproc__core_arena_free(s);
        if (create)
            mproc__be_shm_unlink(used);
        mproc__be_shm_close(map);
        goto out;
    }
    strcpy(s->name, used);
    s->size = mproc__be_shm_size(map);
    s->rec.kind = K_SHM;
    atomic_init(&s->rec.refs, 1);
    m->s = s;
    m->map = map;
    register_open(m, 1);
    if (create)
        track(used, 1);
out:
    if (err)
        *err = m ? 0 : rc;
    return m;
}

static mproc_shm *valid(const mproc_shm *m) { return core_obj_kind(m) == K_SHM ? (mproc_shm *)m : NULL; }

void *mproc_shm_ptr(mproc_shm *m) { return valid(m) ? mproc__be_shm_addr(m->map) : NULL; }

size_t mproc_shm_size(const mproc_shm *m) { return valid(m) ? mproc__be_shm_size(m->map) : 0; }

const char *mproc_shm_name(const mproc_shm *m) { return valid(m) ? m->s->name : NULL; }

int mproc_shm_unlink(mproc_shm *m)
{
    if (!valid(m))
        return MPROC_EINVAL;
    int rc = mproc__be_shm_unlink(m->s->name);
    track(m->s->name, 0);
    return rc;
}

int mproc_shm_close(mproc_shm *m)
{
    if (!valid(m))
        return MPROC_EINVAL;
    if (core_obj_borrowed(m))
        return MPROC_ESTATE; /* owned by the args it came in */
    register_open(m, 0);
    mproc__be_shm_close(m->map);
    mproc__core_rec_release(&m->s->rec, destroy);
    mproc__core_handle_drop(m);
    return 0;
}

static core_rec *record(const void *obj) { return &((const mproc_shm *)obj)->s->rec; }

static void free_obj(void *obj) { mproc_shm_close(obj); }

const core_share_ops mproc__core_shm_ops = {
    .kind = K_SHM,
    .record = record,
    .dep = mproc__core_no_dep,
    .adopt = adopt,
    .free = free_obj,
    .destroy = destroy,
};
