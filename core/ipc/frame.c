/* SPDX-License-Identifier: MIT */
/* frame.c - see frame.h. */
#include "ipc/frame.h"

#include "mproc.h"

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xFF);
        v >>= 8;
    }
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

size_t mproc__core_frame_encode(uint64_t len, unsigned char hdr[FRAME_HDR_MAX])
{
    if (len <= FRAME_SHORT_MAX) {
        put_be(hdr, len, FRAME_SHORT);
        return FRAME_SHORT;
    }
    put_be(hdr, 0xFFFFFFFFu, FRAME_SHORT); /* -1 */
    put_be(hdr + FRAME_SHORT, len, FRAME_LONG);
    return FRAME_HDR_MAX;
}

int mproc__core_frame_decode_short(const unsigned char hdr[FRAME_SHORT], uint64_t *len)
{
    uint64_t v = get_be(hdr, FRAME_SHORT);
    if (v <= FRAME_SHORT_MAX) {
        *len = v;
        return 0;
    }
    /* Python reads other negative lengths as an empty message, a bug: for
     * us the stream is corrupt. */
    return v == 0xFFFFFFFFu ? 1 : MPROC_EOS;
}

int mproc__core_frame_decode_long(const unsigned char hdr[FRAME_LONG], uint64_t *len)
{
    uint64_t v = get_be(hdr, FRAME_LONG);
    if (v >> 63)
        return MPROC_EOS; /* Python's struct "!Q" would take it; no sender can */
    *len = v;
    return 0;
}
