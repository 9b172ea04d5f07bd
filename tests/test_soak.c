/* SPDX-License-Identifier: MIT */
/* test_soak.c - kills at random while pool maps, queue traffic and lock
 * handoffs run (label soak; scripts/test.sh --soak). For --seconds N
 * (default 60) a soak process keeps a pool map in flight, drains a queue
 * fed by producer processes, and watches children incrementing a Value
 * under a Lock; beside them a producer streams messages larger than their
 * queue's ring to two consumers, which report each one they took. Every
 * 20-120 ms it SIGKILLs a random pool worker, producer, lock holder or
 * stream consumer (and restarts the last three), or, under --method
 * forkserver, the forkserver itself. Beside all that, "exiters" come and
 * go: children that make a pool with a map in flight, a queue with unread
 * messages, a manager with a dict and a daemonic child, and then return
 * with all of it alive (or are killed on the way, at random). It checks:
 * no call waits past its timeout, every map either succeeds with the right
 * results or reports MPROC_EWORKERLOST, no queue message is torn,
 * duplicated or out of order, no streamed message reaches two consumers,
 * lock holders never time out, every exiter ends promptly with its own
 * code and leaves no process behind (its workers, manager server and
 * daemon), and no zombie is left. The test then checks that once the soak
 * process is gone nothing is left: no /dev/shm entry, no descriptor here,
 * no child, no zombie. POSIX only. */
#include <dirent.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include "testutil.h"
#include "shmnames.h"

static double soak_seconds = 60;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ------------------------------------------------------------ children */

static int slow_square(const void *in, void *out, void *state)
{
    (void)state;
    int64_t x;
    memcpy(&x, in, sizeof x);
    if (x % 7 == 0) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    x *= x;
    memcpy(out, &x, sizeof x);
    return 0;
}

/* A queue message: producer, sequence number, length, payload, checksum. */
typedef struct msg_head {
    uint32_t producer;
    uint32_t len; /* payload bytes */
    uint64_t seq;
    uint64_t sum; /* FNV-1a of the payload */
} msg_head;

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* args: queue, producer id, first seq. Puts messages until killed. */
static int producer(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    uint32_t id = (uint32_t)mproc_args_int(a, 1);
    uint64_t seq = (uint64_t)mproc_args_int(a, 2);
    unsigned char buf[sizeof(msg_head) + 4096];
    uint64_t r = 0x9e3779b97f4a7c15ull * (id + 1) ^ seq;
    for (;; seq++) {
        r = r * 6364136223846793005ull + 1;
        msg_head h = {id, (uint32_t)(16 + (r >> 33) % 4000), seq, 0};
        for (uint32_t i = 0; i < h.len; i++)
            buf[sizeof h + i] = (unsigned char)(seq + i);
        h.sum = fnv(buf + sizeof h, h.len);
        memcpy(buf, &h, sizeof h);
        int rc = mproc_queue_put(q, buf, sizeof h + h.len, 10);
        if (rc == MPROC_EFULL)
            return 4; /* the consumer never stalls for 10 s: a hang */
        if (rc)
            return 5;
    }
}

/* Messages larger than BIG_RING (64 KiB - 7 B .. 1 MiB), streamed. A
 * consumer reports each one it took as a receipt on the main queue: its own
 * id as producer, no payload, the big message's seq with RECEIPT set. */
#define BIG_RING 65536
#define BIG_MAX ((size_t)1 << 20)
#define RECEIPT ((uint64_t)1 << 63)

