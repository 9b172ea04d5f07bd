/* SPDX-License-Identifier: MIT */
/* current.c - this process: mproc_init, its name/identity/parent, the
 * default start method, and the child entry that runs a target. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "internal.h"
#include "object.h"

static struct {
    atomic_int inited;
    char *name;          /* NULL = "MainProcess" */
    char *identity;      /* NULL = main */
    long parent_pid;
    int daemon;
    atomic_int default_method;
    atomic_ulong counter;
    int argc;
    char **argv;
} cur;

char *core_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static const char *const method_names[] = {NULL, "fork", "spawn", "forkserver"};

const char *core_method_name(int method)
{
    return (method >= BE_FORK && method <= BE_FORKSERVER) ? method_names[method] : NULL;
}

int core_method_from_name(const char *name)
{
    for (int m = BE_FORK; name && m <= BE_FORKSERVER; m++)
        if (strcmp(name, method_names[m]) == 0)
            return m;
    return 0;
}

/* What a process does on its way out, whether main or child: the exit
 * hooks the subsystems registered, in their phases, then the backend's
 * own teardown (hooks.h). */
static void at_exit(void) { core_run_exit_hooks(); }

/* Everything that must happen once per program image, whether or not the
 * user called mproc_init. */
static void init_once(int *argc, char ***argv, void **payload, size_t *len, int *role)
{
    int expected = 0;
    *role = BE_ROLE_MAIN;
    if (!atomic_compare_exchange_strong(&cur.inited, &expected, 1))
        return;
    atomic_store(&cur.default_method, be_method_supported(BE_FORK) ? BE_FORK : BE_SPAWN);
    /* MPROC_START_METHOD picks the default without a code change. */
    int env = core_method_from_name(getenv("MPROC_START_METHOD"));
    if (env && be_method_supported(env))
        atomic_store(&cur.default_method, env);
    /* Registered before be_init: backend helper processes (the forkserver)
     * never return from it, and their children need the exit path too. */
    atexit(at_exit);
    *role = be_init(argc, argv, payload, len);
    if (argc && argv) {
        cur.argc = *argc;
        cur.argv = *argv;
    }
}

void core_ensure_init(void)
{
    void *payload = NULL;
    size_t len = 0;
    int role;
    init_once(NULL, NULL, &payload, &len, &role);
    free(payload); /* without argv there is no spawn marker: never a child */
}

/* Runs the target described by the payload, then exits: the one path every
 * start method's child takes. */
static void child_run(core_child_desc *d)
{
    core_become_child(d);
    mproc_target fn = d->fn;
    if (d->method != BE_FORK) {
        be_fnptr f;
        int rc = be_sym_resolve(&d->target, &f);
        be_child_started(rc);
        if (rc != 0) {
            fprintf(stderr, "mproc: %s: target function not found or not the parent's code "
                            "(module \"%s\" + 0x%llx); not running it\n",
                    d->name ? d->name : "child", d->target.module,
                    (unsigned long long)d->target.offset);
            be_exit(BE_CHILD_BADTARGET);
        }
        fn = (mproc_target)f;
    } else {
        be_child_started(0);
    }
    int code = fn(d->args);
    mproc_args_free(d->args); /* gives back the references on shared objects */
    d->args = NULL;
    at_exit();
    be_exit(code);
}

void core_child_main(const void *payload, size_t len)
{
    core_handles_after_fork();
    core_child_desc d;
    if (core_desc_decode(payload, len, &d) != 0) {
        fprintf(stderr, "mproc: corrupt child payload (%zu bytes); exiting\n", len);
        be_exit(BE_CHILD_BADTARGET);
    }
    child_run(&d);
}

int mproc_init(int *argc, char ***argv)
{
    void *payload = NULL;
    size_t len = 0;
    int role;
    init_once(argc, argv, &payload, &len, &role);
    if (role < 0)
        return role;
    if (role != BE_ROLE_CHILD)
        return 0;
    core_child_desc d;
    if (core_desc_decode(payload, len, &d) != 0) {
        fprintf(stderr, "mproc: corrupt spawn payload (%zu bytes); exiting\n", len);
        be_exit(BE_CHILD_BADTARGET);
    }
    free(payload);
    /* The child sees the parent's argv, as Python's spawn children do. */
    if (argc && argv && d.argv) {
        *argc = d.argc;
        *argv = d.argv;
        cur.argc = d.argc;
        cur.argv = d.argv;
        d.argv = NULL; /* now owned by the program */
        d.argc = 0;
    }
    child_run(&d);
    return 0; /* not reached */
}

void core_become_child(const core_child_desc *d)
{
    core_run_child_hooks();
    cur.name = d->name;
    cur.identity = d->identity;
    cur.parent_pid = d->parent_pid;
    cur.daemon = d->daemon;
    atomic_store(&cur.counter, 0);
    if (d->default_method)
        atomic_store(&cur.default_method, d->default_method);
}

void core_saved_argv(int *argc, char ***argv)
{
    *argc = cur.argc;
    *argv = cur.argv;
}

const char *core_identity(void) { return cur.identity ? cur.identity : ""; }

unsigned long core_next_child_number(void) { return atomic_fetch_add(&cur.counter, 1) + 1; }

int core_default_method(void)
{
    core_ensure_init();
    return atomic_load(&cur.default_method);
}

int mproc_set_start_method(const char *method)
{
    if (!method)
        return MPROC_EINVAL;
    int m = core_method_from_name(method);
    if (!m)
        return MPROC_EINVAL;
    core_ensure_init();
    if (!be_method_supported(m))
        return MPROC_ENOSYS;
    atomic_store(&cur.default_method, m);
    return 0;
}

const char *mproc_get_start_method(void) { return core_method_name(core_default_method()); }

size_t mproc_get_all_start_methods(const char **out, size_t cap)
{
    size_t n = 0;
    for (int m = BE_FORK; m <= BE_FORKSERVER; m++) {
        if (!be_method_supported(m))
            continue;
        if (out && n < cap)
            out[n] = method_names[m];
        n++;
    }
    return n;
}

const char *mproc_backend_name(void) { return be_name(); }

const char *mproc_version(void) { return MPROC_VERSION_STRING; }

int mproc_cpu_count(void) { return be_cpu_count(); }

long mproc_current_pid(void) { return be_getpid(); }

long mproc_parent_pid(void) { return cur.parent_pid; }

const char *mproc_current_name(void) { return cur.name ? cur.name : "MainProcess"; }

int mproc_current_daemon(void) { return cur.daemon; }
