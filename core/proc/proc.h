/* SPDX-License-Identifier: MIT */
/* proc.h - processes (see docs/architecture.md).
 *
 * proc/ owns mproc_process (process.c), the description a child is started
 * from and its encoding (payload.c), what a child receives (args.c, which
 * finds each object's kind in base's kind table), the ledger of references
 * handed to children (ledger.c), the child entry and this process's
 * identity (child.c), and mproc_wait (wait.c).
 *
 * proc/ may use: base/, ipc/, sync/, shmem/ and the backend. */
#ifndef MPROC_CORE_PROC_H
#define MPROC_CORE_PROC_H

#include "base/base.h"

/* What a child needs to know: built by the parent, carried by the payload. */
typedef struct core_child_desc {
    int method;          /* enum be_method */
    mproc_target fn;     /* valid only after fork (same address space) */
    be_symref target;    /* located by the parent, resolved in the child */
    mproc_args *args;
    char *name;
    char *identity;      /* "1", "1:2", ... */
    long parent_pid;
    int daemon;
    int default_method;  /* the parent's default start method */
    size_t nsegs;        /* arena segments handed over (encode only) */
    const uint64_t *seg_pids, *seg_seqs;
    int argc;
    char **argv;         /* the parent's argv (NULL-terminated) */
    const void *ledger;  /* the args' ledger (ledger.h), or NULL (encode only) */
} core_child_desc;

int mproc__core_desc_encode(const core_child_desc *d, void **buf, size_t *len);
int mproc__core_desc_decode(const void *buf, size_t len, core_child_desc *d);
void mproc__core_desc_clear(core_child_desc *d);

/* This process (child.c). */
const char *mproc__core_identity(void);      /* "" in the main process */
unsigned long mproc__core_next_child_number(void);
/* Names a new process after its role, as Python does ("SyncManager-3":
 * the prefix and the process's identity). */
int mproc__core_process_name_as(mproc_process *p, const char *prefix);
void mproc__core_become_child(const core_child_desc *d);

/* The child behind a sentinel (mproc_process_sentinel): MPROC_ECLOSED
 * once the process was closed, MPROC_ESTATE when not started here. */
int mproc__core_sentinel_proc(void *sentinel, be_proc **out);

#endif
