/* SPDX-License-Identifier: MIT */
/*
 * backend.h - THE backend interface (private).
 *
 * Everything the backend-neutral core needs from an operating system, and
 * nothing more. Exactly one backend (backends/posix or backends/win32) is
 * compiled in and implements every function here with these exact
 * signatures. Functions return 0 or a negative MPROC_E* code; on MPROC_ESYS
 * or MPROC_ESPAWN the backend has recorded the OS error with
 * mproc__core_set_os_error() first.
 *
 * Core -> backend calls are be_*; backend -> core calls are core_*.
 * Sections follow the subsystems (each backend's folders mirror them):
 * identity and start-up, processes, code location, shared memory, sync
 * records, byte streams, listen/connect, wait, HMAC, threads, fault
 * injection, misc (time, ids, CPUs). An entry is here because only the OS
 * can do it; what the core can build from these, it builds itself.
 */
#ifndef MPROC_CORE_BACKEND_H
#define MPROC_CORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "mproc.h"

/* Bumped whenever an entry is added, removed or changes its contract.
 * 8: mproc__be_mutex_held and mproc__be_mutex_abandon added (a Lock keeps no
 * owner word of its own; a lock held at exit is given up).
 * 7: mproc__be_rss added (a pool's max_worker_rss).
 * 6: mproc__be_syscalls replaces be_syscall_set/get, mproc__be_interface_version added,
 * mproc__be_wait takes n >= 1, the core drops BE_SPAWN_ARGS from argv. */
#define BE_INTERFACE_VERSION 8

/* ------------------------------------------------------------- identity */
const char *mproc__be_name(void); /* "posix" | "win32" */
/* BE_INTERFACE_VERSION as the backend was compiled; the core refuses a
 * mismatch at init (MPROC_ENOSYS from mproc_init, a line on stderr). */
int mproc__be_interface_version(void);

/* -------------------------------------------------------------- start-up */

/* What mproc_init found out about this process. */
typedef enum be_role {
    BE_ROLE_MAIN = 0,   /* an ordinary program start */
    BE_ROLE_CHILD = 1,  /* started by mproc__be_proc_start(BE_SPAWN): *payload set */
} be_role;

/* Called once by mproc_init. Records argv for re-execution. If this process
 * was started by BE_SPAWN it reads the parent's payload (malloc'd, the core
 * frees it) and returns BE_ROLE_CHILD; the core then removes the
 * BE_SPAWN_ARGS arguments after argv[0] (the backend's marker and channel)
 * that every spawned child's command line has. A backend that runs helper
 * processes of its own (the POSIX forkserver) may never return from here in
 * those processes. Returns a be_role or a negative error. */
#define BE_SPAWN_ARGS 2
int mproc__be_init(int *argc, char ***argv, void **payload, size_t *len);

/* The core's child entry: decodes the payload, runs the target, exits. The
 * backend calls it in a child created with BE_FORK or BE_FORKSERVER (after
 * the fork); spawned children reach it through mproc__be_init/mproc_init. */
void mproc__core_child_main(const void *payload, size_t len);

/* Called by the core in every child once the target was resolved (status 0)
 * or could not be (MPROC_ESPAWN), before the target runs. A spawned child
 * reports it to the parent, whose mproc__be_proc_start is waiting for it, so that a
 * child that cannot run its target makes mproc_process_start fail. */
void mproc__be_child_started(int status);

/* Exit code of a child that could not run its target. */
#define BE_CHILD_BADTARGET 255

/* Records an OS error number for mproc_last_os_error(). */
void mproc__core_set_os_error(int os_error);

/* Timeouts (timeout.c). The API's timeouts are seconds: negative = wait
 * forever; so is anything beyond CORE_TIMEOUT_MAX (INFINITY, 1e300: too
 * long to mean anything else); NaN is refused at the API with
 * MPROC_EINVAL (mproc__core_timeout_invalid) and counts as 0 anywhere else.
 * Deadlines are on mproc__be_monotonic(): a deadline (< 0: none) and the time
 * left until it (< 0: forever, 0: passed). */
