/* SPDX-License-Identifier: MIT */
/* win32.h - private to the Windows backend (native Win32, no APR). Its
 * sources mirror the core's subsystems, as the POSIX backend's do: base/
 * (init, system-call table, threads, clock, errors, text, names, random,
 * HMAC), proc/ (processes, spawn channel and hand-off, wait, code
 * location), sync/, shm/, net/ (streams, named pipes, TCP, listeners). */
#ifndef MPROC_WIN32_H
#define MPROC_WIN32_H

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601 /* Windows 7: process attribute lists, processor groups */
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#if defined(__GNUC__)
#define W32_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define W32_NOINLINE __declspec(noinline)
#else
#define W32_NOINLINE
#endif

/* base/syscalls.c: the calls that tests may replace (be_syscall_set). */
typedef struct w32_syscalls {
    BOOL(WINAPI *CreateProcessW)(LPCWSTR, LPWSTR, LPSECURITY_ATTRIBUTES, LPSECURITY_ATTRIBUTES, BOOL, DWORD, LPVOID,
                                 LPCWSTR, LPSTARTUPINFOW, LPPROCESS_INFORMATION);
    HANDLE(WINAPI *CreateFileMappingW)(HANDLE, LPSECURITY_ATTRIBUTES, DWORD, DWORD, DWORD, LPCWSTR);
    LPVOID(WINAPI *MapViewOfFile)(HANDLE, DWORD, DWORD, DWORD, SIZE_T);
    BOOL(WINAPI *WriteFile)(HANDLE, LPCVOID, DWORD, LPDWORD, LPOVERLAPPED);
} w32_syscalls;
extern w32_syscalls mproc__w32_sys;

struct be_proc {
    HANDLE process;
    DWORD pid;
};

/* Exit codes that mproc__be_proc_signal gives TerminateProcess, so that
 * mproc__be_proc_wait can tell terminate (-15) from kill (-9). Customer-defined
 * NTSTATUS values: no system code and no plausible target return. */
#define W32_EXIT_TERMINATED 0xE3500F0Fu
#define W32_EXIT_KILLED 0xE3500F09u

/* Command-line marker of a spawned child: "--mproc-spawn <handle, hex>". */
#define W32_SPAWN_MARKER "--mproc-spawn"
#define W32_SPAWN_MARKER_W L"--mproc-spawn"
/* How long a parent waits for a spawned child to report its start. */
#define W32_SPAWN_TIMEOUT 60.0

/* What a spawned child sends back once it resolved its target (or not). */
typedef struct w32_start_report {
    int32_t status;    /* 0 or an MPROC_E* code */
    uint32_t os_error; /* GetLastError() behind a failure, 0 if none */
} w32_start_report;

/* What the parent sends first on the channel, before [u64 len][payload]. */
typedef struct w32_spawn_hello {
    uint64_t job; /* handle value, valid in the child, of the parent's daemon job; 0 = none */
} w32_spawn_hello;

/* After the payload: [u64 n] then n of these, be_start.shms in order. */
typedef struct w32_spawn_shm {
    uint64_t mapping; /* handle value, valid in the child */
    uint64_t size;
} w32_spawn_shm;
#define W32_SPAWN_SHMS_MAX 65536 /* more on the channel means it is corrupt */

/* base/oserr.c: record an OS error for mproc_last_os_error and return code. */
int mproc__w32_fail(int code, DWORD os_error);
int mproc__w32_last_error(int code); /* mproc__w32_fail(code, GetLastError()) */

/* base/clock.c: the time left until a mproc__core_deadline() in milliseconds, rounded
 * up; INFINITE when there is none. */
DWORD mproc__w32_remaining_ms(double deadline);

/* base/text.c: UTF-8 <-> UTF-16. */
wchar_t *mproc__w32_wide(const char *utf8);                           /* malloc'd, NULL on failure */
int mproc__w32_utf8(const wchar_t *wide, char *out, size_t cap);      /* 0 or MPROC_EINVAL (too long) */
wchar_t *mproc__w32_module_path(HMODULE mod);                         /* malloc'd, NULL on failure */
/* v in lower-case hex with a NUL (at most 16 digits); returns the digits. */
size_t mproc__w32_hex(wchar_t *out, uint64_t v);

/* base/init.c */
const wchar_t *mproc__w32_exe_path(void); /* this program, for re-execution; NULL if unknown */

/* proc/channel.c: the parent's end of a spawn channel (overlapped named pipe)
 * and the inheritable child end. */
typedef struct w32_channel {
    HANDLE parent;  /* overlapped, not inheritable */
    HANDLE child;   /* synchronous, inheritable */
    HANDLE event;   /* for overlapped I/O on parent */
} w32_channel;
int mproc__w32_channel_open(w32_channel *ch);
void mproc__w32_channel_close(w32_channel *ch);
/* Full read or write on ch->parent, bounded by deadline, abandoned early if
 * peer (a process handle) exits first. 0, MPROC_EOS, MPROC_ETIMEDOUT or
 * MPROC_ESPAWN (OS error recorded). */
int mproc__w32_channel_io(w32_channel *ch, int writing, void *buf, size_t len, HANDLE peer, double deadline);

/* Synchronous full read/write on a child's end: 0 or MPROC_EOS/MPROC_ESYS. */
int mproc__w32_read_full(HANDLE h, void *buf, size_t len);
int mproc__w32_write_full(HANDLE h, const void *buf, size_t len);

/* proc/job.c: the job object holding this process's daemon children. NULL if
 * none could be made (then daemons just do not die with us). */
