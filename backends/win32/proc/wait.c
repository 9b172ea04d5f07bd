/* SPDX-License-Identifier: MIT */
/* wait.c - mproc__be_wait: many streams and processes at once, any number of them
 * (CPython gh-94242). Pipes and processes are first asked whether they
 * are ready (no I/O); only when nothing is, and the caller may wait, is a
 * stream watched through a zero-byte read (stream.c) and a process through
 * its handle. WaitForMultipleObjects takes 64 handles: beyond that, helper
 * threads wait on groups of 63 plus a stop event and wake the caller
 * through a shared event, as CPython 3.12's batched wait does. Once
 * anything is ready, every item is checked again without waiting, so all
 * the ready flags are right. */
#include <stdlib.h>

#include "win32.h"

#define GROUP (MAXIMUM_WAIT_OBJECTS - 1) /* one slot for the wake-up event */
#define HELPER_STACK 65536

typedef struct group {
    const HANDLE *h;
    DWORD n;
    HANDLE stop, any; /* shared by all helpers */
    DWORD error;      /* GetLastError() of a failed wait, 0 if none */
} group;

/* Waits forever on one group (or stop); whatever ends the wait wakes the
 * caller: a ready handle, the stop, or a failure. */
static DWORD WINAPI helper(LPVOID arg)
{
    group *g = arg;
    HANDLE hs[MAXIMUM_WAIT_OBJECTS];
    hs[0] = g->stop;
    for (DWORD i = 0; i < g->n; i++)
        hs[i + 1] = g->h[i];
    if (WaitForMultipleObjects(g->n + 1, hs, FALSE, INFINITE) == WAIT_FAILED)
        g->error = GetLastError();
    SetEvent(g->any);
    return 0;
}

/* WaitForMultipleObjects(n, h, any) until the deadline: 0 (something is
 * ready, or the time is up) or MPROC_ESYS. */
static int wait_small(const HANDLE *h, DWORD n, double deadline)
{
    for (;;) {
        DWORD w = WaitForMultipleObjects(n, h, FALSE, mproc__w32_remaining_ms(deadline));
        if (w == WAIT_FAILED)
            return mproc__w32_last_error(MPROC_ESYS);
        if (w != WAIT_TIMEOUT || mproc__w32_remaining_ms(deadline) == 0)
            return 0; /* else a very long timeout was cut in pieces */
    }
}

/* More than 64: this thread waits on the first group and the wake-up
 * event, helpers on the others. */
