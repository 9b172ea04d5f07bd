/* SPDX-License-Identifier: MIT */
/* test_exit.c - programs that end with their objects alive (issue: a
 * Python program never closes its pools). Runs tests/exit_live.c with the
 * start method under test, ending it each way, and checks that it exits
 * with its own code, promptly, and leaves nothing behind: no helper
 * process, no socket file or directory, no named segment. */
#include "testutil.h"

#ifdef _WIN32
#include <io.h>
#include <process.h>
#else
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
#endif

static char prog[1024]; /* exit_live, beside this binary */
static const char *method;

/* Has the program written "ready" into its record? */
static int record_ready(const char *record)
{
    FILE *f = fopen(record, "r");
    if (!f)
        return 0;
    char what[32], value[512];
    int ready = 0;
    while (!ready && fscanf(f, "%31s %511s", what, value) == 2)
        ready = strcmp(what, "ready") == 0;
    fclose(f);
    return ready;
}

/* Runs argv[0] with argv, waiting at most `seconds`: 0 and its exit code,
 * or -1 (could not start) / -2 (still running: killed). kill_record: kill
 * it (SIGKILL, TerminateProcess) as soon as that record says "ready". */
static int run_program(char *const argv[], double seconds, int *code, const char *kill_record)
{
#ifdef _WIN32
    intptr_t h = _spawnv(_P_NOWAIT, argv[0], (const char *const *)argv);
    if (h == -1)
        return -1;
    for (double waited = 0; kill_record && waited < seconds; waited += 0.01) {
        if (record_ready(kill_record)) {
            TerminateProcess((HANDLE)h, 9);
            break;
        }
        if (WaitForSingleObject((HANDLE)h, 10) == WAIT_OBJECT_0)
            break;
    }
    DWORD r = WaitForSingleObject((HANDLE)h, (DWORD)(seconds * 1000));
    if (r != WAIT_OBJECT_0) {
        TerminateProcess((HANDLE)h, 1);
        WaitForSingleObject((HANDLE)h, INFINITE);
        CloseHandle((HANDLE)h);
        return -2;
    }
    DWORD c = 0;
    GetExitCodeProcess((HANDLE)h, &c);
    CloseHandle((HANDLE)h);
    *code = (int)c;
    return 0;
#else
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
        return -1;
    int st;
    for (double waited = 0;; waited += 0.01) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (kill_record && record_ready(kill_record)) {
            kill(pid, SIGKILL);
            kill_record = NULL;
        }
        if (waited >= seconds) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -2;
        }
        test_sleep(0.01);
    }
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    return 0;
#endif
}

static int path_gone(const char *path)
{
#ifdef _WIN32
    FILE *f = fopen(path, "r");
    if (f)
        fclose(f);
    return f == NULL;
#else
    struct stat st;
    return stat(path, &st) != 0 && errno == ENOENT;
#endif
}

static int shm_gone(const char *name)
{
    int err = 0;
    mproc_shm *s = mproc_shm_open(name, 0, 0, &err);
    if (s) {
        mproc_shm_close(s);
        return 0;
    }
    return err == MPROC_ENOENT;
}

/* Polls what for up to 10 s (helpers end moments after the program). */
static int gone_soon(int (*what)(const char *), const char *arg)
{
    for (int i = 0; i < 200; i++) {
        if (what(arg))
            return 1;
        test_sleep(0.05);
    }
    return 0;
}

static int pid_str_gone(const char *s) { return test_pid_gone(strtol(s, NULL, 10)); }

/* A killed program's own children are left running, as any killed
 * parent's are: end them here. */
static void kill_pid(long pid)
{
#ifdef _WIN32
    HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
    if (h) {
        TerminateProcess(h, 9);
        CloseHandle(h);
    }
#else
    kill((pid_t)pid, SIGKILL);
#endif
}

#ifdef _WIN32
#define KILLED 9 /* TerminateProcess's code */
#else
#define KILLED (-9)
#endif

