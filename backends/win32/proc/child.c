/* SPDX-License-Identifier: MIT */
/* child.c - the spawned child's side of the spawn channel: recognise the
 * marker, read the payload, segments and streams, and report whether the
 * target was found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32.h"

static HANDLE channel = INVALID_HANDLE_VALUE; /* to the parent, until mproc__be_child_started */
static HANDLE job;                            /* the parent's daemon job, or NULL */

/* A spawned child that cannot read its payload has nothing to run. */
static void give_up(const char *why, int rc)
{
    fprintf(stderr, "mproc: spawned child: %s: %s\n", why, mproc_strerror(rc));
    mproc__be_exit(BE_CHILD_BADTARGET);
}

static HANDLE parse_handle(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 16);
    if (!*s || *end || v == 0)
        return NULL;
    return (HANDLE)(uintptr_t)v;
}

/* The shared memory segments that follow the payload. */
static void read_segments(HANDLE h)
{
    uint64_t n;
    int rc = mproc__w32_read_full(h, &n, sizeof n);
    if (rc)
        give_up("no segment list from the parent", rc);
    if (n > W32_SPAWN_SHMS_MAX)
        give_up("segment list too long", MPROC_EMSGSIZE);
    w32_spawn_shm *list = n ? malloc((size_t)n * sizeof *list) : NULL;
    if (n && !list)
        give_up("segment list", MPROC_ENOMEM);
    if (n && (rc = mproc__w32_read_full(h, list, (size_t)n * sizeof *list)))
        give_up("segment list cut short", rc);
    mproc__w32_shm_set_inherited(list, (size_t)n);
}

static void read_payload(HANDLE h, void **payload, size_t *len)
{
    w32_spawn_hello hello;
    uint64_t n;
    int rc = mproc__w32_read_full(h, &hello, sizeof hello);
    if (!rc)
        rc = mproc__w32_read_full(h, &n, sizeof n);
    if (rc)
        give_up("no payload from the parent", rc);
    if (n > BE_PAYLOAD_MAX)
        give_up("payload too large", MPROC_EMSGSIZE);
    void *buf = malloc(n ? (size_t)n : 1);
    if (!buf)
        give_up("payload", MPROC_ENOMEM);
    if ((rc = mproc__w32_read_full(h, buf, (size_t)n)))
        give_up("payload cut short", rc);
    read_segments(h);
    if ((rc = mproc__w32_streams_import(h)) != 0)
        give_up("no streams from the parent", rc);
    job = (HANDLE)(uintptr_t)hello.job;
    *payload = buf;
    *len = (size_t)n;
}

int mproc__w32_child_init(int *argc, char ***argv, void **payload, size_t *len)
{
    char **av = *argv;
    if (*argc < 3 || !av || strcmp(av[1], W32_SPAWN_MARKER) != 0)
        return BE_ROLE_MAIN;
    HANDLE h = parse_handle(av[2]);
    if (!h)
        return BE_ROLE_MAIN; /* not our marker after all */
    if (GetFileType(h) != FILE_TYPE_PIPE)
        give_up("bad channel handle", mproc__w32_last_error(MPROC_ESYS));
    /* Ours alone: processes we start must not inherit it. */
    SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0);
    read_payload(h, payload, len);
    channel = h;
    return BE_ROLE_CHILD; /* the core drops our BE_SPAWN_ARGS arguments */
}

void mproc__be_child_started(int status)
{
    if (channel == INVALID_HANDLE_VALUE)
        return;
    if (job) {
        /* Daemons join the parent's job before their target runs (job.c). */
        if (status == 0 && mproc_current_daemon())
            AssignProcessToJobObject(job, GetCurrentProcess());
        CloseHandle(job);
        job = NULL;
    }
    w32_start_report r = {status, status ? (uint32_t)mproc_last_os_error() : 0};
    mproc__w32_write_full(channel, &r, sizeof r);
    CloseHandle(channel);
    channel = INVALID_HANDLE_VALUE;
}
