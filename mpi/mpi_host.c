/* SPDX-License-Identifier: MIT */
/* mpi_host.c - built into libmproc (not libmproc-mpi): the table of
 * internal calls that libmproc-mpi makes (mpi_host.h), the one internal
 * symbol libmproc exports. */
#define MPROC_MPI_HOST_TABLE
#include "mpi_host.h"

const mproc__mpi_host_api mproc__mpi_host = {
    MPROC_VERSION_HEX,
    sizeof(mproc__mpi_host_api),
    mproc__be_getpid,
    mproc__be_monotonic,
    mproc__be_sleep,
    mproc__be_thread_start,
    mproc__be_thread_join,
    mproc__be_shm_addr,
    mproc__be_shm_close,
    mproc__be_shm_recv,
    mproc__core_ensure_init,
    mproc__core_args_copy,
    mproc__core_args_copy_range,
    mproc__core_conn_parent_only,
    mproc__core_conn_hold,
    mproc__core_conn_unhold,
    mproc__core_pool_lock,
    mproc__core_pool_unlock,
    mproc__core_pool_transport_register,
    mproc__core_pool_worker_main,
};
