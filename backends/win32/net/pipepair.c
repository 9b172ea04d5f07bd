/* SPDX-License-Identifier: MIT */
/* pipepair.c - mproc__be_stream_pair: the two ends of a fresh named pipe with one
 * instance, both overlapped, as CPython's Pipe() makes them on Windows
 * (but in byte mode: the core frames messages itself). The name is random
 * and the parent connects to it at once; a process that raced us for it
 * would make our own connect fail, never join the pair. */
#include <wchar.h>

#include "win32.h"

#define PAIR_BUFFER 65536

/* \\.\pipe\mproc-pair-<pid>-<random> */
static int pair_name(wchar_t *out)
{
    uint64_t nonce;
    int rc = mproc__be_random(&nonce, sizeof nonce);
    if (rc)
        return rc;
    wcscpy(out, L"\\\\.\\pipe\\mproc-pair-");
    size_t n = wcslen(out);
    n += mproc__w32_hex(out + n, GetCurrentProcessId());
    out[n++] = L'-';
    mproc__w32_hex(out + n, nonce);
    return 0;
}

/* The server end sees its only client connect. */
static int confirm_connected(HANDLE server)
{
    OVERLAPPED ov;
    ZeroMemory(&ov, sizeof ov);
    if (!(ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL)))
        return mproc__w32_last_error(MPROC_ESYS);
    DWORD err = ERROR_PIPE_CONNECTED, ignored;
    if (ConnectNamedPipe(server, &ov))
        err = 0;
    else if ((err = GetLastError()) == ERROR_IO_PENDING && GetOverlappedResult(server, &ov, &ignored, TRUE))
        err = 0;
    CloseHandle(ov.hEvent);
    return err == 0 || err == ERROR_PIPE_CONNECTED ? 0 : mproc__w32_fail(MPROC_ESYS, err);
}

int mproc__be_stream_pair(int duplex, be_stream **a, be_stream **b)
{
    wchar_t name[64];
    int rc = pair_name(name);
    if (rc)
        return rc;
    /* a is the server end: it reads (simplex) or does both. */
    DWORD open = (duplex ? PIPE_ACCESS_DUPLEX : PIPE_ACCESS_INBOUND) | FILE_FLAG_OVERLAPPED |
                 FILE_FLAG_FIRST_PIPE_INSTANCE;
    DWORD mode = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
    HANDLE server = CreateNamedPipeW(name, open, mode, 1, PAIR_BUFFER, PAIR_BUFFER, 0, NULL);
    if (server == INVALID_HANDLE_VALUE)
        return mproc__w32_last_error(MPROC_ESYS);
    DWORD access = duplex ? GENERIC_READ | GENERIC_WRITE : GENERIC_WRITE;
    HANDLE client = CreateFileW(name, access, 0, NULL, OPEN_EXISTING,
                                FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
    if (client == INVALID_HANDLE_VALUE) {
        rc = mproc__w32_last_error(MPROC_ESYS);
        CloseHandle(server);
        return rc;
    }
    if ((rc = confirm_connected(server)) != 0) {
        CloseHandle(server);
        CloseHandle(client);
        return rc;
    }
    if ((rc = mproc__w32_stream_wrap(server, W32_STREAM_PIPE, a)) != 0) {
        CloseHandle(client);
        return rc;
    }
    if ((rc = mproc__w32_stream_wrap(client, W32_STREAM_PIPE, b)) != 0) {
        mproc__be_stream_close(*a);
        *a = NULL;
    }
    return rc;
}
