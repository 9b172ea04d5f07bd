/* SPDX-License-Identifier: MIT */
/* test_sync.c - Lock, RLock, Semaphore, Condition, Event, Barrier between
 * processes, once per start method (--method NAME). Children get the
 * objects through mproc_args_add_obj. */
#include "testutil.h"

#ifndef _WIN32
#include <unistd.h>
#endif

/* ------------------------------------------------------------ helpers */


static mproc_args *args1(void *obj)
{
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, obj);
    return a;
}

/* ------------------------------------------------------------- Lock */

static void test_lock_basics(void)
{
    int err = -1;
    mproc_lock *l = mproc_lock_new(&err);
    CHECK_RC(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(mproc_lock_is_rlock(l), 0);
    CHECK_RC(mproc_lock_release(l), MPROC_ESTATE); /* released too many times */
    CHECK_RC(mproc_lock_acquire(l, MPROC_FOREVER), 0);
    CHECK_RC(mproc_lock_acquire(l, 0), MPROC_ETIMEDOUT); /* not recursive */
    CHECK_RC(mproc_lock_acquire(l, 0.05), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_lock_acquire(l, MPROC_FOREVER), MPROC_ESTATE); /* would wait forever */
    CHECK_RC(mproc_lock_release(l), 0);
    CHECK_RC(mproc_lock_release(l), MPROC_ESTATE);
    CHECK_RC(mproc_lock_acquire(l, 0), 0);
    CHECK_RC(mproc_lock_release(l), 0);
    mproc_lock_free(l);
}

/* args: lock. Returns 0 if the lock is held elsewhere and cannot be released here. */
static int t_lock_held_elsewhere(const mproc_args *a)
{
    mproc_lock *l = mproc_args_obj(a, 0);
    mproc_lock_free(l); /* the args own it: a mistaken free does nothing */
    if (mproc_lock_acquire(l, 0) != MPROC_ETIMEDOUT)
        return 1;
    if (mproc_lock_acquire(l, 0.05) != MPROC_ETIMEDOUT)
        return 2;
    if (mproc_lock_release(l) != MPROC_ESTATE)
        return 3; /* not ours to release */
    return 0;
}

static void test_rlock(void)
{
    mproc_lock *r = mproc_rlock_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(mproc_lock_is_rlock(r), 1);
    for (int i = 0; i < 3; i++)
        CHECK_RC(mproc_lock_acquire(r, 0), 0);
    mproc_args *a = args1(r);
    CU_ASSERT_EQUAL(test_finish(test_start(t_lock_held_elsewhere, a, NULL)), 0);
    for (int i = 0; i < 3; i++)
        CHECK_RC(mproc_lock_release(r), 0);
    CHECK_RC(mproc_lock_release(r), MPROC_ESTATE);
    mproc_args_free(a);
    mproc_lock_free(r);

    mproc_lock *l = mproc_lock_new(NULL);
    CHECK_RC(mproc_lock_acquire(l, 0), 0);
    a = args1(l);
    CU_ASSERT_EQUAL(test_finish(test_start(t_lock_held_elsewhere, a, NULL)), 0);
    CHECK_RC(mproc_lock_release(l), 0);
    mproc_args_free(a);
    mproc_lock_free(l);
}

/* What another thread of the holder's process may do with its locks. */
typedef struct other_thread_check {
    mproc_lock *lock, *rlock;
    mproc_cond *cond; /* on rlock */
    int failed;       /* the first check that failed, 0 if none */
} other_thread_check;

static TEST_THREAD_FN(t_other_thread)
{
    other_thread_check *c = arg;
    int rcs[] = {
        mproc_lock_acquire(c->lock, 0) == MPROC_ETIMEDOUT,  /* held, not ours */
        mproc_lock_acquire(c->lock, 0.02) == MPROC_ETIMEDOUT,
        mproc_lock_release(c->lock) == MPROC_ESTATE,       /* not ours to release */
        mproc_lock_acquire(c->rlock, 0) == MPROC_ETIMEDOUT, /* no recursion into another's */
        mproc_lock_release(c->rlock) == MPROC_ESTATE,
        mproc_cond_wait(c->cond, 0) == MPROC_ESTATE,        /* must hold the lock */
        mproc_cond_notify(c->cond, 1) == MPROC_ESTATE,
    };
    for (size_t i = 0; i < sizeof rcs / sizeof rcs[0] && !c->failed; i++)
        if (!rcs[i])
            c->failed = (int)i + 1;
    return 0;
}

/* A lock belongs to the thread that took it, not to its process: the
 * holder's other threads get what other processes get. */
static void test_lock_is_the_thread_s(void)
{
    other_thread_check c = {mproc_lock_new(NULL), mproc_rlock_new(NULL), NULL, 0};
    CU_ASSERT_FATAL(c.lock && c.rlock);
    c.cond = mproc_cond_new(c.rlock, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.cond);
    CHECK_RC(mproc_lock_acquire(c.lock, 0), 0);
    CHECK_RC(mproc_lock_acquire(c.rlock, 0), 0);
    CHECK_RC(mproc_lock_acquire(c.rlock, 0), 0);
    test_thread t;
    CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, t_other_thread, &c), 0);
    test_thread_join(&t);
    CU_ASSERT_EQUAL(c.failed, 0);
    CHECK_RC(mproc_lock_release(c.rlock), 0); /* both levels still ours */
    CHECK_RC(mproc_lock_release(c.rlock), 0);
    CHECK_RC(mproc_lock_release(c.rlock), MPROC_ESTATE);
    CHECK_RC(mproc_lock_release(c.lock), 0);
    mproc_cond_free(c.cond);
    mproc_lock_free(c.rlock);
    mproc_lock_free(c.lock);
}

