/* SPDX-License-Identifier: MIT */
/* alive.c - mproc__be_pid_alive: does a process still run? Our own children are
 * told apart from zombies by mproc__px_pid_gone (waitid WNOWAIT); anyone else's
 * zombie (a sibling its parent has not reaped yet) only where /proc shows
 * process states. */
#include <stdio.h>
#include <string.h>

#include "posix.h"

#if MPROC_HAVE_PROC_PID_STAT
/* 1 if /proc/<pid>/stat says zombie or dead; 0 otherwise or unreadable. */
static int proc_zombie(long pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) S ...": comm may hold anything, so look after the last ')'. */
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}
#endif

int mproc__be_pid_alive(long pid)
{
    if (pid <= 0)
        return 0;
    if (pid == mproc__be_getpid())
        return 1;
    if (mproc__px_pid_gone((pid_t)pid))
        return 0;
#if MPROC_HAVE_PROC_PID_STAT
    if (proc_zombie(pid))
        return 0;
#endif
    return 1;
}
