/* SPDX-License-Identifier: MIT */
/* mpi_stub.c - the MPI pool's entry points in a build without MPI
 * (-DMPROC_WITH_MPI=OFF, or Open MPI not found; always on Windows): the
 * whole of libmproc-mpi there, so that mproc::mpi exists in every build. */
#include "mproc.h"

int mproc_mpi_init(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return MPROC_ENOSYS;
}

int mproc_mpi_workers(void) { return 0; }

int mproc_mpi_finalize(void) { return 0; }

int mproc_mpi_survives_rank_death(void) { return 0; }
