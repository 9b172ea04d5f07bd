/* SPDX-License-Identifier: MIT */
/* sync.c - the two synchronisation records of backend.h, in shared memory.
 *
 * Linux: a robust, process-shared, error-checking pthread mutex (the kernel
 * hands a dead holder's lock to the next waiter: EOWNERDEAD) and a
 * process-shared sem_t. Without robust mutexes or sem_timedwait (macOS, the
 * MPROC_PORTABLE build) both are built from atomics: waiting sleeps with a
 * growing back-off, and a waiter that finds the holder's process gone (or a
 * zombie) takes the lock over with EOWNERDEAD. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix.h"

static _Atomic uint64_t thread_counter;
static _Thread_local uint64_t thread_id;

uint64_t mproc__be_thread_id(void)
{
    if (!thread_id)
        thread_id = atomic_fetch_add(&thread_counter, 1) + 1;
    return thread_id;
}

#if MPROC_HAVE_ROBUST_MUTEX || MPROC_HAVE_SEM_TIMEDWAIT
#define NS_PER_S 1000000000LL

/* A timeout in ns: -1 forever (mproc__core_timeout_units). */
static int64_t timeout_ns(double timeout) { return mproc__core_timeout_units(timeout, NS_PER_S, INT64_MAX); }

/* An absolute time ns (>= 0, at most CORE_TIMEOUT_MAX s) from now on the
 * given clock. */
static struct timespec abs_time(clockid_t clock, int64_t ns)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    int64_t nsec = ts.tv_nsec + ns % NS_PER_S;
    ts.tv_sec += (time_t)(ns / NS_PER_S + nsec / NS_PER_S);
    ts.tv_nsec = (long)(nsec % NS_PER_S);
    return ts;
}

#endif

#if !MPROC_HAVE_ROBUST_MUTEX || !MPROC_HAVE_SEM_TIMEDWAIT
/* Sleeps a little longer each time: 20 us .. 2 ms. */
static void backoff(double *step, double deadline)
{
    double rem = mproc__core_remaining(deadline);
    double s = *step;
    if (rem >= 0 && rem < s)
        s = rem;
    struct timespec ts = {0, (long)(s * 1e9)};
    nanosleep(&ts, NULL);
    if (*step < 0.002)
        *step *= 2;
}

#endif

/* Has this process ended? A zombie counts as ended. */
int mproc__px_pid_gone(pid_t pid)
{
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 1;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
        return 1; /* our own child, dead but not reaped */
    return 0;
}

/* ------------------------------------------------------------------ mutex */

#if MPROC_HAVE_ROBUST_MUTEX
#define MUTEX(m) ((pthread_mutex_t *)(void *)(m)->opaque)

/* Who holds it. glibc keeps the holder's kernel thread id in the mutex's
 * futex word (the word the kernel's robust list and pthread_mutex_unlock's
 * EPERM check read): "held?" reads it there and lock/unlock do nothing
 * more than pthread's own. Elsewhere the holder is noted in be_mutex's
 * spare bytes, beside the mutex on its cache line. */
/* The mutex, and beside it on its cache line what the backend adds. */
typedef struct px_rmutex {
    pthread_mutex_t m;
    _Atomic uint32_t abandoned; /* given up at its holder's exit: the next taker hears EOWNERDEAD */
#if !MPROC_HAVE_MUTEX_TID_WORD
    _Atomic uint64_t holder; /* self_word() of the holder, 0 when free */
#endif
} px_rmutex;
_Static_assert(sizeof(px_rmutex) <= sizeof(be_mutex), "be_mutex too small");
#define RMUTEX(m) ((px_rmutex *)(void *)(m)->opaque)

#if MPROC_HAVE_MUTEX_TID_WORD
#include <linux/futex.h>
#include <sys/syscall.h>

static uint64_t make_self(void) { return (uint64_t)syscall(SYS_gettid); }

static void note_holder(be_mutex *m) { (void)m; }

static int clear_holder(be_mutex *m) { (void)m; return 0; } /* pthread checks */

static uint64_t holder(be_mutex *m)
{
    return (unsigned)__atomic_load_n(&MUTEX(m)->__data.__lock, __ATOMIC_RELAXED) & FUTEX_TID_MASK;
}
#else
static uint64_t self_word(void);

