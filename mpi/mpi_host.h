/* SPDX-License-Identifier: MIT */
/* mpi_host.h - the internal calls of libmproc that libmproc-mpi makes.
 *
 * libmproc exports only its public mproc_* functions; everything else in
 * it is hidden. The MPI pool lives in its own library (libmproc-mpi, so
 * that libmproc never links MPI) but drives the pool's internals, so
 * libmproc exports one table of exactly those internals,
 * mproc__mpi_host (mpi_host.c, built into libmproc). This header declares
 * it and, in the MPI sources, turns each listed call into a call through
 * the table, so the code reads as if it called the internal directly.
 *
 * It must be included after every core header (it includes those the MPI
 * sources use first; their guards keep later includes empty). A new
 * internal call in mpi/ needs a member here and in mpi_host.c: the
 * shared libmproc-mpi links with --no-undefined, so a missing one fails
 * its build. The table is valid only between a libmproc and a
 * libmproc-mpi of the same version (checked by mproc_mpi_init). */
#ifndef MPROC_MPI_HOST_H
#define MPROC_MPI_HOST_H

#include <stddef.h>

#include "proc/args.h"
#include "ipc/conn.h"
#include "base/base.h"
#include "pool/pool.h"

typedef struct mproc__mpi_host_api {
    unsigned long version; /* MPROC_VERSION_HEX of the libmproc that filled it */
    size_t size;           /* sizeof(mproc__mpi_host_api) there */
    /* backend.h */
    long (*mproc__be_getpid)(void);
    double (*mproc__be_monotonic)(void);
    void (*mproc__be_sleep)(double seconds);
    int (*mproc__be_thread_start)(void (*fn)(void *arg), void *arg, be_thread **out);
    void (*mproc__be_thread_join)(be_thread *t);
    void *(*mproc__be_shm_addr)(const be_shm *m);
    void (*mproc__be_shm_close)(be_shm *m);
    int (*mproc__be_shm_recv)(be_stream *st, double timeout, be_shm **out);
    /* internal.h, args.h, conn.h */
    void (*mproc__core_ensure_init)(void);
    int (*mproc__core_args_copy)(const mproc_args *src, mproc_args **out);
    int (*mproc__core_args_copy_range)(const mproc_args *src, size_t from, size_t to, mproc_args **out);
    int (*mproc__core_conn_parent_only)(mproc_conn *c);
    int (*mproc__core_conn_hold)(mproc_conn *c, int need_readable, be_stream **s, unsigned *flags);
    void (*mproc__core_conn_unhold)(mproc_conn *c);
    /* pool.h */
    void (*mproc__core_pool_lock)(void);
    void (*mproc__core_pool_unlock)(void);
    int (*mproc__core_pool_transport_register)(const pool_transport *t);
    int (*mproc__core_pool_worker_main)(const mproc_args *args);
} mproc__mpi_host_api;

#if defined(__GNUC__) && !defined(_WIN32)
__attribute__((visibility("default")))
#endif
extern const mproc__mpi_host_api mproc__mpi_host;

#ifndef MPROC_MPI_HOST_TABLE /* the MPI sources: calls go through the table */
#define mproc__be_getpid (mproc__mpi_host.mproc__be_getpid)
#define mproc__be_monotonic (mproc__mpi_host.mproc__be_monotonic)
#define mproc__be_sleep (mproc__mpi_host.mproc__be_sleep)
#define mproc__be_thread_start (mproc__mpi_host.mproc__be_thread_start)
#define mproc__be_thread_join (mproc__mpi_host.mproc__be_thread_join)
#define mproc__be_shm_addr (mproc__mpi_host.mproc__be_shm_addr)
#define mproc__be_shm_close (mproc__mpi_host.mproc__be_shm_close)
#define mproc__be_shm_recv (mproc__mpi_host.mproc__be_shm_recv)
#define mproc__core_ensure_init (mproc__mpi_host.mproc__core_ensure_init)
#define mproc__core_args_copy (mproc__mpi_host.mproc__core_args_copy)
#define mproc__core_args_copy_range (mproc__mpi_host.mproc__core_args_copy_range)
#define mproc__core_conn_parent_only (mproc__mpi_host.mproc__core_conn_parent_only)
#define mproc__core_conn_hold (mproc__mpi_host.mproc__core_conn_hold)
#define mproc__core_conn_unhold (mproc__mpi_host.mproc__core_conn_unhold)
#define mproc__core_pool_lock (mproc__mpi_host.mproc__core_pool_lock)
#define mproc__core_pool_unlock (mproc__mpi_host.mproc__core_pool_unlock)
#define mproc__core_pool_transport_register (mproc__mpi_host.mproc__core_pool_transport_register)
#define mproc__core_pool_worker_main (mproc__mpi_host.mproc__core_pool_worker_main)
#endif

#endif
