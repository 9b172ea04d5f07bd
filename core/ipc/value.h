/* SPDX-License-Identifier: MIT */
/* value.h - mproc_mval trees over connections and queues: the msgpack and
 * pickle codecs (docs/values.md), and the growable buffer they write to. */
#ifndef MPROC_CORE_VALUE_H
#define MPROC_CORE_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "mproc.h"

/* Tuples in msgpack: an ext object of this type whose body is the msgpack
 * array of the items. */
#define VALUE_EXT_TUPLE 1

/* An output buffer: err sticks at the first allocation failure. */
typedef struct vbuf {
    unsigned char *p;
    size_t len, cap;
    int err;
} vbuf;
void mproc__vbuf_put(vbuf *b, const void *src, size_t n);
void mproc__vbuf_byte(vbuf *b, unsigned char c);

/* Frees a received tree (strings, bytes, containers; never a proxy). */
void mproc__value_free(mproc_mval *v);
/* 1 when a key may hold v (nothing in it is an array or a map). */
int mproc__value_hashable(const mproc_mval *v);
/* A string's len bytes at p into out (a NUL after them), as type t. */
int mproc__value_copy_buf(mproc_mval *out, mproc_mval_type t, const char *p, size_t n);

/* The scalars (nil, bool, int, double, str, bytes) in msgpack, shared with
 * the manager's protocol: 0, an error, or 1 when v / o is no scalar. */
int mproc__value_pack_scalar(msgpack_packer *pk, const mproc_mval *v);
int mproc__value_unpack_scalar(const msgpack_object *o, mproc_mval *out);

int mproc__value_msgpack_encode(const mproc_mval *v, vbuf *out);
int mproc__value_msgpack_decode(const unsigned char *buf, size_t len, mproc_mval *out);
int mproc__value_pickle_encode(const mproc_mval *v, vbuf *out);
int mproc__value_pickle_decode(const unsigned char *buf, size_t len, mproc_mval *out);

#endif