/* Random rather than process and thread ids: the word of a holder that
 * died stays until the next taker overwrites it, and a new process may
 * get the dead one's id (the kernel clears a dead holder's thread id from
 * the futex word itself, so glibc's path has no such stale name). */
static uint64_t make_self(void)
{
    uint64_t w = 0;
    while (w == 0)
        if (mproc__be_random(&w, sizeof w) != 0)
            w = (uint64_t)mproc__be_getpid() << 32 | (uint32_t)mproc__be_thread_id(); /* no entropy: ids */
    return w;
}

static void note_holder(be_mutex *m) { atomic_store_explicit(&RMUTEX(m)->holder, self_word(), memory_order_relaxed); }

static uint64_t holder(be_mutex *m) { return atomic_load_explicit(&RMUTEX(m)->holder, memory_order_relaxed); }

/* Only the holder writes its own word: a relaxed read recognises it. */
static int clear_holder(be_mutex *m)
{
    if (holder(m) != self_word())
        return MPROC_ESTATE;
    atomic_store_explicit(&RMUTEX(m)->holder, 0, memory_order_relaxed);
    return 0;
}
#endif

/* This thread as holder() names it; a fork's child (one thread, the one
 * that forked) forgets its parent's. */
static _Thread_local uint64_t self;

static void forget_self(void) { self = 0; }

static void install_forget(void) { pthread_atfork(NULL, NULL, forget_self); }

static uint64_t self_word(void)
{
    if (!self) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, install_forget); /* before the word exists */
        self = make_self();
    }
    return self;
}

int mproc__be_mutex_held(be_mutex *m) { return holder(m) == self_word(); }

int mproc__be_mutex_init(be_mutex *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    int e = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (!e)
        e = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (!e)
        e = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    if (!e)
        e = pthread_mutex_init(MUTEX(m), &a);
    pthread_mutexattr_destroy(&a);
    return e ? mproc__px_sys_error(e) : 0;
}

/* The mutex is ours (rc 0 or EOWNERDEAD): note it, and report a holder
 * that gave it up at its exit as a dead one. Read under the mutex: the
 * abandoner wrote the flag before its unlock. */
static inline int taken(be_mutex *m, int rc)
{
    note_holder(m);
    if (atomic_load_explicit(&RMUTEX(m)->abandoned, memory_order_relaxed)) {
        atomic_store_explicit(&RMUTEX(m)->abandoned, 0, memory_order_relaxed);
        return MPROC_EOWNERDEAD;
    }
    return rc;
}

/* What pthread's answer e means, for a wait of ns (-1 forever). Out of
 * line, as is lock_bounded: the common case (wait forever, got it) is then
 * a call to pthread and a test, with nothing to save around it. */
static __attribute__((noinline)) int lock_result(be_mutex *m, int e, int64_t ns, double timeout)
{
    switch (e) {
    case 0:
        return taken(m, 0);
    case EDEADLK:
        /* This thread holds it already: waiting forever would never end;
         * a bounded wait times out as it would in Python. */
        if (ns < 0)
            return MPROC_ESTATE;
        mproc__be_sleep(timeout);
        return MPROC_ETIMEDOUT;
    case EBUSY:
    case ETIMEDOUT:
        return MPROC_ETIMEDOUT;
    case EOWNERDEAD:
        pthread_mutex_consistent(MUTEX(m));
        return taken(m, MPROC_EOWNERDEAD);
    default:
        return mproc__px_sys_error(e);
    }
}

static __attribute__((noinline)) int lock_bounded(be_mutex *m, double timeout)
{
    int e;
    int64_t ns = timeout == 0 ? 0 : timeout_ns(timeout); /* a try (the queue's spin): no call */
    if (ns == 0) {
        e = pthread_mutex_trylock(MUTEX(m));
    } else if (ns < 0) {
        e = pthread_mutex_lock(MUTEX(m)); /* beyond CORE_TIMEOUT_MAX */
    } else {
#if MPROC_HAVE_MUTEX_CLOCKLOCK
        struct timespec ts = abs_time(CLOCK_MONOTONIC, ns);
        e = pthread_mutex_clocklock(MUTEX(m), CLOCK_MONOTONIC, &ts);
#else
        struct timespec ts = abs_time(CLOCK_REALTIME, ns);
        e = pthread_mutex_timedlock(MUTEX(m), &ts);
#endif
    }
    return lock_result(m, e, ns, timeout);
}

