/* SPDX-License-Identifier: MIT */
/* digest.c - the digest of a spawn target's code (see backend.h). */
#include "backend.h"

uint64_t mproc__core_code_digest(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, 64 bit */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h ^ n;
}
