/* SPDX-License-Identifier: MIT */
/*
 * mproc.h - Python's multiprocessing, in C.
 *
 * The whole public API. Every fallible call returns an int: 0 (or a
 * non-negative count) on success, a negative MPROC_E* code on failure.
 * Constructors return NULL on failure and store the code in *err when err is
 * not NULL. Timeouts are seconds as double: MPROC_FOREVER (any negative value)
 * waits forever, and so does a timeout too long to mean anything else
 * (INFINITY, or beyond about 31 years); 0 does not block; NaN is
 * MPROC_EINVAL.
 *
 * Threads (docs/threads.md): every object may be used from several threads
 * of a process at once, except that an mproc_process and an mproc_imap
 * are used by one thread at a time, and an mproc_args too while it
 * changes (one that no longer changes may be read by any number); a
 * handle is freed (mproc_shm, mproc_sharelist: closed) only once no other
 * thread uses it.
 * mproc_init comes before other threads use mproc; mproc_mpi_init and
 * mproc_mpi_finalize are called from one thread. mproc_last_os_error and
 * mproc_pool_failure answer for the calling thread. Pool callbacks run on
 * the pool's result thread.
 *
 * Versions and the ABI: mproc/version.h and docs/abi.md.
 */
#ifndef MPROC_H
#define MPROC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How the library's functions are declared: exported from the shared
 * library (imported from the DLL on Windows). Define MPROC_STATIC when
 * linking the static library (the CMake target mproc::mproc_static and
 * pkg-config mproc-static do it for you). */
#if defined(MPROC_STATIC)
#define MPROC_API
#elif defined(_WIN32) && defined(MPROC_BUILDING)
#define MPROC_API __declspec(dllexport)
#elif defined(_WIN32)
#define MPROC_API __declspec(dllimport)
#elif defined(__GNUC__)
#define MPROC_API __attribute__((visibility("default")))
#else
#define MPROC_API
#endif

#include "mproc/version.h" /* MPROC_VERSION_MAJOR/MINOR/PATCH/STRING/HEX, MPROC_VERSION_AT_LEAST */

/* ------------------------------------------------------------------ errors */

/* XX(name, value, message): the one table behind the enum, mproc_strerror and
 * mproc_err_name. Values are stable. */
#define MPROC_ERRNO_MAP(XX)                                                     \
    XX(ETIMEDOUT, -1, "timed out")                                              \
    XX(EEMPTY, -2, "queue is empty")                                            \
    XX(EFULL, -3, "queue is full")                                              \
    XX(ECLOSED, -4, "object is closed")                                         \
    XX(EBROKEN, -5, "broken: peer gone or barrier broken")                      \
    XX(EWORKERLOST, -6, "worker process died while running the task")          \
    XX(EOWNERDEAD, -7, "previous owner died holding the lock; caller owns it") \
    XX(EINVAL, -8, "invalid argument")                                          \
    XX(ENOMEM, -9, "out of memory")                                             \
    XX(EMSGSIZE, -10, "message too long")                                       \
    XX(EAUTH, -11, "authentication failed")                                     \
    XX(ETASK, -12, "task failed")                                               \
    XX(ESPAWN, -13, "could not start the child process")                        \
    XX(ENOSYS, -14, "not supported on this platform or start method")          \
    XX(ERUNNING, -15, "process is still running")                               \
    XX(ESTATE, -16, "operation not valid in the object's current state")       \
    XX(EOS, -17, "end of stream: the peer closed or died")                      \
    XX(EEXIST, -18, "already exists")                                           \
    XX(ENOENT, -19, "no such object")                                           \
    XX(EINTR, -20, "interrupted")                                               \
    XX(ESYS, -21, "operating system error (see mproc_last_os_error)")          \
    XX(ECANCELLED, -22, "task was cancelled before it started")

/* Error codes (negative; 0 is success): MPROC_ETIMEDOUT ... MPROC_ECANCELLED,
 * one per entry of MPROC_ERRNO_MAP, whose third column is each code's
 * message (mproc_strerror). docs/errors.md says where each arises. */
typedef enum mproc_errno {
    MPROC_OK = 0, /* success */
#define MPROC_XX_ENUM_(name, value, msg) MPROC_##name = (value),
    MPROC_ERRNO_MAP(MPROC_XX_ENUM_)
#undef MPROC_XX_ENUM_
} mproc_errno;

/* Human-readable message of a code ("timed out"); "success" for 0,
 * "unknown error" for a code that is not one of mproc's. */
MPROC_API const char *mproc_strerror(int err);
/* Symbolic name of a code ("MPROC_ETIMEDOUT"); "MPROC_OK" for 0,
 * "MPROC_EUNKNOWN" for a code that is not one of mproc's. */
MPROC_API const char *mproc_err_name(int err);
/* errno (POSIX) or GetLastError() (Windows) behind this thread's last
 * MPROC_ESYS/MPROC_ESPAWN, 0 if none. */
MPROC_API int mproc_last_os_error(void);

/* -------------------------------------------------------------- timeouts */
/* A timeout that waits forever (any negative timeout does). */
#define MPROC_FOREVER (-1.0)

/* ---------------------------------------------------------- library init */

/* First line of main(). In a process started with the spawn method it
 * decodes the target and its arguments, runs the target and exits with its
 * return value: it does not return there. It also serves as the entry of the
 * forkserver process. Elsewhere it records argv (used to re-execute the
 * program) and returns 0. argc/argv may be NULL (then spawn children get no
 * parent argv). Calling it again is harmless. */
MPROC_API int mproc_init(int *argc, char ***argv);
/* Second line of main() in a program run by mpirun (docs/mpi.md): joins the
 * MPI job (MPI_Init_thread). In rank 0 it returns 0 and makes pools with
 * start_method "mpi" run their workers on the other ranks; every other rank
 * serves those pools here and exits when rank 0 exits (or calls
 * mproc_mpi_finalize): it does not return there. Not started by mpirun: 0,
 * and "mpi" pools stay unavailable. MPROC_ENOSYS when mproc was built
 * without MPI (-DMPROC_WITH_MPI=OFF) or runs with a libmproc of another
 * version, MPROC_ESYS when MPI cannot start. The three mproc_mpi_*
 * functions are defined in libmproc-mpi, not libmproc: link mproc::mpi
 * (pkg-config mproc-mpi). */
MPROC_API int mproc_mpi_init(int *argc, char ***argv);
/* Ranks that can serve as pool workers (the job's size - 1); 0 when MPI is
 * not in use. */
MPROC_API int mproc_mpi_workers(void);
/* Rank 0: releases the worker ranks and calls MPI_Finalize (also run at
 * exit). MPROC_ERUNNING while an "mpi" pool exists. Repeatable. */
MPROC_API int mproc_mpi_finalize(void);
/* Rank 0, after mproc_mpi_init: 1 when the death of a worker rank (SIGKILL,
 * a crash) leaves the job running, so that an "mpi" pool fails only that
 * rank's tasks (MPROC_EWORKERLOST) and goes on with the others; 0 when the
 * engine ends the whole job instead (Open MPI 4; Debian 12's MPICH 4.0.2,
 * docs/mpi.md), or when there is no MPI job. A rank that only stops
 * answering is noticed either way (MPROC_MPI_TIMEOUT: MPROC_ETIMEDOUT). */
MPROC_API int mproc_mpi_survives_rank_death(void);
/* The backend this library was built with: "posix" or "win32". */
MPROC_API const char *mproc_backend_name(void);
/* This library's version, its MPROC_VERSION_STRING (e.g. "0.1.0"): the
 * library the program runs with, which may be newer than the headers it
 * was compiled with (docs/abi.md). */
MPROC_API const char *mproc_version(void);
/* CPUs this process may run on (affinity aware); at least 1. */
MPROC_API int mproc_cpu_count(void);

/* Start methods: "fork" (POSIX default), "spawn" (Windows default and only
 * method there), "forkserver". Sets the default for later starts and may be
 * called again. Unknown or unavailable method -> MPROC_EINVAL / MPROC_ENOSYS. */
MPROC_API int mproc_set_start_method(const char *method);
/* The default start method now: "fork", "spawn" or "forkserver" (set by
 * mproc_set_start_method, else the environment's MPROC_START_METHOD, else
 * the platform's default). */
MPROC_API const char *mproc_get_start_method(void);
/* Fills up to cap names of the methods this platform offers; returns count. */
MPROC_API size_t mproc_get_all_start_methods(const char **out, size_t cap);

/* --------------------------------------------------------------- args */

/* A list of typed values given to a child. Encoded with msgpack, the same
 * way for fork, spawn and forkserver. Use one list from one thread at a
 * time while it changes; a list that no longer changes may be read from
 * any number of threads. */
typedef struct mproc_args mproc_args;

/* The type of one value of an mproc_args (mproc_args_type). */
typedef enum mproc_arg_type {
    MPROC_ARG_NONE = 0, /* index out of range */
    MPROC_ARG_INT,      /* a 64-bit integer: mproc_args_int */
    MPROC_ARG_DOUBLE,   /* a double: mproc_args_double */
    MPROC_ARG_STR,      /* a NUL-terminated string: mproc_args_str */
    MPROC_ARG_BYTES,    /* bytes: mproc_args_bytes */
    MPROC_ARG_OBJ /* a lock, semaphore, condition, event, barrier, value, array, shm, ShareableList, queue, conn or Manager proxy */
} mproc_arg_type;

/* An empty list (NULL when out of memory); free with mproc_args_free. */
MPROC_API mproc_args *mproc_args_new(void);
/* Appends an integer. 0, or MPROC_EINVAL / MPROC_ENOMEM. */
MPROC_API int mproc_args_add_int(mproc_args *, int64_t v);
/* Appends a double. 0, or MPROC_EINVAL / MPROC_ENOMEM. */
MPROC_API int mproc_args_add_double(mproc_args *, double v);
/* Appends a copy of the string s; NULL -> MPROC_EINVAL. */
MPROC_API int mproc_args_add_str(mproc_args *, const char *s);
/* Appends a copy of len bytes (buf may be NULL when len is 0). */
MPROC_API int mproc_args_add_bytes(mproc_args *, const void *buf, size_t len);
/* Shares an mproc object with the child: it gets its own handle on the same
 * lock, value, ... (fork, spawn and forkserver alike). The args keep the
 * object's shared state alive; the handle passed need not outlive them.
 * Anything but a shareable mproc object -> MPROC_EINVAL. */
