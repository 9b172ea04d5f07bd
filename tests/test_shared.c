/* SPDX-License-Identifier: MIT */
/* test_shared.c - Value, Array and SharedMemory between processes, once
 * per start method, and no leaks of segments or descriptors. */
#include "testutil.h"

#ifndef _WIN32
#include <dirent.h>
#include <signal.h>
#include <unistd.h>
#endif


static void test_typecodes(void)
{
    const char *codes = "cbBhHiIlLqQfdu";
    size_t sizes[] = {1, 1, 1, sizeof(short), sizeof(short), sizeof(int), sizeof(int), sizeof(long),
                      sizeof(long), 8, 8, sizeof(float), sizeof(double), sizeof(wchar_t)};
    for (size_t i = 0; codes[i]; i++) {
        CU_ASSERT_EQUAL(mproc_typecode_size(codes[i]), sizes[i]);
        unsigned char init[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        int err = -1;
        mproc_value *v = mproc_value_new(codes[i], init, i % 2, &err);
        CHECK_RC(err, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        CU_ASSERT_EQUAL(memcmp(mproc_value_ptr(v), init, sizes[i]), 0);
        CU_ASSERT_EQUAL(mproc_value_typecode(v), codes[i]);
        CU_ASSERT_EQUAL(mproc_value_get_lock(v) != NULL, (int)(i % 2));
        mproc_value_free(v);
    }
    const char bad[] = {'w', '?', 'z', 'x', 0};
    for (size_t i = 0; i < sizeof bad; i++) {
        int err = 0;
        CU_ASSERT_PTR_NULL(mproc_value_new(bad[i], NULL, 1, &err));
        CHECK_RC(err, MPROC_EINVAL);
        CU_ASSERT_PTR_NULL(mproc_array_new(bad[i], 3, NULL, 1, &err));
        CHECK_RC(err, MPROC_EINVAL);
        CU_ASSERT_EQUAL(mproc_typecode_size(bad[i]), 0);
    }
    int err = 0;
    CU_ASSERT_PTR_NULL(mproc_array_new('d', SIZE_MAX / 4, NULL, 0, &err)); /* absurd size */
    CU_ASSERT_TRUE(err == MPROC_EINVAL || err == MPROC_ENOMEM);
}

/* args: value 'd', array 'i'. Writes 3.5 and doubles the array. */
static int t_write_shared(const mproc_args *a)
{
    mproc_value *v = mproc_args_obj(a, 0);
    mproc_array *arr = mproc_args_obj(a, 1);
    if (!mproc_value_ptr(v) || mproc_array_len(arr) != 10 || mproc_array_typecode(arr) != 'i')
        return 1;
    mproc_lock *l = mproc_value_get_lock(v);
    mproc_lock_free(l); /* owned by the value: no effect */
    if (!l || mproc_lock_acquire(l, 30) != 0)
        return 2;
    *(double *)mproc_value_ptr(v) = 3.5;
    mproc_lock_release(l);
    int *p = mproc_array_ptr(arr);
    for (int i = 0; i < 10; i++)
        p[i] *= 2;
    return 0;
}

static void test_value_array_in_child(void)
{
    double zero = 0;
    mproc_value *v = mproc_value_new('d', &zero, 1, NULL);
    int init[10];
    for (int i = 0; i < 10; i++)
        init[i] = i;
    mproc_array *arr = mproc_array_new('i', 10, init, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_PTR_NULL(mproc_array_get_lock(arr));
    CU_ASSERT_EQUAL(mproc_lock_is_rlock(mproc_value_get_lock(v)), 1);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, v);
    mproc_args_add_obj(a, arr);
    CU_ASSERT_EQUAL(test_finish(test_start(t_write_shared, a, NULL)), 0);
    mproc_args_free(a);
    CU_ASSERT_DOUBLE_EQUAL(*(double *)mproc_value_ptr(v), 3.5, 0);
    int *p = mproc_array_ptr(arr);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(p[i], 2 * i);
    mproc_value_free(v);
    mproc_array_free(arr);

    mproc_array *empty = mproc_array_new('q', 0, NULL, 1, NULL); /* n = 0 is fine */
    CU_ASSERT_PTR_NOT_NULL_FATAL(empty);
    CU_ASSERT_EQUAL(mproc_array_len(empty), 0);
    mproc_array_free(empty);
    CU_ASSERT_PTR_NULL(mproc_value_ptr(NULL));
    CU_ASSERT_EQUAL(mproc_array_len(NULL), 0);
}

/* args: shm. Attached by name in the child: checks and writes. */
static int t_shm_child(const mproc_args *a)
{
    mproc_shm *s = mproc_args_obj(a, 0);
    unsigned char *p = mproc_shm_ptr(s);
    if (!p || mproc_shm_size(s) < 10 || memcmp(p, "parent", 6) != 0)
        return 1;
    if (mproc_shm_close(s) != MPROC_ESTATE) /* owned by the args */
        return 2;
    memcpy(p, "child!", 6);
    return 0;
}

/* args: name. Creates the segment and leaves without closing or
 * unlinking it. */
static int t_shm_leak(const mproc_args *a)
{
    mproc_shm *s = mproc_shm_open(mproc_args_str(a, 0), 64, 1, NULL);
    return s ? 0 : 1;
}

/* A segment whose creator never unlinked it is unlinked when the creator
 * exits (Python's resource tracker does the same, with a warning). */
static void test_shared_memory_unlinked_at_exit(void)
{
    char name[32];
    snprintf(name, sizeof name, "mproc_leak_%ld", mproc_current_pid());
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, name);
    CU_ASSERT_EQUAL(test_finish(test_start(t_shm_leak, a, NULL)), 0);
    mproc_args_free(a);
    int err = 0;
    mproc_shm *s = mproc_shm_open(name, 0, 0, &err);
    CU_ASSERT_PTR_NULL(s);
    CHECK_RC(err, MPROC_ENOENT);
    if (s) {
        mproc_shm_unlink(s);
        mproc_shm_close(s);
    }
}

/* args: name, conn. Creates the segment, says so, and waits to be killed. */
static int t_shm_until_killed(const mproc_args *a)
{
    mproc_shm *s = mproc_shm_open(mproc_args_str(a, 0), 64, 1, NULL);
    if (!s || mproc_conn_send_bytes(mproc_args_obj(a, 1), "made", 4) != 0)
        return 1;
    test_sleep(60); /* killed long before */
    return 2;
}

/* A creator killed before it could unlink (SIGKILL, or SIGTERM's default
 * action: no exit handler runs) leaves nothing: the resource tracker
 * unlinks the name (POSIX) while the parent goes on; on Windows the
 * section goes with the creator's handles. */
static void killed_creator(int terminate)
{
    char name[32];
    snprintf(name, sizeof name, "mproc_kill_%ld_%d", mproc_current_pid(), terminate);
    mproc_conn *r, *w;
    CHECK_RC(mproc_pipe(0, &r, &w), 0);
    mproc_args *a = mproc_args_new();
    mproc_args_add_str(a, name);
    mproc_args_add_obj(a, w);
    mproc_process *p = test_start(t_shm_until_killed, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char msg[8];
    size_t len = 0;
    CU_ASSERT_EQUAL(mproc_conn_poll(r, 60), 1);
    CHECK_RC(mproc_conn_recv_bytes_into(r, msg, sizeof msg, &len), 0);
    CU_ASSERT_FALSE(test_shm_gone_within(name, 0)); /* it is there now */
    CHECK_RC(terminate ? mproc_process_terminate(p) : mproc_process_kill(p), 0);
    CU_ASSERT_EQUAL(test_finish(p), terminate ? -15 : -9);
    CU_ASSERT_TRUE(test_shm_gone_within(name, 10));
    mproc_conn_free(r);
    mproc_conn_free(w);
}

static void test_shared_memory_killed_creator(void) { killed_creator(0); }

static void test_shared_memory_terminated_creator(void) { killed_creator(1); }

static void test_shared_memory(void)
{
    char name[32];
    snprintf(name, sizeof name, "mproc_t_%ld", mproc_current_pid());
    int err = -1;
    mproc_shm *s = mproc_shm_open(name, 10, 1, &err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(mproc_shm_name(s), name);
    CU_ASSERT_EQUAL(mproc_shm_size(s), 10);
    unsigned char *p = mproc_shm_ptr(s);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(p[i], 0); /* zero-filled */
    memcpy(p, "parent", 6);
    /* Taken name; attach by name sees the same bytes. */
    CU_ASSERT_PTR_NULL(mproc_shm_open(name, 10, 1, &err));
    CHECK_RC(err, MPROC_EEXIST);
    mproc_shm *again = mproc_shm_open(name, 0, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(again);
    CU_ASSERT_EQUAL(memcmp(mproc_shm_ptr(again), "parent", 6), 0);
    CU_ASSERT_EQUAL(mproc_shm_size(again), 10);
    /* As in Python, the size is ignored on attach: smaller or larger, the
     * segment's own size is mapped. */
    for (size_t want = 4; want <= 100; want += 96) {
        mproc_shm *sized = mproc_shm_open(name, want, 0, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sized);
        CU_ASSERT_EQUAL(mproc_shm_size(sized), 10);
        CU_ASSERT_EQUAL(((unsigned char *)mproc_shm_ptr(sized))[9], 0); /* mapped: readable */
        CHECK_RC(mproc_shm_close(sized), 0);
    }
    /* A child attaches by name through its args. */
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, s);
    CU_ASSERT_EQUAL(test_finish(test_start(t_shm_child, a, NULL)), 0);
    mproc_args_free(a);
    CU_ASSERT_EQUAL(memcmp(p, "child!", 6), 0);
    /* Unlink: the name is gone, mappings stay valid. */
    CHECK_RC(mproc_shm_unlink(s), 0);
    CHECK_RC(mproc_shm_unlink(again), MPROC_ENOENT);
    CU_ASSERT_PTR_NULL(mproc_shm_open(name, 0, 0, &err));
    CHECK_RC(err, MPROC_ENOENT);
    CU_ASSERT_EQUAL(memcmp(mproc_shm_ptr(again), "child!", 6), 0);
    CHECK_RC(mproc_shm_close(again), 0);
    CHECK_RC(mproc_shm_close(s), 0);

    /* Generated names. */
    mproc_shm *g = mproc_shm_open(NULL, 4096, 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(strncmp(mproc_shm_name(g), "psm_", 4), 0);
    CU_ASSERT_EQUAL(strlen(mproc_shm_name(g)), 20); /* psm_ + 64 random bits */
    CHECK_RC(mproc_shm_unlink(g), 0);
    mproc_shm_close(g);

    /* Bad input. */
    CU_ASSERT_PTR_NULL(mproc_shm_open(NULL, 10, 0, &err)); /* no name without create */
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_shm_open(name, 0, 1, &err)); /* size 0 */
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_shm_open("a/b", 10, 1, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_shm_open("", 10, 1, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_shm_open("this_name_is_far_too_long_for_mproc", 10, 1, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_shm_open("mproc_no_such_segment", 10, 0, &err));
    CHECK_RC(err, MPROC_ENOENT);
    CHECK_RC(mproc_shm_close(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_shm_unlink(NULL), MPROC_EINVAL);
}

/* ----------------------------------------------------------------- leaks */

/* args: lock, value, sleep. Holds the lock and sleeps (to be killed). */
static int t_hold(const mproc_args *a)
{
    mproc_lock_acquire(mproc_args_obj(a, 0), 30);
    *(int *)mproc_value_ptr(mproc_args_obj(a, 1)) = 1;
    test_sleep(mproc_args_double(a, 2));
    return 0;
}

static void workload(void)
{
    for (int round = 0; round < 50; round++) {
        mproc_lock *l = mproc_lock_new(NULL);
        mproc_value *v = mproc_value_new('i', NULL, 1, NULL);
        mproc_sem *s = mproc_sem_new(1, 1, NULL);
        mproc_cond *c = mproc_cond_new(NULL, NULL);
        mproc_event *e = mproc_event_new(NULL);
        mproc_barrier *b = mproc_barrier_new(2, NULL, NULL);
        mproc_array *arr = mproc_array_new('d', 1000, NULL, 1, NULL);
        CU_ASSERT_TRUE(l && v && s && c && e && b && arr);
        if (round % 10 == 0) {
            mproc_args *a = mproc_args_new();
            mproc_args_add_obj(a, l);
            mproc_args_add_obj(a, v);
            mproc_args_add_double(a, round % 20 == 0 ? 30.0 : 0.0);
            mproc_args_add_obj(a, s);
            mproc_args_add_obj(a, c);
            mproc_args_add_obj(a, e);
            mproc_args_add_obj(a, b);
            mproc_args_add_obj(a, arr);
            mproc_process *p = test_start(t_hold, a, NULL);
            mproc_args_free(a);
            if (round % 20 == 0) { /* killed while holding everything */
                while (*(int *)mproc_value_ptr(v) == 0)
                    test_sleep(0.01);
                mproc_process_kill(p);
            }
            test_finish(p);
        }
        mproc_lock_free(l);
        mproc_value_free(v);
        mproc_sem_free(s);
        mproc_cond_free(c);
        mproc_event_free(e);
        mproc_barrier_free(b);
        mproc_array_free(arr);
        char name[32];
        snprintf(name, sizeof name, "mproc_leak_%ld_%d", mproc_current_pid(), round);
        mproc_shm *shm = mproc_shm_open(name, 100, 1, NULL);
        CU_ASSERT_PTR_NOT_NULL(shm);
        mproc_shm_unlink(shm);
        mproc_shm_close(shm);
    }
}

#ifndef _WIN32
/* mproc's entries in /dev/shm that belong to this test: names with our
 * pid (mproc_leak_PID_N, mproc_t_PID), and "mproc-PID-..." names of
 * processes that are gone (an anonymous segment's name lives only between
 * shm_open and shm_unlink, so a dead process's one is a leak). Other test
 * binaries running beside us make names of their own: not counted. */
static int count_ours(void)
{
    DIR *d = opendir("/dev/shm");
    int n = 0;
    char mine1[48], mine2[48];
    snprintf(mine1, sizeof mine1, "mproc_leak_%ld_", mproc_current_pid());
    snprintf(mine2, sizeof mine2, "mproc_t_%ld", mproc_current_pid());
    struct dirent *e;
    while (d && (e = readdir(d))) {
        long pid = 0;
        if (strncmp(e->d_name, mine1, strlen(mine1)) == 0 || strcmp(e->d_name, mine2) == 0)
            n++;
        else if (sscanf(e->d_name, "mproc-%ld-", &pid) == 1 && pid > 0 && kill((pid_t)pid, 0) != 0)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += dup2(fd, fd) == fd;
    return n;
}
#endif

#ifdef _WIN32
/* Sections, events, mutexes and processes are all handles. Counted by
 * probing every handle value too (as open_fds does): wine's
 * GetProcessHandleCount always says 0. */
static int open_handles(DWORD *reported)
{
    *reported = 0;
    CU_ASSERT_TRUE(GetProcessHandleCount(GetCurrentProcess(), reported));
    int n = 0;
    DWORD flags;
    for (uintptr_t h = 4; h < ((uintptr_t)1 << 16); h += 4)
        n += GetHandleInformation((HANDLE)h, &flags) != 0;
    return n;
}
#endif

static void test_no_leaks(void)
{
    workload(); /* warm up: the arena and the forkserver now exist */
#ifndef _WIN32
    /* /dev/shm is the machine's: count only names mproc gives (tests running
     * beside this one, e.g. test_sync's barrier, make psm_ names). */
    int shm_before = count_ours();
    int fds_before = open_fds();
#else
    DWORD reported_before, reported_after;
    int handles_before = open_handles(&reported_before);
#endif
    workload();
    workload();
#ifndef _WIN32
    CU_ASSERT_EQUAL(count_ours(), shm_before);
    CU_ASSERT_EQUAL(open_fds(), fds_before);
#else
    int handles_after = open_handles(&reported_after);
    if (handles_after > handles_before || reported_after > reported_before)
        fprintf(stderr, "\n  handles: %d before, %d after (reported %lu, %lu)\n", handles_before,
                handles_after, (unsigned long)reported_before, (unsigned long)reported_after);
    CU_ASSERT_TRUE(handles_after <= handles_before);
    CU_ASSERT_TRUE(reported_after <= reported_before);
#endif
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"typecodes", test_typecodes},
        {"value and array in a child", test_value_array_in_child},
        {"shared memory", test_shared_memory},
        {"shared memory unlinked at its creator's exit", test_shared_memory_unlinked_at_exit},
        {"shared memory of a killed creator is unlinked", test_shared_memory_killed_creator},
        {"shared memory of a terminated creator is unlinked", test_shared_memory_terminated_creator},
        {"no leaks", test_no_leaks},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "shared", tests);
}
