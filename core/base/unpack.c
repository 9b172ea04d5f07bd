/* SPDX-License-Identifier: MIT */
/* unpack.c - a structure check of one msgpack object, without allocating
 * (see unpack.h). */
#include <stdint.h>

#include "base/unpack.h"

#define DEPTH_MAX 256 /* nesting deeper than this is refused */

static uint64_t be_uint(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Bytes of header and payload of the object whose first byte is b (its
 * length field, n bytes, at p), and the elements it contains. 0 = bad. */
static int measure(const unsigned char *p, size_t left, size_t *size, uint64_t *elems)
{
    unsigned b = p[0];
    *elems = 0;
    size_t lenbytes = 0, extra = 0, fixed = 0;
    int container = 0; /* 1 array, 2 map */
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        *size = 1;
        return 1;
    } else if (b >= 0x80 && b <= 0x8f) {
        *size = 1;
        *elems = 2u * (b & 0x0f);
        return 1;
    } else if (b >= 0x90 && b <= 0x9f) {
        *size = 1;
        *elems = b & 0x0f;
        return 1;
    } else if (b >= 0xa0 && b <= 0xbf) {
        *size = 1 + (b & 0x1f);
        return *size <= left;
    }
    switch (b) {
    case 0xc4: case 0xd9: lenbytes = 1; break;          /* bin8, str8 */
    case 0xc5: case 0xda: lenbytes = 2; break;          /* bin16, str16 */
    case 0xc6: case 0xdb: lenbytes = 4; break;          /* bin32, str32 */
    case 0xc7: lenbytes = 1; extra = 1; break;          /* ext8 + type */
    case 0xc8: lenbytes = 2; extra = 1; break;
    case 0xc9: lenbytes = 4; extra = 1; break;
    case 0xca: fixed = 4; break;
    case 0xcb: fixed = 8; break;
    case 0xcc: case 0xd0: fixed = 1; break;
    case 0xcd: case 0xd1: fixed = 2; break;
    case 0xce: case 0xd2: fixed = 4; break;
    case 0xcf: case 0xd3: fixed = 8; break;
    case 0xd4: fixed = 2; break;                        /* fixext 1 + type */
    case 0xd5: fixed = 3; break;
    case 0xd6: fixed = 5; break;
    case 0xd7: fixed = 9; break;
    case 0xd8: fixed = 17; break;
    case 0xdc: lenbytes = 2; container = 1; break;
    case 0xdd: lenbytes = 4; container = 1; break;
    case 0xde: lenbytes = 2; container = 2; break;
    case 0xdf: lenbytes = 4; container = 2; break;
    default: return 0;                                  /* 0xc1: never used */
    }
    if (fixed) {
        *size = 1 + fixed;
        return *size <= left;
    }
    if (1 + lenbytes > left)
        return 0;
    uint64_t n = be_uint(p + 1, lenbytes);
    if (container) {
        *size = 1 + lenbytes;
        *elems = container == 2 ? 2 * n : n;
        return 1;
    }
    if (n > left - 1 - lenbytes - extra || 1 + lenbytes + extra > left)
        return 0;
    *size = 1 + lenbytes + extra + (size_t)n;
    return 1;
}

/* 1 when the object at p (at most len bytes) is plausible. */
static int plausible(const unsigned char *p, size_t len)
{
    uint64_t pending = 1; /* objects still to read */
    uint64_t depth_stack[DEPTH_MAX];
    int depth = 0;
    size_t pos = 0;
    while (pending) {
        if (pos >= len)
            return 0;
        size_t size;
        uint64_t elems;
        if (!measure(p + pos, len - pos, &size, &elems))
            return 0;
        pos += size;
        pending--;
        if (elems) {
            if (elems > len - pos)
                return 0; /* each element needs a byte at least */
            if (depth == DEPTH_MAX)
                return 0;
            depth_stack[depth++] = pending;
            pending = elems;
        }
        while (!pending && depth)
            pending = depth_stack[--depth];
    }
    return 1;
}

msgpack_unpack_return mproc__core_unpack(msgpack_unpacked *up, const char *buf, size_t len, size_t *off)
{
    if (!buf || *off >= len || !plausible((const unsigned char *)buf + *off, len - *off))
        return MSGPACK_UNPACK_PARSE_ERROR;
    return msgpack_unpack_next(up, buf, len, off);
}
