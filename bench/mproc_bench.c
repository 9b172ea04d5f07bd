/* SPDX-License-Identifier: MIT */
/* mproc_bench.c - mproc-bench: one table, one run. For each operation:
 * mproc's time, the raw OS figure and Python multiprocessing's (via
 * py_bench.py when python3 exists), as medians of R repeats, with ratios.
 *   mproc-bench [--quick | --smoke] [--json] [--plot FILE.svg] [--python PATH | --no-python]
 *               [--script PATH]
 * --smoke runs each operation a few times without Python (ctest label
 * bench): it shows that every row works, on either backend; its times mean
 * nothing. Rows the OS cannot do (fork on Windows) print n/a.
 * --plot also writes the ratios as an SVG bar chart (log scale). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_pool.h"
#include "mproc.h"
#include "raw.h"

typedef struct row {
    const char *name;     /* key shared with py_bench.py */
    const char *label;
    double mproc_us;      /* median per operation */
    double raw_us;        /* 0 = none */
    const char *raw_label;
    double py_us;         /* 0 = not measured */
    int repeats, iterations;
} row;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts samples; their median. */
static double median_of(double *samples, int n)
{
    qsort(samples, (size_t)n, sizeof samples[0], cmp_double);
    return samples[n / 2];
}

static int run_size = 0; /* 0 full, 1 quick, 2 smoke */

typedef int (*op_fn)(void *ctx);

/* Median over repeats of the mean time of one op, in microseconds; each op
 * may stand for `units` operations (the figure is per unit). */
static double measure_units(op_fn op, void *ctx, int repeats, int iterations, double units)
{
    double samples[32];
    op(ctx); /* warm-up */
    for (int r = 0; r < repeats; r++) {
        double t0 = bench_now();
        for (int i = 0; i < iterations; i++)
            if (op(ctx) != 0) {
                fprintf(stderr, "mproc-bench: operation failed\n");
                exit(1);
            }
        samples[r] = (bench_now() - t0) / iterations / units * 1e6;
    }
    return median_of(samples, repeats);
}

static double measure(op_fn op, void *ctx, int repeats, int iterations)
{
    return measure_units(op, ctx, repeats, iterations, 1.0);
}

static double sample(op_fn op, void *ctx, int iterations)
{
    double t0 = bench_now();
    for (int i = 0; i < iterations; i++)
        if (op(ctx) != 0) {
            fprintf(stderr, "mproc-bench: operation failed\n");
            exit(1);
        }
    return (bench_now() - t0) / iterations * 1e6;
}

/* Two operations measured in turns (a, b, a, b, ...), so that a change in
 * the machine's load hits both alike; medians in microseconds. */
static void measure_pair(op_fn a, void *actx, op_fn b, void *bctx, int repeats, int iterations, double *a_us,
                         double *b_us)
{
    double sa[32], sb[32];
    a(actx); /* warm-up */
    b(bctx);
    for (int r = 0; r < repeats; r++) {
        sa[r] = sample(a, actx, iterations);
        sb[r] = sample(b, bctx, iterations);
    }
    *a_us = median_of(sa, repeats);
    *b_us = median_of(sb, repeats);
}

/* ---------------------------------------------------------- operations */

static int noop_target(const mproc_args *a)
{
    (void)a;
    return 0;
}

static int op_mproc_process(void *ctx)
{
    mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
    o.start_method = ctx;
    mproc_process *p = mproc_process_new(noop_target, NULL, &o, NULL);
    int rc = p ? mproc_process_start(p) : -1;
    if (rc == 0)
        rc = mproc_process_join(p, MPROC_FOREVER);
    mproc_process_free(p);
    return rc;
}

static int op_raw_fork(void *ctx)
{
    (void)ctx;
    return raw_fork_join();
}

static int op_raw_spawn(void *ctx)
{
    (void)ctx;
    return raw_spawn_join();
}

/* ---------------------------------------------------------------- locks */

static int op_mproc_lock(void *ctx)
{
    mproc_lock_acquire(ctx, MPROC_FOREVER);
    return mproc_lock_release(ctx);
}

/* The raw figure: what mproc's Lock is made of. */
static int op_raw_lock(void *ctx) { return raw_lock_cycle(ctx); }

/* Value += 1 under its lock, from 2 processes, INC_PER_PROC each. */
static long inc_per_proc;

static int inc_target(const mproc_args *a)
{
    mproc_value *v = mproc_args_obj(a, 0);
    mproc_lock *l = mproc_value_get_lock(v);
    int *p = mproc_value_ptr(v);
    for (long i = 0; i < mproc_args_int(a, 1); i++) {
        mproc_lock_acquire(l, MPROC_FOREVER);
        (*p)++;
        mproc_lock_release(l);
    }
    return 0;
}

static int op_mproc_value_inc(void *ctx)
{
    (void)ctx;
    mproc_value *v = mproc_value_new('i', NULL, 1, NULL);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, v);
    mproc_args_add_int(a, inc_per_proc);
    mproc_process *ps[2];
    for (int i = 0; i < 2; i++) {
        ps[i] = mproc_process_new(inc_target, a, NULL, NULL);
        mproc_process_start(ps[i]);
    }
    for (int i = 0; i < 2; i++) {
        mproc_process_join(ps[i], MPROC_FOREVER);
        mproc_process_free(ps[i]);
    }
    int ok = *(int *)mproc_value_ptr(v) == 2 * inc_per_proc;
    mproc_args_free(a);
    mproc_value_free(v);
    return ok ? 0 : -1;
}

