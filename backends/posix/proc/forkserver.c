/* SPDX-License-Identifier: MIT */
/* forkserver.c - the forkserver start method.
 *
 * On first use the program is run again as a server (spawn), before the
 * caller's threads or state can get in the way of fork. The server listens
 * on a unix socket in a private 0700 directory (socket mode 0600); every
 * request must begin with a 32-byte random token that only its creator and
 * the creator's forked children know. Per child, one connection carries:
 *   client -> server: token[32] (+ stdio), u64 length, payload, environ,
 *                     segments, streams (fdpass.c)
 *   keeper -> client: i64 pid, i32 start status, later i32 exit code.
 *
 * The server only accepts and forks: for each request it forks a keeper,
 * which forks the child, reports its pid and start status, waits for it
 * and sends its exit code (then exits). The server keeps nothing per child,
 * so it may die at any moment (killed, OOM) without losing a child: a
 * child's parent is its keeper, the only process that can learn how it
 * ended. Python's forkserver reports exit codes from the server itself, so
 * a dead server there turns every running child into "exit code 255" at
 * once; a pidfd would tell us when a child ends but not its code, and on
 * Linux only. The child also holds the connection (as its sentinel), so
 * end of stream on it always means the child has ended, even if its keeper
 * was killed too (then the code is lost: PX_FS_CODE_LOST).
 *
 * The client notices a dead server (end of stream on the "alive" socket, a
 * refused connection, or a request cut off before the pid) and starts a new
 * one for the next child, retrying a request once when the old server died
 * before it forked anything. The server exits when its creator does (end of
 * stream on the alive socket) and removes its directory; when it was
 * killed instead, the resource tracker it shares with its creator (the
 * tree channel follows the token) removes it, and so does its creator (on
 * the next start, or at its own end: mproc__be_shutdown stops and reaps the
 * server; there may be no tracker). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include "posix.h"

#define TOKEN_LEN 32
#define REQUEST_TIMEOUT 10.0
/* How long a server we stop may take to exit on its own before SIGKILL. */
#define SERVER_EXIT_TIMEOUT 2.0

/* ------------------------------------------------------------- client */

static struct {
    pthread_mutex_t mu;
    int known;            /* path/token valid (ours, or inherited by fork) */
    int alive_fd;         /* -1 when the server is not ours */
    pid_t pid;            /* server pid when ours */
    unsigned gen;         /* changes whenever the server is replaced */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    unsigned char token[TOKEN_LEN];
} fs = {PTHREAD_MUTEX_INITIALIZER, 0, -1, 0, 0, "", {0}};

void mproc__px_forkserver_after_fork(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    fs.mu = fresh;
    /* Keep using our parent's server, but don't keep it alive: it is tied
     * to its creator's lifetime, as in Python. */
    if (fs.alive_fd >= 0)
        close(fs.alive_fd);
    fs.alive_fd = -1;
    fs.pid = 0;
}

/* Reaps our server, which was told to go (or is dead): bounded, since a
 * stopped or hung server is killed after SERVER_EXIT_TIMEOUT. */