HANDLE mproc__w32_daemon_job(void);

/* proc/child.c: a spawned child; BE_ROLE_MAIN if argv has no spawn marker, else
 * reads the payload (exits if it cannot) and returns BE_ROLE_CHILD. */
int mproc__w32_child_init(int *argc, char ***argv, void **payload, size_t *len);

/* proc/spawn.c */
int mproc__w32_spawn_start(const be_start *how, be_proc *bp);

/* shm/shm.c: the section behind a segment, and the segments a spawned child
 * got from its parent (takes the malloc'd list; NULL if n is 0). */
HANDLE mproc__w32_shm_section(const be_shm *s);
void mproc__w32_shm_set_inherited(w32_spawn_shm *list, size_t n);

/* net/stream.c: a byte stream is one end of an overlapped named pipe or an
 * overlapped socket. One reader and one writer may use it at once, each
 * with its own event; a poll or wait takes the probe event, or makes one
 * when another thread has it. */
enum { W32_STREAM_PIPE = 1, W32_STREAM_SOCKET = 2 };
enum { W32_EV_READ, W32_EV_WRITE, W32_EV_PROBE, W32_EV_COUNT };
struct be_stream {
    HANDLE h; /* the pipe end, or the SOCKET */
    int kind;
    HANDLE event[W32_EV_COUNT]; /* manual-reset */
    volatile LONG probe_busy;   /* event[W32_EV_PROBE] is in use */
    int message;                /* a message-mode pipe (backend.h) */
    volatile LONG empty_msgs;   /* empty messages a probe consumed */
};
/* A stream around h (overlapped), which it takes (closed on failure). A
 * pipe whose server made it PIPE_TYPE_MESSAGE is a message stream; its
 * handle must be in PIPE_READMODE_MESSAGE. */
int mproc__w32_stream_wrap(HANDLE h, int kind, be_stream **out);
/* The I/O error err as our code: MPROC_EOS for a broken pipe or a reset
 * connection, MPROC_ETIMEDOUT for ERROR_TIMEOUT, else MPROC_ESYS (recorded). */
int mproc__w32_stream_error(DWORD err);
/* A zero-byte overlapped read: it consumes nothing and completes once the
 * stream has data or has ended. On a message pipe it does consume an empty
 * message (CPython's _got_empty_message): that is counted in empty_msgs. start gives 1 (ready now), 0 (pending: wait
 * on ov->hEvent) or an error; finish cancels it if still pending, gives
 * the event back and returns 1 if it had completed. */
int mproc__w32_probe_start(be_stream *s, OVERLAPPED *ov);
int mproc__w32_probe_finish(be_stream *s, OVERLAPPED *ov);
/* Without waiting or starting anything: 1 if ready, 0 if not, or an
 * error; MPROC_ENOSYS for a socket (probe it). */
int mproc__w32_stream_peek(be_stream *s);

/* proc/handoff.c: streams for a spawned child. The parent makes the part of the
 * channel that carries them (handles duplicated into the child, sockets
 * shared with it), the child reads it right after its segments. */
int mproc__w32_streams_export(const be_start *how, HANDLE child, DWORD child_pid, void **blob, size_t *len);
int mproc__w32_streams_import(HANDLE channel); /* 0 or an error: the child gives up */

/* base/names.c: kernel object names in the session namespace (Local\). */
#define W32_NAME_MAX 96
/* L"Local\\mproc-" tag "-" hex(a) "-" hex(b) into out[W32_NAME_MAX]. */
void mproc__w32_object_name(wchar_t *out, const char *tag, uint64_t a, uint64_t b);

/* Every sync record begins with this: who made it and a random part, the
 * name of its kernel wake-up event. */
typedef struct w32_sync_id {
    uint32_t magic; /* W32_SYNC_MAGIC once initialised */
    uint32_t pid;   /* creator */
    uint64_t nonce; /* random */
} w32_sync_id;
#define W32_SYNC_MAGIC 0x6d707379u /* "mpsy" */
int mproc__w32_sync_id_init(w32_sync_id *id);

/* sync/wake.c: the auto-reset event that wakes a record's sleepers, opened on
 * first use and cached per process (by record address, checked against
 * the id so that a reused address gets its own event). NULL on failure,
 * OS error recorded. */
HANDLE mproc__w32_wake_event(const void *rec, const w32_sync_id *id);
void mproc__w32_wake_forget(const void *rec);                 /* closes our handle */
void mproc__w32_wake_forget_range(const void *base, size_t len); /* a segment unmapped */

/* sync/owner.c: who holds a be_mutex. A thread that takes one gets an owner word
 * (its thread id and a random tag, never 0) and a named kernel mutex that
 * it owns for life: when the thread or its process dies, that mutex is
 * abandoned or gone, which is how others see that the holder died. */
uint64_t mproc__w32_owner_self(void); /* 0 on failure, OS error recorded */
uint64_t mproc__w32_owner_peek(void); /* this thread's word, 0 if it never made one */
enum { W32_OWNER_ALIVE, W32_OWNER_DEAD, W32_OWNER_UNKNOWN };
/* Is owner alive? If so, *life (else NULL) is a handle to its life mutex,
 * which becomes signalled when it dies: wait on it, then mproc__w32_owner_dead. */
int mproc__w32_owner_watch(uint64_t owner, HANDLE *life);
/* After a wait on a life mutex succeeded: gives it back so that every
 * other watcher sees it too. */
void mproc__w32_owner_dead(HANDLE life);

#endif