MPROC_API int mproc_args_add_obj(mproc_args *, void *shareable);
/* How many values the list holds (0 for NULL). */
MPROC_API size_t mproc_args_count(const mproc_args *);
/* The type of value i; MPROC_ARG_NONE when i is out of range. */
MPROC_API mproc_arg_type mproc_args_type(const mproc_args *, size_t i);
/* Value i as an integer. The accessors return 0 / 0.0 / NULL when i is out
 * of range or of another type (mproc_args_type tells which); the pointers
 * they return stay valid while the args live. */
MPROC_API int64_t mproc_args_int(const mproc_args *, size_t i);
/* Value i as a double (0.0 when it is not one). */
MPROC_API double mproc_args_double(const mproc_args *, size_t i);
/* Value i as a string (NULL when it is not one). */
MPROC_API const char *mproc_args_str(const mproc_args *, size_t i);
/* Value i as bytes, their length in *len (NULL when it is not bytes). */
MPROC_API const void *mproc_args_bytes(const mproc_args *, size_t i, size_t *len);
/* The object at i: in the parent the handle that was added, in the child a
 * handle owned by the args (valid while they live; freeing it does nothing,
 * mproc_shm_close gives MPROC_ESTATE). Cast it to its type (mproc_lock *,
 * mproc_value *, ...); every call checks. */
MPROC_API void *mproc_args_obj(const mproc_args *, size_t i);
/* Frees the list, its copies, and the references it holds on objects
 * (the objects live on while other handles hold them). NULL is ignored. */
MPROC_API void mproc_args_free(mproc_args *);
/* The msgpack encoding (an array of the values) and back; used by the
 * library itself, public so other tools can read what a child was given.
 * A connection is a descriptor handed over when a process starts: args
 * holding one cannot be encoded here (MPROC_EINVAL). */
MPROC_API int mproc_args_encode(const mproc_args *, void **buf, size_t *len); /* free with mproc_free */
/* A new list from len bytes of mproc_args_encode's output; NULL and *err
 * (MPROC_EINVAL for bytes that are not such an encoding) on failure. */
MPROC_API mproc_args *mproc_args_decode(const void *buf, size_t len, int *err);

/* Releases every buffer mproc hands out. */
MPROC_API void mproc_free(void *buf);

/* ------------------------------------------------------------ Process */

/* Python's Process: a child process running a target function. Use a
 * handle from one thread at a time (different handles from different
 * threads are fine). */
typedef struct mproc_process mproc_process;
/* The child's entry point; its return value is the exit code (& 0xFF on
 * POSIX). args is never NULL in the child (empty when none were given). */
typedef int (*mproc_target)(const mproc_args *args);

/* Options of mproc_process_new: start from MPROC_PROCESS_OPTS_INIT. */
typedef struct mproc_process_opts {
    size_t size;              /* sizeof(mproc_process_opts), set by the _INIT macro (docs/abi.md) */
    const char *name;         /* NULL = "Process-N" (N counts per creator; "Process-1:2" in a child) */
    int daemon;               /* 1 = terminated when the creator exits */
    const char *start_method; /* NULL = mproc_get_start_method() */
} mproc_process_opts;
/* The default mproc_process_opts: default name, not daemonic, the default
 * start method. */
#define MPROC_PROCESS_OPTS_INIT {sizeof(mproc_process_opts), NULL, 0, NULL}

/* A process that will run fn(args) once started (Process(target, args)).
 * args are copied (may be NULL); opts may be NULL. fn NULL or opts that
 * are not set up by MPROC_PROCESS_OPTS_INIT -> MPROC_EINVAL; an unknown
 * start method -> MPROC_EINVAL, one this platform lacks -> MPROC_ENOSYS. */
MPROC_API mproc_process *mproc_process_new(mproc_target fn, const mproc_args *args,
                                           const mproc_process_opts *opts, int *err);
/* MPROC_ESTATE when started twice, closed, or called from a daemonic
 * process; MPROC_ESPAWN when the child could not be created. */
MPROC_API int mproc_process_start(mproc_process *);
/* 0 once the child has exited, MPROC_ETIMEDOUT if still running after
 * timeout, MPROC_ESTATE before start or in a process other than the creator. */
MPROC_API int mproc_process_join(mproc_process *, double timeout);
/* 1 running, 0 not started or exited (reaps it), negative on error. */
MPROC_API int mproc_process_is_alive(mproc_process *);
/* 0 and *code set once exited: the target's return value, -N if killed by
 * signal N. MPROC_ERUNNING while alive, MPROC_ESTATE before start. */
MPROC_API int mproc_process_exitcode(mproc_process *, int *code);
/* SIGTERM / TerminateProcess: exit code -15 on every backend. */
MPROC_API int mproc_process_terminate(mproc_process *);
/* SIGKILL / TerminateProcess: exit code -9 on every backend. */
MPROC_API int mproc_process_kill(mproc_process *);
/* Sets the daemon flag; MPROC_ESTATE after start. */
MPROC_API int mproc_process_set_daemon(mproc_process *, int daemon);
/* 1 when the process is daemonic, else 0 (also for NULL). */
MPROC_API int mproc_process_daemon(const mproc_process *);
/* The child's process id (Python's Process.pid and Process.ident); 0
 * before start. */
MPROC_API long mproc_process_pid(const mproc_process *);
/* The process's name ("Process-1" unless given); valid while p lives. */
MPROC_API const char *mproc_process_name(const mproc_process *);
/* Releases OS resources; MPROC_ERUNNING while alive. Afterwards every call
 * but free/close returns MPROC_ESTATE. */
MPROC_API int mproc_process_close(mproc_process *);
/* Always frees; a live child is detached and reaped later. */
MPROC_API void mproc_process_free(mproc_process *);
/* Python's Process.sentinel: an object for mproc_wait, ready once the child
 * has ended (it is not reaped). NULL when p is NULL or not started yet
 * (Python: ValueError, MPROC_ESTATE). Valid while p lives; after
 * mproc_process_close, mproc_wait refuses it with MPROC_ECLOSED. */
MPROC_API void *mproc_process_sentinel(mproc_process *);
/* Live children of this process (finished ones are reaped). Fills up to cap
 * pointers (out may be NULL) and returns how many are alive. Detached
 * (freed) children are counted but not listed. */
MPROC_API size_t mproc_active_children(mproc_process **out, size_t cap);

/* This process's id (os.getpid(), current_process().pid). */
MPROC_API long mproc_current_pid(void);
/* The id of the process that started this one; 0 in the main process. */
MPROC_API long mproc_parent_pid(void);
/* This process's name: "MainProcess" in main, the name it was given (or
 * "Process-1", "Process-1:2", ...) in a child. */
MPROC_API const char *mproc_current_name(void);
/* 1 in a daemonic child, else 0. */
MPROC_API int mproc_current_daemon(void);

/* ------------------------------------------------------ synchronisation */
/* All of these work between processes: pass them to children with
 * mproc_args_add_obj. They also work between threads of one process.
 * acquire/wait: timeout < 0 forever, 0 try once. */

/* Lock (not recursive) and RLock (recursive). Both have an owner, the
 * thread that acquired them: releasing a lock you do not hold is
 * MPROC_ESTATE (Python lets another thread release a Lock; mproc does not,
 * which is what lets it recover a lock whose holder died). */
typedef struct mproc_lock mproc_lock;
/* A new Lock (not recursive); NULL and *err on failure. */
MPROC_API mproc_lock *mproc_lock_new(int *err);
/* A new RLock (recursive: its owner may acquire it again, and releases it
 * as many times); NULL and *err on failure. */
MPROC_API mproc_lock *mproc_rlock_new(int *err);
/* Acquires the lock within timeout: 0, MPROC_ETIMEDOUT, or
 * MPROC_EOWNERDEAD: the holder died and the caller now holds the lock
 * (the state it protects may be half-done). An RLock's owner acquires it
 * again at once. */
MPROC_API int mproc_lock_acquire(mproc_lock *, double timeout);
/* Releases the lock: 0, or MPROC_ESTATE when the calling thread does not
 * hold it. */
MPROC_API int mproc_lock_release(mproc_lock *);
MPROC_API int mproc_lock_is_rlock(const mproc_lock *); /* 1, 0, or MPROC_EINVAL */
/* Frees this handle. The lock itself lives while any handle on it does,
 * in any process (and while args, a condition or a value hold it). A
 * handle owned by args, a condition or a value: nothing happens. */
MPROC_API void mproc_lock_free(mproc_lock *);

/* Semaphore and BoundedSemaphore. */
typedef struct mproc_sem mproc_sem;
/* Semaphore(value) and BoundedSemaphore(value) (bounded != 0: releasing
 * past the initial value is MPROC_ESTATE). value > 2147483647: MPROC_EINVAL. */
MPROC_API mproc_sem *mproc_sem_new(unsigned value, int bounded, int *err);
/* Takes one unit within timeout: 0 or MPROC_ETIMEDOUT. */
MPROC_API int mproc_sem_acquire(mproc_sem *, double timeout);
/* Gives one unit back (any thread or process may): 0, or MPROC_ESTATE past
 * a bounded semaphore's initial value. */
MPROC_API int mproc_sem_release(mproc_sem *);
MPROC_API int mproc_sem_get_value(mproc_sem *); /* >= 0, on every platform */
/* Frees this handle; the semaphore lives while any handle on it does (as
 * mproc_lock_free). */
MPROC_API void mproc_sem_free(mproc_sem *);

/* Condition variable over a Lock or RLock. */
typedef struct mproc_cond mproc_cond;
/* Condition(lock): lock NULL = a new RLock. The condition keeps the lock's
 * shared state alive; the caller still frees its own handle. */
MPROC_API mproc_cond *mproc_cond_new(mproc_lock *lock_or_null, int *err);
/* Acquires the condition's lock (mproc_lock_acquire). */
MPROC_API int mproc_cond_acquire(mproc_cond *, double timeout);
/* Releases the condition's lock (mproc_lock_release). */
MPROC_API int mproc_cond_release(mproc_cond *);
/* Caller must hold the lock (else MPROC_ESTATE). 0 when notified,
 * MPROC_ETIMEDOUT otherwise; the lock is held again on return. */
MPROC_API int mproc_cond_wait(mproc_cond *, double timeout);
/* A predicate for mproc_cond_wait_for: non-zero when the awaited state is
 * reached. Called with the lock held. */
typedef int (*mproc_predicate)(void *arg);
/* Waits until pred(arg) returns non-zero; returns pred's last value (0 if
 * it was still false at the timeout) or a negative error. The caller holds
 * the lock, as for mproc_cond_wait. */
