/* SPDX-License-Identifier: MIT */
/* spin.c - spin, then block (spin.h). */
#include <stdatomic.h>
#include <stdlib.h>

#include "base/spin.h"

#define DEFAULT_WINDOW_US 30
#define MAX_WINDOW_US 10000
#define SPIN_MISSES 4
#define SPIN_PROBE 16

static _Atomic long window_ns = -1; /* -1: not decided yet */

double mproc__core_spin_window(void)
{
    long ns = atomic_load_explicit(&window_ns, memory_order_relaxed);
    if (ns < 0) { /* racing first calls decide the same */
        const char *env = getenv("MPROC_SPIN_US");
        char *end = NULL;
        long us = env && *env ? strtol(env, &end, 10) : -1;
        if (us < 0 || us > MAX_WINDOW_US || (end && *end))
            us = mproc__be_cpu_count() > 1 ? DEFAULT_WINDOW_US : 0;
        ns = us * 1000;
        atomic_store_explicit(&window_ns, ns, memory_order_relaxed);
    }
    return (double)ns * 1e-9;
}

int mproc__core_spin(core_spinner *sp, double timeout, core_probe_fn probe, void *arg)
{
    double w = mproc__core_spin_window();
    if (w <= 0 || timeout == 0)
        return 0;
    if (atomic_load_explicit(&sp->misses, memory_order_relaxed) >= SPIN_MISSES &&
        atomic_fetch_add_explicit(&sp->waits, 1, memory_order_relaxed) % SPIN_PROBE != 0)
        return 0;
    if (timeout > 0 && timeout < w)
        w = timeout;
    double end = mproc__be_monotonic() + w;
    do {
        int r = probe(arg);
        if (r != 0) {
            if (r > 0)
                atomic_store_explicit(&sp->misses, 0, memory_order_relaxed);
            return r;
        }
    } while (mproc__be_monotonic() < end);
    if (atomic_load_explicit(&sp->misses, memory_order_relaxed) < SPIN_MISSES)
        atomic_fetch_add_explicit(&sp->misses, 1, memory_order_relaxed);
    return 0;
}

static int probe_stream(void *s) { return mproc__be_stream_poll(s, 0); }

int mproc__core_spin_stream(core_spinner *sp, be_stream *s, double timeout)
{
    return mproc__core_spin(sp, timeout, probe_stream, s);
}

int mproc__core_poll_stream(core_spinner *sp, be_stream *s, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    int r = mproc__core_spin(sp, timeout, probe_stream, s);
    return r != 0 ? r : mproc__be_stream_poll(s, mproc__core_remaining(deadline));
}

typedef struct wait_set {
    be_wait_item *items;
    size_t n;
} wait_set;

static int probe_set(void *arg)
{
    wait_set *w = arg;
    return mproc__be_wait(w->items, w->n, 0);
}

int mproc__core_wait_set(core_spinner *sp, be_wait_item *items, size_t n, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    wait_set w = {items, n};
    int r = mproc__core_spin(sp, timeout, probe_set, &w);
    return r != 0 ? r : mproc__be_wait(items, n, mproc__core_remaining(deadline));
}

static int probe_sem(void *sem) { return mproc__be_sem_wait(sem, 0) == 0; }

int mproc__core_wait_sem(core_spinner *sp, be_sem *sem, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    return mproc__core_spin(sp, timeout, probe_sem, sem) ? 0 : mproc__be_sem_wait(sem, mproc__core_remaining(deadline));
}
