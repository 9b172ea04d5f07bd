/* SPDX-License-Identifier: MIT */
/* fuzz_frame.c - libFuzzer target: the connection frame decoder. The input
 * is the raw byte stream a peer sends (Python's framing: 4-byte big-endian
 * length, or -1 and an 8-byte length); mproc reads messages from it until
 * it ends. The first byte picks how: bounded recv_bytes, or recv_bytes_into
 * a small buffer. */
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    mproc_conn *a, *b;
    if (mproc_pipe(1, &a, &b) != 0)
        return 0;
    intptr_t fd;
    mproc_conn_fileno(b, &fd);
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    while (left) { /* max_len keeps it within the socket buffer */
        ssize_t w = write((int)fd, p, left);
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    shutdown((int)fd, SHUT_WR);
    for (int i = 0; i < 1000; i++) {
        int rc;
        if (data[0] & 1) {
            char buf[64];
            size_t len;
            rc = mproc_conn_recv_bytes_into(a, buf, sizeof buf, &len);
        } else {
            void *buf = NULL;
            size_t len;
            rc = mproc_conn_recv_bytes(a, &buf, &len, (size_t)1 << 20);
            if (rc == 0)
                mproc_free(buf);
        }
        if (rc != 0 && rc != MPROC_EMSGSIZE)
            break;
        if (rc == MPROC_EMSGSIZE && !(data[0] & 1))
            break; /* that end stopped reading, as in Python */
    }
    mproc_conn_free(a);
    mproc_conn_free(b);
    return 0;
}
