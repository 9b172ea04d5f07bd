/* SPDX-License-Identifier: MIT */
/* channel.c - the duplex channel between a parent and the child it spawns:
 * a named pipe with exactly one instance, connected by the parent itself
 * before the child exists, so no other process can take its place. The
 * parent's end is overlapped (every wait is bounded and notices the child's
 * death); the child's end is synchronous and inheritable, and reaches the
 * child through the handle list of CreateProcessW. Anonymous pipes would not
 * do: their I/O cannot be given a timeout. */
#include <wchar.h>

#include "win32.h"

#define PIPE_BUFFER 65536

int mproc__w32_channel_open(w32_channel *ch)
{
    static volatile LONG counter;
    ch->parent = ch->child = INVALID_HANDLE_VALUE;
    ch->event = NULL;
    /* Unique: our pid, a counter, the clock. */
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    wchar_t name[128] = L"\\\\.\\pipe\\mproc-spawn-";
    size_t n = wcslen(name);
    n += mproc__w32_hex(name + n, GetCurrentProcessId());
    name[n++] = L'-';
    n += mproc__w32_hex(name + n, (uint64_t)InterlockedIncrement(&counter));
    name[n++] = L'-';
    mproc__w32_hex(name + n, (uint64_t)t.QuadPart);
    DWORD mode = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
    DWORD open = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE;
    ch->parent = CreateNamedPipeW(name, open, mode, 1, PIPE_BUFFER, PIPE_BUFFER, 0, NULL);
    if (ch->parent == INVALID_HANDLE_VALUE)
        return mproc__w32_last_error(MPROC_ESPAWN);
    SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
    ch->child = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, &inherit, OPEN_EXISTING, 0, NULL);
    ch->event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (ch->child == INVALID_HANDLE_VALUE || !ch->event) {
        int rc = mproc__w32_last_error(MPROC_ESPAWN);
        mproc__w32_channel_close(ch);
        return rc;
    }
    /* The client is already there: ConnectNamedPipe just confirms it. */
    OVERLAPPED ov = {0};
    ov.hEvent = ch->event;
    if (!ConnectNamedPipe(ch->parent, &ov)) {
        DWORD err = GetLastError(), ignored;
        if (err == ERROR_IO_PENDING && GetOverlappedResult(ch->parent, &ov, &ignored, TRUE))
            err = ERROR_PIPE_CONNECTED;
        if (err != ERROR_PIPE_CONNECTED) {
            mproc__w32_channel_close(ch);
            return mproc__w32_fail(MPROC_ESPAWN, err);
        }
    }
    return 0;
}

void mproc__w32_channel_close(w32_channel *ch)
{
    if (ch->parent != INVALID_HANDLE_VALUE)
        CloseHandle(ch->parent);
    if (ch->child != INVALID_HANDLE_VALUE)
        CloseHandle(ch->child);
    if (ch->event)
        CloseHandle(ch->event);
    ch->parent = ch->child = INVALID_HANDLE_VALUE;
    ch->event = NULL;
}

/* Maps the Windows error that ended channel I/O to our code. */
static int io_error(DWORD err)
{
    mproc__core_set_os_error((int)err);
    if (err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA || err == ERROR_PIPE_NOT_CONNECTED)
        return MPROC_EOS;
    if (err == ERROR_TIMEOUT)
        return MPROC_ETIMEDOUT;
    return MPROC_ESPAWN;
}

/* One overlapped read or write; *done = bytes moved. */
static int io_once(w32_channel *ch, int writing, char *p, DWORD want, HANDLE peer, double deadline,
                   DWORD *done)
{
    OVERLAPPED ov = {0};
    ov.hEvent = ch->event;
    ResetEvent(ch->event);
    BOOL ok = writing ? mproc__w32_sys.WriteFile(ch->parent, p, want, NULL, &ov) : ReadFile(ch->parent, p, want, NULL, &ov);
    DWORD why = 0; /* why we gave up waiting, if we did */
    if (!ok) {
        DWORD err = GetLastError();
        if (err != ERROR_IO_PENDING)
            return io_error(err);
        HANDLE hs[2] = {ch->event, peer};
        DWORD r = WaitForMultipleObjects(peer ? 2 : 1, hs, FALSE, mproc__w32_remaining_ms(deadline));
        if (r != WAIT_OBJECT_0) {
            /* Timed out or the peer died: take the I/O back. It may have
             * completed meanwhile; then its result counts. */
            why = r == WAIT_TIMEOUT ? ERROR_TIMEOUT : r == WAIT_FAILED ? GetLastError() : ERROR_BROKEN_PIPE;
            CancelIoEx(ch->parent, &ov);
        }
    }
    if (GetOverlappedResult(ch->parent, &ov, done, TRUE))
        return *done > 0 ? 0 : io_error(ERROR_NO_DATA);
    DWORD err = GetLastError();
    return io_error(why && err == ERROR_OPERATION_ABORTED ? why : err);
}

int mproc__w32_channel_io(w32_channel *ch, int writing, void *buf, size_t len, HANDLE peer, double deadline)
{
    char *p = buf;
    while (len) {
        DWORD want = len > (1u << 30) ? (1u << 30) : (DWORD)len, done = 0;
        int rc = io_once(ch, writing, p, want, peer, deadline, &done);
        if (rc)
            return rc;
        p += done;
        len -= done;
    }
    return 0;
}

int mproc__w32_read_full(HANDLE h, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        DWORD want = len > (1u << 30) ? (1u << 30) : (DWORD)len, n = 0;
        if (!ReadFile(h, p, want, &n, NULL)) {
            DWORD err = GetLastError();
            return err == ERROR_BROKEN_PIPE ? mproc__w32_fail(MPROC_EOS, err) : mproc__w32_fail(MPROC_ESYS, err);
        }
        if (n == 0)
            return mproc__w32_fail(MPROC_EOS, ERROR_HANDLE_EOF);
        p += n;
        len -= n;
    }
    return 0;
}

int mproc__w32_write_full(HANDLE h, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        DWORD want = len > (1u << 30) ? (1u << 30) : (DWORD)len, n = 0;
        if (!mproc__w32_sys.WriteFile(h, p, want, &n, NULL)) {
            DWORD err = GetLastError();
            return err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA ? mproc__w32_fail(MPROC_EOS, err)
                                                                    : mproc__w32_fail(MPROC_ESYS, err);
        }
        p += n;
        len -= n;
    }
    return 0;
}