static int op_raw_value_inc(void *ctx) { return raw_value_inc(ctx, inc_per_proc); }

/* ---------------------------------------------------------------- pipes */

#define RTT_MSG RAW_RTT_MSG
#define BIG_MSG ((size_t)1 << 20)

/* args: conn. Echoes every message until a 1-byte one. */
static int echo_target(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    char buf[RTT_MSG];
    size_t len;
    while (mproc_conn_recv_bytes_into(c, buf, sizeof buf, &len) == 0 && len != 1)
        if (mproc_conn_send_bytes(c, buf, len) != 0)
            return 1;
    return 0;
}

/* args: conn. Each request (a u64 count) is answered by count 1 MiB
 * messages; a count of 0 ends it. */
static int stream_target(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    char *big = calloc(1, BIG_MSG);
    uint64_t count;
    size_t len;
    while (big && mproc_conn_recv_bytes_into(c, &count, sizeof count, &len) == 0 && count > 0)
        for (uint64_t i = 0; i < count; i++)
            if (mproc_conn_send_bytes(c, big, BIG_MSG) != 0)
                return 1;
    free(big);
    return 0;
}

typedef struct pipe_bench {
    mproc_conn *mine;
    mproc_process *child;
} pipe_bench;

static pipe_bench pipe_child(mproc_target fn)
{
    pipe_bench b = {NULL, NULL};
    mproc_conn *theirs;
    mproc_pipe(1, &b.mine, &theirs);
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, theirs);
    b.child = mproc_process_new(fn, a, NULL, NULL);
    mproc_args_free(a);
    if (!b.child || mproc_process_start(b.child) != 0) {
        fprintf(stderr, "mproc-bench: cannot start the pipe child\n");
        exit(1);
    }
    mproc_conn_free(theirs);
    return b;
}

static void pipe_child_end(pipe_bench *b, const void *quit, size_t len)
{
    mproc_conn_send_bytes(b->mine, quit, len);
    mproc_process_join(b->child, MPROC_FOREVER);
    mproc_process_free(b->child);
    mproc_conn_free(b->mine);
}

static int op_mproc_rtt(void *ctx)
{
    pipe_bench *b = ctx;
    char msg[RTT_MSG] = {0}, back[RTT_MSG];
    size_t len;
    if (mproc_conn_send_bytes(b->mine, msg, sizeof msg) != 0)
        return -1;
    return mproc_conn_recv_bytes_into(b->mine, back, sizeof back, &len) == 0 && len == RTT_MSG ? 0 : -1;
}

/* ------------------------------------------------------------- values */

/* args: conn. Echoes every value until None. */
static int value_echo_target(const mproc_args *a)
{
    mproc_conn *c = mproc_args_obj(a, 0);
    mproc_mval v;
    while (mproc_conn_recv_value(c, &v, MPROC_NOLIMIT) == 0 && v.type != MPROC_MV_NIL) {
        int rc = mproc_conn_send_value(c, v);
        mproc_mval_clear(&v);
        if (rc)
            return 1;
    }
    return 0;
}

/* {'id': 7, 'name': 'widget', 'price': 9.99, 'tags': ['a', 'b'], 'ok': True}
 * (the same dict as py_bench.py's). */
static mproc_mval small_dict(void)
{
    static mproc_mval tags[2], kv[10];
    tags[0] = mproc_mv_str("a");
    tags[1] = mproc_mv_str("b");
    kv[0] = mproc_mv_str("id");    kv[1] = mproc_mv_int(7);
    kv[2] = mproc_mv_str("name");  kv[3] = mproc_mv_str("widget");
    kv[4] = mproc_mv_str("price"); kv[5] = mproc_mv_double(9.99);
    kv[6] = mproc_mv_str("tags");  kv[7] = mproc_mv_array(tags, 2);
    kv[8] = mproc_mv_str("ok");    kv[9] = mproc_mv_bool(1);
    return mproc_mv_map(kv, 5);
}

static int op_value_rtt(void *ctx)
{
    pipe_bench *b = ctx;
    mproc_mval v;
    if (mproc_conn_send_value(b->mine, small_dict()) != 0 || mproc_conn_recv_value(b->mine, &v, MPROC_NOLIMIT) != 0)
        return -1;
    int ok = v.type == MPROC_MV_MAP && v.v.a.n == 5;
    mproc_mval_clear(&v);
    return ok ? 0 : -1;
}

/* The bytes of the same value's encoding, round trip. */
typedef struct bytes_rtt {
    pipe_bench pb;
    void *buf;
    size_t len;
} bytes_rtt;

static int op_value_bytes_rtt(void *ctx)
{
    bytes_rtt *b = ctx;
    char back[RTT_MSG];
    size_t len;
    if (mproc_conn_send_bytes(b->pb.mine, b->buf, b->len) != 0)
        return -1;
    return mproc_conn_recv_bytes_into(b->pb.mine, back, sizeof back, &len) == 0 && len == b->len ? 0 : -1;
}

