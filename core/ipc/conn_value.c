/* SPDX-License-Identifier: MIT */
/* conn_value.c - values over a connection: one encoded value per message
 * (mproc_conn_send_bytes / mproc_conn_recv_bytes), and the choice of the
 * encoding (docs/values.md). */
#include <stdlib.h>

#include "ipc/conn.h"
#include "ipc/value.h"

/* The codec field: MPROC_CODEC_MSGPACK or _PICKLE when the user chose one,
 * else AUTO (msgpack so far) or AUTO_PICKLE (the peer sent a pickle). */
#define AUTO_PICKLE 3

int mproc_conn_set_value_codec(mproc_conn *c, int codec)
{
    atomic_int *a = mproc__core_conn_codec(c);
    if (!a || codec < MPROC_CODEC_AUTO || codec > MPROC_CODEC_PICKLE)
        return MPROC_EINVAL;
    atomic_store(a, codec);
    return 0;
}

int mproc_conn_value_codec(mproc_conn *c)
{
    atomic_int *a = mproc__core_conn_codec(c);
    if (!a)
        return MPROC_EINVAL;
    int v = atomic_load(a);
    return v == MPROC_CODEC_PICKLE || v == AUTO_PICKLE ? MPROC_CODEC_PICKLE : MPROC_CODEC_MSGPACK;
}

int mproc_conn_send_value(mproc_conn *c, mproc_mval v)
{
    int codec = mproc_conn_value_codec(c);
    if (codec < 0)
        return codec;
    void *buf;
    size_t len;
    int rc = mproc_value_encode(v, codec, &buf, &len);
    if (rc == 0)
        rc = mproc_conn_send_bytes(c, buf, len);
    free(buf);
    return rc;
}

int mproc_conn_recv_value(mproc_conn *c, mproc_mval *out, size_t maxlength)
{
    atomic_int *a = mproc__core_conn_codec(c);
    if (!a || !out)
        return MPROC_EINVAL;
    *out = mproc_mv_nil();
    void *buf;
    size_t len;
    int rc = mproc_conn_recv_bytes(c, &buf, &len, maxlength);
    if (rc != 0)
        return rc;
    int codec = atomic_load(a), automatic = codec == MPROC_CODEC_AUTO || codec == AUTO_PICKLE;
    if (automatic)
        codec = len > 1 && ((unsigned char *)buf)[0] == 0x80 ? MPROC_CODEC_PICKLE : MPROC_CODEC_MSGPACK;
    rc = mproc_value_decode(buf, len, codec, out);
    free(buf);
    if (rc == 0 && automatic) { /* answer in the peer's encoding, unless the user chose one meanwhile */
        int seen = codec == MPROC_CODEC_PICKLE ? AUTO_PICKLE : MPROC_CODEC_AUTO;
        int expect = seen == AUTO_PICKLE ? MPROC_CODEC_AUTO : AUTO_PICKLE;
        atomic_compare_exchange_strong(a, &expect, seen);
    }
    return rc;
}