#define CORE_TIMEOUT_MAX 1e9 /* seconds, about 31 years */
int mproc__core_timeout_invalid(double timeout); /* 1 for NaN */
double mproc__core_deadline(double timeout);
double mproc__core_remaining(double deadline);
/* The one conversion of a timeout to an OS unit, for every backend: -1
 * for forever, else the count of 1/per_second units, rounded up (a wait
 * never ends early), at most max. A wait cut short by max must wait again
 * for what remains until its deadline. */
int64_t mproc__core_timeout_units(double timeout, int64_t per_second, int64_t max);

/* Is this a valid shared-memory name (BE_SHM_NAME_MAX of [A-Za-z0-9_.-])? */
int mproc__core_shm_name_valid(const char *name);

/* ------------------------------------------------------------- processes */

enum be_method { BE_FORK = 1, BE_SPAWN = 2, BE_FORKSERVER = 3 };
/* Is the method available in this build and on this machine? */
int mproc__be_method_supported(int method);

typedef struct be_proc be_proc; /* backend-defined */

/* The largest payload (encoded child description with its arguments); the
 * core refuses bigger ones with MPROC_EMSGSIZE, backends treat a bigger
 * length on their channel as corrupt. */
#define BE_PAYLOAD_MAX ((size_t)1 << 30)

typedef struct be_shm be_shm; /* backend-defined; see "shared memory" below */

typedef struct be_stream be_stream; /* backend-defined; see "byte streams" below */

typedef struct be_start {
    int method;          /* enum be_method */
    const void *payload; /* core-encoded child description, delivered to */
    size_t payload_len;  /* mproc__core_child_main() in the child */
    be_shm *const *shms; /* segments the child gets, in this order (see */
    size_t nshms;        /* mproc__be_shm_inherited); may be NULL/0 */
    be_stream *const *streams; /* streams the child gets, in this order (see */
    size_t nstreams;           /* mproc__be_stream_inherited); may be NULL/0 */
} be_start;

/* Creates and starts a child. MPROC_ENOSYS for a method this backend lacks,
 * MPROC_ESPAWN when the OS refused. Never leaves a child behind on failure. */
int mproc__be_proc_start(const be_start *how, be_proc **out);
long mproc__be_proc_pid(const be_proc *); /* the child's OS process id */
/* Waits up to timeout (<0 forever, 0 poll) for the child to exit and reaps
 * it. 0 and *exitcode (target's return value, or -N for signal N; -15 for
 * BE_TERMINATE and -9 for BE_KILL on every backend) or MPROC_ETIMEDOUT.
 * Repeatable after exit. */
int mproc__be_proc_wait(be_proc *, double timeout, int *exitcode);

enum be_signal { BE_TERMINATE = 15, BE_KILL = 9 };
/* Sends the signal; 0 if the child has already exited. */
int mproc__be_proc_signal(be_proc *, int how);
/* Releases the handle. Only called once the child was reaped, or in a
 * forked child for handles inherited from its parent (then it must neither
 * wait nor signal: it just frees memory and closes descriptors). */
void mproc__be_proc_free(be_proc *);

/* Ends this process at once with code (stdio is flushed first; no atexit
 * handlers run). */
void mproc__be_exit(int code);

/* The backend's own teardown: the last step of a process's end, after
 * every core exit hook (hooks.h). Backend calls made later (by threads the
 * program left running) fail cleanly instead of touching what was torn
 * down; a call still inside the backend when it runs is waited for
 * briefly, and if it does not leave, the teardown is skipped (the OS
 * reclaims it all a moment later). */
void mproc__be_shutdown(void);

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

/* The digest both backends compute over up to BE_DIGEST_BYTES of code
 * (FNV-1a; the core provides it so that the two can never disagree). */
#define BE_DIGEST_BYTES 64
uint64_t mproc__core_code_digest(const unsigned char *code, size_t n);

typedef void (*be_fnptr)(void);
int mproc__be_sym_locate(be_fnptr fn, be_symref *out); /* MPROC_ESPAWN if not in a module */
/* Finds and verifies the function; MPROC_ESPAWN when the module is missing
 * or the code there is not the code the parent described. */
int mproc__be_sym_resolve(const be_symref *ref, be_fnptr *fn);

/* -------------------------------------------------------- shared memory */

/* Anonymous segment, zero-filled: it has no name anywhere and vanishes with
 * its last user, even after SIGKILL (POSIX: memfd or a shm name unlinked at
 * once; Windows: a pagefile-backed mapping). */
