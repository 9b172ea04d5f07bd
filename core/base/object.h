/* SPDX-License-Identifier: MIT */
/* object.h - what every mproc object starts with, and shared records.
 *
 * Public objects (mproc_lock, mproc_value, ...) are small process-local
 * wrappers: a header telling their kind, and a pointer to a record in a
 * shared-memory arena segment (arena.h). Records carry a reference count
 * shared by all processes; the last release destroys the record. */
#ifndef MPROC_CORE_OBJECT_H
#define MPROC_CORE_OBJECT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

#define CORE_OBJ_MAGIC 0x6d70726fu      /* "mpro" */
#define CORE_OBJ_MAGIC_BORROWED 0x6d707261u /* "mpra": owned by args, a value or a condition */

typedef enum core_kind {
    K_NONE = 0,
    K_PROCESS,
    K_LOCK,
    K_RLOCK,
    K_SEM,
    K_COND,
    K_EVENT,
    K_BARRIER,
    K_VALUE,
    K_ARRAY,
    K_SHM,
    K_CONN,     /* process-local: shared with children as a stream (conn.h) */
    K_LISTENER, /* process-local, not shareable */
    K_SENTINEL, /* a process's sentinel, for mproc_wait */
    K_QUEUE, /* Queue, SimpleQueue and JoinableQueue (the record says which) */
    K_MPROXY, /* a Manager proxy (manager.h): process-local, shared as a description */
    K_MANAGER, /* a Manager handle, not shareable */
    K_KIND_MAX
} core_kind;

typedef struct core_obj {
    uint32_t magic;
    uint32_t kind;
    /* Every live handle of this process is on one list (object.c), so that
     * handles a program never freed stay reachable until it ends: leak
     * checkers see them as live, as Python's objects are until exit. */
    struct core_obj *live_prev, *live_next;
    /* Kinds with more than one implementation (the sync objects and queues:
     * local, or a Manager proxy) point at their operations table here; it
     * begins with the kind whose API it serves. NULL for the others. */
    const void *methods;
} core_obj;

/* The kind of a pointer claimed to be an mproc object, or K_NONE. */
static inline core_kind core_obj_kind(const void *p)
{
    const core_obj *o = p;
    if (!o || (o->magic != CORE_OBJ_MAGIC && o->magic != CORE_OBJ_MAGIC_BORROWED) || o->kind >= K_KIND_MAX)
        return K_NONE;
    return (core_kind)o->kind;
}

/* h's operations table when it serves the API of kind `api`, else NULL
 * (not an mproc object, another kind, or a proxy of another type). */
static inline const void *core_obj_methods(const void *h, core_kind api)
{
    const void *m = core_obj_kind(h) != K_NONE ? ((const core_obj *)h)->methods : NULL;
    return m && *(const core_kind *)m == api ? m : NULL;
}

/* Handles that belong to something else (a child's args, a value's or a
 * condition's lock): freeing one by mistake must not free it twice. */
static inline int core_obj_borrowed(const void *p)
{
    return p && ((const core_obj *)p)->magic == CORE_OBJ_MAGIC_BORROWED;
}

static inline void core_obj_lend(void *p, int lent)
{
    ((core_obj *)p)->magic = lent ? CORE_OBJ_MAGIC_BORROWED : CORE_OBJ_MAGIC;
}

/* A zeroed handle of `size` bytes starting with a core_obj of this kind
 * (NULL and *err = MPROC_ENOMEM on failure); and its disposal. */
void *core_handle_new(size_t size, core_kind kind, int *err);
void core_handle_drop(void *handle);
/* In a forked child, first thing: another thread of the parent may have
 * been inside the handle list when it forked. */
void core_handles_after_fork(void);

/* Every shared record begins with this. */
typedef struct core_rec {
    uint32_t kind;
    _Atomic uint32_t refs;
} core_rec;

/* Shareable objects know how to describe themselves for a child and how to
 * rebuild a wrapper from a record there. */
typedef struct core_share_ops {
    core_kind kind;
    /* The object's record, and the one other record it uses (a condition's
     * lock, a value's lock) or NULL: both must reach the child. */
    core_rec *(*record)(const void *obj);
    core_rec *(*dep)(core_rec *rec);
    /* Wrapper around a record that already holds a reference for us. */
    void *(*adopt)(core_rec *rec, int *err);
    void (*free)(void *obj);
    void (*destroy)(core_rec *rec); /* when the last reference goes */
} core_share_ops;

const core_share_ops *core_share_ops_for(core_kind kind);

core_rec *core_no_dep(core_rec *rec); /* for kinds without a dependency */

/* Takes / drops a reference on a record; the last drop calls destroy. */
void core_rec_retain(core_rec *r);
void core_rec_release(core_rec *r, void (*destroy)(core_rec *r));
void core_rec_release_any(core_rec *r); /* destroy found from r->kind */

/* References handed to a child by process start: taken before the child
 * exists (SEND), then given to the child's pid or back (SENT, pid 0 when
 * the start failed); the child's own handle then takes it over (RECEIVED,
 * in the child). Kinds that track which processes hold them (queues: a
 * blocked get must learn that every peer died) count these; for the others
 * this does nothing. */
enum core_handover { CORE_HANDOVER_SEND, CORE_HANDOVER_SENT, CORE_HANDOVER_RECEIVED };
void core_rec_handover(core_rec *r, enum core_handover step, long pid);
void core_queue_handover(core_rec *r, enum core_handover step, long pid); /* queue_holders.c */

#endif
