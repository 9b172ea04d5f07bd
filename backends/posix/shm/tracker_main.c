/* SPDX-License-Identifier: MIT */
/* tracker_main.c - the resource tracker process (docs/resource-tracker.md;
 * the processes' side is tracker.c).
 *
 * It runs this program again with PX_TRACKER_MARKER and the tree channel,
 * forks once more so that it is nobody's child (a program's wait() for
 * all its children never waits for it), and lives in a session of its
 * own, deaf to the signals a terminal or a process group gets (Python's
 * tracker ignores SIGINT and SIGTERM), so that whatever kills the program
 * leaves it running to clean up. It takes
 * processes' channels from the tree channel, records what each registers,
 * and when a channel ends (its process exited or was killed) removes what
 * is still registered on it, newest first. It exits once the tree
 * channel and every process channel have ended, leaving nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "posix.h"

typedef struct rec {
    px_trk_msg m;
    char *name;
} rec;

typedef struct chan {
    int fd;
    int deaf;   /* sent something we cannot parse: only its end matters now */
    size_t len; /* bytes in buf */
    char buf[2 * (sizeof(px_trk_msg) + PX_TRK_NAME_MAX)];
    rec *recs;
    size_t n, cap;
} chan;

static chan **chans;
static size_t nchans, capchans;

static void remove_one(const rec *r)
{
    struct stat st;
    if (r->m.kind == PX_TRK_SHM) {
        char path[BE_SHM_NAME_MAX + 2] = "/";
        if (mproc__core_shm_name_valid(r->name)) {
            strcat(path, r->name);
            shm_unlink(path);
        }
        return;
    }
    /* Only the object that was registered: a namesake made later by
     * someone else stays. */
    if (lstat(r->name, &st) != 0 || (uint64_t)st.st_dev != r->m.dev || (uint64_t)st.st_ino != r->m.ino)
        return;
    if (r->m.kind == PX_TRK_DIR && S_ISDIR(st.st_mode))
        rmdir(r->name); /* emptied by the removals before it, or left alone */
    else if (r->m.kind == PX_TRK_FILE && !S_ISDIR(st.st_mode))
        unlink(r->name);
}

static void record(chan *c, const px_trk_msg *m, const char *name)
{
    if (m->op == PX_TRK_DROP) { /* the newest of that name */
        for (size_t i = c->n; i-- > 0;) {
            if (c->recs[i].m.kind == m->kind && strlen(c->recs[i].name) == m->len &&
                memcmp(c->recs[i].name, name, m->len) == 0) {
                free(c->recs[i].name);
                memmove(&c->recs[i], &c->recs[i + 1], (c->n - i - 1) * sizeof *c->recs);
                c->n--;
                break;
            }
        }
        return;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        rec *r = realloc(c->recs, cap * sizeof *r);
        if (!r)
            return; /* out of memory: this one is not tracked */
        c->recs = r;
        c->cap = cap;
    }
    char *copy = malloc((size_t)m->len + 1);
    if (!copy)
        return;
    memcpy(copy, name, m->len);
    copy[m->len] = '\0';
    c->recs[c->n].m = *m;
    c->recs[c->n].name = copy;
    c->n++;
}

/* Takes the complete messages in c->buf. */
static void parse(chan *c)
{
    size_t pos = 0;
    while (!c->deaf && c->len - pos >= sizeof(px_trk_msg)) {
        px_trk_msg m;
        memcpy(&m, c->buf + pos, sizeof m);
        int valid = (m.op == PX_TRK_ADD || m.op == PX_TRK_DROP) && m.kind >= PX_TRK_SHM &&
                    m.kind <= PX_TRK_DIR && m.len > 0 && m.len <= PX_TRK_NAME_MAX;
        if (!valid) {
            c->deaf = 1;
            break;
        }
        if (c->len - pos < sizeof m + m.len)
            break;
        record(c, &m, c->buf + pos + sizeof m);
        pos += sizeof m + m.len;
    }
    memmove(c->buf, c->buf + pos, c->len - pos);
    c->len -= pos;
}

/* Its process is gone: remove what it left, newest first. */
static void finish(size_t i)
{
    chan *c = chans[i];
    for (size_t k = c->n; k-- > 0;) {
        remove_one(&c->recs[k]);
        free(c->recs[k].name);
    }
    free(c->recs);
    close(c->fd);
    free(c);
    chans[i] = chans[--nchans];
}

