/* SPDX-License-Identifier: MIT */
/* fuzz_manager.c - libFuzzer target: the manager server's request decoder
 * and every operation behind it. The input is a sequence of requests, each
 * a 2-byte little-endian length and that many bytes of (usually msgpack)
 * request, run in order on one client connection of an in-process server
 * state (mproc__core_manager_fuzz). */
#include <stdint.h>
#include <string.h>

#include "manager/manager.h"

#define MAX_REQS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const void *reqs[MAX_REQS];
    size_t lens[MAX_REQS], n = 0, pos = 0;
    while (n < MAX_REQS && pos + 2 <= size) {
        size_t len = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
        pos += 2;
        if (len > size - pos)
            len = size - pos;
        reqs[n] = data + pos;
        lens[n++] = len;
        pos += len;
    }
    mproc__core_manager_fuzz(reqs, lens, n);
    return 0;
}