static TEST_THREAD_FN(t_take_and_end)
{
    (void)mproc_lock_acquire(arg, 0); /* and ends holding it */
    return 0;
}

/* A thread that ends holding a lock is a dead holder too (robust mutexes,
 * Windows' abandoned life mutexes). The portable records (macOS, the
 * portable and TSan builds) watch processes only: there the lock stays
 * taken, as docs/sync-and-shared-memory.md says. */
static void test_thread_ends_holding(void)
{
    mproc_lock *locks[2] = {mproc_lock_new(NULL), mproc_rlock_new(NULL)};
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(locks[i]);
        test_thread t;
        CU_ASSERT_EQUAL_FATAL(test_thread_start(&t, t_take_and_end, locks[i]), 0);
        test_thread_join(&t);
#if MPROC_TEST_THREAD_DEATH_SEEN
        CHECK_RC(mproc_lock_acquire(locks[i], 5), MPROC_EOWNERDEAD);
        CHECK_RC(mproc_lock_release(locks[i]), 0);
        CHECK_RC(mproc_lock_acquire(locks[i], 0), 0);
        CHECK_RC(mproc_lock_release(locks[i]), 0);
#else
        CHECK_RC(mproc_lock_acquire(locks[i], 0.05), MPROC_ETIMEDOUT);
        CHECK_RC(mproc_lock_release(locks[i]), MPROC_ESTATE); /* still not ours */
#endif
        mproc_lock_free(locks[i]);
    }
}

/* args: lock, rlock, int array[2]. Waits for both locks; what each
 * acquire said goes to the array. */
static int t_wait_for_both(const mproc_args *a)
{
    int *said = mproc_array_ptr(mproc_args_obj(a, 2));
    said[0] = mproc_lock_acquire(mproc_args_obj(a, 0), MPROC_FOREVER);
    said[1] = mproc_lock_acquire(mproc_args_obj(a, 1), 60);
    return mproc_lock_release(mproc_args_obj(a, 0)) || mproc_lock_release(mproc_args_obj(a, 1));
}

/* args: as above. Takes both locks (the RLock twice), starts a child that
 * waits for them and returns holding them: its end joins that child. */
static int t_end_holding(const mproc_args *a)
{
    if (mproc_lock_acquire(mproc_args_obj(a, 0), 0) || mproc_lock_acquire(mproc_args_obj(a, 1), 0) ||
        mproc_lock_acquire(mproc_args_obj(a, 1), 0))
        return 1;
    mproc_process *p = mproc_process_new(t_wait_for_both, a, NULL, NULL); /* not a daemon: joined at the end */
    return p && mproc_process_start(p) == 0 ? 0 : 2;
}

/* A process that ends holding locks its child waits for: Python hangs
 * there (the end joins the child, the child waits for the lock). mproc
 * gives the ending thread's locks up first, as its death would: the child
 * hears MPROC_EOWNERDEAD and both end. */
static void test_end_holding_locks(void)
{
    mproc_lock *l = mproc_lock_new(NULL), *r = mproc_rlock_new(NULL);
    mproc_array *said = mproc_array_new('i', 2, NULL, 0, NULL);
    CU_ASSERT_FATAL(l && r && said);
    mproc_args *a = args1(l);
    mproc_args_add_obj(a, r);
    mproc_args_add_obj(a, said);
    int code = -1;
    CHECK_RC(test_run_within(t_end_holding, a, &code, 30), 0); /* no hang */
    CU_ASSERT_EQUAL(code, 0);
    int *got = mproc_array_ptr(said);
    CHECK_RC(got[0], MPROC_EOWNERDEAD);
    CHECK_RC(got[1], MPROC_EOWNERDEAD);
    CHECK_RC(mproc_lock_acquire(l, 0), 0); /* released by the child */
    CHECK_RC(mproc_lock_acquire(r, 0), 0);
    CHECK_RC(mproc_lock_release(l), 0);
    CHECK_RC(mproc_lock_release(r), 0);
    CHECK_RC(mproc_lock_release(r), MPROC_ESTATE); /* one level: the abandoned two are gone */
    mproc_args_free(a);
    mproc_array_free(said);
    mproc_lock_free(r);
    mproc_lock_free(l);
}

/* args: int value, its lock, count. */
static int t_increment(const mproc_args *a)
{
    mproc_value *v = mproc_args_obj(a, 0);
    int n = (int)mproc_args_int(a, 1);
    mproc_lock *l = mproc_value_get_lock(v);
    int *p = mproc_value_ptr(v);
    if (!p)
        return 1;
    for (int i = 0; i < n; i++) {
        if (l && mproc_lock_acquire(l, 60) != 0)
            return 2;
        *p += 1;
        if (l && mproc_lock_release(l) != 0)
            return 3;
    }
    return 0;
}