MPROC_API int mproc_cond_wait_for(mproc_cond *, mproc_predicate pred, void *arg, double timeout);
/* Wakes up to n waiters; the caller must hold the lock (else MPROC_ESTATE). */
MPROC_API int mproc_cond_notify(mproc_cond *, int n);
/* Wakes every waiter; the caller must hold the lock (else MPROC_ESTATE). */
MPROC_API int mproc_cond_notify_all(mproc_cond *);
/* The condition's lock; owned by the condition (freeing it does nothing). */
MPROC_API mproc_lock *mproc_cond_get_lock(mproc_cond *);
/* Frees this handle; the condition lives while any handle on it does. */
MPROC_API void mproc_cond_free(mproc_cond *);

/* Event: a flag that processes wait for. */
typedef struct mproc_event mproc_event;
/* A new event, not set; NULL and *err on failure. */
MPROC_API mproc_event *mproc_event_new(int *err);
/* Sets the flag and wakes every waiter: 0 or a negative error. */
MPROC_API int mproc_event_set(mproc_event *);
/* Clears the flag: 0 or a negative error. */
MPROC_API int mproc_event_clear(mproc_event *);
MPROC_API int mproc_event_is_set(mproc_event *); /* 1, 0 or a negative error */
/* Waits until the flag is set: 0 set, MPROC_ETIMEDOUT. */
MPROC_API int mproc_event_wait(mproc_event *, double timeout);
/* Frees this handle; the event lives while any handle on it does. */
MPROC_API void mproc_event_free(mproc_event *);

/* Barrier: parties wait until all of them have arrived. */
typedef struct mproc_barrier mproc_barrier;
/* Runs in the last process to arrive, before the others are released; a
 * non-zero return breaks the barrier (that waiter gets MPROC_ETASK, the
 * others MPROC_EBROKEN). A plain function: spawned children find it by
 * module + offset, like targets. */
typedef int (*mproc_barrier_action)(void);
/* Options of mproc_barrier_new: start from MPROC_BARRIER_OPTS_INIT. */
typedef struct mproc_barrier_opts {
    size_t size;                 /* sizeof(mproc_barrier_opts), set by the _INIT macro (docs/abi.md) */
    mproc_barrier_action action; /* NULL = none */
    double timeout;              /* default for waits with a negative timeout; < 0 = none */
} mproc_barrier_opts;
/* The default mproc_barrier_opts: no action, no default timeout. */
#define MPROC_BARRIER_OPTS_INIT {sizeof(mproc_barrier_opts), NULL, -1.0}
/* Barrier(parties, action, timeout). parties 0 -> MPROC_EINVAL. opts may be
 * NULL. */
MPROC_API mproc_barrier *mproc_barrier_new(unsigned parties, const mproc_barrier_opts *opts, int *err);
/* Returns the arrival index 0..parties-1, or MPROC_EBROKEN (broken, reset,
 * aborted or timed out: a timeout breaks the barrier for everyone, as in
 * Python), MPROC_ETASK (this waiter's action failed). A negative timeout
 * uses the barrier's default timeout. */
MPROC_API int mproc_barrier_wait(mproc_barrier *, double timeout);
/* Back to the empty state: waiters now inside get MPROC_EBROKEN; a broken
 * barrier is usable again. */
MPROC_API int mproc_barrier_reset(mproc_barrier *);
/* Breaks the barrier: waiters now and later get MPROC_EBROKEN until reset. */
MPROC_API int mproc_barrier_abort(mproc_barrier *);
MPROC_API int mproc_barrier_broken(mproc_barrier *);    /* 1 or 0 */
MPROC_API int mproc_barrier_n_waiting(mproc_barrier *); /* >= 0 */
/* The number of parties it was made for. */
MPROC_API int mproc_barrier_parties(mproc_barrier *);
/* Frees this handle; the barrier lives while any handle on it does. */
MPROC_API void mproc_barrier_free(mproc_barrier *);

/* --------------------------------------------------------- shared memory */

/* Value and Array (sharedctypes) with the typecodes of Python's array
 * module: c b B h H i I l L q Q f d, and u (wchar_t); others -> MPROC_EINVAL.
 * Zero-filled, then init (may be NULL) copied in: one element for a value,
 * n for an array. locked = 1 gives them an RLock (get_lock); 0 = raw. */
typedef struct mproc_value mproc_value; /* Value: one element in shared memory */
typedef struct mproc_array mproc_array; /* Array: n elements in shared memory */
/* Value(typecode, init, lock=locked). */
MPROC_API mproc_value *mproc_value_new(char typecode, const void *init, int locked, int *err);
/* The element in shared memory (cast to the typecode's C type); valid while
 * the handle lives. Reads and writes are not synchronised: hold the
 * value's lock (mproc_value_get_lock) around them when that matters. */
MPROC_API void *mproc_value_ptr(mproc_value *);
MPROC_API mproc_lock *mproc_value_get_lock(mproc_value *); /* NULL when unlocked; owned by the value (freeing it does nothing) */
/* The typecode it was made with; 0 for NULL. */
MPROC_API char mproc_value_typecode(const mproc_value *);
/* Frees this handle; the value lives while any handle on it does. */
MPROC_API void mproc_value_free(mproc_value *);
/* Array(typecode, n, init, lock=locked): n elements (init: n of them, or
 * NULL for zeros). */
MPROC_API mproc_array *mproc_array_new(char typecode, size_t n, const void *init, int locked, int *err);
/* The first element in shared memory, as mproc_value_ptr. */
MPROC_API void *mproc_array_ptr(mproc_array *);
/* The number of elements; 0 for NULL. */
MPROC_API size_t mproc_array_len(const mproc_array *);
/* The array's RLock; NULL when unlocked; owned by the array. */
MPROC_API mproc_lock *mproc_array_get_lock(mproc_array *);
/* The typecode it was made with; 0 for NULL. */
MPROC_API char mproc_array_typecode(const mproc_array *);
/* Frees this handle; the array lives while any handle on it does. */
MPROC_API void mproc_array_free(mproc_array *);
/* Size in bytes of one element of a typecode, 0 if unknown. */
MPROC_API size_t mproc_typecode_size(char typecode);

/* SharedMemory. create: name NULL = a generated name ("psm_" and 16 hex digits);
 * MPROC_EEXIST if taken; size 0 -> MPROC_EINVAL; zero-filled. attach
 * (create 0): MPROC_ENOENT if missing; size is ignored (the segment's own
 * size is used). Names: up to 30 of [A-Za-z0-9_.-]. The segment lives until
 * unlinked, or until its creating process ends without unlinking it: at
 * its exit, or, if it is killed, by the resource tracker (POSIX; on
 * Windows a segment goes with its last handle): docs/resource-tracker.md.
 * Passing a handle to a child (mproc_args_add_obj) attaches the child by
 * name. */
typedef struct mproc_shm mproc_shm;
/* SharedMemory(name, create, size): creates (create != 0) or attaches to a
 * segment and maps it. NULL and *err on failure. A handle may be used from
 * any thread; close it once no other thread uses it. */
MPROC_API mproc_shm *mproc_shm_open(const char *name_or_null, size_t size, int create, int *err);
/* The mapped memory (SharedMemory.buf); NULL for NULL. */
MPROC_API void *mproc_shm_ptr(mproc_shm *);
/* The segment's size in bytes (SharedMemory.size); 0 for NULL. */
MPROC_API size_t mproc_shm_size(const mproc_shm *);
/* The segment's name (SharedMemory.name), given or generated; valid while
 * the handle lives. */
MPROC_API const char *mproc_shm_name(const mproc_shm *);
MPROC_API int mproc_shm_close(mproc_shm *);  /* unmaps and frees the handle */
MPROC_API int mproc_shm_unlink(mproc_shm *); /* removes the name; mappings stay valid */

/* ------------------------------------------------ pipes and connections */

/* Python's multiprocessing.connection. A connection carries whole
 * messages (byte strings of any length, 0 and over 2 GiB included) in
 * order; the framing on sockets is Python's own (a 4-byte big-endian
 * length, or -1 and an 8-byte length above 2^31-1), so a connection from
 * mproc_listener/mproc_client talks to Python's Client/Listener. A peer
 * that closed or died gives MPROC_EOS, never a hang or SIGPIPE. Send and
 * receive block like Python's; bound them with mproc_conn_poll or
 * mproc_wait. Several threads may share a connection: messages are never
 * interleaved. Pass connections to children with mproc_args_add_obj. */
typedef struct mproc_conn mproc_conn;

/* Pipe(duplex): duplex = 1: both ends send and receive; 0: *a only
 * receives and *b only sends, and the wrong direction is MPROC_EINVAL.
 * (POSIX: a socket pair either way, shut down one way for simplex.) */
MPROC_API int mproc_pipe(int duplex, mproc_conn **a, mproc_conn **b);
/* One message of len bytes (buf may be NULL when len is 0). MPROC_EOS
 * when the peer is gone. */
MPROC_API int mproc_conn_send_bytes(mproc_conn *, const void *buf, size_t len);
/* maxlength of mproc_conn_recv_bytes: no limit. */
#define MPROC_NOLIMIT ((size_t)-1)
/* The next message, in a buffer for mproc_free (never NULL on success, even
 * for an empty message), its length in *len. A message longer than
 * maxlength (MPROC_NOLIMIT = any): MPROC_EMSGSIZE with *len set and the
 * message left unread, so, as in Python, this end refuses further reads
 * (MPROC_ECLOSED; a receive-only end is closed altogether; a duplex end
 * still sends). MPROC_EOS at the end of the stream (earlier messages come
 * first) or when it ends inside a message; a corrupt header (a negative
 * length other than -1) is MPROC_EOS too and also ends reading. */
MPROC_API int mproc_conn_recv_bytes(mproc_conn *, void **buf, size_t *len, size_t maxlength);
/* The next message into buf. When it is longer than cap: MPROC_EMSGSIZE,
 * *len = its length, the message is consumed and buf untouched (Python's
 * BufferTooShort). */
MPROC_API int mproc_conn_recv_bytes_into(mproc_conn *, void *buf, size_t cap, size_t *len);
/* 1 when a receive would not block (a message, or the end of the
 * stream), 0 when nothing came within timeout (0 = check only, < 0 wait
 * forever), or a negative error. */
MPROC_API int mproc_conn_poll(mproc_conn *, double timeout);
/* The OS object behind the connection (POSIX: its file descriptor;
 * Windows: its HANDLE), for a user's own event loop; the connection still
 * owns it. */
MPROC_API int mproc_conn_fileno(mproc_conn *, intptr_t *handle);
/* Closes the OS object; the handle stays valid (every call but close and
 * free then returns MPROC_ECLOSED; closing twice is fine). A call blocked in
 * another thread keeps the object open until it returns. */
