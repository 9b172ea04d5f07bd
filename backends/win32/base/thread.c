/* SPDX-License-Identifier: MIT */
/* thread.c - process-local threads, mutexes and doorbells for the core
 * (pool result handler). */
#include <process.h>
#include <stdlib.h>

#include "win32.h"

struct be_thread {
    HANDLE h;
    void (*fn)(void *);
    void *arg;
};

static unsigned __stdcall thread_main(void *p)
{
    be_thread *t = p;
    t->fn(t->arg);
    return 0;
}

int mproc__be_thread_start(void (*fn)(void *), void *arg, be_thread **out)
{
    be_thread *t = calloc(1, sizeof *t);
    if (!t)
        return MPROC_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    /* _beginthreadex, not CreateThread: the thread uses the C runtime. */
    uintptr_t h = _beginthreadex(NULL, 0, thread_main, t, 0, NULL);
    if (!h) {
        free(t);
        return mproc__w32_last_error(MPROC_ESYS);
    }
    t->h = (HANDLE)h;
    *out = t;
    return 0;
}

void mproc__be_thread_join(be_thread *t)
{
    if (!t)
        return;
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
    free(t);
}

struct be_tlock {
    SRWLOCK lock;
};

int mproc__be_tlock_new(be_tlock **out)
{
    be_tlock *l = malloc(sizeof *l);
    if (!l)
        return MPROC_ENOMEM;
    InitializeSRWLock(&l->lock);
    *out = l;
    return 0;
}

void mproc__be_tlock_free(be_tlock *l) { free(l); }

void mproc__be_tlock_lock(be_tlock *l) { AcquireSRWLockExclusive(&l->lock); }

void mproc__be_tlock_unlock(be_tlock *l) { ReleaseSRWLockExclusive(&l->lock); }

/* An auto-reset event: set while nobody waits, it stays set for the next
 * wait, and one wait consumes it. */
struct be_bell {
    HANDLE ev;
};

int mproc__be_bell_new(be_bell **out)
{
    be_bell *b = malloc(sizeof *b);
    if (!b)
        return MPROC_ENOMEM;
    b->ev = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (!b->ev) {
        free(b);
        return mproc__w32_last_error(MPROC_ESYS);
    }
    *out = b;
    return 0;
}

void mproc__be_bell_free(be_bell *b)
{
    if (!b)
        return;
    CloseHandle(b->ev);
    free(b);
}

void mproc__be_bell_ring(be_bell *b) { SetEvent(b->ev); }

int mproc__be_bell_wait(be_bell *b, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    for (;;) {
        DWORD r = WaitForSingleObject(b->ev, mproc__w32_remaining_ms(deadline));
        if (r == WAIT_OBJECT_0)
            return 0;
        if (r != WAIT_TIMEOUT)
            return mproc__w32_last_error(MPROC_ESYS);
        if (mproc__core_remaining(deadline) == 0)
            return MPROC_ETIMEDOUT;
    }
}

void mproc__be_ignore_interrupts(void) { SetConsoleCtrlHandler(NULL, TRUE); }
