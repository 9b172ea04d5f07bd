/* SPDX-License-Identifier: MIT */
/* shmnames.h - mproc's names in /dev/shm, for the tests that check that a
 * failure or a kill left none behind (POSIX).
 *
 * /dev/shm is the machine's, and another test run beside this one makes
 * names of its own; so a check counts only names that are new since a
 * snapshot and stay: "mproc-PID-..." names (an anonymous segment's, which
 * live only between shm_open and shm_unlink) of this process or of one
 * that is gone, and new "psm_..." names (a named segment's, whose maker
 * the name does not tell) that are still there after a grace period in
 * which the ones of a concurrent run come and go. */
#ifndef MPROC_TEST_SHMNAMES_H
#define MPROC_TEST_SHMNAMES_H

#ifndef _WIN32
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define SHM_SNAPSHOT_MAX 512

typedef struct shm_snapshot {
    int n, overflow;
    char names[SHM_SNAPSHOT_MAX][256];
} shm_snapshot;

/* Could this name be a leak of ours? */
static inline int shm_name_ours(const char *name)
{
    long pid = 0;
    if (sscanf(name, "mproc-%ld-", &pid) == 1 && pid > 0)
        return pid == (long)getpid() || kill((pid_t)pid, 0) != 0;
    return strncmp(name, "psm_", 4) == 0;
}

static inline void shm_snapshot_take(shm_snapshot *s)
{
    s->n = s->overflow = 0;
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "mproc-", 6) != 0 && strncmp(e->d_name, "psm_", 4) != 0)
            continue;
        if (s->n < SHM_SNAPSHOT_MAX)
            snprintf(s->names[s->n++], sizeof s->names[0], "%s", e->d_name);
        else
            s->overflow = 1;
    }
    if (d)
        closedir(d);
}

static inline int shm_snapshot_has(const shm_snapshot *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return 1;
    return s->overflow; /* a full snapshot cannot tell: not counted */
}

/* Our names now that `before` did not have, printed. */
static inline int shm_new_names(const shm_snapshot *before, int print)
{
    int n = 0;
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (shm_name_ours(e->d_name) && !shm_snapshot_has(before, e->d_name)) {
            if (print)
                fprintf(stderr, "\n  /dev/shm/%s is new and stayed", e->d_name);
            n++;
        }
    if (d)
        closedir(d);
    return n;
}

/* The names new since `before` that are still there after up to `grace`
 * seconds (0 as soon as none is). */
static inline int shm_leaked_since(const shm_snapshot *before, double grace)
{
    for (double waited = 0;; waited += 0.05) {
        if (shm_new_names(before, 0) == 0)
            return 0;
        if (waited >= grace)
            return shm_new_names(before, 1);
        test_sleep(0.05);
    }
}
#endif

#endif
