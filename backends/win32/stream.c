/* stream.c - byte streams (backend.h): the object, its errors, readiness.
 * Every stream is overlapped (a named pipe end or a socket), so that each
 * read, write and wait can be bounded and abandoned; anonymous pipes could
 * not be. Readiness is a zero-byte read, as in CPython's wait() on
 * Windows: it completes when data arrives or the stream ends and consumes
 * nothing, so it leaves the stream as it was for whoever reads it. */
#include <stdlib.h>

#include "w32net.h"

static void close_os(HANDLE h, int kind)
{
    if (kind == W32_STREAM_SOCKET)
        closesocket((SOCKET)h);
    else
        CloseHandle(h);
}

int w32_stream_wrap(HANDLE h, int kind, be_stream **out)
{
    be_stream *s = calloc(1, sizeof *s);
    int rc = s ? 0 : MPROC_ENOMEM;
    if (s) {
        s->h = h;
        s->kind = kind;
        s->rd_event = CreateEventW(NULL, TRUE, FALSE, NULL);
        s->wr_event = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (!s->rd_event || !s->wr_event)
            rc = w32_last_error(MPROC_ESYS);
    }
    if (rc) {
        if (s) {
            if (s->rd_event)
                CloseHandle(s->rd_event);
            if (s->wr_event)
                CloseHandle(s->wr_event);
            free(s);
        }
        close_os(h, kind);
        return rc;
    }
    *out = s;
    return 0;
}

void be_stream_close(be_stream *s)
{
    if (!s)
        return;
    close_os(s->h, s->kind);
    CloseHandle(s->rd_event);
    CloseHandle(s->wr_event);
    free(s);
}

intptr_t be_stream_os_handle(const be_stream *s) { return (intptr_t)s->h; }

int w32_stream_error(DWORD err)
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
        core_set_os_error((int)err);
        return MPROC_EOS;
    case ERROR_TIMEOUT:
        return MPROC_ETIMEDOUT;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case WSAENOBUFS:
        return w32_fail(MPROC_ENOMEM, err);
    default:
        return w32_fail(MPROC_ESYS, err);
    }
}

/* ------------------------------------------------------------ readiness */

int w32_probe_start(be_stream *s, OVERLAPPED *ov)
{
    ZeroMemory(ov, sizeof *ov);
    if (!(ov->hEvent = CreateEventW(NULL, TRUE, FALSE, NULL)))
        return w32_last_error(MPROC_ESYS);
    DWORD err = 0;
    if (s->kind == W32_STREAM_SOCKET) {
        char none;
        WSABUF b = {0, &none};
        DWORD flags = 0;
        if (WSARecv((SOCKET)s->h, &b, 1, NULL, &flags, ov, NULL) != 0)
            err = (DWORD)WSAGetLastError();
    } else {
        char none;
        if (!ReadFile(s->h, &none, 0, NULL, ov))
            err = GetLastError();
    }
    if (err == ERROR_IO_PENDING) /* == WSA_IO_PENDING */
        return 0;
    /* Done at once: data, or the end (a broken pipe, a reset): both ready.
     * Nothing is pending, so the event can go. */
    CloseHandle(ov->hEvent);
    ov->hEvent = NULL;
    if (err && w32_stream_error(err) != MPROC_EOS)
        return MPROC_ESYS; /* recorded */
    return 1;
}

int w32_probe_finish(be_stream *s, OVERLAPPED *ov)
{
    if (!ov->hEvent)
        return 1; /* completed in w32_probe_start */
    int done = WaitForSingleObject(ov->hEvent, 0) == WAIT_OBJECT_0;
    if (!done)
        CancelIoEx(s->h, ov);
    DWORD n;
    /* The OVERLAPPED must outlive the I/O: wait until it is really over. */
    BOOL ok = GetOverlappedResult(s->h, ov, &n, TRUE);
    if (!done && (ok || GetLastError() != ERROR_OPERATION_ABORTED))
        done = 1; /* it completed while we cancelled */
    CloseHandle(ov->hEvent);
    ov->hEvent = NULL;
    return done;
}

/* 1 when a pipe has data or has ended, 0 when it is empty; no event needed. */
static int pipe_peek(be_stream *s)
{
    DWORD avail = 0;
    if (PeekNamedPipe(s->h, NULL, 0, NULL, &avail, NULL))
        return avail > 0;
    DWORD err = GetLastError();
    return w32_stream_error(err) == MPROC_EOS ? 1 : MPROC_ESYS;
}

int be_stream_poll(be_stream *s, double timeout)
{
    if (s->kind == W32_STREAM_PIPE) {
        int r = pipe_peek(s);
        if (r != 0 || timeout == 0)
            return r;
    }
    double deadline = w32_deadline(timeout);
    OVERLAPPED ov;
    int r = w32_probe_start(s, &ov);
    if (r != 0)
        return r;
    for (;;) {
        DWORD w = WaitForSingleObject(ov.hEvent, w32_remaining_ms(deadline));
        if (w == WAIT_OBJECT_0 || w == WAIT_FAILED || w32_remaining_ms(deadline) == 0)
            break; /* else a very long timeout was cut in pieces */
    }
    return w32_probe_finish(s, &ov);
}