MPROC_API int mproc_conn_close(mproc_conn *);
/* Closes and releases the handle. In a child, connections from
 * mproc_args_obj belong to the args: close them, don't free them. */
MPROC_API void mproc_conn_free(mproc_conn *);

/* connection.wait(): waits until at least one of the objects is ready or
 * timeout passes. Objects: connections (ready when a receive would not
 * block, at the end of the stream too), process sentinels (ready once
 * the child ended), queues (ready when a get would find a message;
 * queues have no OS object, so they are looked at every 1-20 ms), pool
 * results (mproc_async: ready as mproc_async_ready says, so cancelled and
 * failed ones too) and imap iterators (mproc_imap: ready when
 * mproc_imap_next would not wait for a worker: an item, the end or an
 * error). Results cost no polling: the wait sleeps on the pool's one
 * completion notification and looks at them again only when a result
 * changed (docs/pool.md). Fills ready (room for n; may be NULL) with the ready
 * ones in input order and returns how many (0 at the timeout). Any n.
 * MPROC_EINVAL for anything else (a send-only connection too),
 * MPROC_ECLOSED for a closed connection or process. n = 0 with a negative
 * timeout would never return: MPROC_EINVAL. */
MPROC_API int mproc_wait(void **objects, size_t n, double timeout, void **ready);

/* Listener and Client. Addresses: "tcp://HOST:PORT" (HOST a name, an IPv4
 * address or [an IPv6 one]; port 0 = the OS picks one), "unix:PATH" (POSIX;
 * the socket file is removed when the listener closes, or when the process
 * that made it exits without closing it), "pipe:\\.\pipe\NAME"
 * (Windows; MPROC_EINVAL elsewhere, as in Python).
 * authkey NULL: no handshake. Otherwise Python's handshake with that key
 * (keylen 0 = the empty key): each side challenges the other with HMAC
 * (mproc asks for SHA-256 and answers in whatever digest the peer asked
 * for, Python 3.11's bare HMAC-MD5 included); a wrong key is MPROC_EAUTH on
 * both sides. */
typedef struct mproc_listener mproc_listener;
/* Bounds mproc_client, and each handshake a listener runs: a keyed client
 * facing a keyless listener never blocks forever, nor does a listener
 * facing a silent peer. */
#define MPROC_CONNECT_TIMEOUT 20.0
/* Binds and listens. Address in use: MPROC_ESYS; a bad address:
 * MPROC_EINVAL. */
MPROC_API mproc_listener *mproc_listener_new(const char *address, const void *authkey, size_t keylen,
                                             int *err);
/* The next client, authenticated when the listener has a key. Handshakes
 * run side by side, so a peer that says nothing never keeps accept from
 * the clients behind it: each is bounded by MPROC_CONNECT_TIMEOUT (then
 * closed, no error), at most 32 are pending (a new connection closes the
 * oldest pending one), and those pending when the call returns go on in
 * the next call. timeout bounds the call (< 0: as long as it takes).
 * MPROC_ETIMEDOUT, MPROC_EAUTH (a client was refused and disconnected),
 * MPROC_EOS (one left during its handshake), MPROC_ECLOSED. */
MPROC_API mproc_conn *mproc_listener_accept(mproc_listener *, double timeout, int *err);
/* The address clients use, e.g. "tcp://127.0.0.1:40123" after port 0;
 * NULL for a NULL or closed listener. Valid until the listener is freed. */
MPROC_API const char *mproc_listener_address(const mproc_listener *);
/* Stops listening (idempotent); the handle stays valid until freed. */
MPROC_API int mproc_listener_close(mproc_listener *);
/* Closes (if still open) and releases the handle. */
MPROC_API void mproc_listener_free(mproc_listener *);
/* Connects (and authenticates when authkey is not NULL) within
 * MPROC_CONNECT_TIMEOUT. Nobody listening: MPROC_ESYS (the OS error in
 * mproc_last_os_error); MPROC_ETIMEDOUT; MPROC_EAUTH. */
MPROC_API mproc_conn *mproc_client(const char *address, const void *authkey, size_t keylen, int *err);
/* The same within timeout (< 0: no bound). */
MPROC_API mproc_conn *mproc_client_timeout(const char *address, const void *authkey, size_t keylen,
                                           double timeout, int *err);
/* ---------------------------------------------------------------- queues */

/* Queue, SimpleQueue and JoinableQueue between any number of producer and
 * consumer processes (and threads): pass them to children with
 * mproc_args_add_obj. Messages are byte strings, delivered whole and in
 * the order each producer put them.
 *
 * A queue is a ring of `capacity` bytes in shared memory; a message takes
 * its length rounded up to 8, plus 8. put copies the message into the ring
 * before it returns: there is no feeder thread, so a message is gettable
 * as soon as put returns and a producer may exit at once, whether or not
 * anyone has read it (CPython gh-73983 cannot happen). The flip side: an
 * unbounded queue is bounded by its ring, and put waits (up to its
 * timeout) while the ring is full.
 *
 * A message bigger than the ring is streamed through it in chunks while
 * one consumer takes it out: it needs a consumer reading at the same time,
 * and other producers wait until it is through. A put that times out
 * half-way takes the message back (nobody gets any of it) and returns
 * MPROC_EFULL.
 *
 * Dead peers (CPython gh-87971): a get on an empty queue, a put on a full
 * one and a join return MPROC_EOS once every other process that held the
 * queue is dead (or closed/freed its handle), instead of waiting forever.
 * Blocked calls check this every 50 ms or so. It needs a second process
 * to have held the queue: a queue used only by the threads of one process
 * never reports it. A process killed in the middle of a put or get leaves
 * the queue whole: its message is there entirely or not at all. */
typedef struct mproc_queue mproc_queue;

/* The three kinds of queue. */
typedef enum mproc_queue_kind {
    MPROC_QUEUE_PLAIN = 0,   /* Queue */
    MPROC_QUEUE_SIMPLE = 1,  /* SimpleQueue: no maxsize, no join_thread */
    MPROC_QUEUE_JOINABLE = 2 /* JoinableQueue: task_done and join */
} mproc_queue_kind;

/* The ring of a queue made without a capacity: 4 MiB; unused pages cost no
 * memory. */
#define MPROC_QUEUE_DEFAULT_CAPACITY ((size_t)4 << 20)

/* Options of mproc_queue_new_ex: start from MPROC_QUEUE_OPTS_INIT. */
typedef struct mproc_queue_opts {
    size_t size;     /* sizeof(mproc_queue_opts), set by the _INIT macro (docs/abi.md) */
    mproc_queue_kind kind; /* Queue, SimpleQueue or JoinableQueue */
    size_t maxsize;  /* most messages at once; 0 = as many as the ring holds */
    size_t capacity; /* ring bytes, 64 .. 2^40 (rounded up to 8); 0 = the default */
} mproc_queue_opts;
/* The default mproc_queue_opts: a Queue, unbounded, the default capacity. */
#define MPROC_QUEUE_OPTS_INIT {sizeof(mproc_queue_opts), MPROC_QUEUE_PLAIN, 0, 0}

/* Queue(maxsize) with the default capacity; maxsize 0 = unbounded. */
MPROC_API mproc_queue *mproc_queue_new(size_t maxsize, int *err);
/* SimpleQueue() with the default capacity. */
MPROC_API mproc_queue *mproc_simplequeue_new(int *err);
/* JoinableQueue(maxsize) with the default capacity; maxsize 0 = unbounded. */
MPROC_API mproc_queue *mproc_joinablequeue_new(size_t maxsize, int *err);
/* Any kind, maxsize and capacity (opts NULL = a default Queue). A bad kind,
 * a capacity out of range or a SimpleQueue with a maxsize: MPROC_EINVAL. */
MPROC_API mproc_queue *mproc_queue_new_ex(const mproc_queue_opts *opts, int *err);
/* Copies len bytes (buf may be NULL when len is 0) into the queue, waiting
 * up to timeout for room (maxsize messages already there, or not enough
 * ring). MPROC_EFULL at the timeout (at once with timeout 0), MPROC_EOS if
 * every other holder is dead, MPROC_ECLOSED after close, MPROC_EMSGSIZE
 * past 2^62 bytes. JoinableQueue: each put adds an unfinished task. */
MPROC_API int mproc_queue_put(mproc_queue *, const void *buf, size_t len, double timeout);
/* Takes the oldest message: *buf (free it with mproc_free; never NULL, even
 * for 0 bytes) and *len. MPROC_EEMPTY at the timeout, MPROC_EOS if the queue
 * is empty and every other holder is dead, MPROC_ECLOSED after close. Once
 * a streamed message has begun to arrive, get reads all of it, as Python's
 * does (the timeout bounds the wait for a message to begin). */
MPROC_API int mproc_queue_get(mproc_queue *, void **buf, size_t *len, double timeout);
/* Puts n messages (bufs[i], lens[i] bytes; a buffer may be NULL when its
 * length is 0) at once, all or none: waits up to timeout until there is
 * room for every one of them, then puts them one after another (no other
 * producer's message comes between them), with one lock round and one
 * wake-up. MPROC_EFULL at the timeout (none was put); MPROC_EMSGSIZE for a
 * batch that could never fit: more messages than maxsize, or more bytes
 * than the ring holds (mproc_queue_put streams such messages one by one).
 * n == 0 or a NULL array: MPROC_EINVAL. Other errors as mproc_queue_put;
 * JoinableQueue: n unfinished tasks. (faster-fifo's put_many, also all or
 * none.) */
MPROC_API int mproc_queue_put_many(mproc_queue *, const void *const *bufs, const size_t *lens, size_t n,
                                   double timeout);
/* Takes the oldest messages, at least one (waiting up to timeout for it)
 * and at most max_messages, whose lengths add up to at most max_bytes
 * (0 = no byte limit), with one lock round: into one new buffer *buf (free
 * it once with mproc_free), message i after messages 0 .. i-1; lens (room
 * for max_messages) gets their lengths, *count their number. When the
 * oldest message alone is longer than max_bytes: MPROC_EMSGSIZE, lens[0] =
 * its length, and it stays in the queue. A message bigger than the ring
 * comes alone. Errors as mproc_queue_get; max_messages 0 or a NULL
 * pointer: MPROC_EINVAL. */
MPROC_API int mproc_queue_get_many(mproc_queue *, size_t max_messages, size_t max_bytes, void **buf, size_t *lens,
                                   size_t *count, double timeout);
/* Takes the oldest message into buf (cap bytes), with no allocation; *len
 * = its length. Longer than cap: MPROC_EMSGSIZE, *len = its length, and the
 * message stays in the queue (take it with a bigger buffer). Errors as
 * mproc_queue_get. */
