/* SPDX-License-Identifier: MIT */
/* listener.c - be_listener_* and mproc__be_connect: TCP (tcp.c) and named pipes
 * (npipe.c). Unix-domain sockets are refused with MPROC_EINVAL: Windows 10
 * has AF_UNIX, but wine (the test bed) does not, so that code could not
 * be tested; CPython has no AF_UNIX on Windows either. */
#include <stdlib.h>
#include <string.h>

#include "w32net.h"

struct be_listener {
    int family;
    SOCKET sock;     /* BE_ADDR_TCP */
    w32_npipe *pipe; /* BE_ADDR_PIPE */
};

int mproc__be_listener_open(const be_addr *addr, int backlog, be_listener **out, be_addr *bound)
{
    if (addr->family != BE_ADDR_TCP && addr->family != BE_ADDR_PIPE)
        return MPROC_EINVAL;
    be_listener *l = calloc(1, sizeof *l);
    if (!l)
        return MPROC_ENOMEM;
    l->family = addr->family;
    l->sock = INVALID_SOCKET;
    int rc;
    if (addr->family == BE_ADDR_TCP) {
        if ((rc = mproc__w32_net_init()) == 0)
            rc = mproc__w32_tcp_listen(addr, backlog, &l->sock, bound);
    } else if ((rc = mproc__w32_npipe_listen(addr->name, &l->pipe)) == 0) {
        *bound = *addr;
    }
    if (rc) {
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

int mproc__be_listener_accept(be_listener *l, double timeout, be_stream **out)
{
    if (l->family == BE_ADDR_TCP)
        return mproc__w32_tcp_accept(l->sock, timeout, out);
    return mproc__w32_npipe_accept(l->pipe, timeout, out);
}

void mproc__be_listener_close(be_listener *l)
{
    if (!l)
        return;
    if (l->sock != INVALID_SOCKET)
        closesocket(l->sock);
    mproc__w32_npipe_close(l->pipe);
    free(l);
}

int mproc__be_connect(const be_addr *addr, double timeout, be_stream **out)
{
    if (addr->family == BE_ADDR_PIPE)
        return mproc__w32_npipe_connect(addr->name, timeout, out);
    if (addr->family != BE_ADDR_TCP)
        return MPROC_EINVAL;
    int rc = mproc__w32_net_init();
    return rc ? rc : mproc__w32_tcp_connect(addr, timeout, out);
}
