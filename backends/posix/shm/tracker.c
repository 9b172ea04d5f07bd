/* SPDX-License-Identifier: MIT */
/* tracker.c - this process's side of the resource tracker
 * (docs/resource-tracker.md; the tracker itself is tracker_main.c).
 *
 * What a process creates under a name (shared memory, the unix socket of
 * a listener, the private directories of the Manager and the forkserver)
 * is registered with a helper process before the call that made it
 * returns, and unregistered once this process removed it. A process
 * registers over a channel of its own, so the tracker sees it die: the
 * channel reaches its end, and whatever is still registered on it is
 * removed.
 *
 * Channels are made on first need: a socket pair whose far end goes to
 * the tracker over the tree channel, the one socket that every process of
 * the program tree holds (inherited by fork, handed to spawn and
 * forkserver children). A process without one starts a tracker of its
 * own. A tracker that died is replaced on the next registration, which
 * then sends everything this process still has registered. Nothing here
 * ever fails the operation that registers: without a tracker, resources
 * are still removed at a normal exit. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"

#define IO_TIMEOUT 5.0    /* a tracker that takes longer is taken for dead */
#define START_TIMEOUT 30.0 /* a re-executed program is slow under sanitizers */
#define STARTS_MAX 4      /* trackers one process may start in its life */

typedef struct entry {
    px_trk_msg m;
    struct entry *next;
    char name[];
} entry;

static struct {
    pthread_mutex_t mu;
    int tree;    /* the tree channel, -1: none */
    int own;     /* this process's channel, -1: none yet */
    pid_t owner; /* the process the fields below belong to */
    entry *list; /* registered and not removed, oldest first */
    int starts;
} T = {PTHREAD_MUTEX_INITIALIZER, -1, -1, 0, NULL, 0};

/* In the child of any fork: the channel and the registrations are the
 * parent's; the tree channel is shared. Only async-signal-safe calls. */
static void after_fork_child(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    T.mu = fresh;
    if (T.own >= 0)
        close(T.own);
    T.own = -1;
    T.starts = 0;
    /* T.list is freed by the first registration here (owner differs). */
}

static void install_atfork(void) { pthread_atfork(NULL, NULL, after_fork_child); }

/* Under T.mu: T describes this process. */
static void enter(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_atfork);
    pthread_mutex_lock(&T.mu);
    if (T.owner == getpid())
        return;
    while (T.list) { /* a forked child's copy of its parent's list */
        entry *e = T.list;
        T.list = e->next;
        free(e);
    }
    T.owner = getpid();
}

static void leave(void) { pthread_mutex_unlock(&T.mu); }

static void drop_tree(void)
{
    if (T.own >= 0)
        close(T.own);
    T.own = -1;
    if (T.tree >= 0)
        close(T.tree);
    T.tree = -1;
}

/* Runs this program again as a tracker (like the forkserver, it needs
 * mproc_init(&argc, &argv): without it the marker would not be seen). */
static int start_tracker(void)
{
    if (T.starts >= STARTS_MAX || !mproc__px_exe_path() || !mproc__px_argv0())
        return MPROC_ENOSYS;
    T.starts++;
    int sv[2];
    if (mproc__px_socketpair(sv) != 0)
        return mproc__px_sys_error(errno);
    pid_t pid;
    int rc = mproc__px_spawn(PX_TRACKER_MARKER, sv[1], &pid);
    close(sv[1]);
    if (rc) {
        close(sv[0]);
        return rc;
    }
    /* The process we started forks the tracker and exits at once (the
     * tracker is nobody's child); the tracker says it runs. */
    char ready = 0;
    rc = mproc__px_read_full(sv[0], &ready, 1, START_TIMEOUT);
    if (rc || ready != PX_TRK_READY)
        kill(pid, SIGKILL); /* stuck before it forked; a tracker that did ends with sv[0] */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (rc || ready != PX_TRK_READY) {
        close(sv[0]);
        return MPROC_ESPAWN;
    }
    T.tree = sv[0];
    return 0;
}

/* A channel of our own: one end stays here, the other goes to the
 * tracker over the tree channel, which says it has it. Until it does, a
 * tracker that died could leave that end in flight, unreleased for a
 * while, and our writes would go nowhere without an error. */
static int open_channel(void)
{
    int sv[2];
    if (mproc__px_socketpair(sv) != 0)
        return mproc__px_sys_error(errno);
    int r = mproc__px_poll_out(T.tree, IO_TIMEOUT);
    int rc = r <= 0 ? (r < 0 ? r : MPROC_ETIMEDOUT) : mproc__px_send_fds(T.tree, "C", 1, &sv[1], 1);
    close(sv[1]);
    char ack = 0;
    if (rc == 0 && (rc = mproc__px_read_full(sv[0], &ack, 1, IO_TIMEOUT)) == 0 && ack != PX_TRK_READY)
        rc = MPROC_EINVAL;
    if (rc) {
        close(sv[0]);
        return rc;
    }
    T.own = sv[0];
    return 0;
}

