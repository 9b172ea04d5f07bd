/* SPDX-License-Identifier: MIT */
/* init.c - the lazy init of a program image, its start methods and argv. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/hooks.h"

static struct {
    atomic_int inited;
    atomic_int default_method;
    int argc;
    char **argv;
} init;

char *mproc__core_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static const char *const method_names[] = {NULL, "fork", "spawn", "forkserver"};

const char *mproc__core_method_name(int method)
{
    return (method >= BE_FORK && method <= BE_FORKSERVER) ? method_names[method] : NULL;
}

int mproc__core_method_from_name(const char *name)
{
    for (int m = BE_FORK; name && m <= BE_FORKSERVER; m++)
        if (strcmp(name, method_names[m]) == 0)
            return m;
    return 0;
}

/* What a process does on its way out, whether main or child: the exit
 * hooks the subsystems registered, in their phases, then the backend's
 * own teardown (hooks.h). */
void mproc__core_exit_path(void) { mproc__core_run_exit_hooks(); }

static void at_exit(void) { mproc__core_exit_path(); }

int mproc__core_init_once(int *argc, char ***argv, void **payload, size_t *len)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&init.inited, &expected, 1))
        return BE_ROLE_MAIN;
    /* A backend built against another backend.h would misbehave in ways
     * hard to trace: refuse it before its first call. */
    if (mproc__be_interface_version() != BE_INTERFACE_VERSION) {
        fprintf(stderr, "mproc: backend %s has interface version %d, the core needs %d\n", mproc__be_name(),
                mproc__be_interface_version(), BE_INTERFACE_VERSION);
        return MPROC_ENOSYS;
    }
    atomic_store(&init.default_method, mproc__be_method_supported(BE_FORK) ? BE_FORK : BE_SPAWN);
    /* MPROC_START_METHOD picks the default without a code change. */
    int env = mproc__core_method_from_name(getenv("MPROC_START_METHOD"));
    if (env && mproc__be_method_supported(env))
        atomic_store(&init.default_method, env);
    /* Registered before mproc__be_init: backend helper processes (the forkserver)
     * never return from it, and their children need the exit path too. */
    atexit(at_exit);
    int role = mproc__be_init(argc, argv, payload, len);
    if (role == BE_ROLE_CHILD && argc && argv && *argc > BE_SPAWN_ARGS) {
        /* Drop the backend's spawn arguments (after argv[0]), with the NULL
         * at argv[argc]; mproc_init then installs the parent's argv. */
        for (int i = 1 + BE_SPAWN_ARGS; i <= *argc; i++)
            (*argv)[i - BE_SPAWN_ARGS] = (*argv)[i];
        *argc -= BE_SPAWN_ARGS;
    }
    if (argc && argv)
        mproc__core_save_argv(*argc, *argv);
    return role;
}

void mproc__core_ensure_init(void)
{
    void *payload = NULL;
    size_t len = 0;
    mproc__core_init_once(NULL, NULL, &payload, &len);
    free(payload); /* without argv there is no spawn marker: never a child */
}

void mproc__core_save_argv(int argc, char **argv)
{
    init.argc = argc;
    init.argv = argv;
}

void mproc__core_saved_argv(int *argc, char ***argv)
{
    *argc = init.argc;
    *argv = init.argv;
}

int mproc__core_default_method(void)
{
    mproc__core_ensure_init();
    return atomic_load(&init.default_method);
}

void mproc__core_set_default_method(int method) { atomic_store(&init.default_method, method); }

int mproc_set_start_method(const char *method)
{
    if (!method)
        return MPROC_EINVAL;
    int m = mproc__core_method_from_name(method);
    if (!m)
        return MPROC_EINVAL;
    mproc__core_ensure_init();
    if (!mproc__be_method_supported(m))
        return MPROC_ENOSYS;
    mproc__core_set_default_method(m);
    return 0;
}

const char *mproc_get_start_method(void) { return mproc__core_method_name(mproc__core_default_method()); }

size_t mproc_get_all_start_methods(const char **out, size_t cap)
{
    size_t n = 0;
    for (int m = BE_FORK; m <= BE_FORKSERVER; m++) {
        if (!mproc__be_method_supported(m))
            continue;
        if (out && n < cap)
            out[n] = method_names[m];
        n++;
    }
    return n;
}

const char *mproc_backend_name(void) { return mproc__be_name(); }

const char *mproc_version(void) { return MPROC_VERSION_STRING; }

int mproc_cpu_count(void) { return mproc__be_cpu_count(); }

long mproc_current_pid(void) { return mproc__be_getpid(); }
