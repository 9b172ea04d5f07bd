/* SPDX-License-Identifier: MIT */
/* npipe.c - listeners and clients on Windows named pipes (\\.\pipe\NAME),
 * as CPython's PipeListener and PipeClient: message-mode pipes, one pipe
 * message per connection message and no length header (backend.h, message
 * streams), so Python's AF_PIPE peers understand us.
 *
 * A listener always keeps one instance waiting, so that clients queue on it
 * the way they queue in a socket's backlog; accepting hands out that
 * instance once a client is there and makes the next one. Remote clients
 * are refused. Accepts from several threads take turns on a kernel mutex,
 * which, unlike a lock of ours, can be waited for with a timeout. */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "w32net.h"

#define PIPE_BUFFER 65536
#define PIPE_PREFIX "\\\\.\\pipe\\"
/* How long a client waits for a busy pipe in one go before trying again. */
#define BUSY_WAIT_MS 50

struct w32_npipe {
    wchar_t *name;
    HANDLE waiting; /* the instance the next client gets, or INVALID_HANDLE_VALUE */
    HANDLE turn;    /* mutex: one accept at a time */
    HANDLE event;   /* for ConnectNamedPipe, used by whoever has the turn */
};

/* A pipe name as UTF-16; NULL (MPROC_EINVAL) unless it is \\.\pipe\SOMETHING. */
static wchar_t *pipe_name(const char *name, int *rc)
{
    size_t n = strlen(PIPE_PREFIX);
    wchar_t *w = NULL;
    if (strlen(name) > n && _strnicmp(name, PIPE_PREFIX, n) == 0)
        w = mproc__w32_wide(name);
    *rc = w ? 0 : MPROC_EINVAL;
    return w;
}

static HANDLE new_instance(const wchar_t *name, int first)
{
    DWORD open = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
    DWORD mode = PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
    return CreateNamedPipeW(name, open, mode, PIPE_UNLIMITED_INSTANCES, PIPE_BUFFER, PIPE_BUFFER, 0, NULL);
}

void mproc__w32_npipe_close(w32_npipe *l)
{
    if (!l)
        return;
    if (l->waiting != INVALID_HANDLE_VALUE)
        CloseHandle(l->waiting);
    if (l->turn)
        CloseHandle(l->turn);
    if (l->event)
        CloseHandle(l->event);
    free(l->name);
    free(l);
}

int mproc__w32_npipe_listen(const char *name, w32_npipe **out)
{
    int rc;
    wchar_t *w = pipe_name(name, &rc);
    if (!w)
        return rc;
    w32_npipe *l = calloc(1, sizeof *l);
    if (!l) {
        free(w);
        return MPROC_ENOMEM;
    }
    l->name = w;
    /* The first instance fails (access denied) if the name is taken; wine
     * ignores FILE_FLAG_FIRST_PIPE_INSTANCE, so ask first too: a pipe with
     * an idle instance (TRUE) or only busy ones (timeout) is someone's. */
    if (WaitNamedPipeW(w, 1) || GetLastError() == ERROR_SEM_TIMEOUT) {
        mproc__w32_npipe_close(l);
        return mproc__w32_fail(MPROC_ESYS, ERROR_ACCESS_DENIED);
    }
    l->waiting = new_instance(w, 1);
    if (l->waiting == INVALID_HANDLE_VALUE || !(l->turn = CreateMutexW(NULL, FALSE, NULL)) ||
        !(l->event = CreateEventW(NULL, TRUE, FALSE, NULL))) {
        rc = mproc__w32_last_error(MPROC_ESYS);
        mproc__w32_npipe_close(l);
        return rc;
    }
    *out = l;
    return 0;
}

