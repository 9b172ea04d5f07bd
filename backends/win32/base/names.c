/* SPDX-License-Identifier: MIT */
/* names.c - names of the kernel objects behind sync records and owners. */
#include <wchar.h>

#include "win32.h"

void mproc__w32_object_name(wchar_t *out, const char *tag, uint64_t a, uint64_t b)
{
    wcscpy(out, L"Local\\mproc-");
    size_t n = wcslen(out);
    while (*tag && n < 24)
        out[n++] = (wchar_t)*tag++;
    out[n++] = L'-';
    n += mproc__w32_hex(out + n, a);
    out[n++] = L'-';
    mproc__w32_hex(out + n, b);
}

int mproc__w32_sync_id_init(w32_sync_id *id)
{
    uint64_t nonce = 0;
    int rc = mproc__be_random(&nonce, sizeof nonce);
    if (rc)
        return rc;
    id->pid = GetCurrentProcessId();
    id->nonce = nonce;
    id->magic = W32_SYNC_MAGIC;
    return 0;
}
