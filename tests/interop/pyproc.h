/* SPDX-License-Identifier: MIT */
/* pyproc.h - a Python peer process for the interop tests: started with
 * its stdout on a pipe, read line by line, waited for with a bound. POSIX. */
#ifndef MPROC_TEST_PYPROC_H
#define MPROC_TEST_PYPROC_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../testutil.h"

extern char **environ;

typedef struct py_proc {
    pid_t pid;
    int in;  /* its stdin when a starter piped it, else -1 */
    int out; /* its stdout */
} py_proc;

/* Starts `python script a1 a2 a3` (NULL ends the arguments early). */
static inline int py_start(py_proc *p, const char *python, const char *script, const char *a1, const char *a2, const char *a3)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *argv[] = {(char *)python, (char *)script, (char *)a1, (char *)a2, (char *)a3, NULL};
    int rc = posix_spawnp(&p->pid, python, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    p->in = -1;
    p->out = fds[0];
    return 0;
}

/* One line of its output (without the newline), within timeout: 0, or -1
 * (nothing, or EOF). */
static inline int py_line(py_proc *p, char *buf, size_t cap, double timeout)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd pf = {p->out, POLLIN, 0};
        if (poll(&pf, 1, (int)(timeout * 1000)) != 1)
            return -1;
        ssize_t r = read(p->out, buf + n, 1);
        if (r <= 0)
            break;
        if (buf[n] == '\n') {
            buf[n] = '\0';
            return 0;
        }
        n++;
    }
    buf[n] = '\0';
    return n ? 0 : -1;
}

/* Its exit status (-1000 if it had to be killed after timeout). */
static inline int py_finish(py_proc *p, double timeout)
{
    int status = 0;
    if (p->in >= 0)
        close(p->in); /* its end of input */
    for (int waited = 0; waited < (int)(timeout * 100); waited++) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            close(p->out);
            return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        }
        test_sleep(0.01);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    close(p->out);
    return -1000;
}

#endif
