/* args.h - internal helpers around mproc_args for the child payload. */
#ifndef MPROC_CORE_ARGS_H
#define MPROC_CORE_ARGS_H

#include <msgpack.h>

#include "mproc.h"

int core_args_pack(const mproc_args *a, msgpack_packer *pk); /* a may be NULL: [] */
int core_args_from_object(const msgpack_object *o, mproc_args **out);
int core_args_copy(const mproc_args *src, mproc_args **out); /* src may be NULL */

#endif
