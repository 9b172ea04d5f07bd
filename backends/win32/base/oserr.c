/* SPDX-License-Identifier: MIT */
/* oserr.c - OS errors: every failure the backend reports as MPROC_ESYS or
 * MPROC_ESPAWN goes through here, so mproc_last_os_error() tells why. */
#include "win32.h"

int w32_fail(int code, DWORD os_error)
{
    core_set_os_error((int)os_error);
    return code;
}

int w32_last_error(int code) { return w32_fail(code, GetLastError()); }
