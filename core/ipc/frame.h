/* SPDX-License-Identifier: MIT */
/* frame.h - the message framing of Python's multiprocessing.connection on
 * sockets: a 4-byte big-endian signed length, or -1 followed by an 8-byte
 * big-endian length for payloads over 0x7FFFFFFF (CPython gh-61760).
 * Readers take the long form for any size. */
#ifndef MPROC_CORE_FRAME_H
#define MPROC_CORE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_SHORT 4       /* bytes of the first header part */
#define FRAME_LONG 8        /* bytes of the length that follows -1 */
#define FRAME_HDR_MAX (FRAME_SHORT + FRAME_LONG)
#define FRAME_SHORT_MAX 0x7FFFFFFFu

/* The header for a payload of len bytes; returns its size (4 or 12). */
size_t mproc__core_frame_encode(uint64_t len, unsigned char hdr[FRAME_HDR_MAX]);
/* The first 4 bytes: 0 with *len, 1 when FRAME_LONG length bytes follow,
 * or MPROC_EOS for any other negative length (a corrupt stream). */
int mproc__core_frame_decode_short(const unsigned char hdr[FRAME_SHORT], uint64_t *len);
/* The 8 length bytes: 0 with *len, MPROC_EOS when >= 2^63 (corrupt). */
int mproc__core_frame_decode_long(const unsigned char hdr[FRAME_LONG], uint64_t *len);

#endif
