/* SPDX-License-Identifier: MIT */
/* handoff.c - streams handed to a spawned child (be_start.streams), and
 * the child's mproc__be_stream_inherited.
 *
 * On the spawn channel, after the segments:
 *   u64 n, then n x { u32 kind, u32 len, len bytes }
 * where the bytes are a pipe handle already duplicated into the child
 * (u64), or for a socket the WSAPROTOCOL_INFOW of WSADuplicateSocketW, the
 * documented way to share a socket with another process. The child turns
 * them into streams before it reports its start, while the parent still
 * holds its own copies. */
#include <stdlib.h>
#include <string.h>

#include "w32net.h"

#define MAX_STREAMS 4096 /* more on the channel means it is corrupt */

typedef struct record {
    uint32_t kind;
    uint32_t len;
} record;

static size_t payload_len(const be_stream *s)
{
    return s->kind == W32_STREAM_SOCKET ? sizeof(WSAPROTOCOL_INFOW) : sizeof(uint64_t);
}

/* The stream as the child will know it, into p. */
static int export_one(const be_stream *s, HANDLE child, DWORD child_pid, unsigned char *p)
{
    if (s->kind == W32_STREAM_SOCKET) {
        WSAPROTOCOL_INFOW info;
        if (WSADuplicateSocketW((SOCKET)s->h, child_pid, &info) != 0)
            return mproc__w32_wsa_fail(MPROC_ESPAWN);
        memcpy(p, &info, sizeof info);
        return 0;
    }
    HANDLE remote;
    /* Straight into the child, like the segments: never inheritable here.
     * Should the start fail, the child is terminated and they go with it. */
    if (!DuplicateHandle(GetCurrentProcess(), s->h, child, &remote, 0, FALSE, DUPLICATE_SAME_ACCESS))
        return mproc__w32_last_error(MPROC_ESPAWN);
    uint64_t v = (uint64_t)(uintptr_t)remote;
    memcpy(p, &v, sizeof v);
    return 0;
}

int mproc__w32_streams_export(const be_start *how, HANDLE child, DWORD child_pid, void **blob, size_t *len)
{
    size_t n = how->streams ? how->nstreams : 0;
    if (n > MAX_STREAMS)
        return MPROC_EINVAL;
    size_t size = sizeof(uint64_t);
    for (size_t i = 0; i < n; i++)
        size += sizeof(record) + payload_len(how->streams[i]);
    unsigned char *b = malloc(size), *p = b;
    if (!b)
        return MPROC_ENOMEM;
    uint64_t n64 = n;
    memcpy(p, &n64, sizeof n64);
    p += sizeof n64;
    for (size_t i = 0; i < n; i++) {
        const be_stream *s = how->streams[i];
        record r = {(uint32_t)s->kind, (uint32_t)payload_len(s)};
        memcpy(p, &r, sizeof r);
        p += sizeof r;
        int rc = export_one(s, child, child_pid, p);
        if (rc) {
            free(b);
            return rc;
        }
        p += r.len;
    }
    *blob = b;
    *len = size;
    return 0;
}

/* ------------------------------------------------------------ the child */

static be_stream **inherited; /* NULL once taken */
static size_t n_inherited;

static int import_one(HANDLE channel, be_stream **out)
{
    record r;
    int rc = mproc__w32_read_full(channel, &r, sizeof r);
    if (rc)
        return rc;
    if (r.kind == W32_STREAM_PIPE && r.len == sizeof(uint64_t)) {
        uint64_t v;
        if ((rc = mproc__w32_read_full(channel, &v, sizeof v)) != 0)
            return rc;
        return mproc__w32_stream_wrap((HANDLE)(uintptr_t)v, W32_STREAM_PIPE, out);
    }
    if (r.kind == W32_STREAM_SOCKET && r.len == sizeof(WSAPROTOCOL_INFOW)) {
        WSAPROTOCOL_INFOW info;
        if ((rc = mproc__w32_read_full(channel, &info, sizeof info)) != 0 || (rc = mproc__w32_net_init()) != 0)
            return rc;
        SOCKET s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0,
                              WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
        if (s == INVALID_SOCKET)
            return mproc__w32_wsa_fail(MPROC_ESYS);
        return mproc__w32_stream_wrap((HANDLE)s, W32_STREAM_SOCKET, out);
    }
    return MPROC_EINVAL; /* not something a parent sends */
}

int mproc__w32_streams_import(HANDLE channel)
{
    uint64_t n;
    int rc = mproc__w32_read_full(channel, &n, sizeof n);
    if (rc)
        return rc;
    if (n > MAX_STREAMS)
        return MPROC_EMSGSIZE;
    be_stream **list = n ? calloc((size_t)n, sizeof *list) : NULL;
    if (n && !list)
        return MPROC_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = import_one(channel, &list[i]);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            mproc__be_stream_close(list[i]);
        free(list);
        return rc;
    }
    inherited = list;
    n_inherited = (size_t)n;
    return 0;
}

size_t mproc__be_stream_inherited_count(void) { return n_inherited; }

int mproc__be_stream_inherited(size_t index, be_stream **out)
{
    if (index >= n_inherited)
        return MPROC_EINVAL;
    if (!inherited[index])
        return MPROC_ESTATE; /* taken already: its owner may have closed it */
    *out = inherited[index];
    inherited[index] = NULL;
    return 0;
}