int mproc__be_shm_create(size_t size, be_shm **out);
/* Named segment (Python's SharedMemory): name without any OS prefix, at most
 * BE_SHM_NAME_MAX bytes of [A-Za-z0-9_.-]. create: MPROC_EEXIST if taken,
 * zero-filled; attach: MPROC_ENOENT if missing, size 0 = whole segment. */
#define BE_SHM_NAME_MAX 30
int mproc__be_shm_open(const char *name, size_t size, int create, be_shm **out);
int mproc__be_shm_unlink(const char *name); /* MPROC_ENOENT if missing */
void *mproc__be_shm_addr(const be_shm *);  /* where it is mapped in this process */
size_t mproc__be_shm_size(const be_shm *); /* its mapped size in bytes */
void mproc__be_shm_close(be_shm *); /* unmaps and frees the handle */
/* In a child: the segments of be_start.shms, mapped (at the same address
 * after fork). The caller owns the handle. MPROC_EINVAL past the end. */
size_t mproc__be_shm_inherited_count(void); /* how many this child got */
int mproc__be_shm_inherited(size_t index, be_shm **out);

/* Hands an anonymous segment to a process that is already running (a pool
 * worker): send writes it to stream st, whose other end is read by peer
 * (Windows duplicates the section handle into it; NULL = this process),
 * waiting at most timeout for room on the stream.
 * The reader must take it with mproc__be_shm_recv as the very next thing it reads
 * from its end, so nothing read before may have read ahead (the core's
 * connections read exactly one frame at a time). send: 0, MPROC_EINVAL
 * for a named segment, MPROC_EOS (the reader is gone), MPROC_ESYS; after a
 * failure the stream may be out of step. recv: 0 and a new mapping the
 * caller owns, MPROC_EOS, MPROC_ETIMEDOUT, MPROC_EINVAL (no segment came:
 * the stream is out of step), MPROC_ESYS/MPROC_ENOMEM. */
int mproc__be_shm_send(be_stream *st, be_proc *peer, const be_shm *s, double timeout);
int mproc__be_shm_recv(be_stream *st, double timeout, be_shm **out);

/* The resource tracker (docs/resource-tracker.md): a named segment this
 * process created (add 1) and has not unlinked yet (add 0 after unlink)
 * is unlinked by a helper process if this process dies first (SIGKILL,
 * a crash), as at a normal exit. Best effort: an error (the helper cannot
 * run) never fails the caller's operation, which may ignore it; the
 * segment is then only removed at a normal exit. Windows: nothing to do
 * (a section goes with its last handle), always 0. */
int mproc__be_shm_track(const char *name, int add);

/* ------------------------------------------------- synchronisation records */

/* Both live in shared memory and work between processes. On POSIX they hold
 * the OS object itself; on Windows the name of a kernel object that each
 * process opens on first use. Initialised once by their creator. */
typedef struct be_mutex {
    _Alignas(16) unsigned char opaque[64];
} be_mutex;
typedef struct be_sem {
    _Alignas(16) unsigned char opaque[64];
} be_sem;

/* A lock owned by the thread that took it. lock: 0, MPROC_ETIMEDOUT, or
 * MPROC_EOWNERDEAD when the holder died: the caller then holds it and it is
 * usable again. unlock: MPROC_ESTATE unless the calling thread holds it. */
int mproc__be_mutex_init(be_mutex *);                 /* unlocked; 0 or an error */
int mproc__be_mutex_lock(be_mutex *, double timeout); /* see above */
int mproc__be_mutex_unlock(be_mutex *);               /* see above */
/* Does the calling thread hold it? 1 or 0, no system call (RLock's
 * recursion and Condition's "caller holds the lock" ask it). The lock
 * and unlock of a plain Lock pay nothing for it (issue 19): the mutex
 * knows its holder already. */
int mproc__be_mutex_held(be_mutex *);
/* The calling thread holds it and gives it up as a dead holder would: the
 * next lock returns MPROC_EOWNERDEAD (a process that ends holding a lock,
 * before it waits for its children). MPROC_ESTATE if not held here. */
