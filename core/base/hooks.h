/* SPDX-License-Identifier: MIT */
/* hooks.h - work that subsystems register with base instead of being
 * called by name from a hub: what runs when this process ends, and what
 * runs in a new child before its target (CPython's util.Finalize with an
 * exitpriority, and register_after_fork; libuv's uv_library_shutdown).
 *
 * The end of a process runs every exit hook once, phase by phase in the
 * order of enum core_exit_phase (within a phase the last registered runs
 * first, as atexit does), then the backend's own teardown (mproc__be_shutdown)
 * last. It runs from atexit (return from main, exit() from any thread) and
 * from the child entry after a target returned. */
#ifndef MPROC_CORE_HOOKS_H
#define MPROC_CORE_HOOKS_H

enum core_exit_phase {
    CORE_EXIT_HELD,      /* what the exiting thread still holds (locks),
                            given up before anything is waited for */
    CORE_EXIT_OWNERS,    /* objects that own helper processes and threads
                            (pools, managers): stopped, their threads joined */
    CORE_EXIT_CHILDREN,  /* the remaining children: daemons terminated,
                            the others joined */
    CORE_EXIT_RESOURCES, /* named things this process created (segments) */
    CORE_EXIT_PHASES
};

/* One registration; lives in static storage of its subsystem. */
typedef struct core_hook {
    void (*fn)(void);
    int phase;                       /* enum core_exit_phase (exit hooks only) */
    struct core_hook *next;          /* base's */
    _Atomic int added;               /* base's: registered already */
} core_hook;

#define CORE_HOOK_INIT(fn, phase) {(fn), (phase), 0, 0}

/* Register once (later calls with the same hook do nothing); lock-free, so
 * safe from any thread and under any lock. */
void mproc__core_exit_hook_add(core_hook *h);
void mproc__core_child_hook_add(core_hook *h); /* phase ignored */

/* Runs the exit hooks, then mproc__be_shutdown(); only the first call in a
 * process does anything (a forked child may run its own). */
void mproc__core_run_exit_hooks(void);
/* The CORE_EXIT_HELD hooks alone, ahead of the others (harmless to run
 * again): a child whose target returned, before its arguments' handles
 * go, since what they hold is found through them. */
void mproc__core_run_held_hooks(void);
/* In a new child, before its target: the hooks in registration order. */
void mproc__core_run_child_hooks(void);

/* Is this process on its way out (the exit hooks have started)? Blocking
 * calls of other threads may give up early then. */
int mproc__core_exiting(void);

#endif
