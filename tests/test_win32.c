/* SPDX-License-Identifier: MIT */
/* test_win32.c - what only the Windows backend has: spawn is the only start
 * method; a target in a DLL the child must load itself is found, and a
 * changed or deleted DLL is refused (MPROC_ESPAWN, never foreign code);
 * failures leave their GetLastError() in mproc_last_os_error(); a child
 * inherits no handle but its channel and standard handles; daemons die with
 * a killed parent while other children live on; a child that dies before
 * it reports makes start fail and leaves nothing behind; a lock held by a
 * thread that ended is recovered; named shared memory keeps its exact size
 * and its unlink rules.
 * Arguments: --plugin1 NAME --plugin2 NAME (DLLs beside this program). */
#include <stdint.h>

#include "testutil.h"

static const char *plugin1, *plugin2;

/* ------------------------------------------------------------- helpers */


/* dir + name into out (wide); dir ends with a backslash. */
static void join_path(wchar_t *out, size_t cap, const wchar_t *dir, const char *name)
{
    size_t n = wcslen(dir);
    wcsncpy(out, dir, cap);
    MultiByteToWideChar(CP_UTF8, 0, name, -1, out + n, (int)(cap - n));
    out[cap - 1] = L'\0';
}

/* This program's folder, with a trailing backslash. */
static void exe_dir(wchar_t *out, size_t cap)
{
    DWORD n = GetModuleFileNameW(NULL, out, (DWORD)cap);
    CU_ASSERT_TRUE_FATAL(n > 0 && n < cap);
    wchar_t *slash = wcsrchr(out, L'\\');
    CU_ASSERT_PTR_NOT_NULL_FATAL(slash);
    slash[1] = L'\0';
}

/* A unique temporary file name (the file is not created). */
static void temp_name(wchar_t *out, size_t cap, const char *stem)
{
    static int counter;
    wchar_t dir[MAX_PATH];
    DWORD n = GetTempPathW(MAX_PATH, dir);
    CU_ASSERT_TRUE_FATAL(n > 0 && n < MAX_PATH);
    char name[128];
    snprintf(name, sizeof name, "%s_%lu_%d", stem, (unsigned long)GetCurrentProcessId(), ++counter);
    join_path(out, cap, dir, name);
}

static void expect_os_error(DWORD want)
{
    DWORD got = (DWORD)mproc_last_os_error();
    if (got != want)
        fprintf(stderr, "\n  mproc_last_os_error() = %lu, want %lu\n", (unsigned long)got,
                (unsigned long)want);
    CU_ASSERT_EQUAL(got, want);
}

/* ------------------------------------------------------------- targets */

static int t_sleep(const mproc_args *a)
{
    test_sleep(mproc_args_double(a, 0));
    return 0;
}

/* Starts a daemonic and a normal sleeper, writes "DAEMON_PID OTHER_PID" to
 * the file args[0] names, then sleeps until it is killed. */
static int t_two_children(const mproc_args *a)
{
    mproc_args *sa = mproc_args_new();
    mproc_args_add_double(sa, 120.0);
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    o.daemon = 1;
    mproc_process *d = mproc_process_new(t_sleep, sa, &o, NULL);
    mproc_process *n = mproc_process_new(t_sleep, sa, NULL, NULL);
    mproc_args_free(sa);
    if (!d || !n || mproc_process_start(d) != 0 || mproc_process_start(n) != 0)
        return 1;
    /* Written under another name and renamed: the reader sees all or nothing. */
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.part", mproc_args_str(a, 0));
    FILE *f = fopen(tmp, "w");
    if (!f)
        return 2;
    fprintf(f, "%ld %ld\n", mproc_process_pid(d), mproc_process_pid(n));
    if (fclose(f) != 0 || !MoveFileExA(tmp, mproc_args_str(a, 0), MOVEFILE_REPLACE_EXISTING))
        return 3;
    test_sleep(120.0);
    return 0;
}

/* --------------------------------------------------------------- tests */

