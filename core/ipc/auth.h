/* SPDX-License-Identifier: MIT */
/* auth.h - the authentication handshake of Python's
 * multiprocessing.connection (deliver_challenge / answer_challenge), with
 * both protocol generations: Python >= 3.12 prefixes challenges and
 * answers with "{digest}", Python <= 3.11 sends a bare 20-byte challenge
 * and answers with a bare HMAC-MD5. */
#ifndef MPROC_CORE_AUTH_H
#define MPROC_CORE_AUTH_H

#include "ipc/conn.h"

#define CORE_AUTH_MSG_MAX 256      /* Python: recv_bytes(256); longer is MPROC_EAUTH */
#define CORE_AUTH_CHALLENGE_LEN 59 /* "#CHALLENGE#{sha256}" + 40 random bytes */
#define CORE_AUTH_ANSWER_MAX 74    /* "{sha3_384}" + 64 bytes of HMAC */

/* The steps, without I/O (the listener's non-blocking handshake, handshake.c,
 * and the blocking calls below share them). */
int mproc__core_auth_make_challenge(unsigned char msg[CORE_AUTH_CHALLENGE_LEN]);
/* Judges the peer's answer to our challenge: 0 or MPROC_EAUTH. */
int mproc__core_auth_check_answer(const void *key, size_t keylen, const unsigned char challenge[CORE_AUTH_CHALLENGE_LEN],
                           const unsigned char *answer, size_t alen);
/* Our answer to the peer's whole challenge message (MPROC_EAUTH when it is
 * not a challenge or names no allowed digest). */
int mproc__core_auth_make_answer(const void *key, size_t keylen, const unsigned char *msg, size_t len,
                          unsigned char out[CORE_AUTH_ANSWER_MAX], size_t *outlen);
const char *mproc__core_auth_verdict(int ok); /* "#WELCOME#" or "#FAILURE#" */
int mproc__core_auth_is_welcome(const unsigned char *msg, size_t len);

/* Challenges the peer ("{sha256}" + 40 random bytes) and judges its
 * answer; tells it #WELCOME# or #FAILURE#. 0 or MPROC_EAUTH; MPROC_EOS,
 * MPROC_ETIMEDOUT and other I/O errors as they come. deadline: from
 * mproc__core_deadline. */
int mproc__core_auth_deliver(mproc_conn *c, const void *key, size_t keylen, double deadline);
/* Answers the peer's challenge in the digest it asked for (bare HMAC-MD5
 * for a legacy one) and reads the verdict. */
int mproc__core_auth_answer(mproc_conn *c, const void *key, size_t keylen, double deadline);

/* Python's _get_digest_name_and_payload: the digest a challenge or answer
 * names ("" for the legacy 16- and 20-byte forms) and where its payload
 * starts. MPROC_EAUTH when it names none that is allowed. Public for tests. */
int mproc__core_auth_digest_of(const unsigned char *msg, size_t len, char name[16], size_t *payload_at);

#endif
