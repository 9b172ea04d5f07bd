/* SPDX-License-Identifier: MIT */
/* mpi_host.c - built into libmproc (not libmproc-mpi): the table of
 * internal calls that libmproc-mpi makes (mpi_host.h), the one internal
 * symbol libmproc exports. */
#define MPROC_MPI_HOST_TABLE
#include "mpi_host.h"

const mproc__mpi_host_api mproc__mpi_host = {
    MPROC_VERSION_HEX,
    sizeof(mproc__mpi_host_api),
    be_getpid,
    be_monotonic,
    be_sleep,
    be_thread_start,
    be_thread_join,
    be_shm_addr,
    be_shm_close,
    be_shm_recv,
    core_ensure_init,
    core_args_copy,
    core_args_copy_range,
    core_conn_parent_only,
    core_conn_hold,
    core_conn_unhold,
    core_pool_lock,
    core_pool_unlock,
    core_pool_transport_register,
    core_pool_worker_main,
};
