/* SPDX-License-Identifier: MIT */
/* test_tracker.c - the resource tracker (docs/resource-tracker.md), once
 * per start method: what a killed process made under a name (a Manager's
 * or a forkserver's private directory with its socket, a listener's
 * socket file) is removed while the rest of the program runs; a killed tracker is replaced; a program
 * that ends normally leaves no tracker and nothing else.
 *
 * POSIX only (on Windows what a process holds goes with its handles).
 * Tests that follow whole programs run this binary again as a program of
 * its own ("--role NAME"), so that its tracker is its own; such a program
 * adopts the orphans it makes (Linux: a child subreaper), the tracker
 * among them, and finds it through /proc. Directories are made under a private TMPDIR,
 * so that tests running beside these never count. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define TRACKER_MARKER "--mproc-tracker"

static const char *self_path; /* this binary, for role programs */

/* ------------------------------------------------------------- helpers */

/* The tests that find the tracker in /proc (test_when). */
static const char *no_proc(void)
{
    return access("/proc/self/stat", R_OK) == 0 ? NULL : "no /proc to find processes in";
}

/* A live tracker whose parent is ppid (not `except`), or 0. */
static long find_tracker(long ppid, long except)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    long found = 0;
    while (d && !found && (e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == except)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *paren = strrchr(buf, ')');
        char state;
        long parent;
        if (!paren || sscanf(paren + 1, " %c %ld", &state, &parent) != 2 || parent != ppid || state == 'Z' ||
            state == 'X')
            continue;
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        if (!(f = fopen(path, "r")))
            continue;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        size_t first = strlen(buf) + 1; /* argv[1] follows argv[0]'s NUL */
        if (first < n && strcmp(buf + first, TRACKER_MARKER) == 0)
            found = pid;
    }
    if (d)
        closedir(d);
    return found;
}

static int pid_gone_within(long pid, double seconds)
{
    for (double waited = 0; !test_pid_gone(pid); waited += 0.05) {
        if (waited >= seconds)
            return 0;
        test_sleep(0.05);
    }
    return 1;
}

/* Waits for our child (an adopted orphan, too) to end and reaps it. */
static int reaped_within(long pid, double seconds)
{
    for (double waited = 0; waitpid((pid_t)pid, NULL, WNOHANG) != (pid_t)pid; waited += 0.05) {
        if (waited >= seconds)
            return 0;
        test_sleep(0.05);
    }
    return 1;
}

/* Entries in dir whose name starts with prefix (NULL: any); the first
 * one's name into first. */
static int dir_entries(const char *dir, const char *prefix, char *first, size_t cap)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    if (first && cap)
        first[0] = '\0';
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0))
            continue;
        if (n++ == 0 && first)
            snprintf(first, cap, "%s", e->d_name);
    }
    if (d)
        closedir(d);
    return n;
}

static int dir_empty_within(const char *dir, double seconds)
{
    for (double waited = 0; dir_entries(dir, NULL, NULL, 0) != 0; waited += 0.05) {
        if (waited >= seconds)
            return 0;
        test_sleep(0.05);
    }
    return 1;
}

/* A fresh private TMPDIR (short: socket paths must fit in sun_path). */
static int make_tmpdir(char *out, size_t cap)
{
    snprintf(out, cap, "/tmp/mproc-tt-XXXXXX");
    return mkdtemp(out) ? 0 : -1;
}

/* Removes dir and what a failed test left in it (two levels). */
static void remove_tmpdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        DIR *sub = opendir(path);
        struct dirent *s;
        while (sub && (s = readdir(sub))) {
            char inner[1024];
            snprintf(inner, sizeof inner, "%s/%s", path, s->d_name);
            if (strcmp(s->d_name, ".") != 0 && strcmp(s->d_name, "..") != 0)
                unlink(inner);
        }
        if (sub)
            closedir(sub);
        if (rmdir(path) != 0)
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int send_long(mproc_conn *c, long v) { return mproc_conn_send_bytes(c, &v, sizeof v); }

