/* SPDX-License-Identifier: MIT */
/* streamio.c - reading and writing byte streams: overlapped ReadFile and
 * WriteFile on pipes, WSARecv and WSASend (gathering) on sockets. A call
 * waits on the stream's event for the reader or the writer until its
 * deadline, then cancels the I/O; whatever completed meanwhile counts. */
#include <stdlib.h>
#include <string.h>

#include "w32net.h"

/* Most bytes per system call. Wine copies a pipe write into its server
 * whole, so this stays far below the DWORD limit. */
#define IO_CHUNK ((DWORD)1 << 24)
/* Small writes to a pipe are gathered into one buffer: one WriteFile. */
#define PIPE_GATHER_MAX ((size_t)1 << 16)
#define IOV_BATCH 16

typedef struct xfer {
    be_stream *s;
    int writing;
    WSABUF b[IOV_BATCH]; /* pipes use b[0] only */
    DWORD nb;
} xfer;

static BOOL overlapped_result(const be_stream *s, OVERLAPPED *ov, DWORD *done, DWORD *err)
{
    BOOL ok;
    if (s->kind == W32_STREAM_SOCKET) {
        DWORD flags = 0;
        ok = WSAGetOverlappedResult((SOCKET)s->h, ov, done, TRUE, &flags);
        *err = ok ? 0 : (DWORD)WSAGetLastError();
    } else {
        ok = GetOverlappedResult(s->h, ov, done, TRUE);
        *err = ok ? 0 : GetLastError();
    }
    return ok;
}

/* One overlapped transfer of x; *done = bytes moved. */
static int xfer_once(xfer *x, double deadline, DWORD *done)
{
    be_stream *s = x->s;
    OVERLAPPED ov;
    ZeroMemory(&ov, sizeof ov);
    ov.hEvent = s->event[x->writing ? W32_EV_WRITE : W32_EV_READ];
    DWORD err = 0;
    if (s->kind == W32_STREAM_SOCKET) {
        /* ReadFile and WriteFile reset the event as they start (and a
         * reset costs a server round trip under wine); Winsock says less. */
        ResetEvent(ov.hEvent);
        DWORD flags = 0;
        int r = x->writing ? WSASend((SOCKET)s->h, x->b, x->nb, NULL, 0, &ov, NULL)
                           : WSARecv((SOCKET)s->h, x->b, x->nb, NULL, &flags, &ov, NULL);
        if (r != 0)
            err = (DWORD)WSAGetLastError();
    } else {
        BOOL ok = x->writing ? mproc__w32_sys.WriteFile(s->h, x->b[0].buf, x->b[0].len, NULL, &ov)
                             : ReadFile(s->h, x->b[0].buf, x->b[0].len, NULL, &ov);
        if (!ok)
            err = GetLastError();
    }
    /* ERROR_MORE_DATA: a message pipe read the part of a message that fit. */
    if (err && err != ERROR_IO_PENDING && err != ERROR_MORE_DATA)
        return mproc__w32_stream_error(err); /* nothing started */
    DWORD why = 0; /* why we stopped waiting, if we did */
    if (err == ERROR_IO_PENDING) {
        for (;;) {
            DWORD w = WaitForSingleObject(ov.hEvent, mproc__w32_remaining_ms(deadline));
            if (w == WAIT_OBJECT_0)
                break;
            if (w == WAIT_FAILED || mproc__w32_remaining_ms(deadline) == 0) {
                why = w == WAIT_FAILED ? GetLastError() : ERROR_TIMEOUT;
                CancelIoEx(s->h, &ov);
                break;
            }
        }
    }
    if (overlapped_result(s, &ov, done, &err) || err == ERROR_MORE_DATA)
        return 0;
    if (why && err == ERROR_OPERATION_ABORTED) /* == WSA_OPERATION_ABORTED */
        err = why;
    return mproc__w32_stream_error(err);
}

int mproc__be_stream_read(be_stream *s, void *buf, size_t len, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    xfer x = {.s = s, .writing = 0, .nb = 1};
    char *p = buf;
    while (len) {
        x.b[0].buf = p;
        x.b[0].len = len > IO_CHUNK ? IO_CHUNK : (DWORD)len;
        DWORD n = 0;
        int rc = xfer_once(&x, deadline, &n);
        if (rc)
            return rc;
        if (n == 0)
            return MPROC_EOS; /* a socket's orderly end */
        p += n;
        len -= n;
    }
    return 0;
}

