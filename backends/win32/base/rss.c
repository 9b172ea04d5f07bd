/* SPDX-License-Identifier: MIT */
/* rss.c - this process's resident set size (mproc__be_rss): the working
 * set, for a pool whose workers have a memory limit
 * (mproc_pool_opts.max_worker_rss). Links psapi. */
#include "win32.h"

#include <psapi.h>

int mproc__be_rss(uint64_t *bytes)
{
    if (!bytes)
        return MPROC_EINVAL;
    PROCESS_MEMORY_COUNTERS pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc)) {
        mproc__core_set_os_error((int)GetLastError());
        return MPROC_ESYS;
    }
    *bytes = (uint64_t)pmc.WorkingSetSize;
    return 0;
}