static int recv_long(mproc_conn *c, long *v)
{
    size_t len = 0;
    if (mproc_conn_poll(c, 60) != 1)
        return MPROC_ETIMEDOUT;
    int rc = mproc_conn_recv_bytes_into(c, v, sizeof *v, &len);
    return rc ? rc : len == sizeof *v ? 0 : MPROC_EINVAL;
}

/* -------------------------------------- killed helpers leave no directory */

/* args: dir, conn. With TMPDIR=dir: starts a Manager (its server makes
 * its socket's directory there), sends the server's pid, waits to be
 * killed. */
static int t_manager_until_killed(const mproc_args *a)
{
    test_setenv("TMPDIR", mproc_args_str(a, 0));
    mproc_manager *m = mproc_manager_start(NULL, NULL);
    if (!m || send_long(mproc_args_obj(a, 1), mproc_process_pid(mproc_manager_process(m))) != 0)
        return 1;
    test_sleep(60); /* killed long before */
    return 2;
}

/* args: conn. Started through the forkserver: sends its parent's pid
 * (its keeper, a fork of the server). */
static int t_send_parent(const mproc_args *a) { return send_long(mproc_args_obj(a, 0), (long)getppid()) ? 1 : 0; }

static int t_nothing(const mproc_args *a)
{
    (void)a;
    return 0;
}

/* args: dir, conn. With TMPDIR=dir: starts a child through a forkserver
 * of its own (which makes its socket's directory there), then sends the
 * server's pid and waits to be killed. */
static int t_forkserver_until_killed(const mproc_args *a)
{
    test_setenv("TMPDIR", mproc_args_str(a, 0));
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    o.start_method = "forkserver";
    mproc_process *p = mproc_process_new(t_nothing, NULL, &o, NULL);
    if (!p || mproc_process_start(p) != 0 || mproc_process_join(p, 30) != 0)
        return 1;
    mproc_process_free(p);
    if (send_long(mproc_args_obj(a, 1), test_forkserver_pid()) != 0)
        return 1;
    test_sleep(60); /* killed long before */
    return 2;
}

/* args: dir, conn. Listens on unix:DIR/sock, says so (no helper: 0),
 * waits to be killed. */
static int t_listener_until_killed(const mproc_args *a)
{
    char addr[128];
    snprintf(addr, sizeof addr, "unix:%s/sock", mproc_args_str(a, 0));
    if (!mproc_listener_new(addr, NULL, 0, NULL) || send_long(mproc_args_obj(a, 1), 0) != 0)
        return 1;
    test_sleep(60); /* killed long before */
    return 2;
}

/* A child makes a helper process (target), which makes a directory under
 * the child's TMPDIR whose name starts with prefix; then the helper and
 * the child are killed with sig (a process group killed at once, the OOM
 * killer, ...). The directory must go while this process runs on. A
 * target that makes the file itself sends 0 for its helper. */
static void helper_killed(mproc_target target, const char *prefix, int sig)
{
    char dir[64], first[256];
    CU_ASSERT_EQUAL_FATAL(make_tmpdir(dir, sizeof dir), 0);
    mproc_conn *r, *w;
    CHECK_RC(mproc_pipe(0, &r, &w), 0);
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, dir);
    mproc_args_add_obj(a, w);
    mproc_process *p = test_start(target, a, NULL);
    mproc_args_free(a);
    long helper = 0;
    CHECK_RC(recv_long(r, &helper), 0);
    /* it made one (under forkserver, the child's own forkserver made one too) */
    CU_ASSERT_EQUAL(dir_entries(dir, prefix, first, sizeof first), 1);
    if (helper > 1)
        CU_ASSERT_EQUAL(kill((pid_t)helper, sig), 0);
    if (p)
        CHECK_RC(sig == SIGKILL ? mproc_process_kill(p) : mproc_process_terminate(p), 0);
    CU_ASSERT_EQUAL(test_finish(p), -sig);
    if (helper > 1)
        CU_ASSERT_TRUE(pid_gone_within(helper, 10));
    int empty = dir_empty_within(dir, 10);
    if (!empty)
        fprintf(stderr, "\n  %s/%s outlived the process that made it\n", dir, first);
    CU_ASSERT_TRUE(empty);
    remove_tmpdir(dir);
    mproc_conn_free(r);
    mproc_conn_free(w);
}

