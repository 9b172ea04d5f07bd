/* SPDX-License-Identifier: MIT */
/* client.c - mproc_client: Python's Client. Connects, then (with a key)
 * answers the listener's challenge and challenges it back. */
#include "ipc/address.h"
#include "ipc/auth.h"

mproc_conn *mproc_client_timeout(const char *address, const void *authkey, size_t keylen, double timeout,
                                 int *err)
{
    be_addr a;
    be_stream *s = NULL;
    mproc_conn *c = NULL;
    mproc__core_ensure_init();
    double deadline = mproc__core_deadline(timeout);
    int rc = (!authkey && keylen) || mproc__core_timeout_invalid(timeout) ? MPROC_EINVAL : mproc__core_addr_parse(address, &a);
    if (rc == 0 && (rc = mproc__be_connect(&a, timeout, &s)) == 0)
        c = mproc__core_conn_wrap(s, CONN_READABLE | CONN_WRITABLE, &rc);
    if (c && authkey &&
        ((rc = mproc__core_auth_answer(c, authkey, keylen, deadline)) != 0 ||
         (rc = mproc__core_auth_deliver(c, authkey, keylen, deadline)) != 0)) {
        mproc_conn_free(c);
        c = NULL;
    }
    if (err)
        *err = rc;
    return c;
}

mproc_conn *mproc_client(const char *address, const void *authkey, size_t keylen, int *err)
{
    return mproc_client_timeout(address, authkey, keylen, MPROC_CONNECT_TIMEOUT, err);
}