int mproc__be_mutex_abandon(be_mutex *);
void mproc__be_mutex_destroy(be_mutex *);             /* by its creator, once nobody uses it */
/* A counting semaphore. post: MPROC_ESTATE at the OS maximum. */
#define BE_SEM_VALUE_MAX 2147483647
int mproc__be_sem_init(be_sem *, unsigned value); /* value <= BE_SEM_VALUE_MAX */
int mproc__be_sem_wait(be_sem *, double timeout); /* 0 | MPROC_ETIMEDOUT */
int mproc__be_sem_post(be_sem *);                 /* 0 | MPROC_ESTATE (at the maximum) */
int mproc__be_sem_value(be_sem *);                /* the count now (a snapshot) */
void mproc__be_sem_destroy(be_sem *);             /* by its creator, once nobody uses it */

/* ---------------------------------------------------------- byte streams */

/* One end of a reliable byte stream: a stream pair's end or a connected
 * socket (POSIX: socketpair, pipe, unix or tcp socket). Every read and
 * write moves the whole buffer or fails; a peer that closed or died gives
 * MPROC_EOS (never a signal such as SIGPIPE). A timeout (< 0 forever, 0 =
 * don't block) bounds the whole call; after MPROC_ETIMEDOUT part of the
 * data may have moved, so the caller treats the stream as out of step.
 * One stream may be used by one reader and one writer thread at a time. */

/* duplex: both ends read and write. Otherwise a only reads, b only writes. */
int mproc__be_stream_pair(int duplex, be_stream **a, be_stream **b);
/* Exactly len bytes: 0, MPROC_EOS (end of stream or reset before len
 * bytes), MPROC_ETIMEDOUT, MPROC_ESYS. */
int mproc__be_stream_read(be_stream *, void *buf, size_t len, double timeout);
/* What is there now, up to cap bytes (cap > 0), waiting up to timeout
 * for the first byte: 0 and *got >= 1, MPROC_ETIMEDOUT when nothing came
 * (nothing was consumed), MPROC_EOS at the end of the stream, MPROC_ESYS.
 * Never reads more than cap, so a caller can stop exactly at a message
 * boundary. Byte streams only: MPROC_ENOSYS on a message stream. */
int mproc__be_stream_read_some(be_stream *, void *buf, size_t cap, double timeout, size_t *got);
typedef struct be_iov {
    const void *buf;
    size_t len;
} be_iov;
/* All n buffers, in order, as one stream of bytes (one system call where
 * the OS allows): 0, MPROC_EOS (the reader is gone), MPROC_ETIMEDOUT,
 * MPROC_ESYS. */
int mproc__be_stream_write(be_stream *, const be_iov *iov, size_t n, double timeout);
/* 1 when a read would not block (data, end of stream or error), 0 when
 * nothing came within timeout, or a negative error. */
int mproc__be_stream_poll(be_stream *, double timeout);

/* Message streams: Windows message-mode named pipes (pipe: listeners and
 * clients, as Python's AF_PIPE). A backend capability, not one feature's:
 * the OS keeps the boundaries, so the core cannot build it from byte reads;
 * connections and handshakes frame by it (no length header). One mproc__be_stream_write is one message, with
 * the boundaries the OS keeps (so no length header is needed); the reader
 * takes the next message's size from mproc__be_stream_next_message, then reads
 * exactly that many bytes with mproc__be_stream_read, in pieces if it likes. An
 * empty message is consumed by mproc__be_stream_next_message itself. Readiness
 * (poll, wait) counts an empty message too. */
int mproc__be_stream_is_message(const be_stream *); /* 1 or 0 (POSIX: always 0) */
/* Waits for the next message: 0 and *size, MPROC_EOS, MPROC_ETIMEDOUT (then
 * nothing was consumed), MPROC_ESYS. Only called on a message stream:
 * MPROC_ENOSYS on backends that have none (POSIX). */
int mproc__be_stream_next_message(be_stream *, size_t *size, double timeout);
void mproc__be_stream_close(be_stream *); /* closes the OS object and frees; NULL is ignored */
/* The OS object (POSIX descriptor, Windows HANDLE) as an integer, for a
 * user's own event loop. The stream keeps owning it. */