static void test_manager_killed(void) { helper_killed(t_manager_until_killed, "mproc-mgr-", SIGKILL); }

static void test_manager_terminated(void) { helper_killed(t_manager_until_killed, "mproc-mgr-", SIGTERM); }

static void test_forkserver_killed(void) { helper_killed(t_forkserver_until_killed, "mproc-fs-", SIGKILL); }

static void test_forkserver_terminated(void) { helper_killed(t_forkserver_until_killed, "mproc-fs-", SIGTERM); }

static void test_listener_killed(void) { helper_killed(t_listener_until_killed, "sock", SIGKILL); }

/* ----------------------------------------------------- role programs */

/* args: name, conn. Makes the segment, says so, waits to be killed. */
static int t_shm_until_killed(const mproc_args *a)
{
    if (!mproc_shm_open(mproc_args_str(a, 0), 64, 1, NULL) || send_long(mproc_args_obj(a, 1), 1) != 0)
        return 1;
    test_sleep(60);
    return 2;
}

/* A child of ours (started by method, NULL: the default) makes name and
 * is killed: it must go. 0 or why not. */
static int killed_child_cleaned(const char *name, const char *method)
{
    mproc_conn *r, *w;
    if (mproc_pipe(0, &r, &w) != 0)
        return 1;
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, name);
    mproc_args_add_obj(a, w);
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    o.start_method = method;
    mproc_process *p = mproc_process_new(t_shm_until_killed, a, &o, NULL);
    mproc_args_free(a);
    long made = 0;
    int rc = !p || mproc_process_start(p) != 0 || recv_long(r, &made) != 0 ? 2 : 0;
    if (p) {
        mproc_process_kill(p);
        mproc_process_join(p, 30);
        mproc_process_free(p);
    }
    if (rc == 0 && !test_shm_gone_within(name, 10))
        rc = 3;
    mproc_conn_free(r);
    mproc_conn_free(w);
    return rc;
}

/* Role "restart": its tracker is killed; making and unlinking segments
 * still works, a new tracker takes over (a child killed later still
 * leaves nothing). Prints "SEGMENT TRACKER": a segment it leaves for its
 * exit to unlink, and its tracker. Exit code 0, or the step that failed. */
static int role_restart(void)
{
    char a_name[32], b_name[32], c_name[32];
    snprintf(a_name, sizeof a_name, "mproc_tra_%ld", (long)getpid());
    snprintf(b_name, sizeof b_name, "mproc_trb_%ld", (long)getpid());
    snprintf(c_name, sizeof c_name, "mproc_trc_%ld", (long)getpid());
    mproc_shm *a = mproc_shm_open(a_name, 64, 1, NULL);
    if (!a)
        return 10;
    long t1 = find_tracker((long)getpid(), 0);
    if (t1 <= 0)
        return 11; /* no tracker of ours */
    /* Reaped, not just a zombie: a process with threads (a sanitizer's)
     * shows as one before its last thread let its descriptors go. */
    if (kill((pid_t)t1, SIGKILL) != 0 || !reaped_within(t1, 10))
        return 12;
    mproc_shm *b = mproc_shm_open(b_name, 64, 1, NULL);
    if (!b)
        return 13;
    long t2 = find_tracker((long)getpid(), t1);
    if (t2 <= 0)
        return 14; /* not replaced */
    if (mproc_shm_unlink(a) != 0 || mproc_shm_close(a) != 0)
        return 15;
    int rc = killed_child_cleaned(c_name, NULL);
    if (rc)
        return 20 + rc;
    printf("%s %ld\n", b_name, t2);
    fflush(stdout);
    return 0; /* b is left for the exit to unlink */
}

static int square(const void *in, void *out, void *state)
{
    (void)state;
    int64_t x;
    memcpy(&x, in, sizeof x);
    x *= x;
    memcpy(out, &x, sizeof x);
    return 0;
}

