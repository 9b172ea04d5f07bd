/* SPDX-License-Identifier: MIT */
/* fuzz_auth.c - libFuzzer target: the authentication handshake, both roles.
 * The input (after a first byte choosing the role and the key) is the raw
 * byte stream the peer sends: as server (deliver) mproc sends a challenge
 * and reads the peer's answer; as client (answer) it reads the peer's
 * challenge and then the verdict. Every path must end with 0 or an error,
 * within the deadline. */
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "backend.h"
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
    double deadline = core_deadline(0.2);
    if (data[0] & 1)
        core_auth_deliver(a, key, keylen, deadline);
    else
        core_auth_answer(a, key, keylen, deadline);
    char name[16];
    size_t at;
    core_auth_digest_of(data, size, name, &at);
    mproc_conn_free(a);
    mproc_conn_free(b);
    return 0;
}