static void test_start_methods(void)
{
    CHECK_RC(mproc_set_start_method("fork"), MPROC_ENOSYS);
    CHECK_RC(mproc_set_start_method("forkserver"), MPROC_ENOSYS);
    CU_ASSERT_STRING_EQUAL(mproc_get_start_method(), "spawn");
    const char *all[4];
    CU_ASSERT_EQUAL_FATAL(mproc_get_all_start_methods(all, 4), 1);
    CU_ASSERT_STRING_EQUAL(all[0], "spawn");
    CU_ASSERT_STRING_EQUAL(mproc_backend_name(), "win32");

    /* A per-process start method is refused the same way. */
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    int err = 0;
    o.start_method = "fork";
    CU_ASSERT_PTR_NULL(mproc_process_new(t_sleep, NULL, &o, &err));
    CHECK_RC(err, MPROC_ENOSYS);
    o.start_method = "forkserver";
    CU_ASSERT_PTR_NULL(mproc_process_new(t_sleep, NULL, &o, &err));
    CHECK_RC(err, MPROC_ENOSYS);
}

static void test_plugin_target(void)
{
    CU_ASSERT_TRUE_FATAL(plugin1 && plugin2);
    wchar_t dir[MAX_PATH], src1[MAX_PATH], src2[MAX_PATH], path[MAX_PATH], old[MAX_PATH + 8];
    exe_dir(dir, MAX_PATH);
    join_path(src1, MAX_PATH, dir, plugin1);
    join_path(src2, MAX_PATH, dir, plugin2);
    temp_name(path, MAX_PATH, "mproc_plugin");
    wcscat(path, L".dll");
    wcscpy(old, path);
    wcscat(old, L".old");
    CU_ASSERT_TRUE_FATAL(CopyFileW(src1, path, FALSE));
    HMODULE h = LoadLibraryW(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mproc_target fn = (mproc_target)(void *)GetProcAddress(h, "plugin_target");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fn);

    /* The child has not loaded the DLL: it loads it and runs variant 1. */
    int code = -1;
    CHECK_RC(test_run(fn, NULL, &code), 0);
    CU_ASSERT_EQUAL(code, 11);

    /* A loaded DLL can be renamed, not overwritten: move ours away and put
     * variant 2 under its name. Other code at the same offset: refused. */
    CU_ASSERT_TRUE_FATAL(MoveFileExW(path, old, MOVEFILE_REPLACE_EXISTING));
    CU_ASSERT_TRUE_FATAL(CopyFileW(src2, path, FALSE));
    CHECK_RC(test_run(fn, NULL, &code), MPROC_ESPAWN);
    expect_os_error(ERROR_REVISION_MISMATCH); /* the backend's code for "changed" */

    /* The file is gone: the child cannot load it. */
    CU_ASSERT_TRUE(DeleteFileW(path));
    CHECK_RC(test_run(fn, NULL, &code), MPROC_ESPAWN);
    expect_os_error(ERROR_MOD_NOT_FOUND);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    CU_ASSERT_EQUAL(fn(NULL), 11); /* the parent's copy is untouched */
    FreeLibrary(h);
    CU_ASSERT_TRUE(DeleteFileW(old));
}

static const unsigned char not_code[64] = {0xC3};

static void test_target_not_code(void)
{
    mproc_target fn;
    int code;
    /* Heap memory is in no module: refused before any child starts. */
    unsigned char *blob = calloc(64, 1);
    void *obj = blob;
    memcpy(&fn, &obj, sizeof fn);
    CHECK_RC(test_run(fn, NULL, &code), MPROC_ESPAWN);
    expect_os_error(ERROR_MOD_NOT_FOUND);
    free(blob);
    /* Read-only data inside the executable is no code either. */
    obj = (void *)not_code;
    memcpy(&fn, &obj, sizeof fn);
    CHECK_RC(test_run(fn, NULL, &code), MPROC_ESPAWN);
    expect_os_error(ERROR_INVALID_ADDRESS);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
}

static void test_only_intended_handles_inherited(void)
{
    /* An inheritable pipe of ours: if the child inherited its write end, the
     * pipe would not break when we close ours. */
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE r, w;
    CU_ASSERT_TRUE_FATAL(CreatePipe(&r, &w, &sa, 0));
    mproc_args *a = mproc_args_new();
    mproc_args_add_double(a, 60.0);
    mproc_process *p = mproc_process_new(t_sleep, a, NULL, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_start(p), 0);
    CloseHandle(w);
    DWORD avail = 0;
    BOOL open = PeekNamedPipe(r, NULL, 0, NULL, &avail, NULL);
    CU_ASSERT_FALSE(open);
    CU_ASSERT_EQUAL(GetLastError(), ERROR_BROKEN_PIPE);
    CloseHandle(r);
    CHECK_RC(mproc_process_kill(p), 0);
    CHECK_RC(mproc_process_join(p, 60), 0);
    mproc_process_free(p);
}