/* Role "busy" (TMPDIR set by the test): a named segment it never
 * unlinks, a pool map, a Manager, a child through the forkserver and a
 * unix listener it never closes; its tracker ignores SIGINT and SIGTERM.
 * Prints "SEGMENT TRACKER", then ends normally. */
static int role_busy(void)
{
    char name[32], addr[128];
    snprintf(name, sizeof name, "mproc_trx_%ld", (long)getpid());
    if (!mproc_shm_open(name, 64, 1, NULL))
        return 10;
    long t = find_tracker((long)getpid(), 0);
    if (t <= 0)
        return 11;
    kill((pid_t)t, SIGINT);
    kill((pid_t)t, SIGTERM);
    mproc_pool_opts o = MPROC_POOL_OPTS_INIT;
    o.processes = 2;
    mproc_pool *p = mproc_pool_new(&o, NULL);
    int64_t in[1000], out[1000];
    for (int i = 0; i < 1000; i++)
        in[i] = i;
    if (!p || mproc_pool_map(p, square, in, 1000, 8, out, 8, 0) != 0 || out[999] != 999 * 999)
        return 12;
    mproc_pool_close(p);
    mproc_pool_join(p, 30);
    mproc_pool_free(p);
    mproc_manager *m = mproc_manager_start(NULL, NULL);
    if (!m)
        return 13;
    mproc_manager_free(m);
    mproc_conn *r, *w;
    if (mproc_pipe(0, &r, &w) != 0)
        return 14;
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, w);
    mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
    po.start_method = "forkserver";
    mproc_process *c = mproc_process_new(t_send_parent, a, &po, NULL);
    mproc_args_free(a);
    long server = 0;
    if (!c || mproc_process_start(c) != 0 || recv_long(r, &server) != 0 || mproc_process_join(c, 30) != 0)
        return 15;
    mproc_process_free(c);
    mproc_conn_free(r);
    mproc_conn_free(w);
    snprintf(addr, sizeof addr, "unix:%s/l", getenv("TMPDIR"));
    static mproc_listener *left_open; /* for the exit to close (static: no leak report) */
    if (!(left_open = mproc_listener_new(addr, NULL, 0, NULL)))
        return 16;
    if (test_pid_gone(t))
        return 17; /* SIGINT or SIGTERM ended it */
    printf("%s %ld\n", name, t);
    fflush(stdout);
    return 0;
}

/* Role "nochild": it has a tracker (a child of its, killed, leaves no
 * segment), yet no child of its own is left (a wait for all children must
 * not wait for the tracker). Its child is forked whatever the method: a
 * forkserver would be a child of ours. */
static int role_nochild(void)
{
    char name[32], kid[32];
    snprintf(name, sizeof name, "mproc_trn_%ld", (long)getpid());
    snprintf(kid, sizeof kid, "mproc_trk_%ld", (long)getpid());
    mproc_shm *s = mproc_shm_open(name, 64, 1, NULL);
    if (!s)
        return 10;
    int rc = killed_child_cleaned(kid, "fork");
    if (rc)
        return 20 + rc;
    errno = 0;
    if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
        return 11;
    mproc_shm_unlink(s);
    mproc_shm_close(s);
    return 0;
}

static int run_role(const char *role)
{
    if (strcmp(role, "nochild") == 0)
        return role_nochild();
    if (strcmp(role, "restart") == 0)
        return role_restart();
    if (strcmp(role, "busy") == 0)
        return role_busy();
    return 99;
}

/* Runs this binary as a program of its own in role, under our start
 * method (and TMPDIR=tmpdir unless NULL), within 120 s: its exit code
 * (-1000: it did not end) and its output into out. */
