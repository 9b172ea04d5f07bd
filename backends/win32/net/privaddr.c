/* SPDX-License-Identifier: MIT */
/* privaddr.c - mproc__be_private_address: a named pipe with a random name
 * (Python's arbitrary_address for AF_PIPE). Pipes vanish with their last
 * handle: nothing to remove. */
#include <stdio.h>
#include <string.h>

#include "win32.h"

int mproc__be_private_address(be_addr *out)
{
    unsigned char r[8];
    int rc = mproc__be_random(r, sizeof r);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->family = BE_ADDR_PIPE;
    snprintf(out->name, sizeof out->name, "\\\\.\\pipe\\mproc-mgr-%lu-%02x%02x%02x%02x%02x%02x%02x%02x",
             (unsigned long)GetCurrentProcessId(), r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    return 0;
}

void mproc__be_private_address_remove(const be_addr *a) { (void)a; }