static void test_daemon_dies_with_killed_parent(void)
{
    wchar_t wpath[MAX_PATH];
    temp_name(wpath, MAX_PATH, "mproc_pids");
    char path[MAX_PATH * 3];
    CU_ASSERT_TRUE_FATAL(WideCharToMultiByte(CP_UTF8, 0, wpath, -1, path, sizeof path, NULL, NULL) > 0);
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, path);
    mproc_process *p = mproc_process_new(t_two_children, a, NULL, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_process_start(p), 0);
    long dpid = 0, npid = 0;
    for (int tries = 0; tries < 1200 && !dpid; tries++) {
        FILE *f = fopen(path, "r");
        if (f) {
            if (fscanf(f, "%ld %ld", &dpid, &npid) != 2)
                dpid = 0;
            fclose(f);
        }
        if (!dpid) {
            CU_ASSERT_EQUAL_FATAL(mproc_process_is_alive(p), 1);
            test_sleep(0.05);
        }
    }
    CU_ASSERT_TRUE_FATAL(dpid > 0 && npid > 0);
    HANDLE d = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE, FALSE, (DWORD)dpid);
    HANDLE n = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE, FALSE, (DWORD)npid);
    CU_ASSERT_PTR_NOT_NULL(d);
    CU_ASSERT_PTR_NOT_NULL(n);

    /* Killed: no at-exit code runs in it, only its job closes. */
    CHECK_RC(mproc_process_kill(p), 0);
    CHECK_RC(mproc_process_join(p, 60), 0);
    mproc_process_free(p);
    if (d) {
        CU_ASSERT_EQUAL(WaitForSingleObject(d, 60000), WAIT_OBJECT_0);
        TerminateProcess(d, 1);
        CloseHandle(d);
    }
    if (n) {
        CU_ASSERT_EQUAL(WaitForSingleObject(n, 0), WAIT_TIMEOUT); /* not a daemon: lives on */
        TerminateProcess(n, 1);
        WaitForSingleObject(n, 60000);
        CloseHandle(n);
    }
    DeleteFileW(wpath);
}

static void test_child_dies_before_report(void)
{
    /* The variable is inherited: the child leaves before mproc_init. */
    CU_ASSERT_TRUE_FATAL(SetEnvironmentVariableA("MPROC_TEST_DIE_EARLY", "1"));
    int code = -1;
    CHECK_RC(test_run(t_sleep, NULL, &code), MPROC_ESPAWN);
    DWORD err = (DWORD)mproc_last_os_error();
    CU_ASSERT_TRUE(err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    CU_ASSERT_TRUE(SetEnvironmentVariableA("MPROC_TEST_DIE_EARLY", NULL));
    /* And the next child is fine. */
    mproc_args *a = mproc_args_new();
    mproc_args_add_double(a, 0.0);
    CHECK_RC(test_run(t_sleep, a, &code), 0);
    CU_ASSERT_EQUAL(code, 0);
    mproc_args_free(a);
}

/* ------------------------------------------- sync and shared memory */

/* Handles in use, by probing every value (wine's GetProcessHandleCount
 * always says 0). */
static int open_handles(void)
{
    int n = 0;
    DWORD flags;
    for (uintptr_t h = 4; h < ((uintptr_t)1 << 16); h += 4)
        n += GetHandleInformation((HANDLE)h, &flags) != 0;
    return n;
}

static TEST_THREAD_FN(take_and_exit)
{
    mproc_lock_acquire(arg, 0);
    return 0;
}

static TEST_THREAD_FN(take_release_exit)
{
    if (mproc_lock_acquire(arg, 30) == 0)
        mproc_lock_release(arg);
    return 0;
}

static void test_lock_of_exited_thread(void)
{
    /* A thread that ends holding a lock: the next taker is told, as by a
     * WAIT_ABANDONED kernel mutex, and holds it. */
    mproc_lock *l = mproc_lock_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    test_thread t;
    CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, take_and_exit, l), 0);
    test_thread_join(&t);
    CHECK_RC(mproc_lock_acquire(l, 0), MPROC_EOWNERDEAD);
    CHECK_RC(mproc_lock_release(l), 0);
    CHECK_RC(mproc_lock_acquire(l, 0), 0);
    CHECK_RC(mproc_lock_release(l), 0);

    /* Threads that took locks leave no handles behind when they end (the
     * first round opens the lock's wake-up event, which stays). */
    int before = 0;
    for (int round = 0; round < 4; round++) {
        if (round == 1)
            before = open_handles();
        test_thread ts[8];
        CHECK_RC(mproc_lock_acquire(l, MPROC_FOREVER), 0); /* they queue up */
        for (int i = 0; i < 8; i++)
            CU_ASSERT_EQUAL_FATAL(test_thread_start(&ts[i], take_release_exit, l), 0);
        test_sleep(0.05);
        CHECK_RC(mproc_lock_release(l), 0);
        for (int i = 0; i < 8; i++)
            test_thread_join(&ts[i]);
    }
    int after = open_handles();
    if (after > before)
        fprintf(stderr, "\n  handles: %d before, %d after\n", before, after);
    CU_ASSERT_TRUE(after <= before);
    CHECK_RC(mproc_lock_acquire(l, 0), 0);
    CHECK_RC(mproc_lock_release(l), 0);
    mproc_lock_free(l);
}