static void reap_server_locked(void)
{
    double deadline = mproc__core_deadline(SERVER_EXIT_TIMEOUT);
    for (;;) {
        pid_t r = waitpid(fs.pid, NULL, WNOHANG);
        if (r == fs.pid || (r < 0 && errno != EINTR))
            return; /* reaped, or not ours to reap (ECHILD) */
        if (mproc__core_remaining(deadline) == 0)
            break;
        mproc__be_sleep(0.001);
    }
    kill(fs.pid, SIGKILL);
    while (waitpid(fs.pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* A server that was killed could not remove its socket and directory. */
static void remove_leftovers_locked(void)
{
    char *slash = strrchr(fs.path, '/');
    if (!fs.path[0] || !slash)
        return;
    unlink(fs.path);
    *slash = '\0';
    rmdir(fs.path);
    *slash = '/';
}

/* Drops the current server: ours is told to exit (end of stream on its
 * alive socket), reaped, and cleaned up after; our parent's is just
 * forgotten. The next start runs a new one. */
static void forget_server_locked(void)
{
    if (fs.alive_fd >= 0) {
        close(fs.alive_fd);
        fs.alive_fd = -1;
        reap_server_locked();
        remove_leftovers_locked();
    }
    fs.pid = 0;
    fs.known = 0;
    fs.path[0] = '\0';
    fs.gen++;
}

/* Has our server ended? Its end of the alive socket closes when it does. */
static int server_dead_locked(void) { return fs.alive_fd >= 0 && mproc__px_poll_in(fs.alive_fd, 0) == 1; }

/* At the end of the process (mproc__be_shutdown) our server is stopped and
 * reaped here rather than left to end on its own once we are gone: one
 * that was killed (maybe a moment ago) left its directory, which nobody
 * else would remove. */
void mproc__px_forkserver_shutdown(void)
{
    if (pthread_mutex_trylock(&fs.mu) != 0)
        return; /* another thread is starting a server: it ends by itself */
    if (fs.alive_fd >= 0)
        forget_server_locked();
    pthread_mutex_unlock(&fs.mu);
}

static int start_server_locked(void)
{
    /* The server and every child it forks share our resource tracker,
     * which also removes the server's directory should it be killed. */
    mproc__px_tracker_ensure();
    int sv[2];
    if (mproc__px_socketpair(sv) != 0)
        return mproc__px_sys_error(errno);
    pid_t pid;
    int rc = mproc__px_spawn(PX_FORKSERVER_MARKER, sv[1], &pid);
    close(sv[1]);
    if (rc) {
        close(sv[0]);
        return rc;
    }
    uint32_t n = 0;
    if ((rc = mproc__be_random(fs.token, TOKEN_LEN)) == 0 &&
        (rc = mproc__px_write_full(sv[0], fs.token, TOKEN_LEN)) == 0 && (rc = mproc__px_tracker_send(sv[0])) == 0 &&
        (rc = mproc__px_read_full(sv[0], &n, sizeof n, PX_SPAWN_ACK_TIMEOUT)) == 0) {
        if (n == 0 || n >= sizeof fs.path)
            rc = MPROC_ESPAWN;
        else
            rc = mproc__px_read_full(sv[0], fs.path, n, PX_SPAWN_ACK_TIMEOUT);
    }
    if (rc) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(sv[0]);
        fs.path[0] = '\0';
        return MPROC_ESPAWN;
    }
    fs.path[n] = '\0';
    fs.alive_fd = sv[0];
    fs.pid = pid;
    fs.known = 1;
    fs.gen++;
    return 0;
}

static int connect_server(int *out)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return mproc__px_sys_error(errno);
    mproc__px_cloexec(fd, 1);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, fs.path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        mproc__core_set_os_error(e);
        return MPROC_ESPAWN;
    }
    *out = fd;
    return 0;
}

/* A connection to a live server, starting one (again) when needed; *gen
 * names the server it reached. */
static int get_connection(int *fd, unsigned *gen)
{
    pthread_mutex_lock(&fs.mu);
    if (server_dead_locked())
        forget_server_locked();
    int rc = MPROC_ESPAWN;
    if (fs.known)
        rc = connect_server(fd);
    if (rc) {
        /* Never started, dead, or our creator's server ended: our own. */
        forget_server_locked();
        rc = start_server_locked();
        if (rc == 0)
            rc = connect_server(fd);
    }
    *gen = fs.gen;
    pthread_mutex_unlock(&fs.mu);
    return rc;
}

/* The server `gen` failed a request: the next start gets a new one (unless
 * another thread replaced it already). */
static void server_failed(unsigned gen)
{
    pthread_mutex_lock(&fs.mu);
    if (fs.gen == gen && fs.known)
        forget_server_locked();
    pthread_mutex_unlock(&fs.mu);
}

/* Sends token + mask with our stdin/stdout/stderr attached, so that the
 * child writes where we write now (not where the server's stdio points). */
static int send_hello(int fd)
{
    unsigned char msg[TOKEN_LEN + 1];
    memcpy(msg, fs.token, TOKEN_LEN);
    int fds[3], n = 0;
    msg[TOKEN_LEN] = 0;
    for (int i = 0; i < 3; i++) {
        if (fcntl(i, F_GETFD) >= 0) {
            fds[n++] = i;
            msg[TOKEN_LEN] |= (unsigned char)(1u << i);
        }
    }
    return mproc__px_send_fds(fd, msg, sizeof msg, fds, (size_t)n);
}

extern char **environ;