int mproc__be_stream_read_some(be_stream *s, void *buf, size_t cap, double timeout, size_t *got)
{
    *got = 0;
    if (!buf || cap == 0)
        return MPROC_EINVAL;
    if (s->message)
        return MPROC_ENOSYS; /* an empty message would read as the end */
    xfer x = {.s = s, .writing = 0, .nb = 1};
    x.b[0].buf = buf;
    x.b[0].len = cap > IO_CHUNK ? IO_CHUNK : (DWORD)cap;
    DWORD n = 0;
    int rc = xfer_once(&x, mproc__core_deadline(timeout), &n);
    if (rc)
        return rc;
    if (n == 0)
        return MPROC_EOS; /* a socket's orderly end */
    *got = n;
    return 0;
}

/* ----------------------------------------------------------------- write */

/* Where a write stands: buffer i, offset off in it. */
typedef struct cursor {
    const be_iov *iov;
    size_t n, i, off;
} cursor;

static void skip_empty(cursor *c)
{
    while (c->i < c->n && c->off == c->iov[c->i].len) {
        c->i++;
        c->off = 0;
    }
}

static void advance(cursor *c, size_t done)
{
    while (done > 0) {
        size_t left = c->iov[c->i].len - c->off;
        size_t k = done < left ? done : left;
        c->off += k;
        done -= k;
        skip_empty(c);
    }
}

/* The next buffers from c, at most IO_CHUNK bytes in all (pipes: one). */
static void gather(xfer *x, const cursor *c)
{
    DWORD cap = IO_CHUNK;
    x->nb = 0;
    DWORD max = x->s->kind == W32_STREAM_SOCKET ? IOV_BATCH : 1;
    for (size_t i = c->i, off = c->off; i < c->n && x->nb < max && cap > 0; i++, off = 0) {
        size_t len = c->iov[i].len - off;
        if (len == 0)
            continue;
        DWORD k = len > cap ? cap : (DWORD)len;
        x->b[x->nb].buf = (char *)c->iov[i].buf + off;
        x->b[x->nb].len = k;
        x->nb++;
        cap -= k;
    }
}

static int write_cursor(be_stream *s, cursor *c, double deadline)
{
    xfer x = {.s = s, .writing = 1};
    for (skip_empty(c); c->i < c->n;) {
        gather(&x, c);
        DWORD n = 0;
        int rc = xfer_once(&x, deadline, &n);
        if (rc)
            return rc;
        advance(c, n);
    }
    return 0;
}

/* All of iov as one message: one WriteFile (an empty one too). */
static int write_message(be_stream *s, const be_iov *iov, size_t n, size_t total, double deadline)
{
    if (total > MAXDWORD)
        return MPROC_EMSGSIZE;
    char *buf = NULL;
    if (n > 1 && !(buf = malloc(total ? total : 1)))
        return MPROC_ENOMEM;
    size_t at = 0;
    for (size_t i = 0; buf && i < n; i++) {
        if (iov[i].len)
            memcpy(buf + at, iov[i].buf, iov[i].len);
        at += iov[i].len;
    }
    char none = 0;
    xfer x = {.s = s, .writing = 1, .nb = 1};
    x.b[0].buf = buf ? buf : n && iov[0].buf ? (char *)iov[0].buf : &none;
    x.b[0].len = (DWORD)total;
    DWORD done = 0;
    int rc = xfer_once(&x, deadline, &done);
    free(buf);
    return rc == 0 && done != total ? mproc__w32_fail(MPROC_ESYS, ERROR_WRITE_FAULT) : rc;
}

int mproc__be_stream_write(be_stream *s, const be_iov *iov, size_t n, double timeout)
{
    double deadline = mproc__core_deadline(timeout);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += iov[i].len;
    if (s->message)
        return write_message(s, iov, n, total, deadline);
    if (s->kind == W32_STREAM_PIPE && n > 1 && total <= PIPE_GATHER_MAX) {
        /* A pipe write takes one buffer: copy small messages into one. */
        char stack[4096];
        char *buf = total <= sizeof stack ? stack : malloc(total);
        if (buf) {
            size_t at = 0;
            for (size_t i = 0; i < n; i++) {
                if (iov[i].len)
                    memcpy(buf + at, iov[i].buf, iov[i].len);
                at += iov[i].len;
            }
            be_iov one = {buf, total};
            cursor c = {&one, 1, 0, 0};
            int rc = write_cursor(s, &c, deadline);
            if (buf != stack)
                free(buf);
            return rc;
        }
    }
    cursor c = {iov, n, 0, 0};
    return write_cursor(s, &c, deadline);
}