intptr_t mproc__be_stream_os_handle(const be_stream *);
/* In a child: the streams of be_start.streams, in order. Each can be
 * taken once and the caller then owns it (after fork it is the very
 * descriptor the child inherited, so closing it really closes the child's
 * end). Taken already: MPROC_ESTATE; past the end: MPROC_EINVAL. */
size_t mproc__be_stream_inherited_count(void); /* how many this child got */
int mproc__be_stream_inherited(size_t index, be_stream **out);

/* ------------------------------------------------------- listen, connect */

enum be_addr_family {
    BE_ADDR_TCP = 1,  /* name = host name or IP literal (no brackets), port */
    BE_ADDR_UNIX = 2, /* name = socket path */
    BE_ADDR_PIPE = 3, /* name = \\.\pipe\NAME (Windows named pipe) */
};
#define BE_ADDR_MAX 512
typedef struct be_addr {
    int family;             /* enum be_addr_family */
    char name[BE_ADDR_MAX]; /* NUL-terminated */
    unsigned port;          /* TCP only; 0 = the OS picks one (listen) */
} be_addr;

typedef struct be_listener be_listener; /* backend-defined */
/* Binds and listens. *bound gets the address as bound: numeric host and
 * the actual port for TCP, the path (absolute) for UNIX. MPROC_EINVAL for
 * a family this backend lacks or a bad name; MPROC_ESYS (address in use,
 * host not found, ...). */
int mproc__be_listener_open(const be_addr *addr, int backlog, be_listener **out, be_addr *bound);
/* A connected stream, or MPROC_ETIMEDOUT. Safe from several threads. */
int mproc__be_listener_accept(be_listener *, double timeout, be_stream **out);
/* Stops listening; a UNIX socket file is removed (by the process that
 * created it only). NULL is ignored. */
void mproc__be_listener_close(be_listener *);
/* A stream connected to addr, or MPROC_ETIMEDOUT; nobody listening /
 * missing path / unknown host: MPROC_ESYS with the OS error recorded. */
int mproc__be_connect(const be_addr *addr, double timeout, be_stream **out);

/* A fresh address for a listener only this user can reach (the Manager's
 * default, like Python's arbitrary_address): POSIX a socket in a new 0700
 * directory, Windows a pipe with a random name. remove: cleans up after
 * the listener has closed (POSIX: the directory). Kept in the backend: a
 * private directory (and its resource-tracker entry) or the pipe namespace
 * is the OS's; the core only formats and listens on what it gets. */
int mproc__be_private_address(be_addr *out);
void mproc__be_private_address_remove(const be_addr *a);

/* ---------------------------------------------------------------- wait */

/* One thing to wait for: a stream (ready when readable or at its end) or
 * a process (ready once it has ended; it is not reaped). */
typedef struct be_wait_item {
    be_stream *stream; /* exactly one of stream and proc is set */
    be_proc *proc;
    int ready;         /* out: 1 ready, 0 not */
} be_wait_item;
/* Waits until at least one item is ready or timeout passes; sets every
 * item's ready flag. Any n >= 1 (no 64-object limit; the core never asks
 * for n == 0, it sleeps instead). Returns how many are ready (0 at the
 * timeout) or a negative error. */
int mproc__be_wait(be_wait_item *items, size_t n, double timeout);

/* ------------------------------------------------------------------ HMAC */

#define BE_HMAC_MAX 64 /* largest digest, bytes */
/* HMAC of msg under key with the named digest: "md5", "sha256", "sha384",
 * "sha3_256" or "sha3_384". key may be NULL when keylen is 0. *outlen gets
 * the digest size. MPROC_EINVAL for any other name or one the crypto
 * library refuses (FIPS mode and md5). */
int mproc__be_hmac(const char *digest, const void *key, size_t keylen, const void *msg, size_t len,
            unsigned char out[BE_HMAC_MAX], size_t *outlen);

/* --------------------------------------------- threads (process-local) */

typedef struct be_thread be_thread;
/* Runs fn(arg) on a new thread of this process. The thread blocks every
 * asynchronous signal, so that a user's signal handler (Ctrl-C) runs in a
 * user's thread and interrupts its wait (mproc__be_bell_wait). MPROC_ESYS. */
int mproc__be_thread_start(void (*fn)(void *arg), void *arg, be_thread **out);
void mproc__be_thread_join(be_thread *); /* waits for it to end, then frees it */

