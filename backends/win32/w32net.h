/* SPDX-License-Identifier: MIT */
/* w32net.h - private to the Windows backend: Winsock, and the transports
 * behind listeners and clients (TCP sockets, named pipes). */
#ifndef MPROC_W32NET_H
#define MPROC_W32NET_H

/* winsock2.h before windows.h (win32.h), else windows.h may pull in the
 * old winsock.h. */
#include <winsock2.h>
#include <ws2tcpip.h>

#include "win32.h"

/* net/wsa.c: WSAStartup once per process. 0 or MPROC_ESYS (recorded). */
int mproc__w32_net_init(void);
/* WSAGetLastError() recorded; returns code. */
int mproc__w32_wsa_fail(int code);
/* A socket of ours as a stream: blocking, not inheritable, no Nagle
 * delay. Takes s (closed on failure). */
int mproc__w32_socket_stream(SOCKET s, be_stream **out);

/* net/tcp.c */
int mproc__w32_tcp_listen(const be_addr *addr, int backlog, SOCKET *out, be_addr *bound);
int mproc__w32_tcp_accept(SOCKET l, double timeout, be_stream **out);
int mproc__w32_tcp_connect(const be_addr *addr, double timeout, be_stream **out);

/* net/npipe.c: Windows named pipes (\\.\pipe\NAME), message mode. */
typedef struct w32_npipe w32_npipe;
int mproc__w32_npipe_listen(const char *name, w32_npipe **out);
int mproc__w32_npipe_accept(w32_npipe *l, double timeout, be_stream **out);
void mproc__w32_npipe_close(w32_npipe *l);
int mproc__w32_npipe_connect(const char *name, double timeout, be_stream **out);

#endif