/* The wait-forever path's rarer answers: an error, or a lock its holder
 * gave up at exit. */
static __attribute__((noinline)) int lock_forever_result(be_mutex *m, int e)
{
    return e ? lock_result(m, e, -1, -1.0) : taken(m, 0);
}

/* `inline` (an external definition still: backend.h declares it without):
 * a hint that lets link-time optimisation inline this path into the
 * public call, which its size alone would not. */
inline int mproc__be_mutex_lock(be_mutex *m, double timeout)
{
    if (!(timeout < 0))
        return lock_bounded(m, timeout);
    int e = pthread_mutex_lock(MUTEX(m));
    if (e || atomic_load_explicit(&RMUTEX(m)->abandoned, memory_order_relaxed))
        return lock_forever_result(m, e);
    note_holder(m);
    return 0;
}

int mproc__be_mutex_unlock(be_mutex *m)
{
    int e = clear_holder(m);
    if (e)
        return e;
    e = pthread_mutex_unlock(MUTEX(m));
    if (e == EPERM)
        return MPROC_ESTATE;
    return e ? mproc__px_sys_error(e) : 0;
}

int mproc__be_mutex_abandon(be_mutex *m)
{
    if (!mproc__be_mutex_held(m))
        return MPROC_ESTATE;
    atomic_store_explicit(&RMUTEX(m)->abandoned, 1, memory_order_relaxed); /* published by the unlock */
    return mproc__be_mutex_unlock(m);
}

void mproc__be_mutex_destroy(be_mutex *m) { pthread_mutex_destroy(MUTEX(m)); }

#else /* portable: owner pid + thread in atomics */

typedef struct px_mutex {
    _Atomic uint64_t owner_pid; /* 0 = free */
    _Atomic uint64_t owner_tid;
} px_mutex;
_Static_assert(sizeof(px_mutex) <= sizeof(be_mutex), "be_mutex too small");
#define PMUTEX(m) ((px_mutex *)(void *)(m)->opaque)
#define OWNER_CHECK_INTERVAL 0.02
#define PX_ABANDONED UINT64_MAX /* owner_pid of a lock given up at its holder's exit */

int mproc__be_mutex_init(be_mutex *m)
{
    atomic_init(&PMUTEX(m)->owner_pid, 0);
    atomic_init(&PMUTEX(m)->owner_tid, 0);
    return 0;
}

/* Taken (the owner pid already swapped in): this thread completes it. */
static int owned(px_mutex *x, int rc)
{
    atomic_store(&x->owner_tid, mproc__be_thread_id());
    return rc;
}

int mproc__be_mutex_lock(be_mutex *m, double timeout)
{
    px_mutex *x = PMUTEX(m);
    uint64_t me = (uint64_t)mproc__be_getpid();
    double deadline = mproc__core_deadline(timeout), step = 0.00002, next_check = 0;
    for (;;) {
        uint64_t free_ = 0;
        if (atomic_compare_exchange_strong(&x->owner_pid, &free_, me))
            return owned(x, 0);
        if (free_ == PX_ABANDONED) {
            if (atomic_compare_exchange_strong(&x->owner_pid, &free_, me))
                return owned(x, MPROC_EOWNERDEAD);
            continue; /* someone else took it first: look again */
        }
        if (free_ == me && atomic_load(&x->owner_tid) == mproc__be_thread_id() && deadline < 0)
            return MPROC_ESTATE; /* held by this thread: would never end */
        double now = mproc__be_monotonic();
        if (free_ != me && now >= next_check) {
            next_check = now + OWNER_CHECK_INTERVAL;
            if (mproc__px_pid_gone((pid_t)free_) && atomic_compare_exchange_strong(&x->owner_pid, &free_, me))
                return owned(x, MPROC_EOWNERDEAD);
        }
        if (mproc__core_remaining(deadline) == 0)
            return MPROC_ETIMEDOUT;
        backoff(&step, deadline);
    }
}

int mproc__be_mutex_held(be_mutex *m)
{
    px_mutex *x = PMUTEX(m);
    return atomic_load(&x->owner_pid) == (uint64_t)mproc__be_getpid() &&
           atomic_load(&x->owner_tid) == mproc__be_thread_id();
}