MPROC_API int mproc_queue_get_into(mproc_queue *, void *buf, size_t cap, size_t *len, double timeout);
MPROC_API int mproc_queue_put_nowait(mproc_queue *, const void *buf, size_t len); /* timeout 0 */
MPROC_API int mproc_queue_get_nowait(mproc_queue *, void **buf, size_t *len);    /* timeout 0 */
/* Messages in the queue (exact, on every platform: gh-101094); a message
 * a consumer is already taking is not counted. INT_MAX at most. */
MPROC_API int mproc_queue_qsize(mproc_queue *);
/* 1 or 0, hints as in Python (another process may change it at once).
 * empty: MPROC_ECLOSED after close. full: maxsize reached (an unbounded
 * queue is never full, though its ring may be). */
MPROC_API int mproc_queue_empty(mproc_queue *);
/* 1 when maxsize messages are in the queue, else 0 (see mproc_queue_empty). */
MPROC_API int mproc_queue_full(mproc_queue *);
/* This handle can no longer put or get (MPROC_ECLOSED); other handles and
 * processes are not affected. Closing twice is fine. */
MPROC_API int mproc_queue_close(mproc_queue *);
/* Python's feeder-thread calls, kept for the same code shape. join_thread:
 * MPROC_ESTATE before close, then 0 at once (put never leaves anything to
 * flush). cancel_join_thread: 0, does nothing (there is never data to lose).
 * Not for a SimpleQueue (MPROC_EINVAL). */
MPROC_API int mproc_queue_join_thread(mproc_queue *);
/* Queue.cancel_join_thread(): 0, nothing to do (see above). */
MPROC_API int mproc_queue_cancel_join_thread(mproc_queue *);
/* JoinableQueue (others: MPROC_EINVAL). task_done: one task finished;
 * MPROC_ESTATE if called more times than messages were put. join: waits
 * until every task is done; MPROC_ETIMEDOUT, or MPROC_EOS when tasks
 * remain and every other holder is dead. Both work after close. */
MPROC_API int mproc_queue_task_done(mproc_queue *);
/* JoinableQueue.join(): waits until every task is done (see above). */
MPROC_API int mproc_queue_join(mproc_queue *, double timeout);
/* Frees the handle (a handle owned by args: nothing happens); the queue
 * lives while any process holds it. */
MPROC_API void mproc_queue_free(mproc_queue *);

/* ------------------------------------------------------------------ Pool */

/* Python's multiprocessing.Pool. Workers are mproc processes (any start
 * method); one result thread in the parent hands out tasks, collects
 * results, runs callbacks and replaces workers. A worker that dies while
 * running a task fails that task with MPROC_EWORKERLOST and is replaced;
 * the pool goes on (Python hangs). Workers ignore the terminal's Ctrl-C:
 * it is for the parent, whose blocking pool calls then return MPROC_EINTR
 * (POSIX, when a signal handler ran in the waiting thread). */
typedef struct mproc_pool mproc_pool;
/* An asynchronous result (AsyncResult / MapResult). */
typedef struct mproc_async mproc_async;
/* The iterator of mproc_pool_imap and mproc_pool_imap_unordered; use one
 * from one thread at a time. */
typedef struct mproc_imap mproc_imap;
/* Where an apply task function puts its result (mproc_result_set). */
typedef struct mproc_result mproc_result;

/* Runs once in every worker (replacements too) before its first task;
 * *state (NULL unless set) is then given to each task function there.
 * Non-zero = failed: mproc_pool_new fails with MPROC_ETASK. */
typedef int (*mproc_pool_init_fn)(const mproc_args *initargs, void **state);
/* map: one record of in_size bytes in, one of out_size bytes out (zeroed
 * before the call). Non-zero = this item failed (MPROC_ETASK). */
typedef int (*mproc_map_fn)(const void *in, void *out, void *state);
/* apply: arguments in, bytes out through mproc_result_set. Non-zero =
 * failed (MPROC_ETASK, the value kept as the failure code). */
typedef int (*mproc_apply_fn)(const mproc_args *args, mproc_result *out, void *state);
/* Sets (copies) a task's result; a later call replaces it. */
MPROC_API int mproc_result_set(mproc_result *, const void *buf, size_t len);

/* mproc_pool_opts.processes: one worker per usable CPU (mproc_cpu_count). */
#define MPROC_POOL_CPUS (-1)
/* Options of mproc_pool_new: start from MPROC_POOL_OPTS_INIT. */
typedef struct mproc_pool_opts {
    size_t size;                    /* sizeof(mproc_pool_opts), set by the _INIT macro (docs/abi.md) */
    int processes;                  /* > 0, or MPROC_POOL_CPUS; 0 and others: MPROC_EINVAL (Python's Pool(0)) */
    mproc_pool_init_fn initializer; /* may be NULL */
    const mproc_args *initargs;     /* may be NULL; copied; objects reach workers as for a Process */
    unsigned maxtasksperchild;      /* 0 = workers live as long as the pool */
    const char *start_method;       /* NULL = the default start method; "mpi": the workers are MPI ranks
                                       (after mproc_mpi_init, docs/mpi.md); an unknown name: MPROC_EINVAL */
    /* Appended in 0.1 (issue 20; docs/abi.md): loky's memory limit. A
     * worker whose resident set size exceeds this many bytes after a task
     * exits and is replaced before it takes another, as with
     * maxtasksperchild; no task is lost. 0 = no limit. Not for "mpi"
     * pools (ignored: a rank is a thread). */
    uint64_t max_worker_rss;
} mproc_pool_opts;
/* The default mproc_pool_opts: a worker per CPU, no initializer, workers
 * that live as long as the pool, the default start method, no memory limit. */
#define MPROC_POOL_OPTS_INIT {sizeof(mproc_pool_opts), MPROC_POOL_CPUS, NULL, NULL, 0, NULL, 0}

/* Starts the workers and waits until each has run its initializer. NULL
 * with MPROC_EINVAL (bad options), MPROC_ETASK (an initializer failed),
 * MPROC_ESPAWN/MPROC_ENOSYS (a worker could not start); no worker is left
 * behind. */
MPROC_API mproc_pool *mproc_pool_new(const mproc_pool_opts *opts, int *err);
/* Number of workers: the pool's size, less the workers it gave up on (one
 * whose replacement could not start, docs/pool.md; an MPI rank that was
 * lost, docs/mpi.md). */
MPROC_API int mproc_pool_processes(const mproc_pool *);
/* No more tasks (MPROC_ESTATE for later submissions); queued ones still
 * run and the workers then exit. Repeatable. */
MPROC_API int mproc_pool_close(mproc_pool *);
/* Stops the workers at once (SIGTERM, then SIGKILL after a short grace);
 * every unfinished task fails with MPROC_ECLOSED. Returns promptly. */
MPROC_API int mproc_pool_terminate(mproc_pool *);
/* After close or terminate: waits until every task ended and every worker
 * exited. MPROC_ESTATE while the pool still takes tasks, MPROC_ETIMEDOUT,
 * MPROC_EINTR. Repeatable. */
MPROC_API int mproc_pool_join(mproc_pool *, double timeout);
/* Always frees; a pool still running is terminated first. Results not yet
 * ready then fail with MPROC_ECLOSED; their handles stay valid. */
MPROC_API void mproc_pool_free(mproc_pool *);

/* map: out[i] = fn(in[i]) for n records. The input is copied once into
 * shared memory, workers write the output there, and it is copied back
 * once (never per item). chunksize 0 = Python's rule, ceil(n / (4 x
 * workers)); workers claim chunks one at a time, so slow items don't stall
 * the others. 0 when every item succeeded; otherwise, once every chunk has
 * ended, the first failure to arrive: MPROC_ETASK (an item failed) or
 * MPROC_EWORKERLOST (a worker died in a chunk); mproc_pool_failure tells
 * which item. Output of a failed map is unspecified. n = 0 is fine. */
MPROC_API int mproc_pool_map(mproc_pool *, mproc_map_fn fn, const void *in, size_t n, size_t in_size,
                             void *out, size_t out_size, size_t chunksize);
/* The item index and the task function's return code behind this thread's
 * last MPROC_ETASK / MPROC_EWORKERLOST from a synchronous pool call (code 0
 * for a lost worker). MPROC_ESTATE when there was none. */
MPROC_API int mproc_pool_failure(size_t *index, int *code);
/* apply: runs fn(args) on a worker, waits, and hands out its result
 * (*out: free with mproc_free; NULL with *len 0 when fn set none). args
 * carry values; objects (locks, queues, ...) reach workers only through
 * initargs, as in Python: here they are MPROC_EINVAL. */
MPROC_API int mproc_pool_apply(mproc_pool *, mproc_apply_fn fn, const mproc_args *args, void **out,
                               size_t *len);
/* starmap: fn(args[i]) for each i; outs[i]/lens[i] as for apply. Returns
 * like map, after every call ended; on failure no result is handed out. */
MPROC_API int mproc_pool_starmap(mproc_pool *, mproc_apply_fn fn, const mproc_args *const *args, size_t n,
                                 void **outs, size_t *lens);

/* Options of the asynchronous calls (callbacks): start from
 * MPROC_ASYNC_OPTS_INIT. The callbacks run in the pool's result thread
 * (keep them short: they delay every other result), before the result
 * counts as ready. */
typedef struct mproc_async_opts {
    size_t size;                                                 /* sizeof(mproc_async_opts), set by the _INIT macro */
    void (*callback)(mproc_async *r, void *ctx);                 /* on success */
    void (*error_callback)(mproc_async *r, int err, void *ctx); /* on failure */
    void *ctx;                                                   /* given to both callbacks */
} mproc_async_opts;
/* The default mproc_async_opts: no callbacks. */
#define MPROC_ASYNC_OPTS_INIT {sizeof(mproc_async_opts), NULL, NULL, NULL}
/* apply_async: as mproc_pool_apply, without waiting; the outcome and the
 * result come from mproc_async_get. opts may be NULL. */
MPROC_API mproc_async *mproc_pool_apply_async(mproc_pool *, mproc_apply_fn fn, const mproc_args *args,
                                              const mproc_async_opts *opts, int *err);
/* map_async: as mproc_pool_map, without waiting. It copies the input
 * before it returns; out must stay valid until the result is ready or
 * freed (a result freed before it is ready never writes to out). */
MPROC_API mproc_async *mproc_pool_map_async(mproc_pool *, mproc_map_fn fn, const void *in, size_t n,
                                            size_t in_size, void *out, size_t out_size, size_t chunksize,
                                            const mproc_async_opts *opts, int *err);
/* starmap_async: as mproc_pool_starmap, without waiting; each call's
 * result comes from mproc_async_item. */
