/* SPDX-License-Identifier: MIT */
/* tcp.c - TCP listeners and clients with Winsock. Sockets are made
 * overlapped (streams do overlapped I/O on them) and not inheritable. The
 * listening socket is non-blocking: accept waits in select() first, and a
 * client taken by another thread, or gone before accept, just means
 * waiting again. Connect is non-blocking too, bounded by select(). */
#include <stdio.h>
#include <stdlib.h>

#include "w32net.h"

static SOCKET new_socket(int family)
{
    return WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
}

/* The addresses to try for a. Host names resolve to IPv4 first, as
 * Python's AF_INET listener and client do; IPv6 when that is all. */
static int resolve(const be_addr *a, int passive, struct addrinfo **out)
{
    if (a->port > 65535)
        return MPROC_EINVAL;
    char port[8];
    snprintf(port, sizeof port, "%u", a->port);
    struct addrinfo hints;
    ZeroMemory(&hints, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    const char *host = a->name[0] ? a->name : NULL; /* "" = every interface */
    int rc = getaddrinfo(host, port, &hints, out);
    if (rc != 0) {
        hints.ai_family = AF_UNSPEC;
        rc = getaddrinfo(host, port, &hints, out);
    }
    return rc == 0 ? 0 : mproc__w32_fail(MPROC_ESYS, (DWORD)rc); /* a WSA error code */
}

/* Waits until s can be read (want_read) or written, or has failed: 1, 0
 * at the timeout, or MPROC_ESYS. */
static int wait_socket(SOCKET s, int want_read, double deadline)
{
    for (;;) {
        fd_set io, ex;
        FD_ZERO(&io);
        FD_ZERO(&ex);
        FD_SET(s, &io);
        FD_SET(s, &ex);
        DWORD ms = mproc__w32_remaining_ms(deadline);
        struct timeval tv = {(long)(ms / 1000), (long)(ms % 1000) * 1000};
        int r = select(0, want_read ? &io : NULL, want_read ? NULL : &io, &ex, ms == INFINITE ? NULL : &tv);
        if (r < 0)
            return mproc__w32_wsa_fail(MPROC_ESYS);
        if (r > 0)
            return 1;
        if (mproc__w32_remaining_ms(deadline) == 0)
            return 0; /* else a very long timeout was cut in pieces */
    }
}

static void fill_bound(SOCKET s, be_addr *bound)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    bound->family = BE_ADDR_TCP;
    if (getsockname(s, (struct sockaddr *)&ss, &len) != 0)
        return;
    char port[8];
    if (getnameinfo((struct sockaddr *)&ss, len, bound->name, sizeof bound->name, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        bound->port = (unsigned)atoi(port);
}

int mproc__w32_tcp_listen(const be_addr *addr, int backlog, SOCKET *out, be_addr *bound)
{
    struct addrinfo *ai;
    int rc = resolve(addr, 1, &ai);
    if (rc)
        return rc;
    SOCKET s = new_socket(ai->ai_family);
    u_long nonblocking = 1;
    BOOL one = TRUE;
    if (s == INVALID_SOCKET) {
        rc = mproc__w32_wsa_fail(MPROC_ESYS);
    } else {
        /* Nobody else may bind our port while we listen (Windows would let
         * a SO_REUSEADDR socket take it). Refused by old wines: harmless. */
        setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one, sizeof one);
        if (bind(s, ai->ai_addr, (int)ai->ai_addrlen) != 0 || listen(s, backlog) != 0 ||
            ioctlsocket(s, FIONBIO, &nonblocking) != 0)
            rc = mproc__w32_wsa_fail(MPROC_ESYS);
    }
    freeaddrinfo(ai);
    if (rc) {
        if (s != INVALID_SOCKET)
            closesocket(s);
        return rc;
    }
    ZeroMemory(bound, sizeof *bound);
    fill_bound(s, bound);
    *out = s;
    return 0;
}

int mproc__w32_tcp_accept(SOCKET l, double timeout, be_stream **out)
{
    double deadline = mproc__core_deadline(timeout);
    for (;;) {
        int r = wait_socket(l, 1, deadline);
        if (r <= 0)
            return r < 0 ? r : MPROC_ETIMEDOUT;
        SOCKET c = accept(l, NULL, NULL);
        if (c != INVALID_SOCKET)
            return mproc__w32_socket_stream(c, out);
        int err = WSAGetLastError();
        /* Taken by another thread, or the client gave up already. */
        if (err != WSAEWOULDBLOCK && err != WSAECONNRESET && err != WSAEINTR)
            return mproc__w32_fail(MPROC_ESYS, (DWORD)err);
        if (mproc__w32_remaining_ms(deadline) == 0)
            return MPROC_ETIMEDOUT;
    }
}

/* One attempt on one address: 0 with *out, MPROC_ETIMEDOUT or MPROC_ESYS. */
static int connect_one(const struct addrinfo *ai, double deadline, be_stream **out)
{
    SOCKET s = new_socket(ai->ai_family);
    if (s == INVALID_SOCKET)
        return mproc__w32_wsa_fail(MPROC_ESYS);
    u_long nonblocking = 1;
    int rc = 0;
    if (ioctlsocket(s, FIONBIO, &nonblocking) != 0)
        rc = mproc__w32_wsa_fail(MPROC_ESYS);
    else if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) != 0) {
        if (WSAGetLastError() != WSAEWOULDBLOCK)
            rc = mproc__w32_wsa_fail(MPROC_ESYS);
        else if ((rc = wait_socket(s, 0, deadline)) == 0)
            rc = MPROC_ETIMEDOUT;
        else if (rc == 1) {
            int err = 0, len = sizeof err;
            if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0)
                rc = mproc__w32_wsa_fail(MPROC_ESYS);
            else
                rc = err ? mproc__w32_fail(MPROC_ESYS, (DWORD)err) : 0; /* e.g. refused */
        }
    }
    if (rc) {
        closesocket(s);
        return rc;
    }
    return mproc__w32_socket_stream(s, out);
}

int mproc__w32_tcp_connect(const be_addr *addr, double timeout, be_stream **out)
{
    double deadline = mproc__core_deadline(timeout);
    struct addrinfo *ai;
    int rc = resolve(addr, 0, &ai);
    if (rc)
        return rc;
    for (struct addrinfo *a = ai; a; a = a->ai_next)
        if ((rc = connect_one(a, deadline, out)) != MPROC_ESYS)
            break;
    freeaddrinfo(ai);
    return rc;
}