/* args: big queue. Puts big messages until killed (the soak does not). */
static int big_producer(const mproc_args *a)
{
    mproc_queue *q = mproc_args_obj(a, 0);
    unsigned char *buf = malloc(sizeof(msg_head) + BIG_MAX);
    if (!buf)
        return 5;
    for (uint64_t seq = 0;; seq++) {
        msg_head h = {0, (uint32_t)(BIG_RING - 7 + (seq * 104729u) % (BIG_MAX - BIG_RING)), seq, 0};
        memset(buf + sizeof h, (int)(seq & 0xff), h.len);
        buf[sizeof h + seq % h.len] ^= 0x5a;
        h.sum = fnv(buf + sizeof h, h.len);
        memcpy(buf, &h, sizeof h);
        int rc = mproc_queue_put(q, buf, sizeof h + h.len, 10);
        if (rc) {
            free(buf);
            return rc == MPROC_EFULL ? 4 : 5; /* a consumer takes one within 10 s */
        }
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
}

/* args: big queue, main queue, id. Takes big messages until killed; 6 if
 * one was torn. */
static int big_consumer(const mproc_args *a)
{
    mproc_queue *bq = mproc_args_obj(a, 0), *q = mproc_args_obj(a, 1);
    uint32_t id = (uint32_t)mproc_args_int(a, 2);
    for (;;) {
        void *buf;
        size_t len;
        int rc = mproc_queue_get(bq, &buf, &len, 10);
        if (rc)
            return rc == MPROC_EEMPTY ? 3 : 5;
        msg_head h;
        int ok = len >= sizeof h;
        if (ok) {
            memcpy(&h, buf, sizeof h);
            ok = len == sizeof h + h.len && fnv((unsigned char *)buf + sizeof h, h.len) == h.sum;
        }
        mproc_free(buf);
        if (!ok)
            return 6;
        msg_head r = {id, 0, h.seq | RECEIPT, fnv(NULL, 0)};
        if (mproc_queue_put(q, &r, sizeof r, 10) != 0)
            return 4;
    }
}

/* args: lock, value. Increments under the lock until killed. */
enum { PRODUCERS = 2, LOCKERS = 2, ITEMS = 400, BIG_CONSUMERS = 2 };

/* An exiter: args are an int64 array where it writes the pids of its
 * helpers (2 pool workers, the manager server, a daemon). It makes
 * everything, then returns 0 with all of it alive. */
#define EXITER_PIDS 4
static int exiter_init(const mproc_args *a, void **state)
{
    (void)state;
    mproc_array *pids = mproc_args_obj(a, 0);
    int64_t *p = mproc_array_ptr(pids);
    int64_t me = mproc_current_pid();
    int64_t zero = 0;
    /* the first free one of the two worker slots */
    if (!atomic_compare_exchange_strong((_Atomic int64_t *)&p[0], &zero, me)) {
        zero = 0;
        atomic_compare_exchange_strong((_Atomic int64_t *)&p[1], &zero, me);
    }
    return 0;
}

/* Sleeps for minutes, as a forgotten child would, but not past the
 * process that started it (mproc_parent_pid: under forkserver the OS
 * parent is the server): an exiter SIGKILLed leaves it an orphan, which
 * would otherwise keep the test's output pipe open (and ctest waiting)
 * for 300 s. */
static int exiter_sleep(const mproc_args *a)
{
    (void)a;
    long parent = mproc_parent_pid();
    for (int i = 0; i < 3000 && parent > 0 && kill((pid_t)parent, 0) == 0; i++)
        test_sleep(0.1);
    return 0;
}

static int exiter(const mproc_args *a)
{
    mproc_array *pids = mproc_args_obj(a, 0);
    int64_t *p = mproc_array_ptr(pids);
    mproc_args *init = mproc_args_new();
    mproc_args_add_obj(init, pids);
    mproc_pool_opts po = MPROC_POOL_OPTS_INIT;
    po.processes = 2;
    po.initializer = exiter_init;
    po.initargs = init;
    mproc_pool *pool = mproc_pool_new(&po, NULL);
    mproc_args_free(init);
    static int64_t in[ITEMS], out[ITEMS];
    if (!pool || !mproc_pool_map_async(pool, slow_square, in, ITEMS, sizeof in[0], out, sizeof out[0], 5, NULL, NULL))
        return 20;
    mproc_queue *q = mproc_queue_new(0, NULL);
    if (!q || mproc_queue_put(q, "left", 4, 5) != 0)
        return 21;
    mproc_manager *m = mproc_manager_start(NULL, NULL);
    if (!m || !mproc_manager_dict(m, NULL))
        return 22;
    p[2] = mproc_process_pid(mproc_manager_process(m));
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    o.daemon = 1;
    mproc_process *d = mproc_process_new(exiter_sleep, NULL, &o, NULL);
    if (!d || mproc_process_start(d) != 0)
        return 23;
    p[3] = mproc_process_pid(d);
    return 0; /* everything alive: the exit hooks stop it all */
}

static int pid_running(long pid)
{
    if (pid <= 0 || kill((pid_t)pid, 0) != 0)
        return 0;
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = fscanf(f, "%*d (%*[^)]) %c", &state);
    fclose(f);
    return n == 1 && state != 'Z'; /* an orphan init has not reaped yet is gone */
}

/* The forkserver serving this process: its child whose command line names
 * the forkserver marker. */
static long forkserver_pid(void)
{
    DIR *d = opendir("/proc");
    long found = 0, me = (long)getpid();
    struct dirent *e;
    while (d && !found && (e = readdir(d)) != NULL) {
        char path[300], buf[512];
        long pid = strtol(e->d_name, NULL, 10), ppid = 0;
        if (pid <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        int ok = f && fscanf(f, "%*d (%*[^)]) %*c %ld", &ppid) == 1;
        if (f)
            fclose(f);
        if (!ok || ppid != me)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        for (size_t i = 0; i < n; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        buf[n] = '\0';
        if (strstr(buf, "--mproc-forkserver"))
            found = pid;
    }
    if (d)
        closedir(d);
    return found;
}

static int locker(const mproc_args *a)
{
    mproc_lock *l = mproc_args_obj(a, 0);
    mproc_value *v = mproc_args_obj(a, 1);
    for (;;) {
        int rc = mproc_lock_acquire(l, 10);
        if (rc == MPROC_ETIMEDOUT)
            return 3; /* a dead holder's lock must come back */
        if (rc != 0 && rc != MPROC_EOWNERDEAD)
            return 4;
        ++*(int64_t *)mproc_value_ptr(v);
        if (mproc_lock_release(l) != 0)
            return 5;
    }
}

/* ------------------------------------------------------------- leaks */

static int count_dir(const char *path, const char *prefix)
{
    DIR *d = opendir(path);
    int n = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && (!prefix || strncmp(e->d_name, prefix, strlen(prefix)) == 0))
            n++;
    closedir(d);
    return n;
}

static void list_fds(const char *when)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    printf("  descriptors %s:", when);
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], target[300];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        printf(" %s=%s", e->d_name, target);
    }
    printf("\n");
    if (d)
        closedir(d);
}

