/* SPDX-License-Identifier: MIT */
/* child.c - this process's identity (name, identity, parent, daemon flag)
 * and the child entry that runs a target, for every start method. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hooks.h"
#include "base/object.h"
#include "proc/proc.h"

static struct {
    char *name;          /* NULL = "MainProcess" */
    char *identity;      /* NULL = main */
    long parent_pid;
    int daemon;
    atomic_ulong counter;
} cur;

/* Runs the target described by the payload, then exits: the one path every
 * start method's child takes. */
static void child_run(core_child_desc *d)
{
    mproc__core_become_child(d);
    mproc_target fn = d->fn;
    if (d->method != BE_FORK) {
        be_fnptr f;
        int rc = mproc__be_sym_resolve(&d->target, &f);
        mproc__be_child_started(rc);
        if (rc != 0) {
            fprintf(stderr, "mproc: %s: target function not found or not the parent's code "
                            "(module \"%s\" + 0x%llx); not running it\n",
                    d->name ? d->name : "child", d->target.module,
                    (unsigned long long)d->target.offset);
            mproc__be_exit(BE_CHILD_BADTARGET);
        }
        fn = (mproc_target)f;
    } else {
        mproc__be_child_started(0);
    }
    int code = fn(d->args);
    mproc__core_run_held_hooks(); /* locks still held are found through the args' handles */
    mproc_args_free(d->args); /* gives back the references on shared objects */
    d->args = NULL;
    mproc__core_exit_path();
    mproc__be_exit(code);
}

void mproc__core_child_main(const void *payload, size_t len)
{
    mproc__core_handles_after_fork();
    core_child_desc d;
    if (mproc__core_desc_decode(payload, len, &d) != 0) {
        fprintf(stderr, "mproc: corrupt child payload (%zu bytes); exiting\n", len);
        mproc__be_exit(BE_CHILD_BADTARGET);
    }
    child_run(&d);
}

int mproc_init(int *argc, char ***argv)
{
    void *payload = NULL;
    size_t len = 0;
    int role = mproc__core_init_once(argc, argv, &payload, &len);
    if (role < 0)
        return role;
    if (role != BE_ROLE_CHILD)
        return 0;
    core_child_desc d;
    if (mproc__core_desc_decode(payload, len, &d) != 0) {
        fprintf(stderr, "mproc: corrupt spawn payload (%zu bytes); exiting\n", len);
        mproc__be_exit(BE_CHILD_BADTARGET);
    }
    free(payload);
    /* The child sees the parent's argv, as Python's spawn children do. */
    if (argc && argv && d.argv) {
        *argc = d.argc;
        *argv = d.argv;
        mproc__core_save_argv(d.argc, d.argv);
        d.argv = NULL; /* now owned by the program */
        d.argc = 0;
    }
    child_run(&d);
    return 0; /* not reached */
}

void mproc__core_become_child(const core_child_desc *d)
{
    mproc__core_run_child_hooks();
    cur.name = d->name;
    cur.identity = d->identity;
    cur.parent_pid = d->parent_pid;
    cur.daemon = d->daemon;
    atomic_store(&cur.counter, 0);
    if (d->default_method)
        mproc__core_set_default_method(d->default_method);
}

const char *mproc__core_identity(void) { return cur.identity ? cur.identity : ""; }

unsigned long mproc__core_next_child_number(void) { return atomic_fetch_add(&cur.counter, 1) + 1; }

long mproc_parent_pid(void) { return cur.parent_pid; }

const char *mproc_current_name(void) { return cur.name ? cur.name : "MainProcess"; }

int mproc_current_daemon(void) { return cur.daemon; }
