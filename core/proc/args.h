/* SPDX-License-Identifier: MIT */
/* args.h - internal helpers around mproc_args for the child payload. */
#ifndef MPROC_CORE_ARGS_H
#define MPROC_CORE_ARGS_H

#include <msgpack.h>

#include "mproc.h"

/* a may be NULL: []. for_child: objects that hand a stream to the child
 * (connections) are encoded as the index of their stream in the table of
 * mproc__core_args_hold_streams; without it they cannot be encoded (MPROC_EINVAL). */
int mproc__core_args_pack(const mproc_args *a, msgpack_packer *pk, int for_child);
/* adopt: object references come with a reference taken by the sender. */
int mproc__core_args_from_object(const msgpack_object *o, mproc_args **out, int adopt);
struct core_rec;
void mproc__core_args_each_obj(const mproc_args *a, void (*fn)(struct core_rec *rec, void *ctx), void *ctx);
/* In a child: the references of a's objects are recorded in the ledger
 * its parent made for them (ledger.h). */
struct core_ledger;
void mproc__core_args_attach_ledger(mproc_args *a, struct core_ledger *l);
int mproc__core_args_copy(const mproc_args *src, mproc_args **out); /* src may be NULL */
/* Items [from, to) of src (objects shared, not moved). */
int mproc__core_args_copy_range(const mproc_args *src, size_t from, size_t to, mproc_args **out);

/* The streams of the objects in a whose kind hands one to the child
 * (core_share_ops.hold: connections), each once, for be_start.streams.
 * Holding them keeps them open (a close by another thread waits) until
 * unhold, which also frees the table. MPROC_ECLOSED when one is closed
 * already. */
typedef struct be_stream be_stream;
typedef struct core_stream_table {
    be_stream **streams;
    size_t n, cap;
} core_stream_table;
int mproc__core_args_hold_streams(mproc_args *a, core_stream_table *t);
void mproc__core_args_unhold_streams(mproc_args *a, core_stream_table *t);

#endif