/* The child gets the environment we have now, not the server's. */
static int send_environ(int fd)
{
    uint64_t total = 0;
    for (char **e = environ; e && *e; e++)
        total += strlen(*e) + 1;
    int rc = mproc__px_write_full(fd, &total, sizeof total);
    for (char **e = environ; rc == 0 && e && *e; e++)
        rc = mproc__px_write_full(fd, *e, strlen(*e) + 1);
    return rc;
}

/* One request on a new connection: 0 and the child's pid once it runs its
 * target. MPROC_EOS: the connection ended before a pid came, so no child
 * exists (the server died under us; the child holds the connection too).
 * MPROC_ETIMEDOUT: the server did not answer. MPROC_ESPAWN otherwise. */
static int request_child(int fd, const be_start *how, pid_t *pid)
{
    uint64_t n = how->payload_len;
    int64_t p64 = -1;
    int32_t status = MPROC_ESPAWN;
    int rc;
    if ((rc = send_hello(fd)) || (rc = mproc__px_write_full(fd, &n, sizeof n)) ||
        (rc = mproc__px_write_full(fd, how->payload, how->payload_len)) || (rc = send_environ(fd)) ||
        (rc = mproc__px_send_segments(fd, how->shms, how->nshms)) ||
        (rc = mproc__px_send_streams(fd, how->streams, how->nstreams)) ||
        (rc = mproc__px_read_full(fd, &p64, sizeof p64, PX_SPAWN_ACK_TIMEOUT)))
        return rc == MPROC_EOS || rc == MPROC_ETIMEDOUT ? rc : MPROC_ESPAWN;
    if (p64 <= 0)
        return MPROC_ESPAWN; /* the server could not fork */
    /* The keeper reaps a child that could not start. */
    if (mproc__px_read_full(fd, &status, sizeof status, PX_SPAWN_ACK_TIMEOUT) != 0 || status != 0)
        return MPROC_ESPAWN;
    *pid = (pid_t)p64;
    return 0;
}

int mproc__px_forkserver_start(const be_start *how, be_proc *bp)
{
    for (int attempt = 0;; attempt++) {
        int fd;
        unsigned gen;
        int rc = get_connection(&fd, &gen);
        if (rc)
            return rc;
        pid_t pid;
        rc = request_child(fd, how, &pid);
        if (rc == 0) {
            bp->pid = pid;
            bp->fd = fd;
            bp->kind = W_KEEPER;
            return 0;
        }
        close(fd);
        if (rc == MPROC_EOS || rc == MPROC_ETIMEDOUT)
            server_failed(gen);
        /* A server that died before forking anything: once more, with a
         * new one (nothing ran, so nothing runs twice). */
        if (rc != MPROC_EOS || attempt > 0)
            return MPROC_ESPAWN;
    }
}

/* ------------------------------------------------------------- server */

/* The server's own descriptors, which neither keepers nor children keep. */
static int listen_fd = -1, server_alive_fd = -1;

static int token_equal(const unsigned char *a, const unsigned char *b)
{
    unsigned char d = 0; /* constant time */
    for (int i = 0; i < TOKEN_LEN; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static char server_dir[sizeof(fs.path)];

static void server_cleanup(void)
{
    if (fs.path[0]) {
        unlink(fs.path);
        mproc__px_track(PX_TRK_FILE, fs.path, 0);
    }
    if (server_dir[0]) {
        rmdir(server_dir);
        mproc__px_track(PX_TRK_DIR, server_dir, 0);
    }
}

static int make_listener(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 60)
        tmp = "/tmp";
    snprintf(server_dir, sizeof server_dir, "%s/mproc-fs-XXXXXX", tmp);
    if (!mkdtemp(server_dir)) {
        server_dir[0] = '\0';
        return -1;
    }
    mproc__px_track(PX_TRK_DIR, server_dir, 1);
    if (strlen(server_dir) + 3 > sizeof fs.path)
        return -1;
    memcpy(fs.path, server_dir, strlen(server_dir));
    strcpy(fs.path + strlen(server_dir), "/s");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    mproc__px_cloexec(fd, 1);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, fs.path);
    mode_t old = umask(077);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r == 0)
        mproc__px_track(PX_TRK_FILE, fs.path, 1);
    if (r != 0 || chmod(fs.path, 0600) != 0 || listen(fd, 64) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Receives token + stdio mask and the client's descriptors 0-2 (stdio[i]
 * is -1 where the client had none). */
