/* SPDX-License-Identifier: MIT */
/* spin.h - spin, then block, when waiting for a stream to become readable.
 *
 * A peer's reply often comes within microseconds, while falling asleep and
 * being woken again costs tens of them (about 50 us a hop on the virtual
 * machines we measured), so a request/reply exchange spends most of its
 * time in the scheduler. A waiter therefore first looks at the stream
 * without blocking, for a short window, and blocks as before only when
 * nothing came. The window is 30 us where there is more than one CPU and 0
 * (no spinning) on one CPU, where it would only delay the peer; the
 * environment variable MPROC_SPIN_US (0 to 10000) sets it.
 *
 * A spinner adapts: after SPIN_MISSES windows in a row ended empty, it
 * spins only on every SPIN_PROBE-th wait, so waiting on a slow or idle
 * peer costs almost no CPU. Its counters are atomics: threads may share
 * one; a lost update only changes when the next probe comes. */
#ifndef MPROC_CORE_SPIN_H
#define MPROC_CORE_SPIN_H

#include "backend.h"

typedef struct core_spinner {
    _Atomic unsigned misses; /* windows in a row that ended empty (capped) */
    _Atomic unsigned waits;  /* waits since the spinner gave up, for probing */
} core_spinner;

/* The spin window in seconds (0 = never spin). */
double mproc__core_spin_window(void);

/* Calls probe (> 0 ready, 0 not, < 0 error; never blocks) until it is
 * not 0, for up to the window (never longer than timeout; 0 = try: no
 * spinning), adapting as above: its result, or 0 when the caller should
 * block as usual. */
typedef int (*core_probe_fn)(void *arg);
int mproc__core_spin(core_spinner *sp, double timeout, core_probe_fn probe, void *arg);

/* Looks at s without blocking for up to the window (never longer than
 * timeout; timeout 0 = try: no spinning). 1 when s became readable (or
 * reached its end), 0 when the caller should block as usual, < 0 an error
 * of mproc__be_stream_poll. */
int mproc__core_spin_stream(core_spinner *sp, be_stream *s, double timeout);

/* Spin, then block for what is left of timeout: mproc__be_stream_poll,
 * mproc__be_wait and mproc__be_sem_wait with spinning first, and their results. */
int mproc__core_poll_stream(core_spinner *sp, be_stream *s, double timeout);
int mproc__core_wait_set(core_spinner *sp, be_wait_item *items, size_t n, double timeout);
int mproc__core_wait_sem(core_spinner *sp, be_sem *sem, double timeout);

#endif
