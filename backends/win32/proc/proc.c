/* SPDX-License-Identifier: MIT */
/* proc.c - starting, waiting for and ending children. Windows has one way
 * to start a process, so spawn is the only start method. */
#include <stdlib.h>

#include "win32.h"

int mproc__be_method_supported(int method) { return method == BE_SPAWN; }

int mproc__be_proc_start(const be_start *how, be_proc **out)
{
    if (how->method != BE_SPAWN)
        return MPROC_ENOSYS;
    be_proc *bp = calloc(1, sizeof *bp);
    if (!bp)
        return MPROC_ENOMEM;
    int rc = mproc__w32_spawn_start(how, bp);
    if (rc) {
        free(bp);
        return rc;
    }
    *out = bp;
    return 0;
}

long mproc__be_proc_pid(const be_proc *bp) { return (long)bp->pid; }

/* Our private TerminateProcess codes read as the POSIX signal numbers. */
static int exit_code(DWORD code)
{
    if (code == W32_EXIT_TERMINATED)
        return -BE_TERMINATE;
    if (code == W32_EXIT_KILLED)
        return -BE_KILL;
    return (int)code;
}

int mproc__be_proc_wait(be_proc *bp, double timeout, int *exitcode)
{
    double deadline = mproc__core_deadline(timeout);
    for (;;) {
        DWORD r = WaitForSingleObject(bp->process, mproc__w32_remaining_ms(deadline));
        if (r == WAIT_OBJECT_0)
            break;
        if (r == WAIT_FAILED)
            return mproc__w32_last_error(MPROC_ESYS);
        if (mproc__w32_remaining_ms(deadline) == 0)
            return MPROC_ETIMEDOUT; /* else a very long timeout was cut in pieces */
    }
    DWORD code;
    if (!GetExitCodeProcess(bp->process, &code))
        return mproc__w32_last_error(MPROC_ESYS);
    *exitcode = exit_code(code);
    return 0;
}

int mproc__be_proc_signal(be_proc *bp, int how)
{
    if (WaitForSingleObject(bp->process, 0) == WAIT_OBJECT_0)
        return 0; /* already exited */
    UINT code = how == BE_KILL ? W32_EXIT_KILLED : W32_EXIT_TERMINATED;
    if (!TerminateProcess(bp->process, code)) {
        DWORD err = GetLastError();
        /* It may have exited meanwhile (then access is denied). */
        if (WaitForSingleObject(bp->process, 0) == WAIT_OBJECT_0)
            return 0;
        return mproc__w32_fail(MPROC_ESYS, err);
    }
    return 0;
}

void mproc__be_proc_free(be_proc *bp)
{
    if (!bp)
        return;
    CloseHandle(bp->process);
    free(bp);
}

/* A process id stays taken while any handle to the process is open, so a
 * pid that opens and is not signalled is the process we mean (or one that
 * reused the id after every handle to ours was closed). */
int mproc__be_pid_alive(long pid)
{
    if (pid <= 0)
        return 0;
    if ((DWORD)pid == GetCurrentProcessId())
        return 1;
    HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
    if (!h)
        return GetLastError() == ERROR_INVALID_PARAMETER ? 0 : 1; /* else it exists: access denied */
    DWORD r = WaitForSingleObject(h, 0);
    CloseHandle(h);
    return r == WAIT_OBJECT_0 ? 0 : 1;
}