/* A small dict's round trip as a value (msgpack), against its encoding's
 * round trip as bytes (the codec's cost is the difference). */
static void bench_values(row *r, int R)
{
    pipe_bench vb = pipe_child(value_echo_target);
    bytes_rtt bb = {pipe_child(echo_target), NULL, 0};
    if (mproc_value_encode(small_dict(), MPROC_CODEC_MSGPACK, &bb.buf, &bb.len) != 0 || bb.len > RTT_MSG) {
        fprintf(stderr, "mproc-bench: cannot encode the dict\n");
        exit(1);
    }
    measure_pair(op_value_rtt, &vb, op_value_bytes_rtt, &bb, R, r->iterations, &r->mproc_us, &r->raw_us);
    mproc_conn_send_value(vb.mine, mproc_mv_nil());
    pipe_child_end(&vb, "", 0);
    pipe_child_end(&bb.pb, "q", 1);
    mproc_free(bb.buf);
}

/* ------------------------------------------------------------ manager */

/* d["k"] = i, then d["k"]: two requests (the figure is per request). */
static int op_manager_dict(void *ctx)
{
    static int64_t i;
    mproc_mdict *d = ctx;
    mproc_mval v;
    i++;
    if (mproc_mdict_set(d, mproc_mv_str("k"), mproc_mv_int(i)) != 0 || mproc_mdict_get(d, mproc_mv_str("k"), &v) != 0)
        return -1;
    return v.type == MPROC_MV_INT && v.v.i == i ? 0 : -1;
}

/* The transport's bound: two request/reply round trips on a connection. */
static int op_rtt_twice(void *ctx) { return op_mproc_rtt(ctx) || op_mproc_rtt(ctx) ? -1 : 0; }

static int op_mproc_big(void *ctx)
{
    pipe_bench *b = ctx;
    void *buf;
    size_t len;
    if (mproc_conn_recv_bytes(b->mine, &buf, &len, MPROC_NOLIMIT) != 0 || len != BIG_MSG)
        return -1;
    mproc_free(buf);
    return 0;
}

/* The raw figures: the same through the OS's bare channel (no framing). */
static int op_raw_rtt(void *ctx) { return raw_peer_rtt(ctx); }

static int op_raw_big(void *ctx)
{
    static char buf[BIG_MSG];
    return raw_peer_read(ctx, buf, BIG_MSG);
}

/* --------------------------------------------------------------- queues */

#define QBATCH 64 /* messages per put_many / get_many in the batch rows */

/* Puts n messages of sz bytes into q, one by one (batch 1) or with
 * put_many in batches of `batch` (the last one may be shorter). */
static int put_messages(mproc_queue *q, long n, size_t sz, long batch)
{
    char *b = calloc(1, sz ? sz : 1);
    const void *bufs[QBATCH];
    size_t lens[QBATCH];
    int rc = b ? 0 : 1;
    for (int i = 0; i < QBATCH; i++) {
        bufs[i] = b;
        lens[i] = sz;
    }
    for (long i = 0; rc == 0 && i < n;) {
        long k = n - i < batch ? n - i : batch;
        rc = k == 1 ? mproc_queue_put(q, b, sz, MPROC_FOREVER)
                    : mproc_queue_put_many(q, bufs, lens, (size_t)k, MPROC_FOREVER);
        i += k;
    }
    free(b);
    return rc;
}

/* How the consumer takes its messages. */
typedef enum { Q_GET, Q_GET_INTO, Q_GET_MANY } qget_mode;

/* Takes exactly n messages of sz bytes from q: get (a buffer each),
 * get_into (a stack buffer; sz <= 4 KiB) or get_many (up to QBATCH at a
 * time, never more than the n still due). 0 on success. */
static int get_messages(mproc_queue *q, long n, size_t sz, qget_mode mode)
{
    char into[4096];
    size_t lens[QBATCH], len, count;
    void *buf;
    for (long i = 0; i < n;) {
        switch (mode) {
        case Q_GET:
            if (mproc_queue_get(q, &buf, &len, MPROC_FOREVER) != 0 || len != sz)
                return -1;
            mproc_free(buf);
            i++;
            break;
        case Q_GET_INTO:
            if (mproc_queue_get_into(q, into, sizeof into, &len, MPROC_FOREVER) != 0 || len != sz)
                return -1;
            i++;
            break;
        case Q_GET_MANY: {
            size_t want = n - i < QBATCH ? (size_t)(n - i) : QBATCH;
            if (mproc_queue_get_many(q, want, 0, &buf, lens, &count, MPROC_FOREVER) != 0 || count == 0 ||
                count > want)
                return -1;
            for (size_t k = 0; k < count; k++)
                if (lens[k] != sz)
                    return -1;
            mproc_free(buf);
            i += (long)count;
            break;
        }
        }
    }
    return 0;
}

/* args: queue, go event, n, sz, batch. Waits for go, then puts n
 * messages of sz bytes (put_many in batches when batch > 1). */
