/* SPDX-License-Identifier: MIT */
/* address.c - see address.h. */
#include <stdio.h>
#include <string.h>

#include "ipc/address.h"

#define TCP_PREFIX "tcp://"
#define UNIX_PREFIX "unix:"
#define PIPE_PREFIX "pipe:"

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static int copy_name(be_addr *a, const char *p, size_t n)
{
    if (n >= sizeof a->name)
        return MPROC_EINVAL;
    memcpy(a->name, p, n);
    a->name[n] = '\0';
    return 0;
}

/* PORT: 1-5 decimal digits, at most 65535. */
static int parse_port(const char *p, unsigned *port)
{
    unsigned v = 0;
    size_t n = 0;
    for (; p[n]; n++) {
        if (p[n] < '0' || p[n] > '9' || n == 5)
            return MPROC_EINVAL;
        v = v * 10 + (unsigned)(p[n] - '0');
    }
    if (n == 0 || v > 65535)
        return MPROC_EINVAL;
    *port = v;
    return 0;
}

static int parse_tcp(const char *p, be_addr *a)
{
    const char *host = p, *colon;
    size_t hlen;
    if (*p == '[') { /* [IPv6]:port */
        const char *close = strchr(p, ']');
        if (!close || close[1] != ':')
            return MPROC_EINVAL;
        host = p + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(p, ':');
        if (!colon)
            return MPROC_EINVAL;
        hlen = (size_t)(colon - p);
        if (memchr(p, ':', hlen))
            return MPROC_EINVAL; /* a bare IPv6 literal needs brackets */
    }
    a->family = BE_ADDR_TCP;
    int rc = copy_name(a, host, hlen);
    return rc ? rc : parse_port(colon + 1, &a->port);
}

int mproc__core_addr_parse(const char *s, be_addr *a)
{
    if (!s || !a)
        return MPROC_EINVAL;
    memset(a, 0, sizeof *a);
    if (starts_with(s, TCP_PREFIX))
        return parse_tcp(s + strlen(TCP_PREFIX), a);
    const char *rest = NULL;
    if (starts_with(s, UNIX_PREFIX)) {
        a->family = BE_ADDR_UNIX;
        rest = s + strlen(UNIX_PREFIX);
    } else if (starts_with(s, PIPE_PREFIX)) {
        a->family = BE_ADDR_PIPE;
        rest = s + strlen(PIPE_PREFIX);
    }
    if (!rest || !*rest)
        return MPROC_EINVAL;
    return copy_name(a, rest, strlen(rest));
}

int mproc__core_addr_format(const be_addr *a, char *buf, size_t cap)
{
    int n;
    switch (a->family) {
    case BE_ADDR_TCP:
        n = snprintf(buf, cap, strchr(a->name, ':') ? TCP_PREFIX "[%s]:%u" : TCP_PREFIX "%s:%u", a->name,
                     a->port);
        break;
    case BE_ADDR_UNIX:
        n = snprintf(buf, cap, UNIX_PREFIX "%s", a->name);
        break;
    case BE_ADDR_PIPE:
        n = snprintf(buf, cap, PIPE_PREFIX "%s", a->name);
        break;
    default:
        return MPROC_EINVAL;
    }
    return n >= 0 && (size_t)n < cap ? 0 : MPROC_EINVAL;
}
