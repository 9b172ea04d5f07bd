/* SPDX-License-Identifier: MIT */
/* clock.c - monotonic time, sleeping and millisecond deadlines. */
#include "win32.h"

double mproc__be_monotonic(void)
{
    static LARGE_INTEGER freq; /* constant since boot: a benign race */
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    LARGE_INTEGER now;
    QueryPerformanceCounter(&now);
    /* Split so that large counters keep their sub-second precision. */
    long long f = freq.QuadPart, c = now.QuadPart;
    return (double)(c / f) + (double)(c % f) / (double)f;
}

DWORD mproc__w32_remaining_ms(double deadline)
{
    int64_t ms = mproc__core_timeout_units(mproc__core_remaining(deadline), 1000, INFINITE - 1);
    return ms < 0 ? INFINITE : (DWORD)ms;
}

void mproc__be_sleep(double seconds)
{
    if (!(seconds > 0))
        return;
    double deadline = mproc__core_deadline(seconds);
    DWORD ms;
    while ((ms = mproc__w32_remaining_ms(deadline)) > 0)
        Sleep(ms);
}