static int queue_producer(const mproc_args *a)
{
    mproc_event_wait(mproc_args_obj(a, 1), MPROC_FOREVER);
    return put_messages(mproc_args_obj(a, 0), (long)mproc_args_int(a, 2), (size_t)mproc_args_int(a, 3),
                        (long)mproc_args_int(a, 4));
}

/* args: queue, go event, n, sz, get mode, done semaphore. Waits for go,
 * takes n messages, releases done. */
static int queue_consumer(const mproc_args *a)
{
    mproc_event_wait(mproc_args_obj(a, 1), MPROC_FOREVER);
    int rc = get_messages(mproc_args_obj(a, 0), (long)mproc_args_int(a, 2), (size_t)mproc_args_int(a, 3),
                          (qget_mode)mproc_args_int(a, 4));
    mproc_sem_release(mproc_args_obj(a, 5));
    return rc ? 1 : 0;
}

static mproc_process *start_child(mproc_target fn, const mproc_args *a)
{
    mproc_process *p = mproc_process_new(fn, a, NULL, NULL);
    if (!p || mproc_process_start(p) != 0) {
        fprintf(stderr, "mproc-bench: cannot start a queue child\n");
        exit(1);
    }
    return p;
}

static void join_ok(mproc_process *p)
{
    int code = -1;
    mproc_process_join(p, MPROC_FOREVER);
    mproc_process_exitcode(p, &code);
    mproc_process_free(p);
    if (code != 0) {
        fprintf(stderr, "mproc-bench: a queue child failed\n");
        exit(1);
    }
}

/* nprod producer and ncons consumer processes on one queue, n messages of
 * sz bytes in all (rounded to a multiple of both); the parent itself is
 * the consumer when ncons is 0. The figure is the total time over the
 * total number of messages, in microseconds, the children's start
 * excluded (they wait for `go`; the clock stops when every consumer has
 * its share). */
static double run_queue(size_t sz, long n, int nprod, int ncons, long batch, qget_mode mode)
{
    int cons = ncons ? ncons : 1;
    long per_p = n / nprod > 0 ? n / nprod : 1;
    long total = per_p * nprod, per_c = total / cons;
    if (per_c * cons != total) {
        fprintf(stderr, "mproc-bench: %ld messages do not split between %d consumers\n", total, cons);
        exit(1);
    }
    mproc_queue *q = mproc_queue_new(0, NULL);
    mproc_event *go = mproc_event_new(NULL);
    mproc_sem *done = mproc_sem_new(0, 0, NULL);
    mproc_args *pa = mproc_args_new(), *ca = mproc_args_new();
    if (!q || !go || !done || !pa || !ca)
        exit(1);
    mproc_args_add_obj(pa, q);
    mproc_args_add_obj(pa, go);
    mproc_args_add_int(pa, per_p);
    mproc_args_add_int(pa, (int64_t)sz);
    mproc_args_add_int(pa, batch);
    mproc_args_add_obj(ca, q);
    mproc_args_add_obj(ca, go);
    mproc_args_add_int(ca, per_c);
    mproc_args_add_int(ca, (int64_t)sz);
    mproc_args_add_int(ca, (int64_t)mode);
    mproc_args_add_obj(ca, done);
    mproc_process *ps[16];
    int np = 0;
    for (int i = 0; i < nprod; i++)
        ps[np++] = start_child(queue_producer, pa);
    for (int i = 0; i < ncons; i++)
        ps[np++] = start_child(queue_consumer, ca);
    double t0 = bench_now();
    mproc_event_set(go);
    if (ncons == 0 && get_messages(q, total, sz, mode) != 0) {
        fprintf(stderr, "mproc-bench: a queue get failed\n");
        exit(1);
    }
    for (int i = 0; i < ncons; i++)
        mproc_sem_acquire(done, MPROC_FOREVER);
    double t = bench_now() - t0;
    for (int i = 0; i < np; i++)
        join_ok(ps[i]);
    mproc_args_free(pa);
    mproc_args_free(ca);
    mproc_sem_free(done);
    mproc_event_free(go);
    mproc_queue_free(q);
    return t / (double)total * 1e6;
}

/* The rows' variants, as median_run takes them: one producer child and
 * the parent consuming; 4 producers + 4 consumers. */
static double run_mproc_queue(size_t sz, long n) { return run_queue(sz, n, 1, 0, 1, Q_GET); }
static double run_queue_get_into(size_t sz, long n) { return run_queue(sz, n, 1, 0, 1, Q_GET_INTO); }
static double run_queue_batch(size_t sz, long n) { return run_queue(sz, n, 1, 0, QBATCH, Q_GET_MANY); }
static double run_queue_4p4c_single(size_t sz, long n) { return run_queue(sz, n, 4, 4, 1, Q_GET); }
static double run_queue_4p4c_batch(size_t sz, long n) { return run_queue(sz, n, 4, 4, QBATCH, Q_GET_MANY); }

static double median_run(double (*run)(size_t, long), size_t sz, long n, int repeats)
{
    double samples[32];
    if (run_size != 2) /* a smoke run only shows that it works */
        run(sz, n / 10 + 1); /* warm-up */
    for (int r = 0; r < repeats; r++)
        samples[r] = run(sz, n);
    return median_of(samples, repeats);
}