static int wait_batched(const HANDLE *h, size_t n, double deadline)
{
    size_t ngroups = (n - GROUP + GROUP - 1) / GROUP; /* the helpers' */
    group *gs = calloc(ngroups, sizeof *gs);
    HANDLE *threads = calloc(ngroups, sizeof *threads);
    HANDLE stop = CreateEventW(NULL, TRUE, FALSE, NULL), any = CreateEventW(NULL, TRUE, FALSE, NULL);
    int rc = 0;
    if (!gs || !threads)
        rc = MPROC_ENOMEM;
    else if (!stop || !any)
        rc = mproc__w32_last_error(MPROC_ESYS);
    size_t started = 0;
    for (; rc == 0 && started < ngroups; started++) {
        group *g = &gs[started];
        size_t first = GROUP * (started + 1);
        g->h = h + first;
        g->n = (DWORD)(n - first < GROUP ? n - first : GROUP);
        g->stop = stop;
        g->any = any;
        threads[started] = CreateThread(NULL, HELPER_STACK, helper, g, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (!threads[started])
            rc = mproc__w32_last_error(MPROC_ESYS);
    }
    if (rc == 0) {
        HANDLE mine[MAXIMUM_WAIT_OBJECTS];
        mine[0] = any;
        for (DWORD i = 0; i < GROUP; i++)
            mine[i + 1] = h[i];
        rc = wait_small(mine, MAXIMUM_WAIT_OBJECTS, deadline);
    } else if (started) {
        started--; /* the one that failed */
    }
    if (stop)
        SetEvent(stop);
    for (size_t i = 0; i < started; i++) {
        WaitForSingleObject(threads[i], INFINITE);
        CloseHandle(threads[i]);
        if (rc == 0 && gs[i].error)
            rc = mproc__w32_fail(MPROC_ESYS, gs[i].error);
    }
    if (stop)
        CloseHandle(stop);
    if (any)
        CloseHandle(any);
    free(gs);
    free(threads);
    return rc;
}

static int wait_any(const HANDLE *h, size_t n, double deadline)
{
    if (n <= MAXIMUM_WAIT_OBJECTS)
        return wait_small(h, (DWORD)n, deadline);
    return wait_batched(h, n, deadline);
}

static int proc_ended(const be_proc *p) { return WaitForSingleObject(p->process, 0) == WAIT_OBJECT_0; }

/* WaitForMultipleObjects refuses one handle twice: the same process given
 * twice is waited for once. */
static int proc_seen(const be_wait_item *items, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (items[j].proc && items[j].proc->process == items[i].proc->process)
            return 1;
    return 0;
}

/* Ready now, found without starting any I/O: a pipe with data or at its
 * end, an ended process. Sockets are left for probes. */
static int check_now(be_wait_item *items, size_t n, size_t *nready)
{
    for (size_t i = 0; i < n; i++) {
        be_wait_item *it = &items[i];
        int r = it->stream ? mproc__w32_stream_peek(it->stream) : proc_ended(it->proc);
        if (r < 0 && r != MPROC_ENOSYS)
            return r;
        it->ready = r > 0;
        *nready += (size_t)it->ready;
    }
    return 0;
}

/* Starts a probe on every stream not known to be ready and collects the
 * handles to wait on (waiting); else probes just the sockets and message
 * pipes, whose state (an empty message) only a probe tells. */
static int arm(be_wait_item *items, size_t n, int waiting, OVERLAPPED *ov, HANDLE *h, size_t *nh,
               size_t *nready)
{
    for (size_t i = 0; i < n; i++) {
        be_wait_item *it = &items[i];
        if (it->ready || (!waiting && it->stream && it->stream->kind != W32_STREAM_SOCKET &&
                            !it->stream->message))
            continue;
        if (it->proc) {
            if (waiting && !proc_seen(items, i))
                h[(*nh)++] = it->proc->process;
            continue;
        }
        int r = mproc__w32_probe_start(it->stream, &ov[i]);
        if (r < 0)
            return r;
        if (r == 0)
            h[(*nh)++] = ov[i].hEvent;
        it->ready = r;
        *nready += (size_t)r;
    }
    return 0;
}

int mproc__be_wait(be_wait_item *items, size_t n, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    OVERLAPPED *ov = calloc(n, sizeof *ov);
    HANDLE *h = calloc(n, sizeof *h);
    if (!ov || !h) {
        free(ov);
        free(h);
        return MPROC_ENOMEM;
    }
    size_t nh = 0, nready = 0;
    /* Pipes and processes first: if one is ready (or we may not wait),
     * sockets are probed only to set their flags, and nothing waits. */
    int rc = check_now(items, n, &nready);
    if (rc == 0)
        rc = arm(items, n, nready == 0 && timeout != 0, ov, h, &nh, &nready);
    if (rc == 0 && nready == 0 && timeout != 0 && nh > 0)
        rc = wait_any(h, nh, deadline);
    /* Every probe ends here; what was waited for is checked once more. */
    nready = 0;
    for (size_t i = 0; i < n; i++) {
        be_wait_item *it = &items[i];
        if (it->stream && ov[i].hEvent)
            it->ready = mproc__w32_probe_finish(it->stream, &ov[i]);
        else if (it->proc && !it->ready)
            it->ready = proc_ended(it->proc);
        nready += (size_t)it->ready;
    }
    free(ov);
    free(h);
    if (rc)
        return rc;
    return nready > (size_t)INT32_MAX ? INT32_MAX : (int)nready;
}