static int recv_hello(int conn, unsigned char *msg, int stdio[3])
{
    int got[3];
    size_t ngot;
    for (int i = 0; i < 3; i++)
        stdio[i] = -1;
    if (mproc__px_recv_fds(conn, msg, TOKEN_LEN + 1, got, 3, &ngot, REQUEST_TIMEOUT) != 0)
        return -1;
    if (!token_equal(msg, fs.token)) {
        mproc__px_close_fds(got, ngot);
        return -1;
    }
    for (size_t i = 0, k = 0; i < 3; i++)
        if ((msg[TOKEN_LEN] >> i) & 1u)
            stdio[i] = k < ngot ? got[k++] : -1;
    return 0;
}

static void close_stdio(int stdio[3])
{
    for (int i = 0; i < 3; i++)
        if (stdio[i] >= 0)
            close(stdio[i]);
}

/* One request as read from a client. */
typedef struct request {
    int stdio[3];
    void *payload;
    uint64_t len;
    char *env;
    uint64_t envlen;
    int *segs;
    uint64_t *sizes;
    size_t nseg;
    int *streams;
    size_t nstreams;
} request;

static void request_free(request *r)
{
    close_stdio(r->stdio);
    free(r->payload);
    free(r->env);
    mproc__px_close_fds(r->segs, r->nseg);
    free(r->segs);
    free(r->sizes);
    mproc__px_close_fds(r->streams, r->nstreams);
    free(r->streams);
}

/* In a new child: the client's environment replaces the server's. */
static void set_environ(char *block, size_t len)
{
    block[len] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += block[i] == '\0';
    char **env = calloc(n + 1, sizeof *env);
    if (!env)
        return;
    size_t k = 0;
    for (size_t i = 0; i < len && k < n; i += strlen(block + i) + 1)
        env[k++] = block + i;
    environ = env; /* both stay allocated for the child's life */
}

/* Signals a keeper holds back (blocked, not ignored: one sent to the child
 * before it has unblocked them stays pending and still reaches it). */
static void keeper_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGQUIT);
}

/* In the new child: take the client's stdio, restore signals, hold the
 * connection as our sentinel, report through `report`, run. */
static void run_child(int conn, int report, request *r, const sigset_t *mask)
{
    mproc__px_shm_set_inherited(r->segs, r->sizes, r->nseg);
    mproc__px_stream_set_inherited(r->streams, r->nstreams);
    for (int i = 0; i < 3; i++) {
        if (r->stdio[i] >= 0) {
            dup2(r->stdio[i], i);
            close(r->stdio[i]);
        } else {
            close(i);
        }
    }
    set_environ(r->env, (size_t)r->envlen);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, mask, NULL);
    mproc__px_after_fork_child();
    /* With the keeper's copy, the connection ends only once we have ended. */
    mproc__px_child_fd = conn;
    mproc__px_report_fd = report;
    mproc__core_child_main(r->payload, (size_t)r->len);
    _exit(BE_CHILD_BADTARGET);
}

static int32_t reap_child(pid_t pid)
{
    int status;
    pid_t r;
    while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    return r == pid ? mproc__px_exit_code(status) : PX_FS_CODE_LOST;
}

/* The keeper, forked by the server per request: forks the child, reports
 * its pid and start status, reaps it and reports its exit code. It keeps
 * nothing of the server's, so it outlives a killed server. */