/* A process-local mutex. */
typedef struct be_tlock be_tlock;
int mproc__be_tlock_new(be_tlock **out); /* 0 or MPROC_ENOMEM/MPROC_ESYS */
void mproc__be_tlock_free(be_tlock *);   /* NULL is ignored */
void mproc__be_tlock_lock(be_tlock *);   /* not recursive */
void mproc__be_tlock_unlock(be_tlock *); /* by the thread that locked it */

/* A process-local doorbell: any thread rings it, one thread at a time
 * waits. A ring while nobody waits is kept for the next wait (rings do not
 * add up). */
typedef struct be_bell be_bell;
int mproc__be_bell_new(be_bell **out); /* 0 or MPROC_ENOMEM/MPROC_ESYS */
void mproc__be_bell_free(be_bell *);   /* NULL is ignored */
void mproc__be_bell_ring(be_bell *);   /* from any thread, never blocks */
/* 0 (it rang; consumed), MPROC_ETIMEDOUT, or MPROC_EINTR when a signal
 * handler ran in this thread during the wait (POSIX; on Windows a console
 * Ctrl-C handler runs on a thread of its own and interrupts nothing). */
int mproc__be_bell_wait(be_bell *, double timeout);

/* This process leaves the terminal's interrupt (Ctrl-C: SIGINT to the
 * process group, the console's CTRL_C_EVENT) to its parent: pool workers
 * and manager servers, as Python's. Kept in the backend: signals and
 * console handlers are the OS's, and the core may name neither. */
void mproc__be_ignore_interrupts(void);

/* ------------------------------------------------------ fault injection */

/* The backend makes its system calls through a table (SQLite's
 * xSetSystemCall), so that tests can make one fail at a chosen call. The
 * backend describes its table; the core (base/fault.c) looks names up and
 * replaces entries (mproc_test_set_syscall). live and defaults are tables
 * of function pointers; names[i].offset is an entry's byte offset in both.
 * POSIX: "fork" "mmap" "memfd_create" "shm_open" "pipe" "socketpair"
 * "sendmsg" "send"; Windows: "CreateProcessW" "CreateFileMappingW"
 * "MapViewOfFile" "WriteFile". Signatures: each backend's private header. */
typedef struct be_syscall_name {
    const char *name;
    size_t offset;
} be_syscall_name;
typedef struct be_syscall_table {
    void *live;                   /* the table the backend calls through */
    const void *defaults;         /* the same table as built */
    const be_syscall_name *names; /* every entry tests may replace */
    size_t n;
} be_syscall_table;
const be_syscall_table *mproc__be_syscalls(void); /* never NULL */

/* ---------------------------------------------------------------- misc */

/* Cryptographically random bytes (names, tokens). */
int mproc__be_random(void *buf, size_t len);

/* Unique among the live threads of this process. */
uint64_t mproc__be_thread_id(void);

long mproc__be_getpid(void); /* this process's id (cheap: cached where it is a system call) */
/* Is process pid still running? 1 yes (or it exists and we may not ask),
 * 0 gone; a zombie counts as gone where the OS can tell (POSIX: always
 * for our own children). Costs a system call or two: blocked waits ask it
 * now and then, never a fast path. */
int mproc__be_pid_alive(long pid);
int mproc__be_cpu_count(void);      /* usable CPUs, at least 1 */
/* This process's resident set size in bytes (POSIX: /proc/self/statm, or
 * the Mach task info, or else the peak from getrusage; Windows: the
 * working set from GetProcessMemoryInfo). 0 or MPROC_ENOSYS/MPROC_ESYS. */
int mproc__be_rss(uint64_t *bytes);
double mproc__be_monotonic(void);   /* seconds from an arbitrary start */
void mproc__be_sleep(double seconds); /* at least that long (< 0: returns at once) */
/* The process-local lock of the core's own bookkeeping (children, segments,
 * connections, managers, arenas: every subsystem). Not a be_tlock: it must
 * work before anything was created (making one lazily would need a lock)
 * and be free again in a forked child, which the backend arranges. */
void mproc__be_core_lock(void);
void mproc__be_core_unlock(void); /* by the thread that locked it */

#endif
