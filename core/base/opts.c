/* SPDX-License-Identifier: MIT */
/* opts.c - reading options structs of any version (opts.h). */
#include <string.h>

#include "mproc.h"
#include "base/opts.h"

int mproc__opts_read(void *dst, size_t dst_size, const void *src, const size_t *older, size_t n_older)
{
    size_t size;
    memcpy(&size, src, sizeof size);
    if (size > MPROC__OPTS_SIZE_MAX)
        return MPROC_EINVAL; /* not an options struct: a pointer, garbage */
    if (size > dst_size) {
        const unsigned char *tail = (const unsigned char *)src + dst_size;
        for (size_t i = 0; i < size - dst_size; i++)
            if (tail[i])
                return MPROC_EINVAL;
    } else if (size < dst_size) {
        size_t i = 0;
        while (i < n_older && older[i] != size)
            i++;
        if (i == n_older || size < sizeof size)
            return MPROC_EINVAL;
    }
    size_t n = size < dst_size ? size : dst_size;
    memcpy((char *)dst + sizeof size, (const char *)src + sizeof size, n - sizeof size);
    memcpy(dst, &dst_size, sizeof dst_size);
    return 0;
}