static void run_keeper(int conn, request *r)
{
    close(listen_fd);
    close(server_alive_fd);
    fs.known = 0;
    fs.path[0] = '\0';
    server_dir[0] = '\0';
    sigset_t hold, old;
    keeper_signals(&hold);
    sigprocmask(SIG_BLOCK, &hold, &old);
    signal(SIGINT, SIG_DFL); /* the server ignores it: the child must not */
    signal(SIGCHLD, SIG_DFL); /* the server's SIG_IGN would reap the child */
    int rep[2] = {-1, -1};
    pid_t pid = mproc__px_pipe(rep) == 0 ? mproc__px_sys.fork() : -1;
    if (pid == 0) {
        close(rep[0]);
        run_child(conn, rep[1], r, &old);
    }
    request_free(r);
    if (rep[1] >= 0)
        close(rep[1]);
    int64_t p64 = pid;
    int32_t status = MPROC_ESPAWN;
    mproc__px_write_full(conn, &p64, sizeof p64); /* the client may be gone */
    if (pid < 0) {
        mproc__px_write_full(conn, &status, sizeof status);
        _exit(0);
    }
    if (mproc__px_read_full(rep[0], &status, sizeof status, REQUEST_TIMEOUT) != 0) {
        status = MPROC_ESPAWN; /* died or hung before it found its target */
        kill(pid, SIGKILL);
    }
    close(rep[0]);
    mproc__px_write_full(conn, &status, sizeof status);
    int32_t code = reap_child(pid);
    mproc__px_write_full(conn, &code, sizeof code);
    _exit(0);
}

static int read_request(int conn, request *r)
{
    unsigned char hello[TOKEN_LEN + 1];
    memset(r, 0, sizeof *r);
    if (recv_hello(conn, hello, r->stdio) != 0)
        return -1;
    if (mproc__px_read_full(conn, &r->len, sizeof r->len, REQUEST_TIMEOUT) || r->len > BE_PAYLOAD_MAX ||
        !(r->payload = malloc(r->len ? (size_t)r->len : 1)) ||
        mproc__px_read_full(conn, r->payload, (size_t)r->len, REQUEST_TIMEOUT) ||
        mproc__px_read_full(conn, &r->envlen, sizeof r->envlen, REQUEST_TIMEOUT) || r->envlen > BE_PAYLOAD_MAX ||
        !(r->env = malloc((size_t)r->envlen + 1)) ||
        mproc__px_read_full(conn, r->env, (size_t)r->envlen, REQUEST_TIMEOUT) ||
        mproc__px_recv_segments(conn, &r->segs, &r->sizes, &r->nseg, REQUEST_TIMEOUT) ||
        mproc__px_recv_streams(conn, &r->streams, &r->nstreams, REQUEST_TIMEOUT))
        return -1;
    return 0;
}

/* Serves one request: a keeper takes it (and the connection) over. */
static void serve(int conn)
{
    request r;
    if (read_request(conn, &r) != 0) {
        request_free(&r);
        close(conn);
        return;
    }
    fflush(NULL);
    pid_t pid = mproc__px_sys.fork();
    if (pid == 0)
        run_keeper(conn, &r);
    if (pid < 0) {
        int64_t p64 = -1;
        int32_t status = MPROC_ESPAWN;
        mproc__px_write_full(conn, &p64, sizeof p64);
        mproc__px_write_full(conn, &status, sizeof status);
    }
    request_free(&r);
    close(conn);
}

void mproc__px_forkserver_main(int alive_fd)
{
    server_alive_fd = alive_fd;
    mproc__px_cloexec(alive_fd, 1);
    /* exec kept the mask of the thread that started us, and mproc's own
     * threads (a pool's result thread) block every signal: our children
     * must start with none blocked, or terminate() would never reach them. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_IGN); /* Ctrl-C is for the program, not its server */
    /* Keepers are reaped by the system: the server tracks no child. */
    signal(SIGCHLD, SIG_IGN);
    if (mproc__px_read_full(alive_fd, fs.token, TOKEN_LEN, PX_SPAWN_ACK_TIMEOUT) != 0 ||
        mproc__px_tracker_recv(alive_fd, PX_SPAWN_ACK_TIMEOUT) != 0)
        _exit(1);
    listen_fd = make_listener();
    if (listen_fd < 0) {
        server_cleanup();
        _exit(1);
    }
    uint32_t plen = (uint32_t)strlen(fs.path);
    if (mproc__px_write_full(alive_fd, &plen, sizeof plen) || mproc__px_write_full(alive_fd, fs.path, plen)) {
        server_cleanup();
        _exit(1);
    }
    for (;;) {
        struct pollfd p[2] = {{alive_fd, POLLIN, 0}, {listen_fd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents)
            break; /* our creator is gone */
        if (p[1].revents) {
            int conn = accept(listen_fd, NULL, NULL);
            if (conn >= 0) {
                mproc__px_cloexec(conn, 1);
                serve(conn);
            }
        }
    }
    server_cleanup();
    _exit(0);
}