MPROC_API mproc_async *mproc_pool_starmap_async(mproc_pool *, mproc_apply_fn fn,
                                                const mproc_args *const *args, size_t n,
                                                const mproc_async_opts *opts, int *err);
/* Waits up to timeout and returns the outcome: 0, MPROC_ETIMEDOUT, MPROC_EINTR,
 * MPROC_ETASK, MPROC_EWORKERLOST, MPROC_ECLOSED (terminated), MPROC_EBROKEN
 * (no worker could be started for it). Repeatable. For apply, out/len (may
 * be NULL) get a copy of the result (mproc_free). */
MPROC_API int mproc_async_get(mproc_async *, double timeout, void **out, size_t *len);
/* starmap_async's i-th result (a copy, mproc_free): MPROC_ESTATE before
 * ready, the async's error after a failure, MPROC_EINVAL past the end. */
MPROC_API int mproc_async_item(mproc_async *, size_t i, void **out, size_t *len);
/* Waits until the result is ready: 0, MPROC_ETIMEDOUT, MPROC_EINTR. */
MPROC_API int mproc_async_wait(mproc_async *, double timeout);
MPROC_API int mproc_async_ready(mproc_async *);      /* 1 or 0 */
MPROC_API int mproc_async_successful(mproc_async *); /* 1, 0, MPROC_ESTATE before ready */
/* Which item failed and its code (see mproc_pool_failure). MPROC_ESTATE
 * before ready or when nothing failed. */
MPROC_API int mproc_async_failure(mproc_async *, size_t *index, int *code);
/* concurrent.futures' Future.cancel(): 1 when the call had not started
 * (none of its tasks reached a worker): it never will, the result is ready
 * at once with MPROC_ECANCELLED (mproc_async_get, mproc_async_successful
 * 0), and the error callback runs once with MPROC_ECANCELLED in the
 * calling thread before this returns (the success callback never does).
 * 1 again for a result already cancelled (callbacks do not run twice).
 * 0 when it is running or done. A worker taking the task and a cancel are
 * decided under the pool's lock: exactly one wins. NULL or an imap's
 * internal result: MPROC_EINVAL. */
MPROC_API int mproc_async_cancel(mproc_async *);
/* Future.cancelled(): 1 if mproc_async_cancel cancelled it, else 0. */
MPROC_API int mproc_async_cancelled(mproc_async *);
/* Frees the handle at any time; the task itself goes on. */
MPROC_API void mproc_async_free(mproc_async *);

/* imap / imap_unordered: results one by one while the input is read
 * lazily: next(ctx, item) writes one in_size record and returns 1, returns
 * 0 at the end or < 0 on an error (reported by mproc_imap_next after the
 * items before it). At most a few chunks per worker are read ahead of the
 * consumer (CPython reads the whole input first, gh-84291). chunksize 0 =
 * 1. next is only called from the threads calling mproc_pool_imap* and
 * mproc_imap_next. */
typedef int (*mproc_input_fn)(void *ctx, void *item);
/* imap: results in input order. NULL and *err on failure. */
MPROC_API mproc_imap *mproc_pool_imap(mproc_pool *, mproc_map_fn fn, mproc_input_fn next, void *ctx,
                                      size_t in_size, size_t out_size, size_t chunksize, int *err);
/* imap_unordered: results as they come. NULL and *err on failure. */
MPROC_API mproc_imap *mproc_pool_imap_unordered(mproc_pool *, mproc_map_fn fn, mproc_input_fn next,
                                                void *ctx, size_t in_size, size_t out_size,
                                                size_t chunksize, int *err);
/* The next result into out (out_size bytes) and its input position into
 * *index (may be NULL): 0; MPROC_ETASK / MPROC_EWORKERLOST for a failed
 * item (index set, iteration goes on); MPROC_EOS at the end; the input's
 * own error; MPROC_ETIMEDOUT, MPROC_EINTR, MPROC_ECLOSED (pool terminated). */
MPROC_API int mproc_imap_next(mproc_imap *, void *out, size_t *index, double timeout);
/* Frees the iterator at any time; chunks not yet handed to workers are
 * dropped. */
MPROC_API void mproc_imap_free(mproc_imap *);
/* -------------------------------------------------------------- Manager */

/* Python's Manager(): a server process holding lists, dicts, namespaces,
 * sync objects, queues, values and arrays; proxies reach them over a
 * connection (the framing and HMAC handshake of mproc_listener/mproc_client),
 * one msgpack request and one reply per call (docs/manager.md). Each call
 * is atomic on the server. Proxies go to children with mproc_args_add_obj
 * (the child connects on first use; one connection per process and
 * thread at a time). A server that is gone gives MPROC_EBROKEN, never a hang; one
 * that is alive but does not answer (stopped, or a remote host that
 * vanished) gives MPROC_ETIMEDOUT after the reply timeout (30 s, or
 * MPROC_MANAGER_TIMEOUT seconds from the environment; beyond a blocking
 * call's own timeout); a client that dies does not disturb it (a Lock it held is released and the
 * next acquirer gets MPROC_EOWNERDEAD). A server object lives while a
 * proxy on it does, anywhere (Python's reference counting): freeing its
 * last proxy frees it, a proxy stored in a manager list or dict keeps it,
 * and the proxies of a client that dies or disconnects count no more. */
typedef struct mproc_manager mproc_manager;
/* Proxies of the server's objects. Every call on a proxy may be made from
 * several threads at once (each call uses a connection of its own). */
typedef struct mproc_mlist mproc_mlist;         /* manager.list() */
typedef struct mproc_mdict mproc_mdict;         /* manager.dict() */
typedef struct mproc_namespace mproc_namespace; /* manager.Namespace() */
typedef struct mproc_mvalue mproc_mvalue;       /* manager.Value(typecode, v) */
typedef struct mproc_marray mproc_marray;       /* manager.Array(typecode, seq) */

/* A typed value of a list item, dict key or value, namespace attribute.
 * Values handed out (get, pop, keys ...) own their memory: release them
 * with mproc_mval_clear. Build values to store with the mproc_mv_*
 * helpers (they do not copy; the store does). A proxy value (a list or a
 * dict of the same manager) stores a reference: it comes back as a new
 * proxy, and its changes are seen by everyone (Python's nested proxies).
 * Dict keys: int, double, string or bytes (1 and 1.0 are different keys). */
/* The type of an mproc_mval. */
typedef enum mproc_mval_type {
    MPROC_MV_NIL = 0, /* None */
    MPROC_MV_INT,    /* v.i */
    MPROC_MV_DOUBLE, /* v.d */
    MPROC_MV_STR,    /* v.s.ptr (NUL-terminated), v.s.len */
    MPROC_MV_BYTES,  /* v.s.ptr, v.s.len */
    MPROC_MV_LIST,   /* v.list: a proxy */
    MPROC_MV_DICT,   /* v.dict: a proxy */
    MPROC_MV_BOOL,   /* v.i: 0 (False) or 1 (True); not a dict key */
    /* Local containers (values over connections and queues, not stored by
     * a manager): a tree that owns its nodes when received. */
    MPROC_MV_ARRAY,  /* v.a.items[0 .. v.a.n): a list */
    MPROC_MV_TUPLE,  /* v.a.items[0 .. v.a.n): a tuple */
    MPROC_MV_MAP     /* v.a.items[0 .. 2 * v.a.n): key, value, key, value ...: a dict of v.a.n pairs */
} mproc_mval_type;

/* A value of a manager list, dict, namespace, Value or Array (above). */
typedef struct mproc_mval {
    mproc_mval_type type; /* which member of v holds the value */
    /* The value, by type. */
    union {
        int64_t i; /* MPROC_MV_INT, MPROC_MV_BOOL */
        double d;  /* MPROC_MV_DOUBLE */
        /* MPROC_MV_STR and MPROC_MV_BYTES */
        struct {
            const char *ptr; /* the bytes (a string is NUL-terminated) */
            size_t len;      /* their number (without the NUL) */
        } s;
        mproc_mlist *list; /* MPROC_MV_LIST: a proxy */
        mproc_mdict *dict; /* MPROC_MV_DICT: a proxy */
        /* MPROC_MV_ARRAY, MPROC_MV_TUPLE, MPROC_MV_MAP */
        struct {
            const struct mproc_mval *items; /* n items (a map: 2n, keys and values alternating) */
            size_t n;                       /* items (a map: pairs) */
        } a;
    } v;
} mproc_mval;

/* None. */
static inline mproc_mval mproc_mv_nil(void) { mproc_mval m; m.type = MPROC_MV_NIL; m.v.i = 0; return m; }
/* True or False (any non-zero b is True). */
static inline mproc_mval mproc_mv_bool(int b) { mproc_mval m; m.type = MPROC_MV_BOOL; m.v.i = b != 0; return m; }
/* An integer. */
static inline mproc_mval mproc_mv_int(int64_t i) { mproc_mval m; m.type = MPROC_MV_INT; m.v.i = i; return m; }
/* A double. */
static inline mproc_mval mproc_mv_double(double d) { mproc_mval m; m.type = MPROC_MV_DOUBLE; m.v.d = d; return m; }
/* A string (not copied: it must live until the call that stores it).
 * s NULL -> a value the server refuses with MPROC_EINVAL. */
static inline mproc_mval mproc_mv_str(const char *s)
{
    mproc_mval m;
    size_t n = 0;
    m.type = MPROC_MV_STR;
    while (s && s[n])
        n++;
    m.v.s.ptr = s;
    m.v.s.len = s ? n : (size_t)-1;
    return m;
}
/* len bytes at p (not copied). */
static inline mproc_mval mproc_mv_bytes(const void *p, size_t len)
{
    mproc_mval m;
    m.type = MPROC_MV_BYTES;
    m.v.s.ptr = (const char *)p;
    m.v.s.len = len;
    return m;
}
/* A reference to a list of the same manager (stored as a nested proxy). */
static inline mproc_mval mproc_mv_list(mproc_mlist *l) { mproc_mval m; m.type = MPROC_MV_LIST; m.v.list = l; return m; }
/* A reference to a dict of the same manager (stored as a nested proxy). */
static inline mproc_mval mproc_mv_dict(mproc_mdict *d) { mproc_mval m; m.type = MPROC_MV_DICT; m.v.dict = d; return m; }
/* A list of n items (not copied, as mproc_mv_str). */
static inline mproc_mval mproc_mv_array(const mproc_mval *items, size_t n)
{
    mproc_mval m;
    m.type = MPROC_MV_ARRAY;
    m.v.a.items = items;
    m.v.a.n = n;
    return m;
}
/* A tuple of n items (not copied). */
static inline mproc_mval mproc_mv_tuple(const mproc_mval *items, size_t n)
{
    mproc_mval m = mproc_mv_array(items, n);
    m.type = MPROC_MV_TUPLE;
    return m;
}
/* A dict of npairs pairs: kv[2i] is a key, kv[2i + 1] its value (not
 * copied). A key may not hold a list or a dict (Python could not hash it). */
