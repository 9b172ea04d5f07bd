/* SPDX-License-Identifier: MIT */
/* privaddr.c - mproc__be_private_address: a unix socket in a new 0700 directory
 * under $TMPDIR (or /tmp), as Python's arbitrary_address does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "posix.h"

#define SOCK_NAME "/listener"

int mproc__be_private_address(be_addr *out)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 60) /* sun_path is short */
        tmp = "/tmp";
    memset(out, 0, sizeof *out);
    out->family = BE_ADDR_UNIX;
    snprintf(out->name, sizeof out->name, "%s/mproc-mgr-XXXXXX", tmp);
    if (!mkdtemp(out->name)) { /* mkdtemp makes it 0700 */
        mproc__core_set_os_error(errno);
        return MPROC_ESYS;
    }
    mproc__px_track(PX_TRK_DIR, out->name, 1); /* removed should this process be killed */
    strcat(out->name, SOCK_NAME);
    return 0;
}

void mproc__be_private_address_remove(const be_addr *a)
{
    char dir[BE_ADDR_MAX];
    size_t n = strlen(a->name), k = strlen(SOCK_NAME);
    if (a->family != BE_ADDR_UNIX || n <= k || n >= sizeof dir)
        return;
    memcpy(dir, a->name, n - k);
    dir[n - k] = '\0';
    unlink(a->name); /* in case the listener did not */
    if (rmdir(dir) == 0 || errno == ENOENT)
        mproc__px_track(PX_TRK_DIR, dir, 0);
}
