/* args.h - internal helpers around mproc_args for the child payload. */
#ifndef MPROC_CORE_ARGS_H
#define MPROC_CORE_ARGS_H

#include <msgpack.h>

#include "mproc.h"

int core_args_pack(const mproc_args *a, msgpack_packer *pk); /* a may be NULL: [] */
/* adopt: object references come with a reference taken by the sender. */
int core_args_from_object(const msgpack_object *o, mproc_args **out, int adopt);
struct core_rec;
void core_args_each_obj(const mproc_args *a, void (*fn)(struct core_rec *rec, void *ctx), void *ctx);
int core_args_copy(const mproc_args *src, mproc_args **out); /* src may be NULL */

#endif
