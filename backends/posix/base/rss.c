/* SPDX-License-Identifier: MIT */
/* rss.c - this process's resident set size (mproc__be_rss), for a pool
 * whose workers have a memory limit (mproc_pool_opts.max_worker_rss). */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "posix.h"
#if MPROC_HAVE_MACH_TASK_INFO
#include <mach/mach.h>
#endif

int mproc__be_rss(uint64_t *bytes)
{
    if (!bytes)
        return MPROC_EINVAL;
#if MPROC_HAVE_PROC_SELF_STATM
    /* Linux: "size resident shared ..." in pages; the current figure */
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        unsigned long long size = 0, res = 0;
        int n = fscanf(f, "%llu %llu", &size, &res);
        fclose(f);
        long page = sysconf(_SC_PAGESIZE);
        if (n == 2 && page > 0) {
            *bytes = (uint64_t)res * (uint64_t)page;
            return 0;
        }
    }
#endif
#if MPROC_HAVE_MACH_TASK_INFO
    mach_task_basic_info_data_t info;
    mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
    if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, (task_info_t)&info, &count) == KERN_SUCCESS) {
        *bytes = (uint64_t)info.resident_size;
        return 0;
    }
#endif
    /* Elsewhere only the peak is known (kilobytes, except on macOS, which
     * took the Mach path above): a worker that once grew past the limit is
     * replaced, which is what the limit is for. */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        mproc__core_set_os_error(errno);
        return MPROC_ESYS;
    }
    *bytes = (uint64_t)ru.ru_maxrss * 1024u;
    return 0;
}
