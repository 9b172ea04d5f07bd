/* forkserver.c - the forkserver start method.
 *
 * On first use the program is run again as a server (spawn), before the
 * caller's threads or state can get in the way of fork. The server listens
 * on a unix socket in a private 0700 directory (socket mode 0600); every
 * request must begin with a 32-byte random token that only its creator and
 * the creator's forked children know. Per child, one connection carries:
 *   client -> server: token[32] (+ stdio), u64 length, payload, environ,
 *                     segments, streams (fdpass.c)
 *   server -> client: i64 pid, i32 start status, later i32 exit code.
 * The server exits when its creator does (EOF on the "alive" socket). It
 * shares its creator's resource tracker (the tree channel follows the
 * token), which removes its directory should the server be killed. */
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

/* ------------------------------------------------------------- client */

static struct {
    pthread_mutex_t mu;
    int known;            /* path/token valid (ours, or inherited by fork) */
    int alive_fd;         /* -1 when the server is not ours */
    pid_t pid;            /* server pid when ours */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    unsigned char token[TOKEN_LEN];
} fs = {PTHREAD_MUTEX_INITIALIZER, 0, -1, 0, "", {0}};

void px_forkserver_after_fork(void)
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

static int start_server_locked(void)
{
    /* The server and every child it forks share our resource tracker,
     * which also removes the server's directory should it be killed. */
    px_tracker_ensure();
    int sv[2];
    if (px_socketpair(sv) != 0)
        return px_sys_error(errno);
    pid_t pid;
    int rc = px_spawn(PX_FORKSERVER_MARKER, sv[1], &pid);
    close(sv[1]);
    if (rc) {
        close(sv[0]);
        return rc;
    }
    uint32_t n = 0;
    if ((rc = be_random(fs.token, TOKEN_LEN)) == 0 &&
        (rc = px_write_full(sv[0], fs.token, TOKEN_LEN)) == 0 && (rc = px_tracker_send(sv[0])) == 0 &&
        (rc = px_read_full(sv[0], &n, sizeof n, PX_SPAWN_ACK_TIMEOUT)) == 0) {
        if (n == 0 || n >= sizeof fs.path)
            rc = MPROC_ESPAWN;
        else
            rc = px_read_full(sv[0], fs.path, n, PX_SPAWN_ACK_TIMEOUT);
    }
    if (rc) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(sv[0]);
        return MPROC_ESPAWN;
    }
    fs.path[n] = '\0';
    fs.alive_fd = sv[0];
    fs.pid = pid;
    fs.known = 1;
    return 0;
}

static int connect_server(int *out)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return px_sys_error(errno);
    px_cloexec(fd, 1);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, fs.path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        core_set_os_error(e);
        return MPROC_ESPAWN;
    }
    *out = fd;
    return 0;
}