/* Our children that are zombies. */
static int zombies(void)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        char *paren = strrchr(buf, ')');
        char state;
        long ppid;
        if (paren && sscanf(paren + 1, " %c %ld", &state, &ppid) == 2 && ppid == getpid() && state == 'Z')
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* ---------------------------------------------------------------- soak */


static mproc_process *start_child(mproc_target fn, mproc_args *a)
{
    mproc_process *p = mproc_process_new(fn, a, NULL, NULL);
    if (p && mproc_process_start(p) != 0) {
        mproc_process_free(p);
        p = NULL;
    }
    return p;
}

typedef struct counts {
    long kills_pool, kills_producer, kills_locker, kills_big, kills_forkserver, kills_exiter;
    long maps_ok, maps_lost, msgs, torn, dup, big, lock_incs, hangs, other;
    long exits, left_behind;
} counts;

/* An exiter and the pids of its helpers. */
typedef struct exiter_run {
    mproc_process *p;
    mproc_array *pids;
    double started;
} exiter_run;

static void exiter_start(exiter_run *x)
{
    x->pids = mproc_array_new('q', EXITER_PIDS, NULL, 0, NULL);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, x->pids);
    x->p = start_child(exiter, a);
    mproc_args_free(a);
    x->started = now();
}

/* Once it ended (killed or not): its helpers must be gone within 10 s. */
static void exiter_check(exiter_run *x, counts *c, int killed)
{
    int code = -1000;
    if (mproc_process_join(x->p, 60) != 0) {
        printf("  soak: exiter %ld did not end\n", mproc_process_pid(x->p));
        c->hangs++;
    } else if (mproc_process_exitcode(x->p, &code) == 0 && !killed && code != 0) {
        printf("  soak: exiter %ld returned %d\n", mproc_process_pid(x->p), code);
        c->other++;
    }
    const int64_t *p = mproc_array_ptr(x->pids);
    if (killed && p[3] > 0) /* a killed parent's daemon lives on, as in Python */
        kill((pid_t)p[3], SIGKILL);
    for (int i = 0; i < EXITER_PIDS - (killed ? 1 : 0); i++) {
        int running = 1;
        for (int t = 0; t < 200 && (running = pid_running((long)p[i])); t++)
            test_sleep(0.05);
        if (running) {
            printf("  soak: exiter %ld (%s, code %d) left pid %lld (helper %d) running\n", mproc_process_pid(x->p),
                   killed ? "killed" : "returned", code, (long long)p[i], i);
            c->left_behind++;
        }
    }
    c->exits += !killed;
    mproc_process_free(x->p);
    mproc_array_free(x->pids);
    x->p = NULL;
}