static inline mproc_mval mproc_mv_map(const mproc_mval *kv, size_t npairs)
{
    mproc_mval m = mproc_mv_array(kv, npairs);
    m.type = MPROC_MV_MAP;
    return m;
}
/* Frees what a value handed out owns (string, bytes, proxy, a received
 * tree with everything in it); sets it NIL. */
MPROC_API void mproc_mval_clear(mproc_mval *v);
/* Releases n values and the array holding them (keys, items, slices). */
MPROC_API void mproc_mvals_free(mproc_mval *vals, size_t n);

/* ---- Values over connections and queues (docs/values.md) ----
 * One mproc_mval tree per message: None, bool, int, float, str, bytes and
 * the local containers (array, tuple, map), nested at most
 * MPROC_VALUE_DEPTH_MAX containers deep. Between mproc peers the encoding is
 * msgpack; with a Python peer (multiprocessing.connection) it is pickle, as
 * Python's Connection.send/recv. Received values own their memory: release
 * them with mproc_mval_clear. Bytes that are not a value mproc accepts
 * (malformed, a pickle that would import or call, an int beyond 64 bits,
 * too deep) are MPROC_EINVAL; one that would decode too big, MPROC_EMSGSIZE. */

/* Most containers nested in one value ([[0]] is 2), on encode and decode. */
#define MPROC_VALUE_DEPTH_MAX 32
/* The encodings of values (mproc_conn_set_value_codec, mproc_value_encode). */
typedef enum mproc_value_codec {
    MPROC_CODEC_AUTO = 0, /* connections: learn it from the peer (docs/values.md) */
    MPROC_CODEC_MSGPACK,  /* mproc peers */
    MPROC_CODEC_PICKLE    /* Python peers: pickle protocol 4 out, protocols 2-5 in */
} mproc_value_codec;
/* The encoding of v with codec (MSGPACK or PICKLE): *buf (free with
 * mproc_free), *len. A proxy, a depth over the limit, a list or dict in a
 * key, a string that is not UTF-8 (pickle): MPROC_EINVAL. */
MPROC_API int mproc_value_encode(mproc_mval v, int codec, void **buf, size_t *len);
/* The value in len bytes at buf, into *out (release with mproc_mval_clear).
 * codec AUTO: a pickle when the bytes start with 0x80 and are longer than
 * one byte, else msgpack. */
MPROC_API int mproc_value_decode(const void *buf, size_t len, int codec, mproc_mval *out);
/* Sets the encoding the connection's values use; AUTO (the default) sends
 * msgpack until a received value shows the peer is Python (a pickle), then
 * pickle. */
MPROC_API int mproc_conn_set_value_codec(mproc_conn *c, int codec);
/* The encoding the next mproc_conn_send_value uses (MSGPACK or PICKLE). */
MPROC_API int mproc_conn_value_codec(mproc_conn *c);
/* Sends v as one message (mproc_conn_send_bytes of its encoding). */
MPROC_API int mproc_conn_send_value(mproc_conn *c, mproc_mval v);
/* Receives one message (at most maxlength bytes, as mproc_conn_recv_bytes:
 * a longer one ends reading) and decodes it into *out. A message that is
 * not a value is consumed and reported (MPROC_EINVAL, or MPROC_EMSGSIZE
 * for a pickle over its copy budget); the connection stays usable. */
MPROC_API int mproc_conn_recv_value(mproc_conn *c, mproc_mval *out, size_t maxlength);
/* Puts v (msgpack) on the queue, as mproc_queue_put (also a manager's queue). */
MPROC_API int mproc_queue_put_value(mproc_queue *q, mproc_mval v, double timeout);
/* Takes a value from the queue, as mproc_queue_get, into *out (release with
 * mproc_mval_clear). A message that is not a value: consumed, MPROC_EINVAL. */
MPROC_API int mproc_queue_get_value(mproc_queue *q, mproc_mval *out, double timeout);

/* Options of mproc_manager_start: start from MPROC_MANAGER_OPTS_INIT. */
typedef struct mproc_manager_opts {
    size_t size;              /* sizeof(mproc_manager_opts), set by the _INIT macro (docs/abi.md) */
    const char *address;      /* NULL = private: unix: socket in a 0700 directory (POSIX), pipe: (Windows);
                                 or e.g. "tcp://127.0.0.1:0" (port 0: the OS picks one) */
    const void *authkey;      /* NULL = 32 random bytes */
    size_t keylen;            /* authkey's length in bytes */
    const char *start_method; /* NULL = mproc_get_start_method() */
} mproc_manager_opts;
/* The default mproc_manager_opts: a private address, a random key, the
 * default start method. */
#define MPROC_MANAGER_OPTS_INIT {sizeof(mproc_manager_opts), NULL, NULL, 0, NULL}

/* Starts a server process (opts may be NULL) and connects to it. The
 * server exits on mproc_manager_shutdown and when this process ends. */
MPROC_API mproc_manager *mproc_manager_start(const mproc_manager_opts *opts, int *err);
/* Attaches to a running server (remote: "tcp://host:port"). MPROC_EAUTH
 * for a wrong key, MPROC_ESYS when nobody listens there; authkey NULL:
 * MPROC_EINVAL (a server always has a key). */
MPROC_API mproc_manager *mproc_manager_connect(const char *address, const void *authkey, size_t keylen,
                                               int *err);
/* The server process of a manager this handle started (NULL when
 * attached), e.g. for mproc_process_kill in a test. Owned by m. */
MPROC_API mproc_process *mproc_manager_process(mproc_manager *m);
/* The address clients connect to, and the key (valid while m lives). */
MPROC_API const char *mproc_manager_address(const mproc_manager *m);
/* The server's key, its length in *keylen (valid while m lives). */
MPROC_API const void *mproc_manager_authkey(const mproc_manager *m, size_t *keylen);
/* Stops the server (either the one this handle started or, for an attached
 * handle, the one it talks to). Afterwards proxies give MPROC_EBROKEN. */
MPROC_API int mproc_manager_shutdown(mproc_manager *m);
/* How many objects the server holds now (every client's): >= 0 or an
 * error. Python's BaseManager._number_of_objects(); for tests and leak
 * hunting. */
MPROC_API int mproc_manager_object_count(mproc_manager *m);
/* Shuts down a server this handle started, then frees the handle;
 * proxies made from it stay usable until the server is gone. */
MPROC_API void mproc_manager_free(mproc_manager *m);

/* list: index i < 0 counts from the end as in Python; out of range:
 * MPROC_ENOENT (Python's IndexError). */
MPROC_API mproc_mlist *mproc_manager_list(mproc_manager *m, int *err);
/* l.append(v). */
MPROC_API int mproc_mlist_append(mproc_mlist *l, mproc_mval v);
/* l.extend(vals[0..n)). */
MPROC_API int mproc_mlist_extend(mproc_mlist *l, const mproc_mval *vals, size_t n);
/* l[i] into *out (release with mproc_mval_clear). */
MPROC_API int mproc_mlist_get(mproc_mlist *l, int64_t i, mproc_mval *out);
/* l[i] = v. */
MPROC_API int mproc_mlist_set(mproc_mlist *l, int64_t i, mproc_mval v);
MPROC_API int mproc_mlist_insert(mproc_mlist *l, int64_t i, mproc_mval v); /* clamps i, as Python does */
/* l.pop(i): removes item i, into *out (release with mproc_mval_clear). */
MPROC_API int mproc_mlist_pop(mproc_mlist *l, int64_t i, mproc_mval *out /* may be NULL */);
MPROC_API int mproc_mlist_len(mproc_mlist *l); /* >= 0 or an error */
/* l.reverse(). */
MPROC_API int mproc_mlist_reverse(mproc_mlist *l);
/* l[start:stop] (Python slice bounds, clamped) copied out: *vals for
 * mproc_mvals_free, *n items. */
MPROC_API int mproc_mlist_slice(mproc_mlist *l, int64_t start, int64_t stop, mproc_mval **vals, size_t *n);
/* Frees this proxy (the server's list lives while a proxy on it does). */
MPROC_API void mproc_mlist_free(mproc_mlist *l);

/* dict: a missing key is MPROC_ENOENT (KeyError); a key that is not int,
 * double, string or bytes is MPROC_EINVAL. keys/items keep insertion
 * order; items come as key, value, key, value ... (2 * *n values). */
MPROC_API mproc_mdict *mproc_manager_dict(mproc_manager *m, int *err);
/* d[key] = v. */
MPROC_API int mproc_mdict_set(mproc_mdict *d, mproc_mval key, mproc_mval v);
/* d[key] into *out (release with mproc_mval_clear). */
MPROC_API int mproc_mdict_get(mproc_mdict *d, mproc_mval key, mproc_mval *out);
/* del d[key]. */
MPROC_API int mproc_mdict_del(mproc_mdict *d, mproc_mval key);
MPROC_API int mproc_mdict_contains(mproc_mdict *d, mproc_mval key); /* 1, 0 or an error */
/* len(d): >= 0 or an error. */
MPROC_API int mproc_mdict_len(mproc_mdict *d);
/* d.keys(): *keys (release with mproc_mvals_free), *n of them. */
MPROC_API int mproc_mdict_keys(mproc_mdict *d, mproc_mval **keys, size_t *n);
/* d.items(): *kv as key, value, key, value ... (2 * *n values; release
 * with mproc_mvals_free). */
MPROC_API int mproc_mdict_items(mproc_mdict *d, mproc_mval **kv, size_t *n);
/* Frees this proxy (the server's dict lives while a proxy on it does). */
MPROC_API void mproc_mdict_free(mproc_mdict *d);

/* Namespace: named attributes (a missing one: MPROC_ENOENT, Python's
 * AttributeError). */
MPROC_API mproc_namespace *mproc_manager_namespace(mproc_manager *m, int *err);
/* ns.name = v. */
MPROC_API int mproc_namespace_set(mproc_namespace *ns, const char *name, mproc_mval v);
/* ns.name into *out (release with mproc_mval_clear). */
MPROC_API int mproc_namespace_get(mproc_namespace *ns, const char *name, mproc_mval *out);
/* del ns.name. */
MPROC_API int mproc_namespace_del(mproc_namespace *ns, const char *name);
/* Frees this proxy (the namespace lives while a proxy on it does). */
MPROC_API void mproc_namespace_free(mproc_namespace *ns);