int mproc__be_mutex_unlock(be_mutex *m)
{
    px_mutex *x = PMUTEX(m);
    if (!mproc__be_mutex_held(m))
        return MPROC_ESTATE;
    atomic_store(&x->owner_tid, 0);
    atomic_store(&x->owner_pid, 0);
    return 0;
}

int mproc__be_mutex_abandon(be_mutex *m)
{
    px_mutex *x = PMUTEX(m);
    if (!mproc__be_mutex_held(m))
        return MPROC_ESTATE;
    atomic_store(&x->owner_tid, 0);
    atomic_store(&x->owner_pid, PX_ABANDONED);
    return 0;
}

void mproc__be_mutex_destroy(be_mutex *m) { (void)m; }
#endif

/* -------------------------------------------------------------- semaphore */

#if MPROC_HAVE_SEM_TIMEDWAIT
_Static_assert(sizeof(sem_t) <= sizeof(be_sem), "be_sem too small");
#define SEM(s) ((sem_t *)(void *)(s)->opaque)

int mproc__be_sem_init(be_sem *s, unsigned value)
{
    if (value > BE_SEM_VALUE_MAX)
        return MPROC_EINVAL;
    return sem_init(SEM(s), 1, value) ? mproc__px_sys_error(errno) : 0;
}

int mproc__be_sem_wait(be_sem *s, double timeout)
{
    int r;
    int64_t ns = timeout_ns(timeout);
    if (ns == 0) {
        r = sem_trywait(SEM(s));
    } else if (ns < 0) {
        while ((r = sem_wait(SEM(s))) != 0 && errno == EINTR)
            ;
    } else {
#if MPROC_HAVE_SEM_CLOCKWAIT
        struct timespec ts = abs_time(CLOCK_MONOTONIC, ns);
        while ((r = sem_clockwait(SEM(s), CLOCK_MONOTONIC, &ts)) != 0 && errno == EINTR)
            ;
#else
        struct timespec ts = abs_time(CLOCK_REALTIME, ns);
        while ((r = sem_timedwait(SEM(s), &ts)) != 0 && errno == EINTR)
            ;
#endif
    }
    if (r == 0)
        return 0;
    if (errno == EAGAIN || errno == ETIMEDOUT)
        return MPROC_ETIMEDOUT;
    return mproc__px_sys_error(errno);
}

int mproc__be_sem_post(be_sem *s)
{
    if (sem_post(SEM(s)) == 0)
        return 0;
    return errno == EOVERFLOW ? MPROC_ESTATE : mproc__px_sys_error(errno);
}

int mproc__be_sem_value(be_sem *s)
{
    int v = 0;
    sem_getvalue(SEM(s), &v);
    return v < 0 ? 0 : v;
}

void mproc__be_sem_destroy(be_sem *s) { sem_destroy(SEM(s)); }

#else /* portable: an atomic counter, polled with back-off */

#define PSEM(s) ((_Atomic int32_t *)(void *)(s)->opaque)

int mproc__be_sem_init(be_sem *s, unsigned value)
{
    if (value > BE_SEM_VALUE_MAX)
        return MPROC_EINVAL;
    atomic_init(PSEM(s), (int32_t)value);
    return 0;
}

int mproc__be_sem_wait(be_sem *s, double timeout)
{
    double deadline = mproc__core_deadline(timeout), step = 0.00002;
    for (;;) {
        int32_t v = atomic_load(PSEM(s));
        while (v > 0)
            if (atomic_compare_exchange_weak(PSEM(s), &v, v - 1))
                return 0;
        if (mproc__core_remaining(deadline) == 0)
            return MPROC_ETIMEDOUT;
        backoff(&step, deadline);
    }
}

int mproc__be_sem_post(be_sem *s)
{
    int32_t v = atomic_load(PSEM(s));
    do {
        if (v >= BE_SEM_VALUE_MAX)
            return MPROC_ESTATE;
    } while (!atomic_compare_exchange_weak(PSEM(s), &v, v + 1));
    return 0;
}

int mproc__be_sem_value(be_sem *s) { return atomic_load(PSEM(s)); }

void mproc__be_sem_destroy(be_sem *s) { (void)s; }
#endif