static void kill_and_reap(mproc_process *p, counts *c)
{
    mproc_process_kill(p);
    int code = 0;
    if (mproc_process_join(p, 10) != 0) {
        printf("  soak: killed %ld did not end\n", mproc_process_pid(p));
        c->hangs++;
    } else if (mproc_process_exitcode(p, &code) == 0 && code != -9) {
        printf("  soak: killed %ld had ended with %d\n", mproc_process_pid(p), code);
        c->other++; /* it had stopped by itself: it reported a failure */
    }
    mproc_process_free(p);
}

/* Runs one pool map and frees the pool, so that what is kept for reuse (a
 * map segment, a waiter's doorbell) exists before the leak baseline. */
static void warm_up(void)
{
    mproc_pool_opts po = MPROC_POOL_OPTS_INIT;
    po.processes = 1;
    mproc_pool *p = mproc_pool_new(&po, NULL);
    int64_t in[ITEMS] = {0}, out[ITEMS];
    if (p)
        mproc_pool_map(p, slow_square, in, ITEMS, sizeof in[0], out, sizeof out[0], 5);
    mproc_pool_free(p);
}

#define EXPECT(cond)                                                  \
    do {                                                              \
        if (!(cond)) {                                                \
            printf("  soak: failed: %s (line %d)\n", #cond, __LINE__); \
            failures++;                                               \
        }                                                             \
    } while (0)

/* The soak itself, in a child process of the test (so that the test can
 * check what is left once it is gone). Returns the number of failures. */
static int soak_body(const mproc_args *args)
{
    soak_seconds = mproc_args_double(args, 0); /* a forkserver child has its own globals */
    int failures = 0;
    counts c = {0};
    int err;
    mproc_queue *q = mproc_queue_new(0, &err);
    mproc_queue_opts bo = MPROC_QUEUE_OPTS_INIT;
    bo.capacity = BIG_RING;
    mproc_queue *bq = mproc_queue_new_ex(&bo, &err);
    mproc_lock *lock = mproc_lock_new(&err);
    int64_t zero = 0;
    mproc_value *val = mproc_value_new('q', &zero, 0, &err);
    mproc_pool_opts po = MPROC_POOL_OPTS_INIT;
    po.processes = 3;
    mproc_pool *pool = mproc_pool_new(&po, &err);
    unsigned char *big_seen = calloc(1 << 20, 1); /* which big messages a consumer reported */
    if (!q || !bq || !lock || !val || !pool || !big_seen) {
        printf("  soak: cannot set up: %s\n", mproc_strerror(err));
        return 1;
    }

    mproc_process *prod[PRODUCERS] = {0}, *lk[LOCKERS] = {0}, *big[1 + BIG_CONSUMERS] = {0};
    /* each producer incarnation has an id of its own; the next seq it may send */
    enum { INCARNATIONS = 1 << 16 };
    uint64_t *next_seq = calloc(INCARNATIONS, sizeof *next_seq);
    uint32_t incarnations = 0;
    int64_t in[ITEMS], out[ITEMS];
    for (int i = 0; i < ITEMS; i++)
        in[i] = i;
    mproc_async *map = NULL;
    exiter_run ex = {0};
    int forkserver = strcmp(mproc_get_start_method(), "forkserver") == 0;
    double end = now() + soak_seconds, next_kill = now() + 0.05;
    while (now() < end) {
        /* one exiter at a time: started, and checked once it returned */
        if (!ex.p)
            exiter_start(&ex);
        else if (mproc_process_exitcode(ex.p, NULL) == 0)
            exiter_check(&ex, &c, 0);
        /* keep everyone running */
        for (int i = 0; i < PRODUCERS; i++)
            if (!prod[i]) {
                mproc_args *a = mproc_args_new();
                mproc_args_add_obj(a, q);
                mproc_args_add_int(a, incarnations++ % INCARNATIONS);
                mproc_args_add_int(a, 0);
                prod[i] = start_child(producer, a);
                mproc_args_free(a);
            }
        for (int i = 0; i < LOCKERS; i++)
            if (!lk[i]) {
                mproc_args *a = mproc_args_new();
                mproc_args_add_obj(a, lock);
                mproc_args_add_obj(a, val);
                lk[i] = start_child(locker, a);
                mproc_args_free(a);
            }
        for (int i = 0; i < 1 + BIG_CONSUMERS; i++)
            if (!big[i]) { /* big[0] produces, the others consume */
                mproc_args *a = mproc_args_new();
                mproc_args_add_obj(a, bq);
                mproc_args_add_obj(a, q);
                mproc_args_add_int(a, incarnations++ % INCARNATIONS);
                big[i] = start_child(i ? big_consumer : big_producer, a);
                mproc_args_free(a);
            }
        if (!map) {
            memset(out, 0, sizeof out);
            map = mproc_pool_map_async(pool, slow_square, in, ITEMS, sizeof in[0], out, sizeof out[0], 5, NULL, &err);
            if (!map) {
                printf("  soak: map_async: %s\n", mproc_err_name(err));
                c.other++;
            }
        }
        /* a map that ended: right results, or a lost worker said so */
        if (map && mproc_async_ready(map) == 1) {
            int rc = mproc_async_get(map, 0, NULL, NULL);
            if (rc == 0) {
                int bad = 0;
                for (int i = 0; i < ITEMS; i++)
                    bad |= out[i] != (int64_t)i * i;
                c.maps_ok++;
                c.other += bad;
            } else if (rc == MPROC_EWORKERLOST) {
                c.maps_lost++;
            } else {
                printf("  soak: map: %s\n", mproc_err_name(rc));
                c.other++;
            }
            mproc_async_free(map);
            map = NULL;
        }
        /* drain the queue: every message whole, in order per producer */
        for (int k = 0; k < 256; k++) {
            void *buf;
            size_t len;
            int rc = mproc_queue_get(q, &buf, &len, 0.001);
            if (rc == MPROC_EEMPTY)
                break;
            if (rc) {
                printf("  soak: get: %s\n", mproc_err_name(rc));
                c.other++;
                break;
            }
            msg_head h;
            if (len < sizeof h) {
                c.torn++;
            } else {
                memcpy(&h, buf, sizeof h);
                if (h.producer >= INCARNATIONS || len != sizeof h + h.len ||
                    fnv((unsigned char *)buf + sizeof h, h.len) != h.sum)
                    c.torn++;
                else if (h.seq < next_seq[h.producer])
                    c.dup++;
                else
                    next_seq[h.producer] = h.seq + 1;
                if ((h.seq & RECEIPT) && len == sizeof h) { /* a big message a consumer took */
                    uint64_t b = (h.seq & ~RECEIPT) % (1 << 20);
                    c.dup += big_seen[b];
                    big_seen[b] = 1;
                    c.big++;
                }
            }
            c.msgs++;
            mproc_free(buf);
        }
        /* a child that stopped by itself found a failure */
        for (int i = 0; i < PRODUCERS + LOCKERS + 1 + BIG_CONSUMERS; i++) {
            mproc_process **pp = i < PRODUCERS ? &prod[i]
                                 : i < PRODUCERS + LOCKERS ? &lk[i - PRODUCERS]
                                                           : &big[i - PRODUCERS - LOCKERS];
            int code;
            if (*pp && mproc_process_exitcode(*pp, &code) == 0) {
                printf("  soak: child %d (pid %ld) stopped by itself: %d\n", i, mproc_process_pid(*pp), code);
                c.other++;
                c.hangs += code == 3 || code == 4;
                c.torn += code == 6;
                mproc_process_join(*pp, 1);
                mproc_process_free(*pp);
                *pp = NULL;
            }
        }
        if (now() < next_kill)
            continue;
        next_kill = now() + 0.02 + (double)(rnd() % 100) / 1000.0;
        int what = (int)(rnd() % (forkserver ? 6 : 5));
        if (what == 0) {
            mproc_process *kids[32];
            size_t n = mproc_active_children(kids, 32), picked = 0;
            long pids[32];
            for (size_t i = 0; i < n; i++) {
                int ours = 0;
                for (int j = 0; j < PRODUCERS; j++)
                    ours |= kids[i] == prod[j];
                for (int j = 0; j < LOCKERS; j++)
                    ours |= kids[i] == lk[j];
                for (int j = 0; j < 1 + BIG_CONSUMERS; j++)
                    ours |= kids[i] == big[j];
                ours |= kids[i] == ex.p;
                if (!ours)
                    pids[picked++] = mproc_process_pid(kids[i]); /* a pool worker */
            }
            if (picked && kill((pid_t)pids[rnd() % picked], SIGKILL) == 0)
                c.kills_pool++;
        } else if (what == 1) {
            int i = (int)(rnd() % PRODUCERS);
            if (prod[i]) {
                kill_and_reap(prod[i], &c);
                prod[i] = NULL;
                c.kills_producer++;
            }
        } else if (what == 2) {
            int i = (int)(rnd() % LOCKERS);
            if (lk[i]) {
                kill_and_reap(lk[i], &c);
                lk[i] = NULL;
                c.kills_locker++;
            }
        } else if (what == 3) { /* a consumer, most likely in the middle of a big message */
            int i = 1 + (int)(rnd() % BIG_CONSUMERS);
            if (big[i]) {
                kill_and_reap(big[i], &c);
                big[i] = NULL;
                c.kills_big++;
            }
        } else if (what == 4) { /* an exiter, anywhere in its making or its end */
            if (ex.p && now() - ex.started > (double)(rnd() % 300) / 1000.0) {
                mproc_process_kill(ex.p);
                exiter_check(&ex, &c, 1);
                c.kills_exiter++;
            }
        } else { /* the forkserver: its children live on, the next start gets a new one */
            long fs = forkserver_pid();
            if (fs && kill((pid_t)fs, SIGKILL) == 0)
                c.kills_forkserver++;
        }
    }
    if (ex.p) /* the last exiter must end by itself, leaving nothing */
        exiter_check(&ex, &c, 0);
    if (map) { /* the last map must end too, within its bound */
        int rc = mproc_async_get(map, 60, NULL, NULL);
        if (rc == MPROC_ETIMEDOUT)
            c.hangs++;
        mproc_async_free(map);
    }
    for (int i = 0; i < PRODUCERS; i++)
        if (prod[i])
            kill_and_reap(prod[i], &c);
    for (int i = 0; i < LOCKERS; i++)
        if (lk[i])
            kill_and_reap(lk[i], &c);
    for (int i = 0; i < 1 + BIG_CONSUMERS; i++)
        if (big[i])
            kill_and_reap(big[i], &c);
    /* the lock still works after all those deaths */
    int rc = mproc_lock_acquire(lock, 10);
    EXPECT(rc == 0 || rc == MPROC_EOWNERDEAD);
    EXPECT(mproc_lock_release(lock) == 0);
    c.lock_incs = *(int64_t *)mproc_value_ptr(val);
    free(next_seq);
    free(big_seen);
    EXPECT(mproc_pool_terminate(pool) == 0);
    mproc_pool_free(pool);
    mproc_queue_free(q);
    mproc_queue_free(bq);
    mproc_lock_free(lock);
    mproc_value_free(val);

    printf("\n  soak %.0fs (%s): kills: %ld pool workers, %ld producers, %ld lock holders, %ld stream consumers, "
           "%ld forkservers, %ld exiters; exiters that returned with everything alive: %ld (left behind: %ld); "
           "maps: %ld ok, %ld reported a lost worker; queue: %ld messages (%ld big), %ld torn, %ld duplicated; "
           "lock: %ld increments; hangs: %ld; other failures: %ld\n",
           soak_seconds, mproc_get_start_method(), c.kills_pool, c.kills_producer, c.kills_locker, c.kills_big,
           c.kills_forkserver, c.kills_exiter, c.exits, c.left_behind, c.maps_ok, c.maps_lost, c.msgs, c.big,
           c.torn, c.dup, c.lock_incs, c.hangs, c.other);
    EXPECT(c.kills_pool > 0 && c.kills_producer > 0 && c.kills_locker > 0 && c.kills_big > 0);
    EXPECT(c.kills_exiter > 0 && c.exits > 0);
    EXPECT(c.left_behind == 0);
    EXPECT(!forkserver || c.kills_forkserver > 0);
    EXPECT(c.big > 0);
    EXPECT(c.maps_ok > 0);
    EXPECT(c.msgs > 0);
    EXPECT(c.lock_incs > 0);
    EXPECT(c.torn == 0);
    EXPECT(c.dup == 0);
    EXPECT(c.hangs == 0);
    EXPECT(c.other == 0);
    EXPECT(mproc_active_children(NULL, 0) == 0);
    EXPECT(zombies() == 0);
    fflush(stdout);
    return failures;
}

static void test_soak(void)
{
    warm_up();
    static shm_snapshot shm_before;
    shm_snapshot_take(&shm_before);
    int fds_before = count_dir("/proc/self/fd", NULL);
    if (getenv("SOAK_FDS"))
        list_fds("before");
    int code = -1;
    mproc_args *sa = mproc_args_new();
    mproc_args_add_double(sa, soak_seconds);
    CHECK_RC(test_run_within(soak_body, sa, &code, soak_seconds + 120), 0);
    mproc_args_free(sa);
    CU_ASSERT_EQUAL(code, 0);
    /* gone with it: its pool workers, producers and lock holders, their
     * shared memory, and nothing held here */
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    CU_ASSERT_EQUAL(zombies(), 0);
    int shm_new = shm_leaked_since(&shm_before, 10);
    int fds_after = count_dir("/proc/self/fd", NULL);
    if (getenv("SOAK_FDS") || fds_after != fds_before)
        list_fds("after");
    if (shm_new || fds_after != fds_before)
        printf("  /dev/shm entries left: %d, descriptors %d -> %d\n", shm_new, fds_before, fds_after);
    CU_ASSERT_EQUAL(shm_new, 0);
    CU_ASSERT_EQUAL(fds_after, fds_before);
}

/* args: conn. A map of 100k items in flight (its data in the pool's own
 * segment), then waits to be killed. */
static int map_in_flight(const mproc_args *a)
{
    enum { N = 100000 };
    static int64_t in[N], out[N];
    mproc_pool_opts po = MPROC_POOL_OPTS_INIT;
    po.processes = 2;
    mproc_pool *p = mproc_pool_new(&po, NULL);
    if (!p || !mproc_pool_map_async(p, slow_square, in, N, sizeof in[0], out, sizeof out[0], 100, NULL, NULL) ||
        mproc_conn_send_bytes(mproc_args_obj(a, 0), "go", 2) != 0)
        return 1;
    test_sleep(60);
    return 2;
}

/* The soak process's fate, at the worst moment: SIGKILLed with a map in
 * flight, it leaves no /dev/shm entry (its map data has no name). */
static void test_killed_mid_map(void)
{
    warm_up();
    static shm_snapshot before;
    shm_snapshot_take(&before);
    mproc_conn *r, *w;
    CHECK_RC(mproc_pipe(0, &r, &w), 0);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, w);
    mproc_process *p = test_start(map_in_flight, a, NULL);
    mproc_args_free(a);
    CU_ASSERT_EQUAL(mproc_conn_poll(r, 60), 1);
    CHECK_RC(mproc_process_kill(p), 0);
    CU_ASSERT_EQUAL(test_finish(p), -9);
    CU_ASSERT_EQUAL(shm_leaked_since(&before, 10), 0); /* the tracker may take a moment */
    mproc_conn_free(r);
    mproc_conn_free(w);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--seconds") == 0)
            soak_seconds = atof(argv[i + 1]);
    static const test_case tests[] = {
        {"kills during pool, queue and lock traffic", test_soak},
        {"killed with a map in flight: no shared memory left", test_killed_mid_map},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "soak", tests);
}
