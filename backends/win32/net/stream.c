/* SPDX-License-Identifier: MIT */
/* stream.c - byte streams (backend.h): the object, its errors, readiness.
 * Every stream is overlapped (a named pipe end or a socket), so that each
 * read, write and wait can be bounded and abandoned; anonymous pipes could
 * not be. Waiting for readiness is a zero-byte read, as in CPython's
 * wait() on Windows: it completes when data arrives or the stream ends and
 * consumes nothing, so it leaves the stream as it was for whoever reads
 * it (but on a message pipe it does consume an empty message, which the
 * stream then counts). A pipe that need not be waited for is peeked at. */
#include <stdlib.h>

#include "w32net.h"

static void close_os(HANDLE h, int kind)
{
    if (kind == W32_STREAM_SOCKET)
        closesocket((SOCKET)h);
    else
        CloseHandle(h);
}

static void close_events(be_stream *s)
{
    for (int i = 0; i < W32_EV_COUNT; i++)
        if (s->event[i])
            CloseHandle(s->event[i]);
}

int mproc__w32_stream_wrap(HANDLE h, int kind, be_stream **out)
{
    be_stream *s = calloc(1, sizeof *s);
    int rc = s ? 0 : MPROC_ENOMEM;
    for (int i = 0; rc == 0 && i < W32_EV_COUNT; i++)
        if (!(s->event[i] = CreateEventW(NULL, TRUE, FALSE, NULL)))
            rc = mproc__w32_last_error(MPROC_ESYS);
    if (rc) {
        if (s) {
            close_events(s);
            free(s);
        }
        close_os(h, kind);
        return rc;
    }
    s->h = h;
    s->kind = kind;
    DWORD flags = 0;
    s->message = kind == W32_STREAM_PIPE && GetNamedPipeInfo(h, &flags, NULL, NULL, NULL) &&
                 (flags & PIPE_TYPE_MESSAGE);
    *out = s;
    return 0;
}

void mproc__be_stream_close(be_stream *s)
{
    if (!s)
        return;
    close_os(s->h, s->kind);
    close_events(s);
    free(s);
}

intptr_t mproc__be_stream_os_handle(const be_stream *s) { return (intptr_t)s->h; }

int mproc__be_stream_is_message(const be_stream *s) { return s->message; }

int mproc__w32_stream_error(DWORD err)
{
    switch (err) {
    case ERROR_BROKEN_PIPE:        /* the other end is closed */
    case ERROR_NO_DATA:            /* writing to a pipe being closed */
    case ERROR_PIPE_NOT_CONNECTED: /* the client went away */
    case ERROR_HANDLE_EOF:
    case ERROR_NETNAME_DELETED:    /* a socket reset, as GetOverlappedResult says it */
    case ERROR_CONNECTION_ABORTED:
    case WSAECONNRESET:
    case WSAECONNABORTED:
    case WSAENETRESET:
    case WSAESHUTDOWN:
    case WSAENOTCONN:
        mproc__core_set_os_error((int)err);
        return MPROC_EOS;
    case ERROR_TIMEOUT:
        return MPROC_ETIMEDOUT;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case WSAENOBUFS:
        return mproc__w32_fail(MPROC_ENOMEM, err);
    default:
        return mproc__w32_fail(MPROC_ESYS, err);
    }
}

/* ------------------------------------------------------------ readiness */

/* The probe event if free, else a new one; NULL on failure (recorded). */
static HANDLE probe_event(be_stream *s)
{
    if (InterlockedExchange(&s->probe_busy, 1) == 0)
        return s->event[W32_EV_PROBE];
    HANDLE e = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!e)
        mproc__w32_last_error(MPROC_ESYS);
    return e;
}

static void probe_event_done(be_stream *s, HANDLE e)
{
    if (e == s->event[W32_EV_PROBE])
        InterlockedExchange(&s->probe_busy, 0);
    else
        CloseHandle(e);
}