/* An mproc row and its raw figure in turn, repeat by repeat, each the
 * median of its own: on a VM whose speed changes from one second to the
 * next (the raw ring's is bimodal: whether its two processes share a CPU)
 * both then come from the same stretch of time. */
static void median_pair(double (*mine)(size_t, long), double (*raw)(size_t, long), size_t sz, long n, int repeats,
                        double *mine_us, double *raw_us)
{
    double a[32], b[32];
    if (run_size != 2) { /* warm-up */
        raw(sz, n / 10 + 1);
        mine(sz, n / 10 + 1);
    }
    for (int r = 0; r < repeats; r++) {
        b[r] = raw(sz, n);
        a[r] = mine(sz, n);
    }
    *mine_us = median_of(a, repeats);
    *raw_us = median_of(b, repeats);
}

/* ------------------------------------------------------------- python */

static double json_row(const char *json, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\"%s\": {\"median_us\": ", name);
    const char *p = strstr(json, key);
    return p ? atof(p + strlen(key)) : 0.0;
}

static void run_python(const char *python, const char *script, int quick, row *rows, size_t n)
{
    char cmd[4096], buf[8192];
    snprintf(cmd, sizeof cmd, "%s \"%s\" %s", python, script, quick ? "--quick" : "");
    if (raw_capture(cmd, buf, sizeof buf) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        rows[i].py_us = json_row(buf, rows[i].name);
}

/* ---------------------------------------------------------------- plot */

/* The ratios as horizontal bars on a log scale, two per operation:
 * mproc / raw OS (the cost of the library over the bare system call) and
 * Python / mproc (how much faster than multiprocessing). SVG by hand: no
 * dependency. */
static void row_ratios(const row *r, double out[2])
{
    int m = r->mproc_us > 0;
    out[0] = m && r->raw_us > 0 ? r->mproc_us / r->raw_us : 0;
    out[1] = m && r->py_us > 0 ? r->py_us / r->mproc_us : 0;
}

static int write_svg(const char *path, const row *rows, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    double lo = 1.0, hi = 1.0;
    for (size_t i = 0; i < n; i++) {
        double r[2];
        row_ratios(&rows[i], r);
        for (int k = 0; k < 2; k++)
            if (r[k] > 0) {
                lo = r[k] < lo ? r[k] : lo;
                hi = r[k] > hi ? r[k] : hi;
            }
    }
    int d0 = (int)floor(log10(lo)), d1 = (int)ceil(log10(hi));
    if (d1 == d0)
        d1++;
    const int left = 290, width = 560, bar = 11, rowh = 2 * bar + 10, top = 60;
    int height = top + (int)n * rowh + 50;
    double span = (double)(d1 - d0);
#define XPOS(v) (left + (log10(v) - d0) / span * width)
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", left + width + 30, height);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"15\">mproc-bench %s (%s): ratios, log scale</text>\n",
            mproc_version(), mproc_backend_name());
    fprintf(f, "<rect x=\"10\" y=\"32\" width=\"12\" height=\"10\" fill=\"#4878a8\"/>"
               "<text x=\"27\" y=\"41\">mproc / raw OS (lower is better)</text>\n");
    fprintf(f, "<rect x=\"260\" y=\"32\" width=\"12\" height=\"10\" fill=\"#e08030\"/>"
               "<text x=\"277\" y=\"41\">Python / mproc (higher: mproc is faster)</text>\n");
    for (int d = d0; d <= d1; d++) {
        double x = XPOS(pow(10, d));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>\n", x, top - 5, x,
                height - 40, d == 0 ? "black" : "#ccc");
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%gx</text>\n", x, height - 25, pow(10, d));
    }
    for (size_t i = 0; i < n; i++) {
        int y = top + (int)i * rowh;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 8, y + bar + 4,
                rows[i].label);
        double r[2];
        row_ratios(&rows[i], r);
        const char *color[2] = {"#4878a8", "#e08030"};
        for (int k = 0; k < 2; k++) {
            if (r[k] <= 0)
                continue;
            double x0 = XPOS(1.0), x1 = XPOS(r[k]);
            fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                       "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%.2fx</text>\n",
                    x0 < x1 ? x0 : x1, y + k * bar, fabs(x1 - x0) < 1 ? 1 : fabs(x1 - x0), bar - 1, color[k],
                    (x0 > x1 ? x0 : x1) + 3, y + k * bar + 9, r[k]);
        }
    }
#undef XPOS
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- main */

static void fmt_time(char *buf, size_t n, double us)
{
    if (us < 1.0)
        snprintf(buf, n, "%.1f ns", us * 1000.0);
    else
        snprintf(buf, n, "%.1f us", us);
}

/* Iterations for a row: the full run's, --quick's, or --smoke's (a few,
 * just to show that every operation works). */
static int iters(int full, int quick)
{
    if (run_size == 2)
        return quick / 100 > 2 ? quick / 100 : 2;
    return run_size == 1 ? quick : full;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--quick | --smoke] [--json] [--plot FILE.svg] [--python PATH | --no-python] "
                    "[--script PATH]\n", argv0);
}

