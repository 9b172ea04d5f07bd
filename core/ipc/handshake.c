/* SPDX-License-Identifier: MIT */
/* handshake.c - see handshake.h. The listener's order is Python's
 * Listener.accept: deliver_challenge (challenge, judge the answer, send
 * the verdict), then answer_challenge (read the client's challenge,
 * answer, read its verdict). */
#include <stdlib.h>
#include <string.h>

#include "ipc/auth.h"
#include "ipc/frame.h"
#include "ipc/handshake.h"

/* Our messages are at most 86 bytes, so a write into a fresh connection's
 * empty socket or pipe buffer does not wait for the peer; the bound only
 * covers an overlapped write that completes a moment later (Windows). */
#define WRITE_TIMEOUT 1.0
/* A message pipe's next message is there whole once its size is known. */
#define MESSAGE_READ_TIMEOUT 1.0

enum hs_step { HS_ANSWER, HS_CHALLENGE, HS_VERDICT, HS_DONE };

struct core_hs {
    be_stream *s;
    int message; /* a message stream: no frame headers */
    const void *key;
    size_t keylen;
    double deadline;
    enum hs_step step;
    unsigned char challenge[CORE_AUTH_CHALLENGE_LEN]; /* ours, to judge the answer */
    /* The message coming in: its header, then its body. */
    unsigned char hdr[FRAME_HDR_MAX];
    size_t hgot, hneed;
    int in_body;
    unsigned char body[CORE_AUTH_MSG_MAX];
    size_t bgot, bneed;
};

static int send_msg(core_hs *h, const void *buf, size_t len)
{
    unsigned char one[FRAME_HDR_MAX + CORE_AUTH_MSG_MAX];
    if (len > CORE_AUTH_MSG_MAX)
        return MPROC_EINVAL;
    size_t hl = h->message ? 0 : mproc__core_frame_encode(len, one);
    memcpy(one + hl, buf, len);
    be_iov iov = {one, hl + len};
    return mproc__be_stream_write(h->s, &iov, 1, WRITE_TIMEOUT);
}

/* A message pipe: the next message if one is there. */
static int recv_message(core_hs *h)
{
    size_t size;
    int rc = mproc__be_stream_next_message(h->s, &size, 0);
    if (rc)
        return rc == MPROC_ETIMEDOUT ? 0 : rc;
    if (size > CORE_AUTH_MSG_MAX)
        return MPROC_EAUTH;
    if (size && (rc = mproc__be_stream_read(h->s, h->body, size, MESSAGE_READ_TIMEOUT)) != 0)
        return rc;
    h->bgot = size;
    return 1;
}

/* Reads into buf[*got, need) what is there: 1 complete, 0 not yet. */
static int fill(be_stream *s, unsigned char *buf, size_t *got, size_t need)
{
    while (*got < need) {
        size_t n = 0;
        int rc = mproc__be_stream_read_some(s, buf + *got, need - *got, 0, &n);
        if (rc)
            return rc == MPROC_ETIMEDOUT ? 0 : rc;
        *got += n;
    }
    return 1;
}

/* A framed message, in as many pieces as it comes: 1 when h->body holds
 * it (h->bgot bytes), 0 when more must come, or an error. */
static int recv_framed(core_hs *h)
{
    int rc;
    while (!h->in_body) {
        if ((rc = fill(h->s, h->hdr, &h->hgot, h->hneed)) != 1)
            return rc;
        uint64_t len;
        if (h->hneed == FRAME_SHORT) {
            if ((rc = mproc__core_frame_decode_short(h->hdr, &len)) < 0)
                return MPROC_EAUTH; /* no sender of the protocol makes it */
            if (rc == 1) {
                h->hneed = FRAME_HDR_MAX; /* the long form, any size */
                continue;
            }
        } else if (mproc__core_frame_decode_long(h->hdr + FRAME_SHORT, &len) != 0) {
            return MPROC_EAUTH;
        }
        if (len > CORE_AUTH_MSG_MAX)
            return MPROC_EAUTH; /* as the blocking handshake: too long */
        h->in_body = 1;
        h->bneed = (size_t)len;
        h->bgot = 0;
    }
    if ((rc = fill(h->s, h->body, &h->bgot, h->bneed)) != 1)
        return rc;
    h->in_body = 0; /* ready for the next one */
    h->hgot = 0;
    h->hneed = FRAME_SHORT;
    return 1;
}

