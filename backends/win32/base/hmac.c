/* SPDX-License-Identifier: MIT */
/* hmac.c - mproc__be_hmac with BCrypt (connection authentication). Each
 * algorithm provider is opened once per process, on first use, and kept:
 * opening one is slow and a provider handle is safe from any thread.
 * SHA-3 is asked for by name: Windows 11 24H2 has it; older Windows and
 * wine do not, and then "sha3_256"/"sha3_384" are MPROC_EINVAL. */
#include <limits.h>
#include <string.h>

#include "win32.h"

#include <bcrypt.h> /* after windows.h */

typedef struct digest {
    const char *name;    /* Python's */
    const wchar_t *alg;  /* BCrypt's */
    ULONG size;
    INIT_ONCE once;
    BCRYPT_ALG_HANDLE h; /* NULL if this system lacks it */
} digest;

static digest digests[] = {
    {"md5", BCRYPT_MD5_ALGORITHM, 16, INIT_ONCE_STATIC_INIT, NULL},
    {"sha256", BCRYPT_SHA256_ALGORITHM, 32, INIT_ONCE_STATIC_INIT, NULL},
    {"sha384", BCRYPT_SHA384_ALGORITHM, 48, INIT_ONCE_STATIC_INIT, NULL},
    /* BCRYPT_SHA3_*_ALGORITHM, which older SDK headers lack: */
    {"sha3_256", L"SHA3-256", 32, INIT_ONCE_STATIC_INIT, NULL},
    {"sha3_384", L"SHA3-384", 48, INIT_ONCE_STATIC_INIT, NULL},
};

static BOOL CALLBACK open_provider(PINIT_ONCE o, PVOID param, PVOID *ctx)
{
    (void)o;
    (void)ctx;
    digest *d = param;
    if (!BCRYPT_SUCCESS(BCryptOpenAlgorithmProvider(&d->h, d->alg, NULL, BCRYPT_ALG_HANDLE_HMAC_FLAG)))
        d->h = NULL; /* not on this system: stays refused */
    return TRUE;
}

static digest *digest_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof digests / sizeof digests[0]; i++)
        if (strcmp(name, digests[i].name) == 0) {
            digest *d = &digests[i];
            InitOnceExecuteOnce(&d->once, open_provider, d, NULL);
            return d->h ? d : NULL;
        }
    return NULL;
}

int mproc__be_hmac(const char *digest_name, const void *key, size_t keylen, const void *msg, size_t len,
            unsigned char out[BE_HMAC_MAX], size_t *outlen)
{
    digest *d = digest_name ? digest_by_name(digest_name) : NULL;
    if (!d || (!key && keylen) || (!msg && len) || keylen > ULONG_MAX)
        return MPROC_EINVAL;
    BCRYPT_HASH_HANDLE hh;
    /* The hash object's memory: BCrypt's own (NULL, 0). */
    NTSTATUS st = BCryptCreateHash(d->h, &hh, NULL, 0, (PUCHAR)key, (ULONG)keylen, 0);
    if (!BCRYPT_SUCCESS(st))
        return mproc__w32_fail(MPROC_ESYS, (DWORD)st);
    const unsigned char *p = msg;
    while (BCRYPT_SUCCESS(st) && len > 0) {
        ULONG k = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        st = BCryptHashData(hh, (PUCHAR)p, k, 0);
        p += k;
        len -= k;
    }
    if (BCRYPT_SUCCESS(st))
        st = BCryptFinishHash(hh, out, d->size, 0);
    BCryptDestroyHash(hh);
    if (!BCRYPT_SUCCESS(st))
        return mproc__w32_fail(MPROC_ESYS, (DWORD)st);
    *outlen = d->size;
    return 0;
}
