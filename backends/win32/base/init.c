/* SPDX-License-Identifier: MIT */
/* init.c - Windows backend start-up (the program path for re-execution,
 * recognising a spawned child) and small system queries. */
#include <stdio.h>
#include <stdlib.h>

#include "win32.h"

static wchar_t *exe_path;
static SRWLOCK core_mu = SRWLOCK_INIT;

int mproc__be_interface_version(void) { return BE_INTERFACE_VERSION; }

const char *mproc__be_name(void) { return "win32"; }

const wchar_t *mproc__w32_exe_path(void) { return exe_path; }

int mproc__be_init(int *argc, char ***argv, void **payload, size_t *len)
{
    /* The running image itself, whatever argv[0] says. */
    exe_path = mproc__w32_module_path(NULL);
    if (!argc || !argv || !*argv)
        return BE_ROLE_MAIN;
    return mproc__w32_child_init(argc, argv, payload, len);
}

void mproc__be_exit(int code)
{
    fflush(NULL);
    ExitProcess((UINT)code); /* Windows keeps all 32 bits */
}

/* Nothing of ours outlives the process: kernel objects close with their
 * last handle, Winsock (wsa.c) stays up until ExitProcess. */
void mproc__be_shutdown(void) {}

long mproc__be_getpid(void) { return (long)GetCurrentProcessId(); }

/* Thread ids are unique among the live threads of the whole system. */
uint64_t mproc__be_thread_id(void) { return GetCurrentThreadId(); }

static int popcount(DWORD_PTR m)
{
    int n = 0;
    for (; m; m &= m - 1)
        n++;
    return n;
}

int mproc__be_cpu_count(void)
{
    DWORD_PTR mine, all;
    if (GetProcessAffinityMask(GetCurrentProcess(), &mine, &all) && mine) {
        /* The masks cover one processor group; a process free to use the
         * whole group may run on every group (Windows 11 spreads them). */
        if (mine == all && GetActiveProcessorGroupCount() > 1) {
            DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
            if (n > 0)
                return (int)n;
        }
        return popcount(mine);
    }
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors > 0 ? (int)si.dwNumberOfProcessors : 1;
}

void mproc__be_core_lock(void) { AcquireSRWLockExclusive(&core_mu); }

void mproc__be_core_unlock(void) { ReleaseSRWLockExclusive(&core_mu); }
