/* SPDX-License-Identifier: MIT */
/* posix.h - private to the POSIX backend. Its sources mirror the core's
 * subsystems: base/ (init, system-call table, threads, APR, descriptors,
 * HMAC), proc/ (processes, start methods, wait, code location), sync/,
 * shm/ (segments and the resource tracker), net/ (streams, descriptor
 * passing, listeners and connections). */
#ifndef MPROC_POSIX_H
#define MPROC_POSIX_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#include "backend.h"
#include "mproc_config.h"

/* How the parent learns that a child ended. */
enum wait_kind {
    W_PIDFD,  /* a pidfd: readable once the child is a zombie */
    W_FD,     /* the child holds the other end of a pipe/socket: EOF at exit */
    W_POLL,   /* no descriptor: waitpid(WNOHANG) with back-off */
    W_KEEPER, /* forkserver child: its keeper sends the exit code on fd */
};

/* The exit code of a forkserver child whose keeper was killed before it
 * could report (Python's forkserver reports 255 when its server died). */
#define PX_FS_CODE_LOST 255

struct be_proc {
    pid_t pid;
    enum wait_kind kind;
    int fd;       /* pidfd, sentinel or forkserver keeper connection; -1 if none */
    int reaped;
    int exitcode;
};

/* base/syscalls.c: the system calls that tests may replace (be_syscall_set).
 * All members are stored as function pointers of these exact types. */
#include <sys/socket.h>
typedef struct px_syscalls {
    pid_t (*fork)(void);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*memfd_create)(const char *name);      /* close-on-exec */
    int (*shm_open)(const char *, int, mode_t);
    int (*pipe)(int fds[2]);                    /* close-on-exec */
    int (*socketpair)(int fds[2]);              /* AF_UNIX stream, close-on-exec */
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    ssize_t (*send)(int, const void *, size_t, int);
} px_syscalls;
extern px_syscalls mproc__px_sys;

/* base/io.c: descriptor helpers. Timeouts as in backend.h. */
int mproc__px_cloexec(int fd, int on);
int mproc__px_pipe(int fds[2]);                    /* close-on-exec */
int mproc__px_socketpair(int fds[2]);              /* AF_UNIX stream, close-on-exec */
int mproc__px_poll_in(int fd, double timeout);     /* 1 readable/EOF, 0 timeout, <0 error */
int mproc__px_poll_out(int fd, double timeout);    /* 1 writable/error, 0 timeout, <0 error */
int mproc__px_read_full(int fd, void *buf, size_t len, double timeout); /* 0, MPROC_EOS, MPROC_ETIMEDOUT, MPROC_ESYS */
int mproc__px_write_full(int fd, const void *buf, size_t len);          /* 0, MPROC_EOS, MPROC_ESYS; never SIGPIPE */
int mproc__px_sys_error(int err);                  /* records errno, returns MPROC_ESYS */
int mproc__px_exit_code(int status);               /* waitpid status -> code or -signal */
/* Around a write that may raise SIGPIPE: blocks it in this thread, and on
 * release swallows the one the write raised (got_epipe) unless one was
 * pending before. errno is kept. */
typedef struct px_sigpipe {
    sigset_t old;
    int was_pending;
} px_sigpipe;
void mproc__px_sigpipe_hold(px_sigpipe *st);
void mproc__px_sigpipe_release(px_sigpipe *st, int got_epipe);

/* base/aprlife.c: every use of APR's pools is inside enter (0 or MPROC_ESTATE
 * after mproc__be_shutdown) and leave. */
int mproc__px_apr_start(void);
typedef struct apr_pool_t apr_pool_t;
int mproc__px_apr_pool(apr_pool_t **pool); /* 0 or MPROC_ENOMEM; fork-safe */
int mproc__px_apr_enter(void);
void mproc__px_apr_leave(void);
void mproc__px_apr_after_fork(void);

/* base/init.c */
extern int mproc__px_child_fd; /* a spawned child's channel to its parent (status + sentinel), or -1 */
extern int mproc__px_report_fd; /* where mproc__be_child_started writes, or -1 */
const char *mproc__px_exe_path(void);
char *const *mproc__px_argv0(void);
void mproc__px_after_fork_child(void);
int mproc__px_pidfd_usable(void);