int mproc__core_hs_start(be_stream *s, const void *key, size_t keylen, double deadline, core_hs **out)
{
    core_hs *h = calloc(1, sizeof *h);
    if (!h) {
        mproc__be_stream_close(s);
        return MPROC_ENOMEM;
    }
    h->s = s;
    h->message = mproc__be_stream_is_message(s);
    h->key = key;
    h->keylen = keylen;
    h->deadline = deadline;
    h->hneed = FRAME_SHORT;
    h->step = key ? HS_ANSWER : HS_DONE;
    int rc = 0;
    if (key && (rc = mproc__core_auth_make_challenge(h->challenge)) == 0)
        rc = send_msg(h, h->challenge, sizeof h->challenge);
    if (rc) {
        mproc__core_hs_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

/* The message that just came, for the step we are at. */
static int on_message(core_hs *h)
{
    const char *verdict;
    unsigned char answer[CORE_AUTH_ANSWER_MAX];
    size_t alen;
    int rc;
    switch (h->step) {
    case HS_ANSWER:
        rc = mproc__core_auth_check_answer(h->key, h->keylen, h->challenge, h->body, h->bgot);
        verdict = mproc__core_auth_verdict(rc == 0);
        if (rc) {
            send_msg(h, verdict, strlen(verdict)); /* the peer may be gone already */
            return MPROC_EAUTH;
        }
        h->step = HS_CHALLENGE;
        return send_msg(h, verdict, strlen(verdict));
    case HS_CHALLENGE:
        if ((rc = mproc__core_auth_make_answer(h->key, h->keylen, h->body, h->bgot, answer, &alen)) != 0)
            return rc;
        h->step = HS_VERDICT;
        return send_msg(h, answer, alen);
    case HS_VERDICT:
        if (!mproc__core_auth_is_welcome(h->body, h->bgot))
            return MPROC_EAUTH; /* "digest sent was rejected" */
        h->step = HS_DONE;
        return 0;
    default:
        return MPROC_ESTATE;
    }
}

int mproc__core_hs_step(core_hs *h)
{
    while (h->step != HS_DONE) {
        int rc = h->message ? recv_message(h) : recv_framed(h);
        if (rc != 1)
            return rc;
        if ((rc = on_message(h)) != 0)
            return rc;
    }
    return 1;
}

int mproc__core_hs_done(const core_hs *h) { return h->step == HS_DONE; }

be_stream *mproc__core_hs_stream(const core_hs *h) { return h->s; }

double mproc__core_hs_deadline(const core_hs *h) { return h->deadline; }

mproc_conn *mproc__core_hs_finish(core_hs *h, int *err)
{
    be_stream *s = h->s;
    free(h);
    return mproc__core_conn_wrap(s, CONN_READABLE | CONN_WRITABLE, err);
}

void mproc__core_hs_free(core_hs *h)
{
    if (!h)
        return;
    mproc__be_stream_close(h->s);
    free(h);
}

/* ------------------------------------------------------------ the set */

static void remove_at(core_hs_set *set, size_t i)
{
    memmove(set->v + i, set->v + i + 1, (set->n - i - 1) * sizeof set->v[0]);
    set->n--;
}

void mproc__core_hs_set_add(core_hs_set *set, core_hs *h)
{
    if (set->n == CORE_HS_PENDING_MAX) {
        mproc__core_hs_free(set->v[0]);
        remove_at(set, 0);
    }
    set->v[set->n++] = h;
}

double mproc__core_hs_set_expire(core_hs_set *set, double now)
{
    double next = -1;
    for (size_t i = set->n; i-- > 0;) {
        double d = set->v[i]->deadline;
        if (d >= 0 && d <= now) {
            mproc__core_hs_free(set->v[i]);
            remove_at(set, i);
        } else if (d >= 0 && (next < 0 || d - now < next)) {
            next = d - now;
        }
    }
    return next;
}

void mproc__core_hs_set_items(const core_hs_set *set, be_wait_item *items)
{
    for (size_t i = 0; i < set->n; i++)
        items[i] = (be_wait_item){set->v[i]->s, NULL, 0};
}

int mproc__core_hs_set_step(core_hs_set *set, size_t i, mproc_conn **out)
{
    core_hs *h = set->v[i];
    int rc = mproc__core_hs_step(h);
    if (rc == 0)
        return 0;
    remove_at(set, i);
    if (rc < 0) {
        mproc__core_hs_free(h);
        return rc;
    }
    *out = mproc__core_hs_finish(h, &rc);
    return *out ? 1 : rc;
}

void mproc__core_hs_set_move(core_hs_set *to, core_hs_set *from)
{
    for (size_t i = 0; i < from->n; i++)
        mproc__core_hs_set_add(to, from->v[i]);
    from->n = 0;
}

void mproc__core_hs_set_clear(core_hs_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        mproc__core_hs_free(set->v[i]);
    set->n = 0;
}
