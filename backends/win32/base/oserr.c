/* SPDX-License-Identifier: MIT */
/* oserr.c - OS errors: every failure the backend reports as MPROC_ESYS or
 * MPROC_ESPAWN goes through here, so mproc_last_os_error() tells why. */
#include "win32.h"

int mproc__w32_fail(int code, DWORD os_error)
{
    mproc__core_set_os_error((int)os_error);
    return code;
}

int mproc__w32_last_error(int code) { return mproc__w32_fail(code, GetLastError()); }