/* The pipe rows (and the Manager's bound): a child echoes 64 B messages /
 * streams 1 MiB ones, through mproc and through the raw channel. */
static void bench_pipes(row *rtt, row *big, int R)
{
    pipe_bench pb = pipe_child(echo_target);
    raw_peer *rp = raw_peer_start(RAW_ECHO, 0, 0);
    if (!rp)
        exit(1);
    measure_pair(op_mproc_rtt, &pb, op_raw_rtt, rp, R, rtt->iterations, &rtt->mproc_us, &rtt->raw_us);
    pipe_child_end(&pb, "q", 1);
    raw_peer_end(rp);
    uint64_t nbig = 1 + (uint64_t)R * (uint64_t)big->iterations, zero = 0; /* warm-up + samples */
    pb = pipe_child(stream_target);
    mproc_conn_send_bytes(pb.mine, &nbig, sizeof nbig);
    if (!(rp = raw_peer_start(RAW_STREAM, nbig, BIG_MSG)))
        exit(1);
    measure_pair(op_mproc_big, &pb, op_raw_big, rp, R, big->iterations, &big->mproc_us, &big->raw_us);
    pipe_child_end(&pb, &zero, sizeof zero);
    raw_peer_end(rp);
}

/* Manager: dict requests against the bound of their transport, a
 * request/reply on an mproc connection to a child (same run). */
static void bench_manager(row *mr, int R)
{
    int merr = 0;
    mproc_manager *mgr = mproc_manager_start(NULL, &merr);
    mproc_mdict *md = mgr ? mproc_manager_dict(mgr, &merr) : NULL;
    if (!md) {
        fprintf(stderr, "mproc-bench: cannot start a manager: %s\n", mproc_strerror(merr));
        exit(1);
    }
    pipe_bench pb = pipe_child(echo_target);
    measure_pair(op_manager_dict, md, op_rtt_twice, &pb, R, mr->iterations, &mr->mproc_us, &mr->raw_us);
    mr->mproc_us /= 2;
    mr->raw_us /= 2;
    pipe_child_end(&pb, "q", 1);
    mproc_mdict_free(md);
    mproc_manager_free(mgr);
}

static void print_table(const row *rows, size_t nrows)
{
    printf("mproc-bench %s (%s backend), medians of R repeats x N operations; "
           "times per operation\n\n", mproc_version(), mproc_backend_name());
    printf("%-38s %10s %10s %-20s %9s %10s %9s %3s %8s\n", "operation", "mproc", "raw OS", "(raw is)",
           "mproc/raw", "python", "py/mproc", "R", "N");
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        char m[32] = "n/a", raw[32] = "n/a", py[32] = "n/a", ratio[32] = "n/a", rawratio[32] = "n/a";
        if (r->mproc_us > 0)
            fmt_time(m, sizeof m, r->mproc_us);
        if (r->raw_us > 0)
            fmt_time(raw, sizeof raw, r->raw_us);
        if (r->py_us > 0)
            fmt_time(py, sizeof py, r->py_us);
        if (r->mproc_us > 0 && r->raw_us > 0)
            snprintf(rawratio, sizeof rawratio, "%.2fx", r->mproc_us / r->raw_us);
        if (r->mproc_us > 0 && r->py_us > 0)
            snprintf(ratio, sizeof ratio, "%.1fx", r->py_us / r->mproc_us);
        printf("%-38s %10s %10s %-20s %9s %10s %9s %3d %8d\n", r->label, m, raw, r->raw_label ? r->raw_label : "-",
               rawratio, py, ratio, r->repeats, r->iterations);
    }
}

