/* SPDX-License-Identifier: MIT */
/* nap.h - a portable sleep for the examples (Python's time.sleep). */
#ifndef EXAMPLES_NAP_H
#define EXAMPLES_NAP_H

#ifdef _WIN32
#include <windows.h>
static void nap(double seconds)
{
    Sleep((DWORD)(seconds * 1000));
}
#else
#include <time.h> /* nanosleep: examples/CMakeLists.txt defines _POSIX_C_SOURCE */
static void nap(double seconds)
{
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0)
        ;
}
#endif

#endif