static int run_program(const char *role, const char *tmpdir, char *out, size_t cap)
{
    int fds[2];
    out[0] = '\0';
    if (pipe(fds) != 0)
        return -1000;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = {(char *)self_path, "--role", (char *)role, "--method", (char *)mproc_get_start_method(), NULL};
    extern char **environ;
    char *saved = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    if (tmpdir)
        test_setenv("TMPDIR", tmpdir);
    pid_t pid;
    int rc = posix_spawn(&pid, self_path, &fa, NULL, argv, environ);
    if (saved)
        test_setenv("TMPDIR", saved);
    else
        unsetenv("TMPDIR");
    free(saved);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1000;
    }
    size_t len = 0;
    for (double waited = 0; waited < 120;) {
        struct pollfd pf = {fds[0], POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0) {
            waited += 0.1;
            continue;
        }
        ssize_t n = read(fds[0], out + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        out[len] = '\0';
    }
    close(fds[0]);
    int status = 0;
    pid_t got = 0;
    for (int i = 0; i < 1200 && (got = waitpid(pid, &status, WNOHANG)) == 0; i++)
        test_sleep(0.1);
    if (got != pid) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1000;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

/* A killed tracker: registrations still work (a new tracker takes over);
 * the program's normal end unlinks what it left and its tracker ends. */
static void test_tracker_killed(void)
{
    char out[256], seg[64];
    long tracker = 0;
    int code = run_program("restart", NULL, out, sizeof out);
    if (code != 0)
        fprintf(stderr, "\n  role restart: exit code %d (the step that failed)\n", code);
    CU_ASSERT_EQUAL(code, 0);
    CU_ASSERT_EQUAL_FATAL(sscanf(out, "%63s %ld", seg, &tracker), 2);
    CU_ASSERT_TRUE(test_shm_gone_within(seg, 0));
    CU_ASSERT_TRUE(pid_gone_within(tracker, 10));
}

/* The tracker is not a child of the program that started it. */
static void test_tracker_not_a_child(void)
{
    char out[64];
    int code = run_program("nochild", NULL, out, sizeof out);
    if (code != 0)
        fprintf(stderr, "\n  role nochild: exit code %d (the step that failed)\n", code);
    CU_ASSERT_EQUAL(code, 0);
}

/* After a program that used every kind of named resource ends normally:
 * no tracker, no segment, nothing in its TMPDIR. */
static void test_normal_exit(void)
{
    char dir[64], out[256], seg[64];
    long tracker = 0;
    CU_ASSERT_EQUAL_FATAL(make_tmpdir(dir, sizeof dir), 0);
    int code = run_program("busy", dir, out, sizeof out);
    if (code != 0)
        fprintf(stderr, "\n  role busy: exit code %d (the step that failed)\n", code);
    CU_ASSERT_EQUAL(code, 0);
    if (sscanf(out, "%63s %ld", seg, &tracker) == 2) {
        CU_ASSERT_TRUE(test_shm_gone_within(seg, 0));
        CU_ASSERT_TRUE(pid_gone_within(tracker, 10));
    } else {
        CU_FAIL("role busy printed nothing");
    }
    CU_ASSERT_TRUE(dir_empty_within(dir, 10));
    remove_tmpdir(dir);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    self_path = argv[0];
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--role") == 0) {
#ifdef __linux__
            /* A tracker is nobody's child: adopt ours, to find it by its parent. */
            if (strcmp(argv[i + 1], "nochild") != 0)
                prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
            for (int k = 1; k + 1 < argc; k++)
                if (strcmp(argv[k], "--method") == 0 && mproc_set_start_method(argv[k + 1]) != 0)
                    return 98;
            return run_role(argv[i + 1]);
        }
    }
    static const test_case tests[] = {
        {"Manager server killed: its directory goes", test_manager_killed},
        {"Manager server terminated: its directory goes", test_manager_terminated},
        {"forkserver killed: its directory goes", test_forkserver_killed},
        {"forkserver terminated: its directory goes", test_forkserver_terminated},
        {"listener's process killed: its socket file goes", test_listener_killed},
        {"tracker killed: a new one takes over", test_tracker_killed},
        {"normal exit: no tracker, nothing left", test_normal_exit},
        {"the tracker is not the program's child", test_tracker_not_a_child},
        {NULL, NULL},
    };
    static const test_when when[] = {
        {"tracker killed: a new one takes over", no_proc},
        {"normal exit: no tracker, nothing left", no_proc},
        {NULL, NULL},
    };
    return run_tests_where(argc, argv, "tracker", tests, when);
}
