/* SPDX-License-Identifier: MIT */
/* conn.h - connections inside the core: the listener, the client, the
 * handshake, mproc_wait and mproc_args use these.
 *
 * Subsystem ipc/ (docs/architecture.md): Connection and Pipe,
 * framing, Listener and Client, authentication and the handshake,
 * addresses. May use: base/ and the backend. */
#ifndef MPROC_CORE_CONN_H
#define MPROC_CORE_CONN_H

#include <stdatomic.h>

#include "base/base.h"

#define CONN_READABLE 1u
#define CONN_WRITABLE 2u

/* A new connection around s, which it takes (closed on failure). */
mproc_conn *mproc__core_conn_wrap(be_stream *s, unsigned flags, int *err);

/* Bounded send and receive (the handshake). A receive longer than cap is
 * MPROC_EMSGSIZE and ends reading, like maxlength. After a timeout in the
 * middle of a message the connection is out of step and refuses more. */
int mproc__core_conn_send_timed(mproc_conn *c, const void *buf, size_t len, double timeout);
int mproc__core_conn_recv_timed(mproc_conn *c, void *buf, size_t cap, size_t *len, double timeout);
/* mproc_conn_recv_bytes (no length limit) within timeout: MPROC_ETIMEDOUT
 * when no message began in time (the stream is left as it was). */
int mproc__core_conn_recv_alloc_timed(mproc_conn *c, void **buf, size_t *len, double timeout);

/* References that keep the handle's memory (not the OS object) alive:
 * mproc_args holds one per item. The last release closes and frees. */
int mproc__core_conn_open(const mproc_conn *c); /* 1 if a connection and not closed */
void mproc__core_conn_retain(mproc_conn *c);
/* The value encoding of c (conn_value.c; 0 = AUTO), NULL if c is no connection. */
atomic_int *mproc__core_conn_codec(mproc_conn *c);
void mproc__core_conn_release(mproc_conn *c);

/* Keeps the OS object open (a close waits for mproc__core_conn_unhold) and gives
 * its stream and direction: for a process start (need_readable 0) or
 * mproc_wait (1: a send-only end is MPROC_EINVAL, one that stopped reading
 * MPROC_ECLOSED). */
int mproc__core_conn_hold(mproc_conn *c, int need_readable, be_stream **s, unsigned *flags);
void mproc__core_conn_unhold(mproc_conn *c);

/* Handles only this process may hold (a pool's ends of its workers'
 * pipes): a forked child closes its copies at once, so that the peer sees
 * the end of the stream when this process closes them or dies (Python's
 * util.register_after_fork): a new-child hook closes them. */
int mproc__core_conn_parent_only(mproc_conn *c);

/* In a child: a connection on the index-th stream its parent handed over. */
mproc_conn *mproc__core_conn_inherit(size_t index, unsigned flags, int *err);

#endif