static void run_increments(int locked, int nproc, int n, int *result)
{
    mproc_value *v = mproc_value_new('i', NULL, locked, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, v);
    mproc_args_add_int(a, n);
    mproc_process *ps[8];
    for (int i = 0; i < nproc; i++)
        ps[i] = test_start(t_increment, a, NULL);
    mproc_args_free(a);
    for (int i = 0; i < nproc; i++)
        CU_ASSERT_EQUAL(test_finish(ps[i]), 0);
    *result = *(int *)mproc_value_ptr(v);
    mproc_value_free(v);
}

static void test_mutual_exclusion(void)
{
    int total;
    run_increments(1, 4, 2000, &total);
    CU_ASSERT_EQUAL(total, 4 * 2000);
    run_increments(0, 2, 2000, &total); /* raw: only "no crash" */
    CU_ASSERT_TRUE(total > 0 && total <= 4000);
}

/* args: lock, event. Takes the lock, says so, and waits to be killed. */
static int t_hold_and_hang(const mproc_args *a)
{
    mproc_lock *l = mproc_args_obj(a, 0);
    mproc_event *e = mproc_args_obj(a, 1);
    if (mproc_lock_acquire(l, 60) != 0)
        return 1;
    mproc_event_set(e);
    test_sleep(60);
    return 0;
}

/* wait: how the next taker waits (a bounded wait, or MPROC_FOREVER: the
 * Lock's direct path to its mutex). */