/* Reads what channel i has; 1 when it ended. */
static int serve(size_t i)
{
    chan *c = chans[i];
    char sink[512];
    char *dst = c->deaf ? sink : c->buf + c->len;
    size_t room = c->deaf ? sizeof sink : sizeof c->buf - c->len;
    ssize_t n = read(c->fd, dst, room);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0)
        return 1; /* the end, or a reset: the same to us */
    if (!c->deaf) {
        c->len += (size_t)n;
        parse(c);
    }
    return 0;
}

static void add_channel(int fd)
{
    chan *c = calloc(1, sizeof *c);
    if (nchans == capchans) {
        size_t cap = capchans ? 2 * capchans : 16;
        chan **t = c ? realloc(chans, cap * sizeof *t) : NULL;
        if (t) {
            chans = t;
            capchans = cap;
        }
    }
    if (!c || nchans == capchans) { /* out of memory: that process goes untracked */
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
    chans[nchans++] = c;
    char ack = PX_TRK_READY; /* the process waits for it (tracker.c) */
    if (write(fd, &ack, 1) != 1) {
        /* it is gone already: its end shows at the next poll */
    }
}

/* A message on the tree channel: a process's channel, or the end. */
static int take_channel(int tree)
{
    char c;
    int fd = -1;
    size_t n = 0;
    int rc = mproc__px_recv_fds(tree, &c, 1, &fd, 1, &n, 0);
    if (rc == MPROC_ETIMEDOUT)
        return 0;
    if (rc)
        return 1;
    if (n == 1)
        add_channel(fd);
    return 0;
}

/* Descriptors the program left inheritable (a user's pipe, say) must not
 * stay open for as long as we live: close all but ours, as Python's
 * spawn of its tracker does. */
static void close_others(int keep)
{
    for (int round = 0; round < 64; round++) { /* 256 a round: any number in the end */
        int fds[256];
        size_t n = 0;
        DIR *d = opendir("/dev/fd");
        struct dirent *e;
        while (d && (e = readdir(d)) && n < sizeof fds / sizeof fds[0]) {
            char *end;
            long fd = strtol(e->d_name, &end, 10);
            if (*end == '\0' && e->d_name[0] && fd > 2 && fd != keep && fd != dirfd(d))
                fds[n++] = (int)fd;
        }
        if (d)
            closedir(d);
        for (size_t i = 0; i < n; i++)
            close(fds[i]);
        if (n == 0)
            return;
    }
}

static void quiet(void)
{
    int null = open("/dev/null", O_RDWR);
    for (int i = 0; i < 3 && null >= 0; i++)
        if (null != i)
            dup2(null, i);
    if (null > 2)
        close(null);
    if (chdir("/") != 0) {
        /* registered paths are absolute: the old directory works too */
    }
}

void mproc__px_tracker_main(int tree)
{
    mproc__px_cloexec(tree, 1);
    /* Not a child of the program: its wait() for "all children" must not
     * wait for us. The starter reaps the process in between. */
    pid_t pid = fork();
    if (pid != 0)
        _exit(pid < 0);
    setsid(); /* a signal to the program's process group misses us */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    quiet();
    close_others(tree);
    char ready = PX_TRK_READY;
    if (mproc__px_write_full(tree, &ready, 1) != 0)
        _exit(1);
    struct pollfd *p = NULL;
    size_t cap = 0;
    while (tree >= 0 || nchans > 0) {
        if (cap < nchans + 1) {
            struct pollfd *np = realloc(p, (nchans + 1) * sizeof *np);
            if (!np) {
                mproc__be_sleep(0.1);
                continue;
            }
            p = np;
            cap = nchans + 1;
        }
        size_t k = 0;
        for (size_t i = 0; i < nchans; i++)
            p[k++] = (struct pollfd){chans[i]->fd, POLLIN, 0};
        if (tree >= 0)
            p[k++] = (struct pollfd){tree, POLLIN, 0};
        if (poll(p, (nfds_t)k, -1) < 0) {
            if (errno != EINTR)
                mproc__be_sleep(0.1);
            continue;
        }
        if (tree >= 0 && p[k - 1].revents && take_channel(tree)) {
            close(tree);
            tree = -1; /* no process of the tree is left to make a channel */
        }
        /* Channels in p's order: finish() moves the last one into a
         * freed slot, so walk backwards. */
        for (size_t i = nchans < k ? nchans : k; i-- > 0;)
            if (p[i].revents && serve(i))
                finish(i);
    }
    _exit(0);
}
