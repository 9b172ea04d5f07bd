/* SPDX-License-Identifier: MIT */
/* random.c - cryptographically random bytes from the system RNG. */
#include "win32.h"

#include <bcrypt.h> /* after windows.h */

int mproc__be_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len) {
        ULONG n = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        NTSTATUS st = BCryptGenRandom(NULL, p, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
        if (!BCRYPT_SUCCESS(st))
            return mproc__w32_fail(MPROC_ESYS, (DWORD)st);
        p += n;
        len -= n;
    }
    return 0;
}
