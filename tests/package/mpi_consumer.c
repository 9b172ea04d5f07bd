/* SPDX-License-Identifier: MIT */
/* mpi_consumer.c - a program that uses an installed libmproc-mpi
 * (scripts/package-test.sh builds it with find_package(mproc COMPONENTS
 * mpi) and with pkg-config mproc-mpi / mproc-mpi-static). Run alone it
 * has no worker ranks and says so; run by mpirun with N ranks, rank 0
 * maps squares over a pool of the N - 1 others. Prints "mpi consumer ok". */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static int square(const void *in, void *out, void *state)
{
    (void)state;
    int v;
    memcpy(&v, in, sizeof v);
    v *= v;
    memcpy(out, &v, sizeof v);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = mproc_init(&argc, &argv);
    if (rc == 0)
        rc = mproc_mpi_init(&argc, &argv); /* ranks > 0 serve the pool here */
    if (rc < 0) {
        fprintf(stderr, "mpi consumer: init: %s\n", mproc_strerror(rc));
        return 1;
    }
    int workers = mproc_mpi_workers();
    if (workers > 0) {
        int err = 0;
        mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
        o.start_method = "mpi";
        mproc_pool *p = mproc_pool_new(&o, &err);
        if (!p) {
            fprintf(stderr, "mpi consumer: pool: %s\n", mproc_strerror(err));
            return 1;
        }
        int in[32], out[32];
        for (int i = 0; i < 32; i++)
            in[i] = i;
        rc = mproc_pool_map(p, square, in, 32, sizeof *in, out, sizeof *out, 4);
        for (int i = 0; rc == 0 && i < 32; i++)
            if (out[i] != i * i)
                rc = MPROC_ETASK;
        mproc_pool_close(p);
        mproc_pool_join(p, MPROC_FOREVER);
        mproc_pool_free(p);
        if (rc) {
            fprintf(stderr, "mpi consumer: map: %s\n", mproc_strerror(rc));
            return 1;
        }
    }
    printf("mpi consumer ok (%d worker ranks)\n", workers);
    return mproc_mpi_finalize() ? 1 : 0;
}
