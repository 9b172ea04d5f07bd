/* SPDX-License-Identifier: MIT */
/* fuzz_auth.c - libFuzzer target: the authentication handshake, both roles.
 * The input (after a first byte choosing the role and the key) is the raw
 * byte stream the peer sends: as server (deliver) mproc sends a challenge
 * and reads the peer's answer; as client (answer) it reads the peer's
 * challenge and then the verdict; as a listener (bit 4) the non-blocking
 * handshake of handshake.c reads whatever came, piece by piece. Every path
 * must end with 0 or an error, within the deadline. */
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/auth.h"
#include "backend.h"
#include "ipc/handshake.h"
#include "mproc.h"

/* The listener's handshake stepped until it ends (the input is all there,
 * then the end of the stream, so it does within a few steps). */
static void listener_role(const uint8_t *data, size_t size, const void *key, size_t keylen)
{
    be_stream *mine, *peer;
    if (mproc__be_stream_pair(1, &mine, &peer) != 0)
        return;
    int fd = (int)mproc__be_stream_os_handle(peer);
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    core_hs *h;
    if (mproc__core_hs_start(mine, key, keylen, mproc__core_deadline(0.2), &h) == 0) {
        int rc;
        while ((rc = mproc__core_hs_step(h)) == 0 && mproc__be_stream_poll(mproc__core_hs_stream(h), 0.2) == 1)
            ;
        if (rc == 1)
            mproc_conn_free(mproc__core_hs_finish(h, &rc));
        else
            mproc__core_hs_free(h);
    }
    mproc__be_stream_close(peer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 4) {
        listener_role(data + 1, size - 1, "fuzzing key", (data[0] & 2) ? 0 : 11);
        return 0;
    }
    mproc_conn *a, *b;
    if (mproc_pipe(1, &a, &b) != 0)
        return 0;
    intptr_t fd;
    mproc_conn_fileno(b, &fd);
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    while (left) {
        ssize_t w = write((int)fd, p, left);
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    shutdown((int)fd, SHUT_WR); /* reads see the end; our writes still land */
    static const char key[] = "fuzzing key";
    size_t keylen = (data[0] & 2) ? 0 : sizeof key - 1;
    double deadline = mproc__core_deadline(0.2);
    if (data[0] & 1)
        mproc__core_auth_deliver(a, key, keylen, deadline);
    else
        mproc__core_auth_answer(a, key, keylen, deadline);
    char name[16];
    size_t at;
    mproc__core_auth_digest_of(data, size, name, &at);
    mproc_conn_free(a);
    mproc_conn_free(b);
    return 0;
}