static int send_entry(const px_trk_msg *m, const char *name)
{
    char buf[sizeof *m + PX_TRK_NAME_MAX];
    memcpy(buf, m, sizeof *m);
    memcpy(buf + sizeof *m, name, m->len);
    /* Room for a message this small means the write does not block. */
    int r = mproc__px_poll_out(T.own, IO_TIMEOUT);
    if (r <= 0)
        return r < 0 ? r : MPROC_ETIMEDOUT;
    return mproc__px_write_full(T.own, buf, sizeof *m + m->len);
}

/* Sends m, or on a fresh channel everything registered (m included):
 * starts a tracker, or a new one in place of a dead one, when needed. A
 * drop never starts one (it may come from an exit handler): without a
 * live channel nothing of ours is registered anywhere. */
static int deliver(const px_trk_msg *m, const char *name)
{
    if (m->op == PX_TRK_DROP) {
        int rc = T.own < 0 ? 0 : send_entry(m, name);
        if (rc)
            drop_tree(); /* the tracker is gone: the next add starts one */
        return rc;
    }
    int rc = MPROC_ENOSYS;
    for (int attempt = 0; attempt < 2; attempt++) {
        int fresh = 0;
        if (T.own < 0) {
            if (T.tree < 0 && (rc = start_tracker()) != 0)
                return rc;
            if ((rc = open_channel()) != 0) {
                drop_tree(); /* the tree's tracker is gone: ours next time round */
                continue;
            }
            fresh = 1;
        }
        rc = 0;
        if (!fresh)
            rc = send_entry(m, name);
        for (entry *e = T.list; fresh && e && rc == 0; e = e->next)
            rc = send_entry(&e->m, e->name);
        if (rc == 0)
            return 0;
        drop_tree();
    }
    return rc;
}

/* Absolute, so that the tracker (which runs in /) finds it. */
static int absolute(const char *path, char *out, size_t cap)
{
    if (path[0] == '/')
        return (size_t)snprintf(out, cap, "%s", path) < cap ? 0 : MPROC_EINVAL;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return mproc__px_sys_error(errno);
    return (size_t)snprintf(out, cap, "%s/%s", cwd, path) < cap ? 0 : MPROC_EINVAL;
}

int mproc__px_track(int kind, const char *path, int add)
{
    char name[PX_TRK_NAME_MAX + 1];
    px_trk_msg m;
    memset(&m, 0, sizeof m);
    m.op = add ? PX_TRK_ADD : PX_TRK_DROP;
    m.kind = (uint8_t)kind;
    int rc = 0;
    if (kind == PX_TRK_SHM) {
        if (!mproc__core_shm_name_valid(path))
            return MPROC_EINVAL;
        strcpy(name, path);
    } else if (kind == PX_TRK_FILE || kind == PX_TRK_DIR) {
        if (!path || (rc = absolute(path, name, sizeof name)) != 0)
            return path ? rc : MPROC_EINVAL;
        struct stat st;
        if (add) { /* the tracker removes this very object, not a namesake */
            if (lstat(name, &st) != 0)
                return mproc__px_sys_error(errno);
            m.dev = (uint64_t)st.st_dev;
            m.ino = (uint64_t)st.st_ino;
        }
    } else {
        return MPROC_EINVAL;
    }
    m.len = (uint16_t)strlen(name);
    enter();
    entry **pp = &T.list, **last = NULL;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->m.kind == m.kind && strcmp((*pp)->name, name) == 0)
            last = pp;
    if (add) {
        entry *e = malloc(sizeof *e + m.len + 1);
        if (!e) {
            leave();
            return MPROC_ENOMEM;
        }
        e->m = m;
        e->next = NULL;
        memcpy(e->name, name, (size_t)m.len + 1);
        *pp = e;
    } else if (last) {
        entry *e = *last;
        *last = e->next;
        free(e);
    } else {
        leave();
        return 0; /* never registered here: nothing to tell */
    }
    rc = deliver(&m, name);
    leave();
    return rc;
}

int mproc__be_shm_track(const char *name, int add) { return mproc__px_track(PX_TRK_SHM, name, add); }

void mproc__px_tracker_ensure(void)
{
    enter();
    if (T.tree < 0)
        start_tracker(); /* best effort: the new process starts its own */
    leave();
}

int mproc__px_tracker_send(int sock)
{
    enter();
    int fd = T.tree >= 0 ? dup(T.tree) : -1;
    leave();
    int rc = mproc__px_send_fds(sock, "T", 1, &fd, fd >= 0 ? 1 : 0);
    if (fd >= 0)
        close(fd);
    return rc;
}

int mproc__px_tracker_recv(int sock, double timeout)
{
    char c;
    int fd = -1;
    size_t n = 0;
    int rc = mproc__px_recv_fds(sock, &c, 1, &fd, 1, &n, timeout);
    if (rc)
        return rc;
    if (c != 'T') {
        mproc__px_close_fds(&fd, n);
        return MPROC_EINVAL;
    }
    enter();
    if (T.tree >= 0)
        close(T.tree);
    T.tree = n ? fd : -1;
    leave();
    return 0;
}