/* Sync objects and queues served by the manager: the very types of the
 * local ones, used with the same functions (mproc_lock_acquire, ...). Not
 * available on them: a barrier action, mproc_cond_wait_for (the predicate
 * cannot run in the server: loop over mproc_cond_wait), and
 * mproc_conn_fileno-like OS handles (mproc_wait refuses a manager queue). */
MPROC_API mproc_lock *mproc_manager_lock(mproc_manager *m, int *err);
/* manager.RLock(). */
MPROC_API mproc_lock *mproc_manager_rlock(mproc_manager *m, int *err);
/* manager.Semaphore(value) / BoundedSemaphore(value) (bounded != 0). */
MPROC_API mproc_sem *mproc_manager_sem(mproc_manager *m, unsigned value, int bounded, int *err);
/* lock: NULL = a new manager RLock, or a lock of the same manager. */
MPROC_API mproc_cond *mproc_manager_cond(mproc_manager *m, mproc_lock *lock_or_null, int *err);
/* manager.Event(). */
MPROC_API mproc_event *mproc_manager_event(mproc_manager *m, int *err);
/* timeout: the default for waits with a negative timeout (< 0: none). */
MPROC_API mproc_barrier *mproc_manager_barrier(mproc_manager *m, unsigned parties, double timeout, int *err);
/* kind as in mproc_queue_opts; maxsize 0 = unbounded. */
MPROC_API mproc_queue *mproc_manager_queue(mproc_manager *m, mproc_queue_kind kind, size_t maxsize, int *err);

/* Value and Array of a typecode (c b B h H i I l L q Q f d): integers come
 * and go as MPROC_MV_INT (wrapped to the type's width, as ctypes does),
 * f and d as MPROC_MV_DOUBLE (an int is accepted). Anything else:
 * MPROC_EINVAL. */
MPROC_API mproc_mvalue *mproc_manager_value(mproc_manager *m, char typecode, mproc_mval init, int *err);
/* v.value into *out. */
MPROC_API int mproc_mvalue_get(mproc_mvalue *v, mproc_mval *out);
/* v.value = x. */
MPROC_API int mproc_mvalue_set(mproc_mvalue *v, mproc_mval x);
/* Frees this proxy (the Value lives while a proxy on it does). */
MPROC_API void mproc_mvalue_free(mproc_mvalue *v);
/* init: n elements of the C type of typecode, or NULL for zeros. */
MPROC_API mproc_marray *mproc_manager_array(mproc_manager *m, char typecode, size_t n, const void *init,
                                            int *err);
/* a[i] into *out (i < 0 counts from the end; out of range: MPROC_ENOENT). */
MPROC_API int mproc_marray_get(mproc_marray *a, int64_t i, mproc_mval *out);
/* a[i] = x (i as for mproc_marray_get). */
MPROC_API int mproc_marray_set(mproc_marray *a, int64_t i, mproc_mval x);
/* len(a): >= 0 or an error. */
MPROC_API int mproc_marray_len(mproc_marray *a);
/* Copies elements [start, stop) out as the C type (clamped like a slice);
 * *n gets the count; buf has room for cap elements (MPROC_EMSGSIZE if not). */
MPROC_API int mproc_marray_read(mproc_marray *a, int64_t start, int64_t stop, void *buf, size_t cap, size_t *n);
/* Frees this proxy (the Array lives while a proxy on it does). */
MPROC_API void mproc_marray_free(mproc_marray *a);

/* -------------------------------------------------------- ShareableList */

/* Python's multiprocessing.shared_memory.ShareableList: a fixed-length
 * list of None, bool, 64-bit int, double, str and bytes items stored
 * entirely in one named shared memory segment (an mproc_shm), in
 * CPython's exact layout (docs/sync-and-shared-memory.md), so that
 * Python's ShareableList(name=...) (3.9.18 and later: 3.11, 3.13 ...)
 * reads and writes a list made here and mproc_sharelist_attach one made
 * by Python (by 3.8 too). Items are mproc_mval values (MPROC_MV_NIL,
 * _BOOL, _INT, _DOUBLE, _STR, _BYTES; a manager proxy is MPROC_EINVAL).
 * A str or bytes item gets a slot of 8 * (len / 8 + 1) bytes that it keeps
 * for good: a later value of any type fits if it is no longer than that
 * (MPROC_EMSGSIZE if it is); other items take 8 bytes and can hold a
 * str or bytes of up to 8. Trailing NUL bytes of a str or bytes are lost,
 * as in Python. Strings are stored as given: Python decodes them as
 * UTF-8. Indexes: i < 0 counts from the end; out of range is
 * MPROC_ENOENT (Python's IndexError).
 *
 * There is no lock, as in Python: processes and threads may write
 * different items at once, but an item written while someone else reads
 * or writes it may be read half-written (MPROC_EINVAL, or a mix of the
 * two values): guard such items with a lock of your own.
 *
 * The segment lives as an mproc_shm does: until it is unlinked, or until
 * the process that created it ends without unlinking it (the resource
 * tracker unlinks it if that process is killed). Passing a list to a
 * child (mproc_args_add_obj) attaches the child by name. A handle may be
 * used from several threads; close it once no other thread uses it. */
typedef struct mproc_sharelist mproc_sharelist;

/* ShareableList(sequence, name=name): a new segment (name NULL: a
 * generated "psm_" name; a taken one: MPROC_EEXIST) holding n items
 * (items may be NULL when n is 0). An item of another type, a string with
 * a NULL pointer, n above INT32_MAX: MPROC_EINVAL; a str or bytes of
 * 9999992 bytes or more (its "%ds" format would not fit 8 characters,
 * Python's limit too): MPROC_EMSGSIZE. NULL and *err on failure. */
MPROC_API mproc_sharelist *mproc_sharelist_new(const char *name_or_null, const mproc_mval *items, size_t n,
                                               int *err);
/* ShareableList(name=name): attaches to a list made by mproc or Python.
 * MPROC_ENOENT when no segment has that name, MPROC_EINVAL when the
 * segment does not hold a ShareableList: its count and offsets (which
 * never change) do not fit it, or it is far bigger than they need. A
 * small segment of zeros reads as an empty list, as in Python. Formats
 * and codes may be changing while we attach: an item's are checked when
 * it is read. NULL and *err on failure. */
MPROC_API mproc_sharelist *mproc_sharelist_attach(const char *name, int *err);
/* len(l): the number of items (fixed); 0 for NULL. */
MPROC_API size_t mproc_sharelist_len(const mproc_sharelist *l);
/* l[i] into *out (release a str or bytes with mproc_mval_clear; *out is
 * None on failure). MPROC_ENOENT out of range, MPROC_EINVAL for an item
 * that is not a valid one (being written at this moment, or a corrupt
 * segment). */
MPROC_API int mproc_sharelist_get(mproc_sharelist *l, int64_t i, mproc_mval *out);
/* l[i] = v: any storable type, whatever the item held before; a str or
 * bytes longer than the item's slot is MPROC_EMSGSIZE and changes
 * nothing. */
MPROC_API int mproc_sharelist_set(mproc_sharelist *l, int64_t i, mproc_mval v);
/* l.count(v): how many items equal v (>= 0) or an error. Equality is
 * Python's for an int and a double (1 == 1.0), but a bool equals only a
 * bool (Python: True == 1), and a str never equals bytes. */
MPROC_API int mproc_sharelist_count(mproc_sharelist *l, mproc_mval v);
/* l.index(v): the position of the first item equal to v (as for count),
 * or MPROC_ENOENT (Python's ValueError). */
MPROC_API int mproc_sharelist_index(mproc_sharelist *l, mproc_mval v);
/* l.format: every item's struct format, joined ("q8sxxxxxxx?d..."), into
 * *out (free it with mproc_free). */
MPROC_API int mproc_sharelist_format(mproc_sharelist *l, char **out);
/* l.shm.name: the segment's name, without the leading "/" (as Python
 * reports it); valid while the handle lives. */
MPROC_API const char *mproc_sharelist_name(const mproc_sharelist *l);
/* l.shm: the list's segment (mproc_shm_ptr, _size, _name, _unlink work on
 * it); owned by the list: mproc_shm_close on it is MPROC_ESTATE. */
MPROC_API mproc_shm *mproc_sharelist_shm(mproc_sharelist *l);
/* l.shm.unlink(): removes the name; handles keep working. */
MPROC_API int mproc_sharelist_unlink(mproc_sharelist *l);
/* l.shm.close(): unmaps and frees the handle (the segment stays until
 * it is unlinked or its creator ends). A handle owned by args
 * (mproc_args_obj in a child): MPROC_ESTATE. */
MPROC_API int mproc_sharelist_close(mproc_sharelist *l);

/* SharedMemoryManager.SharedMemory(size): a new zero-filled segment of
 * the server's (size 0: MPROC_EINVAL). NULL and *err on failure.
 *
 * SharedMemoryManager: any manager (mproc_manager_start, _connect) makes
 * segments and ShareableLists for its clients (this call and
 * mproc_manager_sharelist), as Python's SharedMemoryManager does. The
 * server creates each segment and owns its name: it stays while the
 * server runs, whoever asked for it and whether or not anyone has it
 * open, and the server unlinks every one when it ends
 * (mproc_manager_shutdown: before it returns; its owner's death; if the
 * server itself is killed, the resource tracker does it on POSIX; on
 * Windows a segment goes with its last handle, and the server holds one).
 * The handles returned are this process's own: close them as usual;
 * closing does not remove the segment. The server must be on this
 * machine (else MPROC_ENOENT). */
MPROC_API mproc_shm *mproc_manager_shm(mproc_manager *m, size_t size, int *err);
/* SharedMemoryManager.ShareableList(sequence): a new list (as
 * mproc_sharelist_new) in a segment of the server's. NULL and *err on
 * failure. */
MPROC_API mproc_sharelist *mproc_manager_sharelist(mproc_manager *m, const mproc_mval *items, size_t n, int *err);
/* The server's release_segment(name): unlinks one of its segments now
 * and forgets it. MPROC_ENOENT when the server holds no segment of that
 * name. */
MPROC_API int mproc_manager_release_segment(mproc_manager *m, const char *name);
/* The server's list_segments(): the names of the segments it holds, as
 * MPROC_MV_STR values in *names (release with mproc_mvals_free), *n of
 * them. */
MPROC_API int mproc_manager_segments(mproc_manager *m, mproc_mval **names, size_t *n);

#ifdef __cplusplus
}
#endif
#endif /* MPROC_H */