/* proc/proc.c */
void mproc__px_proc_after_fork(void);
int mproc__px_proc_wait_fd(const be_proc *bp); /* readable once the child ended, or -1 */
int mproc__px_proc_ended(be_proc *bp);         /* reaped, or (no descriptor) gone; never reaps */

/* net/stream.c */
int mproc__px_stream_wrap(int fd, be_stream **out); /* takes a stream socket; MPROC_EINVAL otherwise */
int mproc__px_stream_fd(const be_stream *s);
void mproc__px_stream_set_inherited(const int *fds, size_t n); /* takes the fds */

/* proc/spawn.c */
int mproc__px_spawn(const char *marker, int child_fd, pid_t *pid);
int mproc__px_spawn_start(const be_start *how, be_proc *bp);

/* proc/forkserver.c */
int mproc__px_forkserver_start(const be_start *how, be_proc *bp);
void mproc__px_forkserver_main(int fd);            /* never returns */
void mproc__px_forkserver_after_fork(void);
void mproc__px_forkserver_shutdown(void);         /* mproc__be_shutdown: stops our server */
void mproc__px_net_unlink_all(void);              /* mproc__be_shutdown: open listeners' socket files */
void mproc__px_net_release_all(void);             /* mproc__be_shutdown, nobody in APR: their pools */

/* shm/shm.c, net/fdpass.c */
int mproc__px_shm_fd(const be_shm *s);
void mproc__px_shm_set_inherited(const int *fds, const uint64_t *sizes, size_t n); /* takes the fds */
/* Sends buf with n (<= 64) descriptors attached / receives up to maxfds. */
int mproc__px_send_fds(int sock, const void *buf, size_t len, const int *fds, size_t n);
int mproc__px_recv_fds(int sock, void *buf, size_t len, int *fds, size_t maxfds, size_t *nfds, double timeout);
int mproc__px_send_segments(int sock, be_shm *const *shms, size_t n);
int mproc__px_recv_segments(int sock, int **fds, uint64_t **sizes, size_t *n, double timeout);
int mproc__px_send_streams(int sock, be_stream *const *streams, size_t n);
int mproc__px_recv_streams(int sock, int **fds, size_t *n, double timeout);
void mproc__px_close_fds(int *fds, size_t n);

/* sync/sync.c */
int mproc__px_pid_gone(pid_t pid);

/* shm/tracker.c: this process's side of the resource tracker
 * (docs/resource-tracker.md). mproc__px_track registers (add 1) what this process
 * created, or forgets it (add 0) once it removed it; best effort: 0, or
 * why it could not be tracked. Paths are made absolute. */
enum { PX_TRK_SHM = 1, PX_TRK_FILE = 2, PX_TRK_DIR = 3 };
int mproc__px_track(int kind, const char *path, int add);
void mproc__px_tracker_ensure(void);                 /* one now, if this process has none */
int mproc__px_tracker_send(int sock);                /* hands the tree channel (or none) to a new process */
int mproc__px_tracker_recv(int sock, double timeout); /* ... which takes it with this */
/* shm/tracker_main.c: the tracker process; never returns. */
void mproc__px_tracker_main(int tree_fd);

/* A process's channel carries these, each followed by len bytes of name
 * (no NUL); the tree channel carries one byte with a channel attached,
 * which the tracker acknowledges with PX_TRK_READY on that channel (as it
 * says it runs with one on the tree channel). */
#define PX_TRK_NAME_MAX 1024
enum { PX_TRK_ADD = 'A', PX_TRK_DROP = 'D', PX_TRK_READY = 'R' };
typedef struct px_trk_msg {
    uint8_t op;   /* PX_TRK_ADD, PX_TRK_DROP */
    uint8_t kind; /* PX_TRK_SHM: name; FILE, DIR: absolute path */
    uint16_t len;
    uint32_t zero;
    uint64_t dev, ino; /* FILE, DIR: the object registered (only it is removed) */
} px_trk_msg;


#define PX_SPAWN_MARKER "--mproc-spawn"
#define PX_FORKSERVER_MARKER "--mproc-forkserver"
#define PX_TRACKER_MARKER "--mproc-tracker"
/* How long a parent waits for a spawned child to reach mproc_init. */
#define PX_SPAWN_ACK_TIMEOUT 60.0

#endif
