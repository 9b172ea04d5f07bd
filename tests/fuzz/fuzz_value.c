/* SPDX-License-Identifier: MIT */
/* fuzz_value.c - libFuzzer target: the value decoders (what
 * mproc_conn_recv_value accepts from a peer: pickle from Python, msgpack
 * from mproc). The first byte picks the codec (0 msgpack, 1 pickle, 2 or 3
 * AUTO); a value that decodes is encoded again with both codecs, and each
 * encoding must decode to a tree that encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mproc.h"

static void again(mproc_mval v, int codec)
{
    void *b1 = NULL, *b2 = NULL;
    size_t n1, n2;
    if (mproc_value_encode(v, codec, &b1, &n1) != 0)
        return; /* a key holding a list (a frozenset key from a pickle), a string that is not UTF-8 */
    mproc_mval w;
    if (mproc_value_decode(b1, n1, codec, &w) != 0)
        abort(); /* what mproc encodes, mproc decodes */
    if (mproc_value_encode(w, codec, &b2, &n2) != 0 || n1 != n2 || memcmp(b1, b2, n1) != 0)
        abort();
    mproc_mval_clear(&w);
    mproc_free(b1);
    mproc_free(b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const int codecs[4] = {MPROC_CODEC_MSGPACK, MPROC_CODEC_PICKLE, MPROC_CODEC_AUTO, MPROC_CODEC_AUTO};
    mproc_mval v;
    if (mproc_value_decode(data + 1, size - 1, codecs[data[0] & 3], &v) != 0)
        return 0;
    again(v, MPROC_CODEC_MSGPACK);
    again(v, MPROC_CODEC_PICKLE);
    mproc_mval_clear(&v);
    return 0;
}
