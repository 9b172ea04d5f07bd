/* SPDX-License-Identifier: MIT */
/* job.c - daemon children die with their parent. Each process that starts
 * children owns one job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE and
 * never lets its handle be inherited: when the process ends, however it
 * ends, the handle closes and Windows kills every process in the job. A
 * daemonic child puts itself in the job (mproc__be_child_started) before it runs
 * its target; the other children stay out, as in Python, where only
 * daemons are ended with their parent. Nested jobs need Windows 8 (or
 * wine); where the OS refuses, daemons merely outlive a killed parent. */
#include "win32.h"

static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
static HANDLE job;

static BOOL CALLBACK make_job(PINIT_ONCE o, PVOID param, PVOID *ctx)
{
    (void)o;
    (void)param;
    (void)ctx;
    HANDLE j = CreateJobObjectW(NULL, NULL);
    if (!j)
        return TRUE; /* no job: start children anyway */
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
    ZeroMemory(&info, sizeof info);
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!SetInformationJobObject(j, JobObjectExtendedLimitInformation, &info, sizeof info)) {
        CloseHandle(j);
        return TRUE;
    }
    job = j;
    return TRUE;
}

HANDLE mproc__w32_daemon_job(void)
{
    InitOnceExecuteOnce(&once, make_job, NULL, NULL);
    return job;
}