static void print_json(const row *rows, size_t nrows)
{
    printf("{\"mproc\": \"%s\", \"backend\": \"%s\", \"rows\": [", mproc_version(), mproc_backend_name());
    for (size_t i = 0; i < nrows; i++)
        printf("%s{\"name\": \"%s\", \"mproc_us\": %.3f, \"raw_us\": %.3f, \"raw\": \"%s\", "
               "\"python_us\": %.3f, \"repeats\": %d, \"iterations\": %d}",
               i ? ", " : "", rows[i].name, rows[i].mproc_us, rows[i].raw_us,
               rows[i].raw_label ? rows[i].raw_label : "", rows[i].py_us, rows[i].repeats, rows[i].iterations);
    printf("]}\n");
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int child = raw_child_main(argc, argv);
    if (child >= 0)
        return child;
    int json = 0;
    const char *python = MPROC_BENCH_PYTHON, *script = MPROC_BENCH_PY, *plot = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--exit-now") == 0)
            return 0;
        else if (strcmp(argv[i], "--quick") == 0)
            run_size = 1;
        else if (strcmp(argv[i], "--smoke") == 0)
            run_size = 2;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--plot") == 0 && i + 1 < argc)
            plot = argv[++i];
        else if (strcmp(argv[i], "--python") == 0 && i + 1 < argc)
            python = argv[++i];
        else if (strcmp(argv[i], "--no-python") == 0)
            python = NULL;
        else if (strcmp(argv[i], "--script") == 0 && i + 1 < argc)
            script = argv[++i];
        else {
            usage(argv[0]);
            return 2;
        }
    }
    raw_self_exe(argv[0]);
    if (run_size == 2)
        python = NULL; /* a smoke run checks mproc, not Python */

    int R = run_size == 2 ? 1 : run_size == 1 ? 3 : 7, N = iters(300, 50);
    int quick = run_size != 0;
    enum {
        P_FORK, P_SPAWN, P_FORKSERVER, LOCK, VALUE_INC, PIPE_RTT, PIPE_1MIB, RING_64, RING_4K, Q_64, Q_64_PIPE,
        Q_64_INTO, Q_64_BATCH, Q_4K, Q_1MIB, Q_4P4C, Q_4P4C_BATCH, POOL_MAP, POOL_CPU, POOL_APPLY, MANAGER,
        PIPE_VALUE, NROWS
    };
    /* The queue rows' raw figure is the SPSC ring of the same message size
     * (the bound for a queue in shared memory), but at 1 MiB, where it is a
     * pipe; queue_64b_pipe repeats queue_64b's figure against a pipe (the
     * raw figure before the ring). The 4+4 rows: single calls against the
     * ring at 64 B (one producer, one consumer: the machine's bound for a
     * queue, whatever the number of processes), batches against the single
     * calls (what batching buys with 8 processes on one queue). */
    row rows[NROWS] = {
        [P_FORK] = {"process_fork", "Process start+join (fork)", 0, 0, raw_label.fork, 0, R, N},
        [P_SPAWN] = {"process_spawn", "Process start+join (spawn)", 0, 0, raw_label.spawn, 0, R, N / 5 ? N / 5 : 1},
        [P_FORKSERVER] = {"process_forkserver", "Process start+join (forkserver)", 0, 0, raw_label.fork, 0, R, N},
        [LOCK] = {"lock_uncontended", "Lock acquire+release", 0, 0, raw_label.lock, 0, R, iters(1000000, 1000000)},
        [VALUE_INC] = {"value_inc_2proc", "Value += 1 under lock, 2 processes", 0, 0, raw_label.value_inc, 0, R, 1},
        [PIPE_RTT] = {"pipe_rtt_64", "Pipe round trip, 64 B (child)", 0, 0, raw_label.conn, 0, R, iters(20000, 5000)},
        [PIPE_1MIB] = {"pipe_1mib", "Pipe 1 MiB message, one way", 0, 0, raw_label.conn, 0, R, iters(200, 50)},
        [RING_64] = {"raw_ring_64b", "Raw SPSC ring 64 B (no mproc)", 0, 0, raw_label.ring, 0, R,
                     iters(2000000, 200000)},
        [RING_4K] = {"raw_ring_4kib", "Raw SPSC ring 4 KiB (no mproc)", 0, 0, raw_label.ring, 0, R,
                     iters(200000, 20000)},
        [Q_64] = {"queue_64b", "Queue 64 B, producer -> consumer", 0, 0, raw_label.ring, 0, R, iters(2000000, 200000)},
        [Q_64_PIPE] = {"queue_64b_pipe", "Queue 64 B (same run) vs a pipe", 0, 0, raw_label.stream, 0, R,
                       iters(2000000, 200000)},
        [Q_64_INTO] = {"queue_64b_get_into", "Queue 64 B, get_into (no alloc)", 0, 0, raw_label.ring, 0, R,
                       iters(2000000, 200000)},
        [Q_64_BATCH] = {"queue_64b_batch64", "Queue 64 B, put_many/get_many x64", 0, 0, raw_label.ring, 0, R,
                        iters(2000000, 200000)},
        [Q_4K] = {"queue_4kib", "Queue 4 KiB, producer -> consumer", 0, 0, raw_label.ring, 0, R, iters(200000, 20000)},
        [Q_1MIB] = {"queue_1mib", "Queue 1 MiB, producer -> consumer", 0, 0, raw_label.stream, 0, R, iters(2000, 200)},
        [Q_4P4C] = {"queue_4p4c_single", "Queue 64 B, 4+4 processes, single", 0, 0, raw_label.ring, 0, R,
                    iters(400000, 40000)},
        [Q_4P4C_BATCH] = {"queue_4p4c_batch", "Queue 64 B, 4+4 processes, x64", 0, 0, "4+4, single calls", 0, R,
                          iters(400000, 40000)},
        [POOL_MAP] = {"pool_map_1m", "Pool(2).map, 1M int64 x*x, per item", 0, 0, "serial loop", 0, R,
                      iters(1000000, 1000000)},
        [POOL_CPU] = {"pool_cpu_20us", "Pool(2).map, ~20 us items, per item", 0, 0, "serial loop", 0, R,
                      iters(10000, 2000)},
        [POOL_APPLY] = {"pool_apply_async", "Pool(2).apply_async, trivial, per task", 0, 0, raw_label.conn, 0, R,
                        iters(100000, 20000)},
        [MANAGER] = {"manager_dict_op", "Manager dict set or get", 0, 0, "mproc conn round trip", 0, R,
                     iters(10000, 2000)},
        [PIPE_VALUE] = {"pipe_value_dict", "Pipe round trip, small dict value", 0, 0, "its bytes, send_bytes", 0, R,
                        iters(20000, 5000)},
    };
    /* fork and forkserver exist where the OS can fork (not on Windows) */
    if (raw_label.fork) {
        rows[P_FORK].mproc_us = measure(op_mproc_process, "fork", R, rows[P_FORK].iterations);
        rows[P_FORK].raw_us = measure(op_raw_fork, NULL, R, rows[P_FORK].iterations);
    }
    rows[P_SPAWN].mproc_us = measure(op_mproc_process, "spawn", R, rows[P_SPAWN].iterations);
    rows[P_SPAWN].raw_us = measure(op_raw_spawn, NULL, R, rows[P_SPAWN].iterations);
    if (raw_label.fork) {
        rows[P_FORKSERVER].mproc_us = measure(op_mproc_process, "forkserver", R, rows[P_FORKSERVER].iterations);
        rows[P_FORKSERVER].raw_us = rows[P_FORK].raw_us;
    }
    mproc_lock *lock = mproc_lock_new(NULL);
    raw_lock *raw = raw_lock_new();
    if (!lock || !raw) {
        fprintf(stderr, "mproc-bench: cannot make the locks\n");
        return 1;
    }
    measure_pair(op_mproc_lock, lock, op_raw_lock, raw, R, rows[LOCK].iterations, &rows[LOCK].mproc_us,
                 &rows[LOCK].raw_us);
    inc_per_proc = iters(500000, 100000);
    rows[VALUE_INC].mproc_us = measure_units(op_mproc_value_inc, NULL, R, 1, 2.0 * (double)inc_per_proc);
    rows[VALUE_INC].raw_us = measure_units(op_raw_value_inc, raw, R, 1, 2.0 * (double)inc_per_proc);
    rows[VALUE_INC].iterations = (int)(2 * inc_per_proc);
    mproc_lock_free(lock);
    raw_lock_free(raw);

    /* Children of the pipe and manager rows start by fork where there is
     * one (as Python's figures do), else by spawn. */
    const char *method = mproc_get_start_method();
    if (raw_label.fork)
        mproc_set_start_method("fork");
    bench_pipes(&rows[PIPE_RTT], &rows[PIPE_1MIB], R);
    bench_manager(&rows[MANAGER], R);
    bench_values(&rows[PIPE_VALUE], R);
    mproc_set_start_method(method);

    /* Queues: the raw rings (the raw figure of most queue rows), each in
     * turn with the queue at its size */
    const long n64 = rows[Q_64].iterations, n4k = rows[Q_4K].iterations;
    median_pair(run_mproc_queue, raw_ring_stream, 64, n64, R, &rows[Q_64].mproc_us, &rows[RING_64].raw_us);
    median_pair(run_mproc_queue, raw_ring_stream, 4096, n4k, R, &rows[Q_4K].mproc_us, &rows[RING_4K].raw_us);
    rows[Q_64].raw_us = rows[RING_64].raw_us;
    rows[Q_64_PIPE].mproc_us = rows[Q_64].mproc_us;
    rows[Q_64_PIPE].raw_us = median_run(raw_pipe_stream, 64, n64, R);
    rows[Q_64_INTO].mproc_us = median_run(run_queue_get_into, 64, n64, R);
    rows[Q_64_INTO].raw_us = rows[RING_64].raw_us;
    rows[Q_64_BATCH].mproc_us = median_run(run_queue_batch, 64, n64, R);
    rows[Q_64_BATCH].raw_us = rows[RING_64].raw_us;
    rows[Q_4K].raw_us = rows[RING_4K].raw_us;
    rows[Q_1MIB].mproc_us = median_run(run_mproc_queue, (size_t)1 << 20, rows[Q_1MIB].iterations, R);
    rows[Q_1MIB].raw_us = median_run(raw_pipe_stream, (size_t)1 << 20, rows[Q_1MIB].iterations, R);
    rows[Q_4P4C].mproc_us = median_run(run_queue_4p4c_single, 64, rows[Q_4P4C].iterations, R);
    rows[Q_4P4C].raw_us = rows[RING_64].raw_us;
    rows[Q_4P4C_BATCH].mproc_us = median_run(run_queue_4p4c_batch, 64, rows[Q_4P4C_BATCH].iterations, R);
    rows[Q_4P4C_BATCH].raw_us = rows[Q_4P4C].mproc_us;

    bench_pool_map((size_t)rows[POOL_MAP].iterations, R, &rows[POOL_MAP].mproc_us, &rows[POOL_MAP].raw_us);
    bench_pool_cpu((size_t)rows[POOL_CPU].iterations, 20.0, R, &rows[POOL_CPU].mproc_us, &rows[POOL_CPU].raw_us);
    rows[POOL_APPLY].mproc_us = bench_pool_apply((size_t)rows[POOL_APPLY].iterations, R);
    rows[POOL_APPLY].raw_us = rows[PIPE_RTT].raw_us; /* one round trip to a child */
    size_t nrows = sizeof rows / sizeof rows[0];
    if (python)
        run_python(python, script, quick, rows, nrows);
    if (plot && write_svg(plot, rows, nrows) != 0)
        fprintf(stderr, "mproc-bench: cannot write %s\n", plot);
    if (json)
        print_json(rows, nrows);
    else
        print_table(rows, nrows);
    return 0;
}
