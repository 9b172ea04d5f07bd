/* SPDX-License-Identifier: MIT */
/* hmac.c - mproc__be_hmac with OpenSSL's libcrypto (connection authentication). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "posix.h"

static const EVP_MD *digest_by_name(const char *name)
{
    if (strcmp(name, "md5") == 0)
        return EVP_md5();
    if (strcmp(name, "sha256") == 0)
        return EVP_sha256();
    if (strcmp(name, "sha384") == 0)
        return EVP_sha384();
    if (strcmp(name, "sha3_256") == 0)
        return EVP_sha3_256();
    if (strcmp(name, "sha3_384") == 0)
        return EVP_sha3_384();
    return NULL;
}

int mproc__be_hmac(const char *digest, const void *key, size_t keylen, const void *msg, size_t len,
            unsigned char out[BE_HMAC_MAX], size_t *outlen)
{
    static const unsigned char empty[1];
    const EVP_MD *md = digest ? digest_by_name(digest) : NULL;
    if (!md || (!key && keylen) || (!msg && len) || keylen > INT32_MAX ||
        (size_t)EVP_MD_size(md) > BE_HMAC_MAX)
        return MPROC_EINVAL;
    unsigned int n = 0;
    /* OpenSSL reads a NULL key as "keep the previous key": never pass one. */
    if (!HMAC(md, keylen ? key : empty, (int)keylen, msg ? msg : empty, len, out, &n))
        return MPROC_EINVAL; /* e.g. md5 refused in FIPS mode */
    *outlen = n;
    return 0;
}
