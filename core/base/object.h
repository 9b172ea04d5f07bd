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
    K_SHARELIST, /* a ShareableList: its segment's name travels */
    K_ASYNC, /* a pool result (mproc_async): process-local, for mproc_wait only */
    K_IMAP,  /* a pool imap iterator: process-local, for mproc_wait only */
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

/* Is h a live handle whose operations are exactly `methods`? (A table
 * serves one kind, so this is the whole check: for a hot path that calls
 * its own implementation directly.) Only live handles point at a table:
 * mproc__core_handle_drop clears the pointer with the magic, so the
 * pointer alone answers (the magic's test was a third of a Lock's cost
 * above pthread's, issue 19). */
static inline int core_obj_uses(const void *h, const void *methods)
{
    const core_obj *o = h;
    return o && o->methods == methods;
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
void *mproc__core_handle_new(size_t size, core_kind kind, int *err);
void mproc__core_handle_drop(void *handle);
/* In a forked child, first thing: another thread of the parent may have
 * been inside the handle list when it forked. */
void mproc__core_handles_after_fork(void);
/* Calls fn on every live handle of this process of the given kind. fn runs
 * under the list's lock: it must not make or drop handles. */
void mproc__core_handles_each(core_kind kind, void (*fn)(void *handle));

/* Every shared record begins with this. */
typedef struct core_rec {
    uint32_t kind;
    _Atomic uint32_t refs;
} core_rec;

/* References handed to a child by process start: taken before the child
 * exists (SEND), then given to the child's pid or back (SENT, pid 0 when
 * the start failed); the child's own handle then takes it over (RECEIVED,
 * in the child). Kinds that track which processes hold them (queues: a
 * blocked get must learn that every peer died) count these; for the others
 * this does nothing. */
enum core_handover { CORE_HANDOVER_SEND, CORE_HANDOVER_SENT, CORE_HANDOVER_RECEIVED };

struct msgpack_packer;
struct be_stream;
struct be_wait_item;

/* What an argument list keeps for an item of a kind that hands an OS
 * stream to a child (hold below). */
typedef struct core_share_slot {
    int held;        /* between hold and unhold */
    uint32_t stream; /* its index in be_start.streams (held, or decoded) */
    unsigned flags;  /* the kind's own, carried with the stream */
} core_share_slot;

/* What a kind's unpack is told about the list being decoded. */
struct core_share_ops;
typedef struct core_share_decode {
    int adopt; /* the sender took the references for us (a child's arguments) */
    /* The handle an earlier item of this list, of the kind being decoded,
     * decoded from stream, or NULL (no reference taken). */
    void *(*earlier)(const struct core_share_decode *cx, uint32_t stream);
    const void *list;
    const struct core_share_ops *ops; /* the kind being decoded */
} core_share_decode;

/* One table per kind of object (core/kinds.c lists them, indexed by
 * kind): how an object crosses into a child (mproc_args, process start)
 * and how mproc_wait waits on it. A kind fills in one of the first two
 * groups; every entry marked optional may be NULL. */
typedef struct core_share_ops {
    core_kind kind;

    /* Kinds with a shared record: the list refers to the record. */
    /* The object's record, and the one other record it uses (a condition's
     * lock, a value's lock) or NULL: both must reach the child. */
    core_rec *(*record)(const void *obj);
    core_rec *(*dep)(core_rec *rec);
    /* Wrapper around a record that already holds a reference for us. */
    void *(*adopt)(core_rec *rec, int *err);
    void (*free)(void *obj);
    void (*destroy)(core_rec *rec); /* when the last reference goes */
    /* Optional: counts the references in transit (enum core_handover). */
    void (*handover)(core_rec *rec, enum core_handover step, long pid);

    /* Process-local kinds (record NULL): the list holds a reference on
     * the handle itself, and the kind describes it in its own msgpack ext
     * type. */
    int ext_type;
    int (*hand)(void *obj);     /* mproc_args_add_obj: the list's reference, or an error */
    void (*retain)(void *obj);  /* a copy of the list's item */
    void (*release)(void *obj); /* the list's item goes */
    /* for_child: slot was filled by hold; else the description must not
     * need it (MPROC_EINVAL when it does). */
    int (*pack)(void *obj, const core_share_slot *slot, int for_child, struct msgpack_packer *pk);
    /* A handle with one reference for the list (slot: what pack wrote). */
    void *(*unpack)(const void *body, size_t len, const core_share_decode *cx, core_share_slot *slot, int *err);
    /* Optional: the OS stream the child inherits, kept open until unhold
     * (need_readable: for mproc_wait; flags may be NULL). */
    int (*hold)(void *obj, int need_readable, struct be_stream **s, unsigned *flags);
    void (*unhold)(void *obj);

    /* mproc_wait, optional: what the backend waits on (undone by
     * wait_undo when set), or for objects with no OS handle a poll
     * (readable: > 0 ready, 0 not, < 0 an error). */
    int (*wait_prepare)(void *obj, struct be_wait_item *it);
    void (*wait_undo)(void *obj);
    int (*readable)(void *obj);
    /* Optional, with readable: objects that a thread of this process makes
     * ready (pool results) are not polled; readable is asked again only
     * after the notifier says something changed. */
    const struct core_wait_notifier *notifier;
} core_share_ops;

/* A process-wide "something may have become ready" signal that mproc_wait
 * sleeps on together with OS streams and processes (wait.c). One per
 * subsystem (the pool's, pool/pool_notify.c), not one per object, so that
 * a wait on many objects costs one stream, and a wake-up one rescan. */
typedef struct core_wait_notifier {
    /* Subscribes the calling wait: *it gets a stream for the backend's wait
     * (readable once a change follows the last rearm). */
    int (*subscribe)(struct be_wait_item *it, void **sub);
    /* Makes the stream quiet again and returns the generation (a counter
     * bumped on every change): a change after this call rings it again. */
    uint64_t (*rearm)(void *sub);
    void (*unsubscribe)(void *sub);
} core_wait_notifier;

/* The ops of kind, or NULL: looked up in the table of every kind, which
 * is defined at the top of the core (core/kinds.c), so that base/ knows
 * no kind. */
const core_share_ops *mproc__core_share_ops_for(core_kind kind);

/* 1 if objects of this kind can be put in an mproc_args. */
static inline int core_share_able(const core_share_ops *ops) { return ops && (ops->record || ops->pack); }

core_rec *mproc__core_no_dep(core_rec *rec); /* for kinds without a dependency */

/* Takes / drops a reference on a record; the last drop calls destroy. */
void mproc__core_rec_retain(core_rec *r);
void mproc__core_rec_release(core_rec *r, void (*destroy)(core_rec *r));
void mproc__core_rec_release_any(core_rec *r); /* destroy found from r->kind */

/* The kind's handover step, if it has one. */
void mproc__core_rec_handover(core_rec *r, enum core_handover step, long pid);

#endif