/* Ends exit_live the given way and checks the aftermath. */
static void check_end(const char *how, int want_code)
{
    char record[] = "mproc_exit_live_XXXXXX";
#ifdef _WIN32
    CU_ASSERT_PTR_NOT_NULL_FATAL(_mktemp(record));
#else
    int fd = mkstemp(record);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    close(fd);
#endif
    char *argv[] = {prog, (char *)method, (char *)how, record, NULL};
    int code = -1000;
    /* Generous: a sanitizer or wine run starts processes slowly; a hang
     * (the old crash left daemons running, and join never ended) hits it. */
    int rc = run_program(argv, 120, &code, want_code == KILLED ? record : NULL);
    CU_ASSERT_EQUAL(rc, 0);
    if (code != want_code)
        fprintf(stderr, "\n  exit_live %s %s: exit code %d, want %d\n", method, how, code, want_code);
    CU_ASSERT_EQUAL(code, want_code);

    FILE *f = fopen(record, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char what[32], value[512];
    int ready = 0, joined = 0, pids = 0;
    while (fscanf(f, "%31s %511s", what, value) == 2) {
        if (strcmp(what, "ready") == 0)
            ready = 1;
        else if (strcmp(what, "joined") == 0)
            joined = 1;
        else if (strcmp(what, "kid") == 0 && want_code == KILLED)
            kill_pid(strtol(value, NULL, 10));
        else if (strcmp(what, "pid") == 0 || strcmp(what, "kid") == 0) {
            pids++;
            int gone = gone_soon(pid_str_gone, value);
            if (!gone)
                fprintf(stderr, "\n  exit_live %s: process %s still running\n", how, value);
            CU_ASSERT_TRUE(gone);
            if (!gone)
                kill_pid(strtol(value, NULL, 10));
        } else if (strcmp(what, "path") == 0) {
            /* a manager's socket: its private directory goes too */
            char dir[512];
            snprintf(dir, sizeof dir, "%s", value);
            char *slash = strrchr(dir, '/');
            int is_mgr = strstr(dir, "mproc-mgr-") != NULL && slash;
            if (is_mgr)
                *slash = '\0';
            CU_ASSERT_TRUE(gone_soon(path_gone, value));
            if (is_mgr)
                CU_ASSERT_TRUE(gone_soon(path_gone, dir));
        } else if (strcmp(what, "shm") == 0) {
            CU_ASSERT_TRUE(gone_soon(shm_gone, value));
        }
    }
    fclose(f);
    remove(record);
    CU_ASSERT_TRUE(ready);
    if (want_code != KILLED)
        CU_ASSERT_TRUE(joined); /* the non-daemonic child was joined, not killed */
    CU_ASSERT_EQUAL(pids, want_code == KILLED ? 3 : 5); /* 2 workers, manager server (, daemon, child) */
}

static void test_return_from_main(void) { check_end("return", 4); }
static void test_exit_from_main(void) { check_end("exit", 5); }
static void test_exit_from_thread(void) { check_end("thread", 3); }
static void test_exit_from_pool_callback(void) { check_end("callback", 6); }
/* Killed: nothing runs in it, yet its helpers end (pool workers and the
 * manager server see their parent go; the daemon and the child are left
 * to finish, as with any killed parent: they are not counted), and the
 * resource tracker removes its named segment, socket file and manager
 * directory (POSIX; on Windows kernel objects go with their last handle). */
static void test_killed(void) { check_end("kill", KILLED); }

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    const char *name = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--method") == 0)
            method = argv[i + 1];
        if (strcmp(argv[i], "--prog") == 0)
            name = argv[i + 1];
    }
    if (!method || !name) {
        fprintf(stderr, "usage: %s --method METHOD --prog EXIT_LIVE\n", argv[0]);
        return 2;
    }
    /* exit_live sits beside this binary (a plain name under wine). */
    const char *slash = strrchr(argv[0], '/');
    const char *bslash = strrchr(argv[0], '\\');
    if (bslash && (!slash || bslash > slash))
        slash = bslash;
    snprintf(prog, sizeof prog, "%.*s%s", slash ? (int)(slash - argv[0] + 1) : 0, argv[0], name);
    static const test_case tests[] = {
        {"return from main with everything alive", test_return_from_main},
        {"exit() from main with everything alive", test_exit_from_main},
        {"exit() from another thread while main waits in mproc", test_exit_from_thread},
        {"exit() from a pool callback (the result thread)", test_exit_from_pool_callback},
        {"killed with everything alive", test_killed},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "Exit", tests);
}
