/* SPDX-License-Identifier: MIT */
/* auth.c - see auth.h; CPython's Lib/multiprocessing/connection.py is the
 * reference for every check. */
#include <string.h>

#include "ipc/auth.h"

#define AUTH_MSG_MAX CORE_AUTH_MSG_MAX
#define CHALLENGE "#CHALLENGE#"
#define WELCOME "#WELCOME#"
#define FAILURE "#FAILURE#"
#define RANDOM_LEN 40       /* Python >= 3.12: MESSAGE_LENGTH */
#define LEGACY_CHALLENGE 20 /* Python <= 3.11: bare 20 random bytes */
#define LEGACY_ANSWER 16    /* bare HMAC-MD5 */
#define DIGEST_NAME_MAX 8   /* "sha3_384" */
#define OUR_DIGEST "sha256"

_Static_assert(DIGEST_NAME_MAX + 2 + BE_HMAC_MAX == CORE_AUTH_ANSWER_MAX, "answer length");

static const char *const allowed[] = {"md5", "sha256", "sha384", "sha3_256", "sha3_384"};

int mproc__core_auth_digest_of(const unsigned char *msg, size_t len, char name[16], size_t *payload_at)
{
    name[0] = '\0';
    *payload_at = 0;
    if (len == LEGACY_CHALLENGE || len == LEGACY_ANSWER)
        return 0; /* every prefixed message is longer than these */
    if (len < 2 || msg[0] != '{')
        return MPROC_EAUTH;
    for (size_t i = 1; i < len && i < DIGEST_NAME_MAX + 2; i++) {
        if (msg[i] != '}')
            continue;
        for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++)
            if (strlen(allowed[k]) == i - 1 && memcmp(msg + 1, allowed[k], i - 1) == 0) {
                strcpy(name, allowed[k]);
                *payload_at = i + 1;
                return 0;
            }
        return MPROC_EAUTH;
    }
    return MPROC_EAUTH;
}

