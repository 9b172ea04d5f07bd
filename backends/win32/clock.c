/* clock.c - monotonic time, sleeping and millisecond deadlines. */
#include "win32.h"

double be_monotonic(void)
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

DWORD w32_remaining_ms(double deadline)
{
    double rem = core_remaining(deadline);
    if (rem < 0)
        return INFINITE;
    double ms = rem * 1000.0 + 0.999; /* round up: never wake before the deadline */
    return ms >= (double)(INFINITE - 1) ? INFINITE - 1 : (DWORD)ms;
}

void be_sleep(double seconds)
{
    if (!(seconds > 0))
        return;
    double deadline = core_deadline(seconds);
    DWORD ms;
    while ((ms = w32_remaining_ms(deadline)) > 0)
        Sleep(ms);
}
