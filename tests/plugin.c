/* SPDX-License-Identifier: MIT */
/* plugin.c - a spawn target inside a loadable module. Built twice with a
 * different PLUGIN_VARIANT: same layout, different code bytes, so a child
 * that finds variant 2 where the parent had variant 1 must refuse to run. */
#include "mproc.h"

#ifdef _WIN32
#define PLUGIN_EXPORT __declspec(dllexport)
#else
#define PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

PLUGIN_EXPORT int plugin_target(const mproc_args *a);

int plugin_target(const mproc_args *a)
{
    (void)a;
    return PLUGIN_VARIANT == 1 ? 11 : 22;
}
