/* SPDX-License-Identifier: MIT */
/* wsa.c - Winsock start-up and what every socket of ours gets. */
#include "w32net.h"

static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
static int startup_error; /* WSAStartup's result, 0 once it worked */

static BOOL CALLBACK startup(PINIT_ONCE o, PVOID param, PVOID *ctx)
{
    (void)o;
    (void)param;
    (void)ctx;
    WSADATA wd;
    startup_error = WSAStartup(MAKEWORD(2, 2), &wd); /* never cleaned up: lives as long as we do */
    return TRUE;
}

int mproc__w32_net_init(void)
{
    InitOnceExecuteOnce(&once, startup, NULL, NULL);
    return startup_error ? mproc__w32_fail(MPROC_ESYS, (DWORD)startup_error) : 0;
}

int mproc__w32_wsa_fail(int code) { return mproc__w32_fail(code, (DWORD)WSAGetLastError()); }

int mproc__w32_socket_stream(SOCKET s, be_stream **out)
{
    u_long blocking = 0;
    BOOL one = TRUE;
    /* accept() copies the listener's non-blocking mode and may copy its
     * inheritance; neither is wanted here. */
    if (ioctlsocket(s, FIONBIO, &blocking) != 0) {
        int rc = mproc__w32_wsa_fail(MPROC_ESYS);
        closesocket(s);
        return rc;
    }
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    return mproc__w32_stream_wrap((HANDLE)s, W32_STREAM_SOCKET, out);
}