/* hmac.compare_digest: the time taken does not depend on the contents. */
static int equal_ct(const unsigned char *a, const unsigned char *b, size_t n)
{
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static int send_str(mproc_conn *c, const char *s, double deadline)
{
    return mproc__core_conn_send_timed(c, s, strlen(s), mproc__core_remaining(deadline));
}

/* An auth message; longer than AUTH_MSG_MAX is an auth failure. */
static int recv_auth(mproc_conn *c, unsigned char *buf, size_t *len, double deadline)
{
    int rc = mproc__core_conn_recv_timed(c, buf, AUTH_MSG_MAX, len, mproc__core_remaining(deadline));
    return rc == MPROC_EMSGSIZE ? MPROC_EAUTH : rc;
}

/* Python's _verify_challenge: the answer may name any allowed digest (or
 * be a bare MD5); the MAC covers our whole message, prefix included, so
 * naming a weaker digest cannot downgrade it. */
static int verify(const void *key, size_t keylen, const unsigned char *message, size_t mlen,
                  const unsigned char *answer, size_t alen)
{
    char name[16];
    size_t at;
    if (mproc__core_auth_digest_of(answer, alen, name, &at) != 0)
        return MPROC_EAUTH;
    unsigned char expected[BE_HMAC_MAX];
    size_t elen;
    if (mproc__be_hmac(name[0] ? name : "md5", key, keylen, message, mlen, expected, &elen) != 0)
        return MPROC_EAUTH;
    if (alen - at != elen || !equal_ct(expected, answer + at, elen))
        return MPROC_EAUTH;
    return 0;
}

int mproc__core_auth_make_challenge(unsigned char msg[CORE_AUTH_CHALLENGE_LEN])
{
    size_t clen = sizeof CHALLENGE - 1, plen = sizeof "{" OUR_DIGEST "}" - 1;
    _Static_assert(sizeof CHALLENGE - 1 + sizeof "{" OUR_DIGEST "}" - 1 + RANDOM_LEN == CORE_AUTH_CHALLENGE_LEN,
                   "challenge length");
    memcpy(msg, CHALLENGE, clen);
    memcpy(msg + clen, "{" OUR_DIGEST "}", plen);
    return mproc__be_random(msg + clen + plen, RANDOM_LEN);
}

int mproc__core_auth_check_answer(const void *key, size_t keylen, const unsigned char challenge[CORE_AUTH_CHALLENGE_LEN],
                           const unsigned char *answer, size_t alen)
{
    size_t clen = sizeof CHALLENGE - 1;
    return verify(key, keylen, challenge + clen, CORE_AUTH_CHALLENGE_LEN - clen, answer, alen);
}

const char *mproc__core_auth_verdict(int ok) { return ok ? WELCOME : FAILURE; }

int mproc__core_auth_is_welcome(const unsigned char *msg, size_t len)
{
    return len == sizeof WELCOME - 1 && memcmp(msg, WELCOME, len) == 0;
}

int mproc__core_auth_deliver(mproc_conn *c, const void *key, size_t keylen, double deadline)
{
    unsigned char msg[CORE_AUTH_CHALLENGE_LEN];
    int rc = mproc__core_auth_make_challenge(msg);
    if (rc == 0)
        rc = mproc__core_conn_send_timed(c, msg, sizeof msg, mproc__core_remaining(deadline));
    unsigned char answer[AUTH_MSG_MAX];
    size_t alen = 0;
    if (rc == 0)
        rc = recv_auth(c, answer, &alen, deadline);
    if (rc)
        return rc;
    if (mproc__core_auth_check_answer(key, keylen, msg, answer, alen) != 0) {
        send_str(c, FAILURE, deadline); /* the peer may be gone already */
        return MPROC_EAUTH;
    }
    return send_str(c, WELCOME, deadline);
}

/* Python's _create_response: the digest the challenge names, "{name}" +
 * HMAC over the whole challenge; a legacy challenge gets a bare HMAC-MD5. */
static int respond(const void *key, size_t keylen, const unsigned char *challenge, size_t len,
                   unsigned char *out, size_t *outlen)
{
    char name[16];
    size_t at;
    if (mproc__core_auth_digest_of(challenge, len, name, &at) != 0)
        return MPROC_EAUTH;
    size_t prefix = name[0] ? strlen(name) + 2 : 0;
    if (prefix) {
        out[0] = '{';
        memcpy(out + 1, name, prefix - 2);
        out[prefix - 1] = '}';
    }
    size_t mlen;
    if (mproc__be_hmac(name[0] ? name : "md5", key, keylen, challenge, len, out + prefix, &mlen) != 0)
        return MPROC_EAUTH;
    *outlen = prefix + mlen;
    return 0;
}

int mproc__core_auth_make_answer(const void *key, size_t keylen, const unsigned char *msg, size_t len,
                          unsigned char out[CORE_AUTH_ANSWER_MAX], size_t *outlen)
{
    size_t clen = sizeof CHALLENGE - 1;
    if (len < clen + LEGACY_CHALLENGE || memcmp(msg, CHALLENGE, clen) != 0)
        return MPROC_EAUTH; /* not a challenge, or too short */
    return respond(key, keylen, msg + clen, len - clen, out, outlen);
}

int mproc__core_auth_answer(mproc_conn *c, const void *key, size_t keylen, double deadline)
{
    unsigned char msg[AUTH_MSG_MAX];
    size_t len = 0;
    int rc = recv_auth(c, msg, &len, deadline);
    if (rc)
        return rc;
    unsigned char answer[CORE_AUTH_ANSWER_MAX];
    size_t alen;
    if ((rc = mproc__core_auth_make_answer(key, keylen, msg, len, answer, &alen)) != 0 ||
        (rc = mproc__core_conn_send_timed(c, answer, alen, mproc__core_remaining(deadline))) != 0 ||
        (rc = recv_auth(c, msg, &len, deadline)) != 0)
        return rc;
    if (!mproc__core_auth_is_welcome(msg, len))
        return MPROC_EAUTH; /* "digest sent was rejected" */
    return 0;
}