/* Waits for a client on the waiting instance (ours: we have the turn). */
static int await_client(w32_npipe *l, double deadline)
{
    if (l->waiting == INVALID_HANDLE_VALUE && (l->waiting = new_instance(l->name, 0)) == INVALID_HANDLE_VALUE)
        return mproc__w32_last_error(MPROC_ESYS);
    OVERLAPPED ov;
    ZeroMemory(&ov, sizeof ov);
    ov.hEvent = l->event;
    ResetEvent(l->event);
    if (ConnectNamedPipe(l->waiting, &ov))
        return 0;
    DWORD err = GetLastError();
    /* Connected before we asked; or connected, wrote and left already
     * (what it wrote can still be read: CPython accepts it too). */
    if (err == ERROR_PIPE_CONNECTED || err == ERROR_NO_DATA)
        return 0;
    if (err != ERROR_IO_PENDING)
        return mproc__w32_fail(MPROC_ESYS, err);
    DWORD w, why = 0;
    while ((w = WaitForSingleObject(l->event, mproc__w32_remaining_ms(deadline))) == WAIT_TIMEOUT &&
           mproc__w32_remaining_ms(deadline) > 0)
        ; /* a very long timeout cut in pieces */
    if (w != WAIT_OBJECT_0) {
        why = w == WAIT_FAILED ? GetLastError() : ERROR_TIMEOUT;
        CancelIoEx(l->waiting, &ov); /* the instance stays, for the next accept */
    }
    DWORD ignored;
    if (GetOverlappedResult(l->waiting, &ov, &ignored, TRUE))
        return 0; /* a client came while we gave up */
    err = GetLastError();
    if (why == ERROR_TIMEOUT && err == ERROR_OPERATION_ABORTED)
        return MPROC_ETIMEDOUT;
    return mproc__w32_fail(MPROC_ESYS, why && err == ERROR_OPERATION_ABORTED ? why : err);
}

int mproc__w32_npipe_accept(w32_npipe *l, double timeout, be_stream **out)
{
    double deadline = mproc__core_deadline(timeout);
    DWORD w;
    while ((w = WaitForSingleObject(l->turn, mproc__w32_remaining_ms(deadline))) == WAIT_TIMEOUT &&
           mproc__w32_remaining_ms(deadline) > 0)
        ;
    if (w == WAIT_TIMEOUT)
        return MPROC_ETIMEDOUT;
    if (w == WAIT_FAILED)
        return mproc__w32_last_error(MPROC_ESYS);
    /* WAIT_ABANDONED too: a thread that ended holding the turn left the
     * listener consistent (nothing is half-done between calls). */
    int rc = await_client(l, deadline);
    HANDLE h = l->waiting;
    if (rc == 0)
        l->waiting = new_instance(l->name, 0); /* if it fails, the next accept tries again */
    ReleaseMutex(l->turn);
    return rc ? rc : mproc__w32_stream_wrap(h, W32_STREAM_PIPE, out);
}

int mproc__w32_npipe_connect(const char *name, double timeout, be_stream **out)
{
    int rc;
    wchar_t *w = pipe_name(name, &rc);
    if (!w)
        return rc;
    double deadline = mproc__core_deadline(timeout);
    for (;;) {
        HANDLE h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                               FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            DWORD mode = PIPE_READMODE_MESSAGE; /* a client starts in byte mode */
            if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
                rc = mproc__w32_last_error(MPROC_ESYS);
                CloseHandle(h);
            } else {
                rc = mproc__w32_stream_wrap(h, W32_STREAM_PIPE, out);
            }
            break;
        }
        DWORD err = GetLastError(), ms = mproc__w32_remaining_ms(deadline);
        if (err != ERROR_PIPE_BUSY) { /* e.g. nobody listening: not found */
            rc = mproc__w32_fail(MPROC_ESYS, err);
            break;
        }
        if (ms == 0) {
            rc = MPROC_ETIMEDOUT; /* every instance busy */
            break;
        }
        /* Its result does not matter: CreateFileW says what happened. */
        WaitNamedPipeW(w, ms < BUSY_WAIT_MS ? ms : BUSY_WAIT_MS);
    }
    free(w);
    return rc;
}