static void test_named_shm_on_windows(void)
{
    char name[32];
    snprintf(name, sizeof name, "mproc_w32_%lu", (unsigned long)GetCurrentProcessId());
    int err = -1;
    mproc_shm *s = mproc_shm_open(name, 10, 1, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    /* The size asked, not a page count; the memory page-aligned, as mmap's. */
    CU_ASSERT_EQUAL(mproc_shm_size(s), 10);
    CU_ASSERT_EQUAL((uintptr_t)mproc_shm_ptr(s) % 4096, 0);
    mproc_shm *whole = mproc_shm_open(name, 0, 0, &err);
    mproc_shm *big = mproc_shm_open(name, 100, 0, &err);
    mproc_shm *part = mproc_shm_open(name, 4, 0, &err);
    CU_ASSERT_TRUE_FATAL(whole && big && part);
    CU_ASSERT_EQUAL(mproc_shm_size(whole), 10);
    CU_ASSERT_EQUAL(mproc_shm_size(big), 10);
    CU_ASSERT_EQUAL(mproc_shm_size(part), 10); /* the size is ignored on attach, as in Python */
    memcpy(mproc_shm_ptr(s), "abc", 3);
    CU_ASSERT_EQUAL(memcmp(mproc_shm_ptr(part), "abc", 3), 0);
    /* Unlinked: no longer attachable, though mapped; mappings still work. */
    CHECK_RC(mproc_shm_unlink(s), 0);
    CHECK_RC(mproc_shm_unlink(whole), MPROC_ENOENT);
    CU_ASSERT_PTR_NULL(mproc_shm_open(name, 0, 0, &err));
    CHECK_RC(err, MPROC_ENOENT);
    memcpy(mproc_shm_ptr(whole), "xyz", 3);
    CU_ASSERT_EQUAL(memcmp(mproc_shm_ptr(part), "xyz", 3), 0);
    /* Windows cannot free a name while the section is mapped: it stays
     * taken until the last mapping closes (Python's SharedMemory too). */
    CU_ASSERT_PTR_NULL(mproc_shm_open(name, 10, 1, &err));
    CHECK_RC(err, MPROC_EEXIST);
    CHECK_RC(mproc_shm_close(whole), 0);
    CHECK_RC(mproc_shm_close(big), 0);
    CHECK_RC(mproc_shm_close(part), 0);
    CHECK_RC(mproc_shm_close(s), 0);
    s = mproc_shm_open(name, 10, 1, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(memcmp(mproc_shm_ptr(s), "\0\0\0", 3), 0); /* a new, zero-filled segment */
    CHECK_RC(mproc_shm_unlink(s), 0);
    CHECK_RC(mproc_shm_close(s), 0);
}

int main(int argc, char **argv)
{
    if (getenv("MPROC_TEST_DIE_EARLY"))
        return 3; /* a child of test_child_dies_before_report */
    mproc_init(&argc, &argv);
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--plugin1") == 0)
            plugin1 = argv[i + 1];
        if (strcmp(argv[i], "--plugin2") == 0)
            plugin2 = argv[i + 1];
    }
    static const test_case tests[] = {
        {"spawn is the only start method", test_start_methods},
        {"target in a DLL the child loads", test_plugin_target},
        {"target outside code: refused, OS error kept", test_target_not_code},
        {"child inherits only its channel and std handles", test_only_intended_handles_inherited},
        {"daemon dies with a killed parent, others live on", test_daemon_dies_with_killed_parent},
        {"child dies before it reports", test_child_dies_before_report},
        {"lock of an exited thread; no handles left by threads", test_lock_of_exited_thread},
        {"named shared memory: exact size, unlink, name reuse", test_named_shm_on_windows},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "win32", tests);
}
