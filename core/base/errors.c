/* SPDX-License-Identifier: MIT */
/* errors.c - messages and names of MPROC_E* codes, and the OS error kept
 * for mproc_last_os_error(). */
#include "backend.h"

static _Thread_local int last_os_error;

const char *mproc_strerror(int err)
{
    switch (err) {
    case MPROC_OK:
        return "success";
#define XX(name, value, msg) \
    case MPROC_##name:       \
        return msg;
        MPROC_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

const char *mproc_err_name(int err)
{
    switch (err) {
    case MPROC_OK:
        return "MPROC_OK";
#define XX(name, value, msg) \
    case MPROC_##name:       \
        return "MPROC_" #name;
        MPROC_ERRNO_MAP(XX)
#undef XX
    default:
        return "MPROC_EUNKNOWN";
    }
}

void mproc__core_set_os_error(int os_error) { last_os_error = os_error; }

int mproc_last_os_error(void) { return last_os_error; }