int mproc__w32_probe_start(be_stream *s, OVERLAPPED *ov)
{
    ZeroMemory(ov, sizeof *ov);
    if (!(ov->hEvent = probe_event(s)))
        return MPROC_ESYS;
    DWORD err = 0;
    char none;
    if (s->kind == W32_STREAM_SOCKET) {
        WSABUF b = {0, &none};
        DWORD flags = 0;
        ResetEvent(ov->hEvent); /* see streamio.c */
        if (WSARecv((SOCKET)s->h, &b, 1, NULL, &flags, ov, NULL) != 0)
            err = (DWORD)WSAGetLastError();
    } else if (!ReadFile(s->h, &none, 0, NULL, ov)) {
        err = GetLastError();
    }
    if (err == ERROR_IO_PENDING) /* == WSA_IO_PENDING */
        return 0;
    if (err == 0 && s->message)
        InterlockedIncrement(&s->empty_msgs);
    /* Done at once: data, or the end (a broken pipe, a reset): both ready.
     * Nothing is pending, so the event can go back. */
    probe_event_done(s, ov->hEvent);
    ov->hEvent = NULL;
    if (err && err != ERROR_MORE_DATA && mproc__w32_stream_error(err) != MPROC_EOS)
        return MPROC_ESYS; /* recorded */
    return 1;
}

int mproc__w32_probe_finish(be_stream *s, OVERLAPPED *ov)
{
    if (!ov->hEvent)
        return 1; /* completed in mproc__w32_probe_start */
    if (!HasOverlappedIoCompleted(ov))
        CancelIoEx(s->h, ov);
    /* The OVERLAPPED must outlive the I/O: wait until it is really over.
     * Cancelled: not ready; completed (data, or an end): ready. */
    DWORD n;
    int done = 1;
    if (GetOverlappedResult(s->h, ov, &n, TRUE)) {
        if (s->message)
            InterlockedIncrement(&s->empty_msgs);
    } else {
        done = GetLastError() != ERROR_OPERATION_ABORTED; /* data (ERROR_MORE_DATA) or an end */
    }
    probe_event_done(s, ov->hEvent);
    ov->hEvent = NULL;
    return done;
}

int mproc__w32_stream_peek(be_stream *s)
{
    if (s->kind != W32_STREAM_PIPE)
        return MPROC_ENOSYS;
    DWORD avail = 0;
    if (s->empty_msgs > 0)
        return 1;
    if (PeekNamedPipe(s->h, NULL, 0, NULL, &avail, NULL))
        return avail > 0;
    return mproc__w32_stream_error(GetLastError()) == MPROC_EOS ? 1 : MPROC_ESYS;
}

/* A probe, waited for until the deadline: 1 ready, 0 not, or an error. */
static int probe_wait(be_stream *s, double deadline)
{
    OVERLAPPED ov;
    int r = mproc__w32_probe_start(s, &ov);
    if (r != 0)
        return r;
    DWORD w, failed = 0;
    while ((w = WaitForSingleObject(ov.hEvent, mproc__w32_remaining_ms(deadline))) == WAIT_TIMEOUT &&
           mproc__w32_remaining_ms(deadline) > 0)
        ; /* a very long timeout cut in pieces */
    if (w == WAIT_FAILED)
        failed = GetLastError();
    r = mproc__w32_probe_finish(s, &ov);
    return failed ? mproc__w32_fail(MPROC_ESYS, failed) : r;
}

int mproc__be_stream_poll(be_stream *s, double timeout)
{
    if (s->kind == W32_STREAM_PIPE) {
        int r = mproc__w32_stream_peek(s);
        /* A message pipe's empty message only a probe sees. */
        if (r != 0 || (timeout == 0 && !s->message))
            return r;
    }
    return probe_wait(s, mproc__core_deadline(timeout));
}

int mproc__be_stream_next_message(be_stream *s, size_t *size, double timeout)
{
    if (!s->message)
        return MPROC_ENOSYS;
    double deadline = mproc__core_deadline(timeout);
    for (;;) {
        LONG e = s->empty_msgs;
        if (e > 0 && InterlockedCompareExchange(&s->empty_msgs, e - 1, e) == e) {
            *size = 0;
            return 0;
        }
        DWORD left = 0;
        if (!PeekNamedPipe(s->h, NULL, 0, NULL, NULL, &left))
            return mproc__w32_stream_error(GetLastError());
        if (left > 0) {
            *size = left;
            return 0;
        }
        /* Nothing, or an empty message first: the probe consumes (and
         * counts) an empty message, else waits for data or the end. */
        int r = probe_wait(s, deadline);
        if (r < 0)
            return r;
        if (r == 0)
            return MPROC_ETIMEDOUT;
    }
}
