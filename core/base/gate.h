/* SPDX-License-Identifier: MIT */
/* gate.h - a handle whose OS object may be closed while other threads are
 * using it. Calls enter and leave; close shuts the gate at once (later
 * calls get MPROC_ECLOSED), and the OS object is released exactly once:
 * by close when no call is inside, else by the last call to leave. */
#ifndef MPROC_CORE_GATE_H
#define MPROC_CORE_GATE_H

#include <stdatomic.h>
#include <stdint.h>

#include "mproc.h"

typedef struct core_gate {
    _Atomic uint32_t state; /* bit 0: closed; above it: calls inside, times 2 */
} core_gate;

static inline int core_gate_enter(core_gate *g)
{
    uint32_t s = atomic_load(&g->state);
    do {
        if (s & 1u)
            return MPROC_ECLOSED;
    } while (!atomic_compare_exchange_weak(&g->state, &s, s + 2u));
    return 0;
}

/* 1 when the caller must now release the OS object. */
static inline int core_gate_leave(core_gate *g) { return atomic_fetch_sub(&g->state, 2u) == 3u; }

/* 1 when the caller must now release the OS object; 0 when closed already
 * or a call inside will. */
static inline int core_gate_close(core_gate *g)
{
    uint32_t old = atomic_fetch_or(&g->state, 1u);
    return old == 0;
}

static inline int core_gate_closed(const core_gate *g) { return (atomic_load(&g->state) & 1u) != 0; }

#endif
