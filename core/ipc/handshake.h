/* SPDX-License-Identifier: MIT */
/* handshake.h - the listener's side of the authentication handshake
 * (auth.h) as a state machine that never waits for the peer, and a bounded
 * set of such handshakes in progress. A listener (listener.c) and the
 * Manager's server (manager_server.c) drive many at once from one thread:
 * they wait for any of their streams to become readable (mproc__be_wait) and step
 * the ones that did, so a peer that connects and stays silent holds up
 * nobody; its handshake ends at its own deadline.
 *
 * Messages are read in pieces as they come (mproc__be_stream_read_some), never
 * past the end of the current one: what the client sends after its last
 * handshake message stays in the stream for the connection. */
#ifndef MPROC_CORE_HANDSHAKE_H
#define MPROC_CORE_HANDSHAKE_H

#include "ipc/conn.h"

/* Pending handshakes one listener or server keeps at most. A connection
 * beyond this closes the oldest pending one: a real client answers within
 * a round trip or two, so the oldest is the likeliest to be a silent peer. */
#define CORE_HS_PENDING_MAX 32

typedef struct core_hs core_hs;

/* Takes s and sends the challenge. key NULL: no handshake (done at once).
 * The key must outlive the handshake. deadline: from mproc__core_deadline. On
 * failure s is closed. */
int mproc__core_hs_start(be_stream *s, const void *key, size_t keylen, double deadline, core_hs **out);
/* Advances as far as the data already there allows: 0 still pending, 1
 * authenticated, or MPROC_EAUTH (wrong key, not the protocol), MPROC_EOS
 * (the peer left), another I/O error. */
int mproc__core_hs_step(core_hs *h);
int mproc__core_hs_done(const core_hs *h);
be_stream *mproc__core_hs_stream(const core_hs *h);
double mproc__core_hs_deadline(const core_hs *h);
/* The connection of a done handshake (frees h), or NULL and *err. */
mproc_conn *mproc__core_hs_finish(core_hs *h, int *err);
void mproc__core_hs_free(core_hs *h); /* closes the stream; NULL is ignored */

/* A client waiting at l now (else MPROC_ETIMEDOUT at once), its handshake
 * started and bounded by timeout (listener.c). The Manager's server
 * drives the handshakes in its own loop. */
int mproc__core_listener_accept_hs(mproc_listener *l, double timeout, core_hs **out);

/* Handshakes in progress, oldest first. */
typedef struct core_hs_set {
    core_hs *v[CORE_HS_PENDING_MAX];
    size_t n;
} core_hs_set;

/* Adds h; a full set first closes its oldest. */
void mproc__core_hs_set_add(core_hs_set *set, core_hs *h);
/* Closes those whose deadline passed; returns the time until the next
 * deadline (< 0: nothing pending). */
double mproc__core_hs_set_expire(core_hs_set *set, double now);
/* items[i] = the i-th stream, for mproc__be_wait (items holds at least set->n). */
void mproc__core_hs_set_items(const core_hs_set *set, be_wait_item *items);
/* Steps the i-th: 0 still pending; 1 done, *out its connection; < 0 it
 * failed and was closed. Either end removes it, which moves the ones
 * after i down: step from the last index to the first. */
int mproc__core_hs_set_step(core_hs_set *set, size_t i, mproc_conn **out);
/* Moves every handshake of from into to (to's oldest go if it is full). */
void mproc__core_hs_set_move(core_hs_set *to, core_hs_set *from);
void mproc__core_hs_set_clear(core_hs_set *set);

#endif
