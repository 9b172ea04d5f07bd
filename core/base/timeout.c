/* SPDX-License-Identifier: MIT */
/* timeout.c - timeouts and deadlines (backend.h): what a timeout means,
 * and its one conversion to the units an OS call takes. */
#include <stdint.h>

#include "backend.h"

int mproc__core_timeout_invalid(double timeout) { return timeout != timeout; }

/* Forever: negative or beyond CORE_TIMEOUT_MAX; NaN is not forever. */
static int forever(double timeout) { return timeout < 0 || timeout > CORE_TIMEOUT_MAX; }

double mproc__core_deadline(double timeout)
{
    if (forever(timeout))
        return -1.0;
    return mproc__be_monotonic() + (timeout > 0 ? timeout : 0.0); /* NaN: now */
}

double mproc__core_remaining(double deadline)
{
    if (deadline < 0)
        return -1.0;
    double r = deadline - mproc__be_monotonic();
    return r > 0 ? r : 0.0;
}

int64_t mproc__core_timeout_units(double timeout, int64_t per_second, int64_t max)
{
    if (forever(timeout))
        return -1;
    if (!(timeout > 0)) /* 0, and NaN */
        return 0;
    double units = timeout * (double)per_second;
    if (units >= (double)max) /* also keeps the cast below defined */
        return max;
    int64_t n = (int64_t)units;
    return (double)n < units ? n + 1 : n;
}
