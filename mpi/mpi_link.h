/* SPDX-License-Identifier: MIT */
/* mpi_link.h - what rank 0 (mpi_master.c) and the worker ranks
 * (mpi_rank.c) say to each other over MPI_COMM_WORLD, and the queue of
 * non-blocking sends both sides use. Neither side ever blocks in MPI: a
 * large send would otherwise wait for a peer that is itself sending. */
#ifndef MPROC_MPI_LINK_H
#define MPROC_MPI_LINK_H

#include <stddef.h>

#include <mpi.h>

#include "mpi_host.h" /* last of the core headers: internal calls go through libmproc's table */

enum {
    /* rank 0 -> worker rank */
    TAG_START = 1, /* a pool session: encoded args (initargs, init module, offset, digest, maxtasks) */
    TAG_TASK = 2,  /* one pool message (pw_task records, chunks inline) */
    TAG_END = 3,   /* the session is over (close or terminate) */
    TAG_EXIT = 4,  /* the job is over: MPI_Finalize and exit */
    /* worker rank -> rank 0 */
    TAG_REPLY = 10, /* [int session][pw_reply records]: one reply message */
    TAG_DONE = 11,  /* the worker ended its session by itself */
    TAG_ALIVE = 12, /* heartbeat during a session */
};

#define MPI_ALIVE_EVERY 0.5 /* seconds between heartbeats */

/* Pending MPI_Isend requests; each owns its buffer. */
typedef struct sendq_item {
    MPI_Request req;
    void *buf;
    int dest;
    struct sendq_item *next;
} sendq_item;

typedef struct sendq {
    sendq_item *head;
} sendq;

/* Sends buf (taken: freed once sent). MPROC_EWORKERLOST when MPI reports
 * dest failed, MPROC_EMSGSIZE beyond INT_MAX bytes. */
int mproc__sendq_push(sendq *q, int dest, int tag, void *buf, size_t len);
/* Completes what it can; a failed send's destination goes to *failed (-1:
 * none; the others are reported on later calls). */
void mproc__sendq_progress(sendq *q, int *failed);
/* Waits for every send, at most timeout seconds; cancels the rest. */
void mproc__sendq_flush(sendq *q, double timeout);

/* A message waiting from src (MPI_ANY_SOURCE) with any tag: received into
 * *buf (malloc'd; NULL when empty). 1 received, 0 none, < 0 MPI failed
 * (*from says for whom when it knows). */
int mproc__link_try_recv(int src, int *from, int *tag, void **buf, size_t *len);

/* Idle backoff: how long to wait after `idle` rounds without work. */
double mproc__link_backoff(unsigned idle);

/* mpi_rank.c: serves pools until rank 0 says TAG_EXIT; never returns. */
void mproc__mpi_rank_serve(void);
/* mpi_master.c: registers the "mpi" transport in rank 0. */
int mproc__mpi_master_init(int size);
void mproc__mpi_master_finalize(void);

#endif
