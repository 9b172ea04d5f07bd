/* SPDX-License-Identifier: MIT */
/* unpack.h - msgpack_unpack_next behind a check of the bytes' structure.
 *
 * msgpack-c allocates an array or map for the count its header declares
 * before it reads the elements: five bytes can ask for gigabytes (found by
 * tests/fuzz). Every decoder of bytes from another process goes through
 * mproc__core_unpack, which first walks the object without allocating and refuses
 * a container that declares more elements than there are bytes left. */
#ifndef MPROC_CORE_UNPACK_H
#define MPROC_CORE_UNPACK_H

#include <msgpack.h>
#include <stddef.h>

/* As msgpack_unpack_next(up, buf, len, off), or MSGPACK_UNPACK_PARSE_ERROR
 * for an implausible object at buf + *off. */
msgpack_unpack_return mproc__core_unpack(msgpack_unpacked *up, const char *buf, size_t len, size_t *off);

#endif
