/* SPDX-License-Identifier: MIT */
/* hooks.c - the exit and new-child hook lists (hooks.h). Entries are
 * pushed lock-free and never removed, so a list can be walked at any time. */
#include <stdatomic.h>
#include <stddef.h>

#include "backend.h"
#include "base/hooks.h"

static core_hook *_Atomic exit_hooks[CORE_EXIT_PHASES]; /* newest first */
static core_hook *_Atomic child_hooks;                  /* newest first */
static _Atomic long exiting_pid;                        /* whose exit hooks ran */

static void push(core_hook *_Atomic *list, core_hook *h)
{
    int no = 0;
    if (atomic_load_explicit(&h->added, memory_order_acquire) ||
        !atomic_compare_exchange_strong(&h->added, &no, 1))
        return;
    core_hook *old = atomic_load(list);
    do
        h->next = old;
    while (!atomic_compare_exchange_weak(list, &old, h));
}

void mproc__core_exit_hook_add(core_hook *h)
{
    if (h && h->phase >= 0 && h->phase < CORE_EXIT_PHASES)
        push(&exit_hooks[h->phase], h);
}

void mproc__core_child_hook_add(core_hook *h)
{
    if (h)
        push(&child_hooks, h);
}

int mproc__core_exiting(void) { return atomic_load(&exiting_pid) == mproc__be_getpid(); }

static void run_phase(int phase)
{
    for (core_hook *h = atomic_load(&exit_hooks[phase]); h; h = h->next)
        h->fn();
}

void mproc__core_run_exit_hooks(void)
{
    long me = mproc__be_getpid();
    /* Once per process: a forked child inherits its parent's mark, which
     * names another pid. */
    if (atomic_exchange(&exiting_pid, me) == me)
        return;
    for (int phase = 0; phase < CORE_EXIT_PHASES; phase++)
        run_phase(phase);
    mproc__be_shutdown();
}

void mproc__core_run_held_hooks(void) { run_phase(CORE_EXIT_HELD); }

static void run_oldest_first(core_hook *h)
{
    if (!h)
        return;
    run_oldest_first(h->next);
    h->fn();
}

void mproc__core_run_child_hooks(void) { run_oldest_first(atomic_load(&child_hooks)); }
