/* SPDX-License-Identifier: MIT */
/* owner.c - the identity of a be_mutex holder and how others learn that it
 * died. Each thread that takes a be_mutex first creates a named kernel
 * mutex, Local\mproc-t-TID-TAG, owned by it for life; its owner word is
 * TAG << 32 | TID (TAG random and non-zero, so a reused thread id gives a
 * new word). When the thread ends, that mutex is abandoned (or, once its
 * last handle is gone, no longer exists): a waiter that opens it by name
 * and can take it knows the holder is dead. Closing it at thread exit
 * keeps exited threads from piling up handles. */
#include <stdatomic.h>

#include "win32.h"

/* This thread's owner word is its TLS value (read on every lock and
 * unlock: TlsGetValue is far cheaper than mingw's emulated _Thread_local);
 * its life mutex is its FLS value, closed by the FLS callback at exit.
 * (A program that deletes, while the thread lives on, the fiber that first
 * took a be_mutex would thereby declare its holder dead: mproc does not
 * support fibers.) */
static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
static _Atomic DWORD tls_index = TLS_OUT_OF_INDEXES;
static DWORD fls_index = FLS_OUT_OF_INDEXES;

static void WINAPI thread_gone(void *life)
{
    if (life)
        CloseHandle(life);
}

static BOOL CALLBACK make_indexes(PINIT_ONCE o, PVOID param, PVOID *ctx)
{
    (void)o;
    (void)param;
    (void)ctx;
    fls_index = FlsAlloc(thread_gone); /* none: the handle stays until exit */
    atomic_store(&tls_index, TlsAlloc());
    return TRUE;
}

static uint64_t peek(void)
{
    /* TLS_OUT_OF_INDEXES before the first use: TlsGetValue gives NULL. */
    return (uint64_t)(uintptr_t)TlsGetValue(atomic_load_explicit(&tls_index, memory_order_relaxed));
}

static void life_name(wchar_t *out, uint64_t word) { mproc__w32_object_name(out, "t", (uint32_t)word, word >> 32); }

W32_NOINLINE static uint64_t make_self(void)
{
    InitOnceExecuteOnce(&once, make_indexes, NULL, NULL);
    if (atomic_load(&tls_index) == TLS_OUT_OF_INDEXES) {
        mproc__core_set_os_error(ERROR_NO_MORE_ITEMS);
        return 0;
    }
    uint64_t tid = GetCurrentThreadId();
    for (int tries = 0; tries < 8; tries++) {
        uint32_t tag;
        if (mproc__be_random(&tag, sizeof tag))
            return 0;
        if (tag == 0)
            continue;
        uint64_t word = (uint64_t)tag << 32 | tid;
        wchar_t name[W32_NAME_MAX];
        life_name(name, word);
        HANDLE h = CreateMutexW(NULL, TRUE, name);
        if (!h) {
            mproc__core_set_os_error((int)GetLastError());
            return 0;
        }
        if (GetLastError() == ERROR_ALREADY_EXISTS) { /* not ours, not owned: another tag */
            CloseHandle(h);
            continue;
        }
        if (!TlsSetValue(atomic_load(&tls_index), (void *)(uintptr_t)word)) {
            mproc__core_set_os_error((int)GetLastError());
            CloseHandle(h);
            return 0;
        }
        if (fls_index != FLS_OUT_OF_INDEXES)
            FlsSetValue(fls_index, h);
        return word;
    }
    mproc__core_set_os_error(ERROR_ALREADY_EXISTS);
    return 0;
}

uint64_t mproc__w32_owner_self(void)
{
    uint64_t w = peek();
    return w ? w : make_self();
}

uint64_t mproc__w32_owner_peek(void) { return peek(); }

int mproc__w32_owner_watch(uint64_t owner, HANDLE *life)
{
    *life = NULL;
    if (owner == peek())
        return W32_OWNER_ALIVE; /* kernel mutexes are recursive: never test our own */
    wchar_t name[W32_NAME_MAX];
    life_name(name, owner);
    HANDLE h = OpenMutexW(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, name);
    if (!h)
        return GetLastError() == ERROR_FILE_NOT_FOUND ? W32_OWNER_DEAD : W32_OWNER_UNKNOWN;
    DWORD r = WaitForSingleObject(h, 0);
    if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED) {
        mproc__w32_owner_dead(h);
        CloseHandle(h);
        return W32_OWNER_DEAD;
    }
    *life = h;
    return W32_OWNER_ALIVE;
}

void mproc__w32_owner_dead(HANDLE life) { ReleaseMutex(life); }
