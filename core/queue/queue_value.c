/* SPDX-License-Identifier: MIT */
/* queue_value.c - values over a queue: one msgpack value per message, over
 * mproc_queue_put / mproc_queue_get (so a manager's queue too). */
#include <stdlib.h>

#include "queue/queue.h"

int mproc_queue_put_value(mproc_queue *q, mproc_mval v, double timeout)
{
    void *buf;
    size_t len;
    int rc = mproc_value_encode(v, MPROC_CODEC_MSGPACK, &buf, &len);
    if (rc == 0)
        rc = mproc_queue_put(q, buf, len, timeout);
    free(buf);
    return rc;
}

int mproc_queue_get_value(mproc_queue *q, mproc_mval *out, double timeout)
{
    if (!out)
        return MPROC_EINVAL;
    *out = mproc_mv_nil();
    void *buf;
    size_t len;
    int rc = mproc_queue_get(q, &buf, &len, timeout);
    if (rc != 0)
        return rc;
    rc = mproc_value_decode(buf, len, MPROC_CODEC_MSGPACK, out);
    free(buf);
    return rc;
}
