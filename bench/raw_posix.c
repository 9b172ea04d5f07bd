/* SPDX-License-Identifier: MIT */
/* raw_posix.c - mproc-bench's raw OS figures on POSIX: fork, posix_spawn,
 * a robust process-shared pthread mutex, socketpairs and pipes, and an
 * SPSC ring in MAP_SHARED memory. */
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raw.h"
#include "ring.h"

extern char **environ;

const raw_labels raw_label = {
    .fork = "fork+waitpid",
    .spawn = "posix_spawn+waitpid",
    .lock = "robust pthread mutex",
    .value_inc = "fork+pthread mutex",
    .conn = "socketpair r/w",
    .stream = "pipe write+read",
    .ring = "SPSC ring, mmap",
};

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *self_exe = "";

const char *raw_self_exe(const char *argv0)
{
    static char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    self_exe = n > 0 ? (exe[n] = '\0', exe) : argv0;
    return self_exe;
}

/* Every raw child is a fork here: nothing runs through argv. */
int raw_child_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return -1;
}

int raw_fork_join(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int st;
    return (pid > 0 && waitpid(pid, &st, 0) == pid) ? 0 : -1;
}

int raw_spawn_join(void)
{
    char *argv[] = {(char *)self_exe, "--exit-now", NULL};
    pid_t pid;
    if (posix_spawn(&pid, self_exe, NULL, NULL, argv, environ) != 0)
        return -1;
    int st;
    return waitpid(pid, &st, 0) == pid ? 0 : -1;
}

/* ---------------------------------------------------------------- locks */

struct raw_lock {
    pthread_mutex_t m;
    int value; /* shared with the children of raw_value_inc */
};

raw_lock *raw_lock_new(void)
{
    raw_lock *l = mmap(NULL, sizeof *l, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (l == MAP_FAILED)
        return NULL;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&l->m, &a);
    pthread_mutexattr_destroy(&a);
    return l;
}

int raw_lock_cycle(raw_lock *l)
{
    pthread_mutex_lock(&l->m);
    return pthread_mutex_unlock(&l->m);
}

int raw_value_inc(raw_lock *l, long n)
{
    l->value = 0;
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        if ((pids[i] = fork()) == 0) {
            for (long k = 0; k < n; k++) {
                pthread_mutex_lock(&l->m);
                l->value++;
                pthread_mutex_unlock(&l->m);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < 2; i++)
        waitpid(pids[i], NULL, 0);
    return l->value == 2 * n ? 0 : -1;
}

void raw_lock_free(raw_lock *l)
{
    if (l) {
        pthread_mutex_destroy(&l->m);
        munmap(l, sizeof *l);
    }
}

/* ---------------------------------------------------------------- peers */

static int full_io(int fd, void *buf, size_t len, int writing)
{
    for (size_t done = 0; done < len;) {
        ssize_t k = writing ? write(fd, (char *)buf + done, len - done) : read(fd, (char *)buf + done, len - done);
        if (k <= 0)
            return -1;
        done += (size_t)k;
    }
    return 0;
}

struct raw_peer {
    int fd;
    pid_t pid;
};

raw_peer *raw_peer_start(raw_peer_mode mode, uint64_t count, size_t size)
{
    int sv[2];
    raw_peer *p = malloc(sizeof *p);
    if (!p || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        free(p);
        return NULL;
    }
    if ((p->pid = fork()) == 0) {
        close(sv[0]);
        char *buf = calloc(1, size > RAW_RTT_MSG ? size : RAW_RTT_MSG);
        if (mode == RAW_ECHO)
            while (buf && full_io(sv[1], buf, RAW_RTT_MSG, 0) == 0 && full_io(sv[1], buf, RAW_RTT_MSG, 1) == 0)
                ;
        else
            for (uint64_t i = 0; buf && i < count && full_io(sv[1], buf, size, 1) == 0; i++)
                ;
        _exit(0);
    }
    close(sv[1]);
    p->fd = sv[0];
    if (p->pid < 0) {
        close(p->fd);
        free(p);
        return NULL;
    }
    return p;
}

int raw_peer_rtt(raw_peer *p)
{
    char msg[RAW_RTT_MSG] = {0};
    return full_io(p->fd, msg, sizeof msg, 1) == 0 && full_io(p->fd, msg, sizeof msg, 0) == 0 ? 0 : -1;
}

int raw_peer_read(raw_peer *p, void *buf, size_t len)
{
    return full_io(p->fd, buf, len, 0);
}

void raw_peer_end(raw_peer *p)
{
    close(p->fd);
    waitpid(p->pid, NULL, 0);
    free(p);
}

double raw_pipe_stream(size_t sz, long n)
{
    int data[2], go[2];
    if (pipe(data) || pipe(go))
        exit(1);
    char *b = calloc(1, sz), c = 0;
    pid_t pid = fork();
    if (pid == 0) {
        close(data[0]);
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        for (long i = 0; i < n; i++)
            if (full_io(data[1], b, sz, 1))
                _exit(1);
        _exit(0);
    }
    close(data[1]);
    double t0 = bench_now();
    if (write(go[1], &c, 1) != 1)
        exit(1);
    for (long i = 0; i < n; i++)
        if (full_io(data[0], b, sz, 0))
            exit(1);
    double t = bench_now() - t0;
    waitpid(pid, NULL, 0);
    close(data[0]);
    close(go[0]);
    close(go[1]);
    free(b);
    return t / (double)n * 1e6;
}

static void ring_yield(void) { sched_yield(); }

double raw_ring_stream(size_t sz, long n)
{
    size_t len = ring_size(sz);
    void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        exit(1);
    ring_init(mem);
    pid_t pid = fork();
    if (pid == 0)
        _exit(ring_produce(mem, sz, n, ring_yield) == 0 ? 0 : 1);
    if (pid < 0)
        exit(1);
    double us = ring_consume(mem, sz, n, ring_yield);
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || us < 0) {
        fprintf(stderr, "mproc-bench: the raw ring failed\n");
        exit(1);
    }
    munmap(mem, len);
    return us;
}

int raw_capture(const char *cmd, char *buf, size_t len)
{
    char line[4096];
    snprintf(line, sizeof line, "%s 2>/dev/null", cmd);
    FILE *f = popen(line, "r");
    if (!f)
        return -1;
    size_t got = fread(buf, 1, len - 1, f);
    buf[got] = '\0';
    return pclose(f) == 0 ? 0 : -1;
}
