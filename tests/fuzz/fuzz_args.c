/* SPDX-License-Identifier: MIT */
/* fuzz_args.c - libFuzzer target: the msgpack decoder of mproc_args (what
 * mproc_args_decode accepts from another process), then every accessor on
 * what it produced, then a re-encode that must decode to the same bytes. */
#include <stdint.h>
#include <string.h>

#include "mproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int err = 0;
    mproc_args *a = mproc_args_decode(data, size, &err);
    if (!a)
        return 0;
    size_t n = mproc_args_count(a);
    for (size_t i = 0; i <= n; i++) {
        size_t len;
        (void)mproc_args_type(a, i);
        (void)mproc_args_int(a, i);
        (void)mproc_args_double(a, i);
        const char *s = mproc_args_str(a, i);
        if (s)
            (void)strlen(s);
        const void *b = mproc_args_bytes(a, i, &len);
        if (b && len)
            (void)((const volatile uint8_t *)b)[len - 1];
        (void)mproc_args_obj(a, i);
    }
    void *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    if (mproc_args_encode(a, &buf, &len) == 0) {
        mproc_args *c = mproc_args_decode(buf, len, &err);
        if (!c || mproc_args_encode(c, &buf2, &len2) != 0 || len2 != len || memcmp(buf, buf2, len) != 0)
            __builtin_trap(); /* what we encode we must read back the same */
        mproc_args_free(c);
    }
    mproc_free(buf);
    mproc_free(buf2);
    mproc_args_free(a);
    return 0;
}
