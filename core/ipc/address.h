/* SPDX-License-Identifier: MIT */
/* address.h - listener/client addresses as strings: "tcp://HOST:PORT"
 * (HOST may be "[v6 literal]" or empty for every interface), "unix:PATH",
 * "pipe:\\.\pipe\NAME". */
#ifndef MPROC_CORE_ADDRESS_H
#define MPROC_CORE_ADDRESS_H

#include "backend.h"

/* MPROC_EINVAL for anything else, a port over 65535 or a name too long. */
int mproc__core_addr_parse(const char *s, be_addr *out);
/* The string form (what mproc_listener_address gives); MPROC_EINVAL if
 * it does not fit cap bytes. */
int mproc__core_addr_format(const be_addr *a, char *buf, size_t cap);

#endif
