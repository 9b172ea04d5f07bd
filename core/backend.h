/*
 * backend.h - THE backend interface (private).
 *
 * Everything the backend-neutral core needs from an operating system, and
 * nothing more. Exactly one backend (backends/posix or backends/win32) is
 * compiled in and implements every function here with these exact
 * signatures. Functions return 0 or a negative MPROC_E* code; on MPROC_ESYS
 * or MPROC_ESPAWN the backend has recorded the OS error with
 * core_set_os_error() first.
 *
 * Core -> backend calls are be_*; backend -> core calls are core_*.
 */
#ifndef MPROC_CORE_BACKEND_H
#define MPROC_CORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "mproc.h"

#define BE_INTERFACE_VERSION 1

/* ------------------------------------------------------------- identity */
const char *be_name(void); /* "posix" | "win32" */

/* -------------------------------------------------------------- start-up */

/* What mproc_init found out about this process. */
typedef enum be_role {
    BE_ROLE_MAIN = 0,   /* an ordinary program start */
    BE_ROLE_CHILD = 1,  /* started by be_proc_start(BE_SPAWN): *payload set */
} be_role;

/* Called once by mproc_init. Records argv for re-execution. If this process
 * was started by BE_SPAWN it reads the parent's payload (malloc'd, the core
 * frees it) and returns BE_ROLE_CHILD; the backend has then already removed
 * its own markers from argv. A backend that runs helper processes of its own
 * (the POSIX forkserver) may never return from here in those processes.
 * Returns a be_role or a negative error. */
int be_init(int *argc, char ***argv, void **payload, size_t *len);

/* The core's child entry: decodes the payload, runs the target, exits. The
 * backend calls it in a child created with BE_FORK or BE_FORKSERVER (after
 * the fork); spawned children reach it through be_init/mproc_init. */
void core_child_main(const void *payload, size_t len);

/* Called by the core in every child once the target was resolved (status 0)
 * or could not be (MPROC_ESPAWN), before the target runs. A spawned child
 * reports it to the parent, whose be_proc_start is waiting for it, so that a
 * child that cannot run its target makes mproc_process_start fail. */
void be_child_started(int status);

/* Exit code of a child that could not run its target. */
#define BE_CHILD_BADTARGET 255

/* Records an OS error number for mproc_last_os_error(). */
void core_set_os_error(int os_error);

/* ------------------------------------------------------------- processes */

enum be_method { BE_FORK = 1, BE_SPAWN = 2, BE_FORKSERVER = 3 };
/* Is the method available in this build and on this machine? */
int be_method_supported(int method);

typedef struct be_proc be_proc; /* backend-defined */

/* The largest payload (encoded child description with its arguments); the
 * core refuses bigger ones with MPROC_EMSGSIZE, backends treat a bigger
 * length on their channel as corrupt. */
#define BE_PAYLOAD_MAX ((size_t)1 << 30)

typedef struct be_start {
    int method;          /* enum be_method */
    const void *payload; /* core-encoded child description, delivered to */
    size_t payload_len;  /* core_child_main() in the child */
} be_start;

/* Creates and starts a child. MPROC_ENOSYS for a method this backend lacks,
 * MPROC_ESPAWN when the OS refused. Never leaves a child behind on failure. */
int be_proc_start(const be_start *how, be_proc **out);
long be_proc_pid(const be_proc *);
/* Waits up to timeout (<0 forever, 0 poll) for the child to exit and reaps
 * it. 0 and *exitcode (target's return value, or -N for signal N; -15 for
 * BE_TERMINATE and -9 for BE_KILL on every backend) or MPROC_ETIMEDOUT.
 * Repeatable after exit. */
int be_proc_wait(be_proc *, double timeout, int *exitcode);

enum be_signal { BE_TERMINATE = 15, BE_KILL = 9 };
/* Sends the signal; 0 if the child has already exited. */
int be_proc_signal(be_proc *, int how);
/* Releases the handle. Only called once the child was reaped, or in a
 * forked child for handles inherited from its parent (then it must neither
 * wait nor signal: it just frees memory and closes descriptors). */
void be_proc_free(be_proc *);

/* Ends this process at once with code (stdio is flushed first; no atexit
 * handlers run). */
void be_exit(int code);

/* ------------------------------------------------- code location (spawn) */

/* Where a function lives, as plain data that another run of the same
 * program can use: a module (executable or shared library) and an offset
 * from its load address, plus a digest of the code there that the child
 * checks before it calls anything. */
#define BE_MODULE_MAX 1024
typedef struct be_symref {
    char module[BE_MODULE_MAX]; /* "" = the main executable */
    uint64_t offset;
    uint64_t digest;
} be_symref;

typedef void (*be_fnptr)(void);
int be_sym_locate(be_fnptr fn, be_symref *out);  /* MPROC_EINVAL if not in a module */
/* Finds and verifies the function; MPROC_ESPAWN when the module is missing
 * or the code there is not the code the parent described. */
int be_sym_resolve(const be_symref *ref, be_fnptr *fn);

/* ---------------------------------------------------------------- misc */

long be_getpid(void);
int be_cpu_count(void);      /* usable CPUs, at least 1 */
double be_monotonic(void);   /* seconds from an arbitrary start */
void be_sleep(double seconds);
/* One process-local lock for the core's own bookkeeping (children list). */
void be_core_lock(void);
void be_core_unlock(void);

#endif
