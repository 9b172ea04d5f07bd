/* SPDX-License-Identifier: MIT */
/* mpi_link.c - non-blocking sends and polled receives, and mproc_mpi_init:
 * the part of the MPI pool both kinds of rank share. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "mpi_link.h"

int mproc__sendq_push(sendq *q, int dest, int tag, void *buf, size_t len)
{
    if (len > INT_MAX) {
        free(buf);
        return MPROC_EMSGSIZE;
    }
    sendq_item *it = malloc(sizeof *it);
    if (!it) {
        free(buf);
        return MPROC_ENOMEM;
    }
    it->buf = buf;
    it->dest = dest;
    if (MPI_Isend(buf ? buf : "", (int)len, MPI_BYTE, dest, tag, MPI_COMM_WORLD, &it->req) != MPI_SUCCESS) {
        free(buf);
        free(it);
        return MPROC_EWORKERLOST;
    }
    it->next = q->head;
    q->head = it;
    return 0;
}

void mproc__sendq_progress(sendq *q, int *failed)
{
    *failed = -1;
    for (sendq_item **pp = &q->head; *pp;) {
        sendq_item *it = *pp;
        int done = 0;
        int rc = MPI_Test(&it->req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS && *failed < 0)
            *failed = it->dest;
        if (rc != MPI_SUCCESS || done) {
            *pp = it->next;
            free(it->buf);
            free(it);
        } else {
            pp = &it->next;
        }
    }
}

void mproc__sendq_flush(sendq *q, double timeout)
{
    double end = mproc__be_monotonic() + timeout;
    int failed;
    unsigned idle = 0;
    while (q->head && mproc__be_monotonic() < end) {
        mproc__sendq_progress(q, &failed);
        if (q->head)
            mproc__be_sleep(mproc__link_backoff(idle++));
    }
    while (q->head) { /* a peer that never received: give up on it */
        sendq_item *it = q->head;
        q->head = it->next;
        MPI_Cancel(&it->req);
        MPI_Request_free(&it->req);
        free(it->buf);
        free(it);
    }
}

int mproc__link_try_recv(int src, int *from, int *tag, void **buf, size_t *len)
{
    int flag = 0, count = 0;
    MPI_Status st;
    *buf = NULL;
    *len = 0;
    *from = src;
    if (MPI_Iprobe(src, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS)
        return MPROC_EWORKERLOST;
    if (!flag)
        return 0;
    *from = st.MPI_SOURCE;
    *tag = st.MPI_TAG;
    if (MPI_Get_count(&st, MPI_BYTE, &count) != MPI_SUCCESS || count < 0)
        return MPROC_EWORKERLOST;
    char *b = malloc(count ? (size_t)count : 1);
    if (!b)
        return MPROC_ENOMEM;
    if (MPI_Recv(b, count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        free(b);
        return MPROC_EWORKERLOST;
    }
    *buf = b;
    *len = (size_t)count;
    return 1;
}

/* Busy rounds first (a reply usually follows a task within microseconds),
 * then sleeps growing to 1 ms, so that idle ranks leave the CPU to others
 * (tests run more ranks than cores). */
double mproc__link_backoff(unsigned idle)
{
    if (idle < 64)
        return 0;
    double s = 2e-6 * (double)(idle - 63);
    return s > 1e-3 ? 1e-3 : s;
}

/* Did mpirun (or another MPI launcher) start us? */
static int launched_by_mpi(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

static int mpi_started;

int mproc_mpi_init(int *argc, char ***argv)
{
    /* A libmproc of another version: its internals may differ. */
    if (mproc__mpi_host.size != sizeof mproc__mpi_host || mproc__mpi_host.version != MPROC_VERSION_HEX)
        return MPROC_ENOSYS;
    mproc__core_ensure_init();
    if (mpi_started || !launched_by_mpi())
        return 0;
    int provided = 0, rank = 0, size = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return MPROC_ESYS;
    mpi_started = 1;
    /* Failures come back as return codes, never as an abort of the job. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (provided < MPI_THREAD_SERIALIZED) { /* the pool's thread makes the MPI calls */
        MPI_Finalize();
        if (rank != 0)
            exit(1);
        return MPROC_ENOSYS;
    }
    if (rank != 0)
        mproc__mpi_rank_serve(); /* never returns */
    return mproc__mpi_master_init(size);
}