static void owner_death(mproc_lock *l, double wait)
{
    mproc_event *e = mproc_event_new(NULL);
    mproc_args *a = args1(l);
    mproc_args_add_obj(a, e);
    mproc_process *p = test_start(t_hold_and_hang, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CHECK_RC(mproc_event_wait(e, 60), 0);
    CHECK_RC(mproc_lock_acquire(l, 0), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_process_kill(p), 0);
    /* Not joined yet: the dead holder may still be a zombie. */
    CHECK_RC(mproc_lock_acquire(l, wait), MPROC_EOWNERDEAD);
    if (mproc_lock_is_rlock(l) == 1) { /* ours now: recursion counts from 1 */
        CHECK_RC(mproc_lock_acquire(l, 0), 0);
        CHECK_RC(mproc_lock_release(l), 0);
    }
    CHECK_RC(mproc_lock_release(l), 0); /* usable afterwards */
    CHECK_RC(mproc_lock_release(l), MPROC_ESTATE);
    CHECK_RC(mproc_lock_acquire(l, 0), 0);
    CHECK_RC(mproc_lock_release(l), 0);
    CU_ASSERT_EQUAL(test_finish(p), -9);
    mproc_event_free(e);
}

static void test_owner_death(void)
{
    const double waits[] = {30, MPROC_FOREVER};
    for (int i = 0; i < 2; i++) {
        mproc_lock *l = mproc_lock_new(NULL);
        owner_death(l, waits[i]);
        mproc_lock_free(l);
        mproc_lock *r = mproc_rlock_new(NULL);
        owner_death(r, waits[i]);
        mproc_lock_free(r);
    }
}

/* Bytes of shared records this process's arena still holds (core/arena.h,
 * an internal call: the static library has it). */
size_t mproc__core_arena_in_use(void);

/* args: any object. Waits until killed. */
static int t_hold_until_killed(const mproc_args *a)
{
    mproc_lock *l = mproc_args_obj(a, 0);
    if (mproc_args_count(a) > 1) /* a lock: hold it */
        mproc_lock_acquire(l, 30);
    test_sleep(300);
    return 0;
}

/* A child killed while it holds an object (and a lock held) gives back its
 * references: freeing the object here then frees its shared record, so
 * the arena does not grow with each killed holder. */
static void test_killed_holders_leave_no_records(void)
{
    size_t base = 0;
    for (int round = 0; round < 12; round++) {
        mproc_lock *l = mproc_lock_new(NULL);
        mproc_sem *s = mproc_sem_new(1, 0, NULL);
        mproc_event *e = mproc_event_new(NULL);
        mproc_value *v = mproc_value_new('i', NULL, 1, NULL);
        mproc_cond *c = mproc_cond_new(NULL, NULL);
        mproc_queue *q = mproc_queue_new(0, NULL);
        CU_ASSERT_FATAL(l && s && e && v && c && q);
        mproc_args *a = args1(l);
        mproc_args_add_obj(a, s);
        mproc_args_add_obj(a, e);
        mproc_args_add_obj(a, v);
        mproc_args_add_obj(a, c);
        mproc_args_add_obj(a, q);
        mproc_process *p = test_start(t_hold_until_killed, a, NULL);
        mproc_args_free(a);
        /* the child holds the lock once it stops being free */
        for (int i = 0; i < 600 && mproc_lock_acquire(l, 0) == 0; i++) {
            mproc_lock_release(l);
            test_sleep(0.01);
        }
        CHECK_RC(mproc_process_kill(p), 0);
        CHECK_RC(mproc_process_join(p, 30), 0);
        mproc_process_free(p);
        mproc_queue_free(q);
        mproc_cond_free(c);
        mproc_value_free(v);
        mproc_event_free(e);
        mproc_sem_free(s);
        mproc_lock_free(l);
        if (round == 1)
            base = mproc__core_arena_in_use(); /* the first rounds may size the arena */
    }
    size_t now = mproc__core_arena_in_use();
    if (now != base)
        fprintf(stderr, "\n  arena: %zu bytes in use after 10 killed holders, %zu before\n", now, base);
    CU_ASSERT_EQUAL(now, base);
}

/* -------------------------------------------------------- Semaphore */

static int t_release_sem(const mproc_args *a)
{
    test_sleep(0.1);
    return mproc_sem_release(mproc_args_obj(a, 0)) == 0 ? 0 : 1;
}

static void test_semaphore(void)
{
    mproc_sem *s = mproc_sem_new(2, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(mproc_sem_get_value(s), 2);
    CHECK_RC(mproc_sem_acquire(s, 0), 0);
    CHECK_RC(mproc_sem_acquire(s, MPROC_FOREVER), 0);
    CHECK_RC(mproc_sem_acquire(s, 0), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_sem_acquire(s, 0.05), MPROC_ETIMEDOUT);
    CU_ASSERT_EQUAL(mproc_sem_get_value(s), 0);
    /* Another process releases it; we were blocked on it. */
    mproc_args *a = args1(s);
    mproc_process *p = test_start(t_release_sem, a, NULL);
    CHECK_RC(mproc_sem_acquire(s, 30), 0);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_args_free(a);
    for (int i = 0; i < 4; i++)
        CHECK_RC(mproc_sem_release(s), 0); /* unbounded: may exceed 2 */
    CU_ASSERT_EQUAL(mproc_sem_get_value(s), 4);
    mproc_sem_free(s);

    mproc_sem *b = mproc_sem_new(2, 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CHECK_RC(mproc_sem_release(b), MPROC_ESTATE); /* released too many times */
    CHECK_RC(mproc_sem_acquire(b, 0), 0);
    CHECK_RC(mproc_sem_release(b), 0);
    CHECK_RC(mproc_sem_release(b), MPROC_ESTATE);
    CU_ASSERT_EQUAL(mproc_sem_get_value(b), 2);
    mproc_sem_free(b);
    mproc_sem *z = mproc_sem_new(0, 1, NULL);
    CHECK_RC(mproc_sem_release(z), MPROC_ESTATE);
    mproc_sem_free(z);
    int err = 0;
    CU_ASSERT_PTR_NULL(mproc_sem_new(2147483648u, 0, &err));
    CHECK_RC(err, MPROC_EINVAL);
    mproc_sem *m = mproc_sem_new(2147483647u, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CHECK_RC(mproc_sem_release(m), MPROC_ESTATE); /* at the maximum */
    mproc_sem_free(m);
}

/* -------------------------------------------------------- Condition */

static int value_of(mproc_value *v) { return *(int *)mproc_value_ptr(v); }

/* args: cond, waiting counter, woken counter. */
static int t_cond_waiter(const mproc_args *a)
{
    mproc_cond *c = mproc_args_obj(a, 0);
    int *waiting = mproc_value_ptr(mproc_args_obj(a, 1));
    int *woken = mproc_value_ptr(mproc_args_obj(a, 2));
    if (mproc_cond_acquire(c, 60) != 0)
        return 1;
    (*waiting)++;
    int rc = mproc_cond_wait(c, 60);
    (*woken)++;
    mproc_cond_release(c);
    return rc == 0 ? 0 : 2;
}

/* Polls (with the condition's lock) until *counter reaches n. */
static int wait_count(mproc_cond *c, mproc_value *counter, int n)
{
    for (int i = 0; i < 1200; i++) {
        mproc_cond_acquire(c, MPROC_FOREVER);
        int v = value_of(counter);
        mproc_cond_release(c);
        if (v >= n)
            return v;
        test_sleep(0.05);
    }
    return -1;
}

static void test_condition_notify(void)
{
    mproc_cond *c = mproc_cond_new(NULL, NULL);
    mproc_value *waiting = mproc_value_new('i', NULL, 0, NULL);
    mproc_value *woken = mproc_value_new('i', NULL, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    mproc_args *a = args1(c);
    mproc_args_add_obj(a, waiting);
    mproc_args_add_obj(a, woken);
    mproc_process *ps[3];
    for (int i = 0; i < 3; i++)
        ps[i] = test_start(t_cond_waiter, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_EQUAL(wait_count(c, waiting, 3), 3);
    CHECK_RC(mproc_cond_acquire(c, MPROC_FOREVER), 0);
    CHECK_RC(mproc_cond_notify(c, 2), 0); /* returns once two have woken */
    CHECK_RC(mproc_cond_release(c), 0);
    CU_ASSERT_EQUAL(wait_count(c, woken, 2), 2);
    test_sleep(0.3);
    mproc_cond_acquire(c, MPROC_FOREVER);
    CU_ASSERT_EQUAL(value_of(woken), 2); /* notify(2) woke exactly two */
    CHECK_RC(mproc_cond_notify_all(c), 0);
    mproc_cond_release(c);
    CU_ASSERT_EQUAL(wait_count(c, woken, 3), 3);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(test_finish(ps[i]), 0);
    mproc_value_free(waiting);
    mproc_value_free(woken);
    mproc_cond_free(c);
}

static int pred_value;
static int predicate(void *arg)
{
    (void)arg;
    return pred_value;
}

static void test_condition_rules(void)
{
    mproc_lock *r = mproc_rlock_new(NULL);
    mproc_cond *c = mproc_cond_new(r, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(mproc_lock_is_rlock(mproc_cond_get_lock(c)), 1);
    CHECK_RC(mproc_cond_wait(c, 0), MPROC_ESTATE); /* must hold the lock */
    CHECK_RC(mproc_cond_notify(c, 1), MPROC_ESTATE);
    CHECK_RC(mproc_cond_notify_all(c), MPROC_ESTATE);
    /* wait releases every RLock level and restores them. */
    CHECK_RC(mproc_lock_acquire(r, 0), 0); /* the caller's handle, same lock */
    CHECK_RC(mproc_cond_acquire(c, 0), 0);
    CHECK_RC(mproc_cond_wait(c, 0.05), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_cond_wait(c, 0), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_cond_notify(c, 1), 0); /* nobody waits: fine */
    CHECK_RC(mproc_cond_notify(c, -1), MPROC_EINVAL);
    pred_value = 7;
    CU_ASSERT_EQUAL(mproc_cond_wait_for(c, predicate, NULL, 1.0), 7);
    pred_value = 0;
    CU_ASSERT_EQUAL(mproc_cond_wait_for(c, predicate, NULL, 0.05), 0);
    CHECK_RC(mproc_cond_release(c), 0);
    CHECK_RC(mproc_lock_release(r), 0);
    CHECK_RC(mproc_lock_release(r), MPROC_ESTATE);
    CHECK_RC(mproc_cond_wait_for(c, predicate, NULL, 0), MPROC_ESTATE);
    mproc_lock_free(mproc_cond_get_lock(c)); /* owned by the condition: no effect */
    mproc_lock_free(r); /* the condition keeps the lock alive */
    CHECK_RC(mproc_cond_acquire(c, 0), 0);
    CHECK_RC(mproc_cond_release(c), 0);
    int err = 0;
    CU_ASSERT_PTR_NULL(mproc_cond_new((mproc_lock *)(void *)c, &err)); /* not a lock */
    CHECK_RC(err, MPROC_EINVAL);
    /* Condition(lock=None) makes an RLock, as in Python: taken twice. */
    mproc_cond *d = mproc_cond_new(NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(mproc_lock_is_rlock(mproc_cond_get_lock(d)), 1);
    CHECK_RC(mproc_cond_acquire(d, 0), 0);
    CHECK_RC(mproc_cond_acquire(d, 0), 0);
    CHECK_RC(mproc_cond_wait(d, 0.01), MPROC_ETIMEDOUT); /* both levels released and restored */
    CHECK_RC(mproc_cond_release(d), 0);
    CHECK_RC(mproc_cond_release(d), 0);
    CHECK_RC(mproc_cond_release(d), MPROC_ESTATE);
    mproc_cond_free(d);
    /* A plain Lock serves too: not recursive. */
    mproc_lock *plain = mproc_lock_new(NULL);
    mproc_cond *e = mproc_cond_new(plain, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(mproc_lock_is_rlock(mproc_cond_get_lock(e)), 0);
    CHECK_RC(mproc_cond_acquire(e, 0), 0);
    CHECK_RC(mproc_cond_acquire(e, 0), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_cond_wait(e, 0.01), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_cond_notify_all(e), 0);
    CHECK_RC(mproc_cond_release(e), 0);
    mproc_cond_free(e);
    mproc_lock_free(plain);
    mproc_cond_free(c);
}

/* args: cond, shared flag value. Producer sets the flag and notifies. */
static int t_producer(const mproc_args *a)
{
    mproc_cond *c = mproc_args_obj(a, 0);
    int *flag = mproc_value_ptr(mproc_args_obj(a, 1));
    test_sleep(0.1);
    if (mproc_cond_acquire(c, 60) != 0)
        return 1;
    *flag = 42;
    mproc_cond_notify(c, 1);
    mproc_cond_release(c);
    return 0;
}

static mproc_value *g_flag;
static int flag_set(void *arg)
{
    (void)arg;
    return value_of(g_flag) == 42;
}

static void test_condition_producer_consumer(void)
{
    mproc_cond *c = mproc_cond_new(NULL, NULL);
    g_flag = mproc_value_new('i', NULL, 0, NULL);
    mproc_args *a = args1(c);
    mproc_args_add_obj(a, g_flag);
    mproc_process *p = test_start(t_producer, a, NULL);
    mproc_args_free(a);
    CHECK_RC(mproc_cond_acquire(c, MPROC_FOREVER), 0);
    CU_ASSERT_EQUAL(mproc_cond_wait_for(c, flag_set, NULL, 30), 1);
    CHECK_RC(mproc_cond_release(c), 0);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_value_free(g_flag);
    mproc_cond_free(c);
}

/* Two processes hand a turn back and forth ROUNDS times through one
 * Condition. A notify that comes while the other side is between releasing
 * the lock and sleeping must still wake it: every wait that timed out here
 * is a lost wake-up (the other side notifies at once). */
#define PINGPONG_ROUNDS 10000
#define PINGPONG_WAIT 2.0

static int pingpong_side(mproc_cond *c, int *turn, int me)
{
    int timeouts = 0;
    for (int i = 0; i < PINGPONG_ROUNDS; i++) {
        if (mproc_cond_acquire(c, 60) != 0)
            return -1;
        while (*turn != me)
            if (mproc_cond_wait(c, PINGPONG_WAIT) == MPROC_ETIMEDOUT)
                timeouts++;
        *turn = !me;
        mproc_cond_notify(c, 1);
        mproc_cond_release(c);
    }
    return timeouts;
}

static int t_pingpong(const mproc_args *a)
{
    int n = pingpong_side(mproc_args_obj(a, 0), mproc_value_ptr(mproc_args_obj(a, 1)), 1);
    return n == 0 ? 0 : 1;
}

static void test_condition_no_lost_wakeup(void)
{
    mproc_cond *c = mproc_cond_new(NULL, NULL);
    mproc_value *turn = mproc_value_new('i', NULL, 0, NULL);
    mproc_args *a = args1(c);
    mproc_args_add_obj(a, turn);
    mproc_process *p = test_start(t_pingpong, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_EQUAL(pingpong_side(c, mproc_value_ptr(turn), 0), 0);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    mproc_value_free(turn);
    mproc_cond_free(c);
}

/* ------------------------------------------------------------ Event */

static int t_event_waiter(const mproc_args *a)
{
    return mproc_event_wait(mproc_args_obj(a, 0), 60) == 0 ? 0 : 1;
}

static void test_event(void)
{
    mproc_event *e = mproc_event_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(mproc_event_is_set(e), 0);
    CHECK_RC(mproc_event_wait(e, 0), MPROC_ETIMEDOUT);
    CHECK_RC(mproc_event_wait(e, 0.05), MPROC_ETIMEDOUT);
    mproc_args *a = args1(e);
    mproc_process *ps[3];
    for (int i = 0; i < 3; i++)
        ps[i] = test_start(t_event_waiter, a, NULL);
    mproc_args_free(a);
    test_sleep(0.2);
    CHECK_RC(mproc_event_set(e), 0); /* wakes them all */
    CHECK_RC(mproc_event_set(e), 0); /* idempotent */
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(test_finish(ps[i]), 0);
    CU_ASSERT_EQUAL(mproc_event_is_set(e), 1);
    CHECK_RC(mproc_event_wait(e, 0), 0);
    CHECK_RC(mproc_event_clear(e), 0);
    CU_ASSERT_EQUAL(mproc_event_is_set(e), 0);
    mproc_event_free(e);
}

/* The seed's traffic light: a light process switches an Event every
 * period; cars wait for green. Each car passes only while it is green. */
static int t_light(const mproc_args *a)
{
    mproc_event *green = mproc_args_obj(a, 0);
    mproc_value *done = mproc_args_obj(a, 1);
    for (int cycle = 0; cycle < 40 && !*(int *)mproc_value_ptr(done); cycle++) {
        if (cycle % 2 == 0)
            mproc_event_set(green);
        else
            mproc_event_clear(green);
        test_sleep(0.05);
    }
    mproc_event_set(green);
    return 0;
}

static int t_car(const mproc_args *a)
{
    mproc_event *green = mproc_args_obj(a, 0);
    for (int trip = 0; trip < 3; trip++) {
        if (mproc_event_wait(green, 30) != 0)
            return 1;
        test_sleep(0.02);
    }
    return 0;
}

static void test_traffic_light(void)
{
    mproc_event *green = mproc_event_new(NULL);
    mproc_value *done = mproc_value_new('i', NULL, 0, NULL);
    mproc_args *a = args1(green);
    mproc_args_add_obj(a, done);
    mproc_process *light = test_start(t_light, a, NULL);
    mproc_process *cars[3];
    for (int i = 0; i < 3; i++)
        cars[i] = test_start(t_car, a, NULL);
    mproc_args_free(a);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(test_finish(cars[i]), 0);
    *(int *)mproc_value_ptr(done) = 1;
    CU_ASSERT_EQUAL(test_finish(light), 0);
    mproc_value_free(done);
    mproc_event_free(green);
}

/* ---------------------------------------------------------- Barrier */

/* args: barrier, result array, slot. Stores the arrival index. */
static int t_barrier_party(const mproc_args *a)
{
    mproc_barrier *b = mproc_args_obj(a, 0);
    int *out = mproc_array_ptr(mproc_args_obj(a, 1));
    int slot = (int)mproc_args_int(a, 2);
    int idx = mproc_barrier_wait(b, 60);
    out[slot] = idx;
    return idx >= 0 ? 0 : 1;
}

/* The action bumps a counter in a named segment (its name in the
 * environment, so that spawned children find it too). */
static int barrier_action(void)
{
    int err;
    mproc_shm *s = mproc_shm_open(getenv("MPROC_TEST_ACTION_SHM"), 0, 0, &err);
    if (!s) {
        fprintf(stderr, "barrier action: %s: %s\n", getenv("MPROC_TEST_ACTION_SHM"), mproc_strerror(err));
        return 1;
    }
    (*(int *)mproc_shm_ptr(s))++;
    mproc_shm_close(s);
    return 0;
}

static int failing_action(void) { return 1; }


static void test_barrier(void)
{
    mproc_shm *counter = mproc_shm_open(NULL, sizeof(int), 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(counter);
    test_setenv("MPROC_TEST_ACTION_SHM", mproc_shm_name(counter));
    mproc_barrier_opts o = MPROC_BARRIER_OPTS_INIT;
    o.action = barrier_action;
    mproc_barrier *b = mproc_barrier_new(4, &o, NULL);
    mproc_array *idx = mproc_array_new('i', 4, NULL, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(mproc_barrier_parties(b), 4);
    for (int round = 0; round < 2; round++) {
        mproc_process *ps[3];
        for (int i = 0; i < 3; i++) {
            mproc_args *a = args1(b);
            mproc_args_add_obj(a, idx);
            mproc_args_add_int(a, i);
            ps[i] = test_start(t_barrier_party, a, NULL);
            mproc_args_free(a);
        }
        int mine = mproc_barrier_wait(b, 60);
        for (int i = 0; i < 3; i++)
            CU_ASSERT_EQUAL(test_finish(ps[i]), 0);
        int *out = mproc_array_ptr(idx);
        int seen[4] = {0};
        seen[mine >= 0 && mine < 4 ? mine : 0]++;
        for (int i = 0; i < 3; i++)
            if (out[i] >= 0 && out[i] < 4)
                seen[out[i]]++;
        for (int i = 0; i < 4; i++)
            CU_ASSERT_EQUAL(seen[i], 1); /* indices 0..3, each once */
        CU_ASSERT_EQUAL(*(int *)mproc_shm_ptr(counter), round + 1); /* once per pass */
        CU_ASSERT_EQUAL(mproc_barrier_n_waiting(b), 0);
    }
    mproc_array_free(idx);
    mproc_barrier_free(b);
    mproc_shm_unlink(counter);
    mproc_shm_close(counter);
}

static int t_barrier_first(const mproc_args *a)
{
    return mproc_barrier_wait(mproc_args_obj(a, 0), 60) == 0 ? 0 : 1;
}

/* Indices follow arrival, as in Python (the last to arrive gets
 * parties - 1); wait(0) without the others breaks the barrier at once. */
static void test_barrier_order_and_try(void)
{
    mproc_barrier *b = mproc_barrier_new(2, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    mproc_args *a = args1(b);
    mproc_process *p = test_start(t_barrier_first, a, NULL);
    mproc_args_free(a);
    for (int i = 0; i < 6000 && mproc_barrier_n_waiting(b) != 1; i++)
        test_sleep(0.01);
    CU_ASSERT_EQUAL(mproc_barrier_n_waiting(b), 1);
    CU_ASSERT_EQUAL(mproc_barrier_wait(b, 60), 1);
    CU_ASSERT_EQUAL(test_finish(p), 0); /* it got 0 */
    CHECK_RC(mproc_barrier_wait(b, 0), MPROC_EBROKEN);
    CU_ASSERT_EQUAL(mproc_barrier_broken(b), 1);
    CHECK_RC(mproc_barrier_reset(b), 0);
    CU_ASSERT_EQUAL(mproc_barrier_broken(b), 0);
    mproc_barrier_free(b);
}

static int t_barrier_broken(const mproc_args *a)
{
    return mproc_barrier_wait(mproc_args_obj(a, 0), 60) == MPROC_EBROKEN ? 0 : 1;
}

static void test_barrier_break_reset_abort(void)
{
    mproc_barrier *b = mproc_barrier_new(3, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    /* A timeout breaks it, for the one waiting too. */
    mproc_args *a = args1(b);
    mproc_process *p = test_start(t_barrier_broken, a, NULL);
    for (int i = 0; i < 600 && mproc_barrier_n_waiting(b) < 1; i++)
        test_sleep(0.05);
    CU_ASSERT_EQUAL(mproc_barrier_n_waiting(b), 1);
    CHECK_RC(mproc_barrier_wait(b, 0.1), MPROC_EBROKEN);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CU_ASSERT_EQUAL(mproc_barrier_broken(b), 1);
    CHECK_RC(mproc_barrier_wait(b, 1), MPROC_EBROKEN); /* stays broken */
    CHECK_RC(mproc_barrier_reset(b), 0);
    CU_ASSERT_EQUAL(mproc_barrier_broken(b), 0);
    /* abort: waiters get EBROKEN. */
    p = test_start(t_barrier_broken, a, NULL);
    for (int i = 0; i < 600 && mproc_barrier_n_waiting(b) < 1; i++)
        test_sleep(0.05);
    CHECK_RC(mproc_barrier_abort(b), 0);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CU_ASSERT_EQUAL(mproc_barrier_broken(b), 1);
    CU_ASSERT_EQUAL(mproc_barrier_n_waiting(b), 0);
    /* reset while someone waits: they get EBROKEN, the barrier works again. */
    CHECK_RC(mproc_barrier_reset(b), 0);
    p = test_start(t_barrier_broken, a, NULL);
    for (int i = 0; i < 600 && mproc_barrier_n_waiting(b) < 1; i++)
        test_sleep(0.05);
    CHECK_RC(mproc_barrier_reset(b), 0);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CU_ASSERT_EQUAL(mproc_barrier_broken(b), 0);
    mproc_args_free(a);
    mproc_barrier_free(b);

    /* A failing action: its caller gets ETASK, the barrier breaks. */
    mproc_barrier_opts o = MPROC_BARRIER_OPTS_INIT;
    o.action = failing_action;
    mproc_barrier *f = mproc_barrier_new(2, &o, NULL);
    a = args1(f);
    p = test_start(t_barrier_broken, a, NULL);
    mproc_args_free(a);
    for (int i = 0; i < 600 && mproc_barrier_n_waiting(f) < 1; i++)
        test_sleep(0.05);
    CHECK_RC(mproc_barrier_wait(f, 30), MPROC_ETASK);
    CU_ASSERT_EQUAL(test_finish(p), 0);
    CU_ASSERT_EQUAL(mproc_barrier_broken(f), 1);
    mproc_barrier_free(f);

    /* The default timeout applies to waits without one. */
    mproc_barrier_opts d = MPROC_BARRIER_OPTS_INIT;
    d.timeout = 0.05;
    mproc_barrier *t = mproc_barrier_new(2, &d, NULL);
    CHECK_RC(mproc_barrier_wait(t, MPROC_FOREVER), MPROC_EBROKEN);
    mproc_barrier_free(t);

    mproc_barrier *one = mproc_barrier_new(1, NULL, NULL);
    CU_ASSERT_EQUAL(mproc_barrier_wait(one, 0), 0);
    CU_ASSERT_EQUAL(mproc_barrier_wait(one, 0), 0);
    mproc_barrier_free(one);
}

/* -------------------------------------------------------- bad input */

static void test_bad_input(void)
{
    int err = 0;
    CU_ASSERT_PTR_NULL(mproc_barrier_new(0, NULL, &err));
    CHECK_RC(err, MPROC_EINVAL);
    CHECK_RC(mproc_lock_acquire(NULL, 0), MPROC_EINVAL);
    CHECK_RC(mproc_lock_release(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_sem_acquire(NULL, 0), MPROC_EINVAL);
    CHECK_RC(mproc_sem_release(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_sem_get_value(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_cond_wait(NULL, 0), MPROC_EINVAL);
    CHECK_RC(mproc_event_set(NULL), MPROC_EINVAL);
    CHECK_RC(mproc_event_wait(NULL, 0), MPROC_EINVAL);
    CHECK_RC(mproc_barrier_wait(NULL, 0), MPROC_EINVAL);
    /* An object of one kind handed to another kind's call. */
    mproc_event *e = mproc_event_new(NULL);
    CHECK_RC(mproc_lock_acquire((mproc_lock *)(void *)e, 0), MPROC_EINVAL);
    CHECK_RC(mproc_sem_release((mproc_sem *)(void *)e), MPROC_EINVAL);
    CU_ASSERT_PTR_NULL(mproc_cond_new((mproc_lock *)(void *)e, &err));
    CHECK_RC(err, MPROC_EINVAL);
    int x = 5;
    mproc_args *a = mproc_args_new();
    CHECK_RC(mproc_args_add_obj(a, &x), MPROC_EINVAL); /* not an mproc object */
    CHECK_RC(mproc_args_add_obj(a, NULL), MPROC_EINVAL);
    CHECK_RC(mproc_args_add_obj(NULL, e), MPROC_EINVAL);
    CHECK_RC(mproc_args_add_obj(a, e), 0);
    CU_ASSERT_EQUAL(mproc_args_type(a, 2), MPROC_ARG_NONE);
    CU_ASSERT_EQUAL(mproc_args_type(a, 0), MPROC_ARG_OBJ);
    CU_ASSERT_PTR_EQUAL(mproc_args_obj(a, 0), e);
    mproc_event_free(e);
    mproc_args_free(a); /* the args kept the event's state alive until now */
    mproc_lock_free(NULL);
    mproc_sem_free(NULL);
    mproc_cond_free(NULL);
    mproc_event_free(NULL);
    mproc_barrier_free(NULL);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    static const test_case tests[] = {
        {"lock basics", test_lock_basics},
        {"rlock recursion and ownership", test_rlock},
        {"a lock is the thread's, not the process's", test_lock_is_the_thread_s},
        {"mutual exclusion N x M", test_mutual_exclusion},
        {"owner death", test_owner_death},
        {"a thread that ends holding a lock", test_thread_ends_holding},
        {"a process that ends holding locks its child waits for", test_end_holding_locks},
        {"killed holders leave no records", test_killed_holders_leave_no_records},
        {"semaphore and bounded semaphore", test_semaphore},
        {"condition notify(n) and notify_all", test_condition_notify},
        {"condition rules", test_condition_rules},
        {"condition producer/consumer", test_condition_producer_consumer},
        {"condition ping-pong, no lost wake-up", test_condition_no_lost_wakeup},
        {"event wakes all waiters", test_event},
        {"traffic light (seed)", test_traffic_light},
        {"barrier arrival order, wait(0)", test_barrier_order_and_try},
        {"barrier indices and action", test_barrier},
        {"barrier timeout, reset, abort", test_barrier_break_reset_abort},
        {"bad input", test_bad_input},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "sync", tests);
}