/* A connection to a live server, starting one (again) when needed. */
static int get_connection(int *fd)
{
    pthread_mutex_lock(&fs.mu);
    int rc = MPROC_ESPAWN;
    if (fs.known)
        rc = connect_server(fd);
    if (rc) {
        /* Never started, or gone (our creator's server ended): our own. */
        if (fs.alive_fd >= 0) {
            close(fs.alive_fd);
            fs.alive_fd = -1;
            while (fs.pid > 0 && waitpid(fs.pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        fs.known = 0;
        rc = start_server_locked();
        if (rc == 0)
            rc = connect_server(fd);
    }
    pthread_mutex_unlock(&fs.mu);
    return rc;
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
    return px_send_fds(fd, msg, sizeof msg, fds, (size_t)n);
}

extern char **environ;

/* The child gets the environment we have now, not the server's. */
static int send_environ(int fd)
{
    uint64_t total = 0;
    for (char **e = environ; e && *e; e++)
        total += strlen(*e) + 1;
    int rc = px_write_full(fd, &total, sizeof total);
    for (char **e = environ; rc == 0 && e && *e; e++)
        rc = px_write_full(fd, *e, strlen(*e) + 1);
    return rc;
}

int px_forkserver_start(const be_start *how, be_proc *bp)
{
    int fd;
    int rc = get_connection(&fd);
    if (rc)
        return rc;
    uint64_t n = how->payload_len;
    int64_t pid = -1;
    int32_t status = MPROC_ESPAWN;
    if ((rc = send_hello(fd)) == 0 && (rc = px_write_full(fd, &n, sizeof n)) == 0 &&
        (rc = px_write_full(fd, how->payload, how->payload_len)) == 0 && (rc = send_environ(fd)) == 0 &&
        (rc = px_send_segments(fd, how->shms, how->nshms)) == 0 &&
        (rc = px_send_streams(fd, how->streams, how->nstreams)) == 0 &&
        (rc = px_read_full(fd, &pid, sizeof pid, PX_SPAWN_ACK_TIMEOUT)) == 0)
        rc = px_read_full(fd, &status, sizeof status, PX_SPAWN_ACK_TIMEOUT);
    if (rc || pid <= 0 || status != 0) {
        close(fd); /* the server reaps a child that could not start */
        return MPROC_ESPAWN;
    }
    bp->pid = (pid_t)pid;
    bp->fd = fd;
    bp->kind = W_SERVER;
    return 0;
}

/* ------------------------------------------------------------- server */

typedef struct served {
    pid_t pid;
    int fd;
} served;

static int sig_pipe[2] = {-1, -1};

static void on_sigchld(int sig)
{
    (void)sig;
    int e = errno;
    char c = 0;
    if (write(sig_pipe[1], &c, 1) < 0) {
        /* pipe full: a wake-up is already pending */
    }
    errno = e;
}

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
        px_track(PX_TRK_FILE, fs.path, 0);
    }
    if (server_dir[0]) {
        rmdir(server_dir);
        px_track(PX_TRK_DIR, server_dir, 0);
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
    px_track(PX_TRK_DIR, server_dir, 1);
    if (strlen(server_dir) + 3 > sizeof fs.path)
        return -1;
    memcpy(fs.path, server_dir, strlen(server_dir));
    strcpy(fs.path + strlen(server_dir), "/s");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    px_cloexec(fd, 1);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, fs.path);
    mode_t old = umask(077);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r == 0)
        px_track(PX_TRK_FILE, fs.path, 1);
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
    if (px_recv_fds(conn, msg, TOKEN_LEN + 1, got, 3, &ngot, REQUEST_TIMEOUT) != 0)
        return -1;
    if (!token_equal(msg, fs.token)) {
        px_close_fds(got, ngot);
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
    px_close_fds(r->segs, r->nseg);
    free(r->segs);
    free(r->sizes);
    px_close_fds(r->streams, r->nstreams);
    free(r->streams);
}

/* In the new child: drop every server descriptor, take the client's stdio,
 * restore signals, run. */
static void run_child(int listen_fd, int alive_fd, served *tab, size_t n, int conn, int report,
                      request *r)
{
    px_shm_set_inherited(r->segs, r->sizes, r->nseg);
    px_stream_set_inherited(r->streams, r->nstreams);
    for (int i = 0; i < 3; i++) {
        if (r->stdio[i] >= 0) {
            dup2(r->stdio[i], i);
            close(r->stdio[i]);
        } else {
            close(i);
        }
    }
    close(listen_fd);
    close(alive_fd);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    for (size_t i = 0; i < n; i++)
        close(tab[i].fd);
    close(conn);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    fs.known = 0;
    fs.path[0] = '\0';
    server_dir[0] = '\0';
    px_after_fork_child();
    px_report_fd = report;
    core_child_main(r->payload, (size_t)r->len);
    _exit(BE_CHILD_BADTARGET);
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

static int read_request(int conn, request *r)
{
    unsigned char hello[TOKEN_LEN + 1];
    memset(r, 0, sizeof *r);
    if (recv_hello(conn, hello, r->stdio) != 0)
        return -1;
    if (px_read_full(conn, &r->len, sizeof r->len, REQUEST_TIMEOUT) || r->len > BE_PAYLOAD_MAX ||
        !(r->payload = malloc(r->len ? (size_t)r->len : 1)) ||
        px_read_full(conn, r->payload, (size_t)r->len, REQUEST_TIMEOUT) ||
        px_read_full(conn, &r->envlen, sizeof r->envlen, REQUEST_TIMEOUT) || r->envlen > BE_PAYLOAD_MAX ||
        !(r->env = malloc((size_t)r->envlen + 1)) ||
        px_read_full(conn, r->env, (size_t)r->envlen, REQUEST_TIMEOUT) ||
        px_recv_segments(conn, &r->segs, &r->sizes, &r->nseg, REQUEST_TIMEOUT) ||
        px_recv_streams(conn, &r->streams, &r->nstreams, REQUEST_TIMEOUT))
        return -1;
    return 0;
}

static int grow(served **tab, size_t *cap)
{
    size_t nc = *cap ? *cap * 2 : 16;
    served *t = realloc(*tab, nc * sizeof *t);
    if (!t)
        return -1;
    *tab = t;
    *cap = nc;
    return 0;
}

/* Serves one request; on success adds the child to the table. */
static void serve(int listen_fd, int alive_fd, served **tab, size_t *n, size_t *cap, int conn)
{
    request r;
    int rep[2] = {-1, -1};
    if (read_request(conn, &r) != 0 || (*n == *cap && grow(tab, cap) != 0) || px_pipe(rep) != 0) {
        request_free(&r);
        close(conn);
        return;
    }
    fflush(NULL);
    pid_t pid = px_sys.fork();
    if (pid == 0) {
        close(rep[0]);
        set_environ(r.env, (size_t)r.envlen);
        run_child(listen_fd, alive_fd, *tab, *n, conn, rep[1], &r);
    }
    request_free(&r);
    close(rep[1]);
    int64_t p64 = pid;
    int32_t status = MPROC_ESPAWN;
    px_write_full(conn, &p64, sizeof p64);
    if (pid > 0 && px_read_full(rep[0], &status, sizeof status, REQUEST_TIMEOUT) != 0)
        status = MPROC_ESPAWN;
    close(rep[0]);
    px_write_full(conn, &status, sizeof status);
    if (pid < 0) {
        close(conn);
        return;
    }
    (*tab)[(*n)++] = (served){pid, conn};
}


static void reap_all(served *tab, size_t *n)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < *n; i++) {
            if (tab[i].pid != pid)
                continue;
            int32_t code = px_exit_code(status);
            px_write_full(tab[i].fd, &code, sizeof code); /* the client may be gone */
            close(tab[i].fd);
            tab[i] = tab[--*n];
            break;
        }
    }
}

void px_forkserver_main(int alive_fd)
{
    px_cloexec(alive_fd, 1);
    signal(SIGINT, SIG_IGN); /* Ctrl-C is for the program, not its server */
    if (px_read_full(alive_fd, fs.token, TOKEN_LEN, PX_SPAWN_ACK_TIMEOUT) != 0 ||
        px_tracker_recv(alive_fd, PX_SPAWN_ACK_TIMEOUT) != 0)
        _exit(1);
    int listen_fd = make_listener();
    if (listen_fd < 0 || px_pipe(sig_pipe) != 0) {
        server_cleanup();
        _exit(1);
    }
    fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK);
    uint32_t plen = (uint32_t)strlen(fs.path);
    if (px_write_full(alive_fd, &plen, sizeof plen) || px_write_full(alive_fd, fs.path, plen)) {
        server_cleanup();
        _exit(1);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    served *tab = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        struct pollfd p[3] = {{alive_fd, POLLIN, 0}, {listen_fd, POLLIN, 0}, {sig_pipe[0], POLLIN, 0}};
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents)
            break; /* our creator is gone */
        if (p[2].revents) {
            char buf[64];
            while (read(sig_pipe[0], buf, sizeof buf) > 0)
                ;
            reap_all(tab, &n);
        }
        if (p[1].revents) {
            int conn = accept(listen_fd, NULL, NULL);
            if (conn >= 0) {
                px_cloexec(conn, 1);
                serve(listen_fd, alive_fd, &tab, &n, &cap, conn);
            }
        }
    }
    server_cleanup();
    _exit(0);
}
