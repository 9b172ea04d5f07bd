/* SPDX-License-Identifier: MIT */
/* raw_win32.c - mproc-bench's raw OS figures on Windows: CreateProcess of
 * this program, a kernel mutex, anonymous pipes. There is no fork: every
 * raw child is this program run again with --raw-child and the handles it
 * needs inherited, their values on its command line. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raw.h"
#include "ring.h"

const raw_labels raw_label = {
    .fork = NULL,
    .spawn = "CreateProcess+wait",
    .lock = "kernel mutex",
    .value_inc = "CreateProcess+mutex",
    .conn = "anonymous pipes r/w",
    .stream = "anonymous pipe r/w",
    .ring = "SPSC ring, file map",
};

#define PIPE_BUFFER 65536 /* as mproc's own pipes (pipepair.c) */

double bench_now(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER t;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / (double)freq.QuadPart;
}

static char self_exe[MAX_PATH * 2];

const char *raw_self_exe(const char *argv0)
{
    DWORD n = GetModuleFileNameA(NULL, self_exe, sizeof self_exe);
    if (n == 0 || n >= sizeof self_exe)
        snprintf(self_exe, sizeof self_exe, "%s", argv0);
    return self_exe;
}

static unsigned long long handle_arg(HANDLE h) { return (unsigned long long)(uintptr_t)h; }
static HANDLE arg_handle(const char *s) { return (HANDLE)(uintptr_t)strtoull(s, NULL, 10); }

static int full_io(HANDLE h, void *buf, size_t len, int writing)
{
    for (size_t done = 0; done < len;) {
        DWORD want = len - done > (1u << 30) ? (1u << 30) : (DWORD)(len - done), k = 0;
        BOOL ok = writing ? WriteFile(h, (char *)buf + done, want, &k, NULL)
                          : ReadFile(h, (char *)buf + done, want, &k, NULL);
        if (!ok || k == 0)
            return -1;
        done += k;
    }
    return 0;
}

/* Runs this program with `args`, the handles in `inherit` inherited (they
 * are made inheritable for the call only). Returns the process or NULL. */
static HANDLE start_self(const char *args, HANDLE *inherit, int n)
{
    char cmd[MAX_PATH * 2 + 256];
    snprintf(cmd, sizeof cmd, "\"%s\" %s", self_exe, args);
    for (int i = 0; i < n; i++)
        SetHandleInformation(inherit[i], HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    BOOL ok = CreateProcessA(self_exe, cmd, NULL, NULL, n > 0, 0, NULL, NULL, &si, &pi);
    for (int i = 0; i < n; i++)
        SetHandleInformation(inherit[i], HANDLE_FLAG_INHERIT, 0);
    if (!ok)
        return NULL;
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

static int join(HANDLE proc)
{
    DWORD code = 1;
    int ok = proc && WaitForSingleObject(proc, INFINITE) == WAIT_OBJECT_0 && GetExitCodeProcess(proc, &code);
    if (proc)
        CloseHandle(proc);
    return ok && code == 0 ? 0 : -1;
}

/* ------------------------------------------------------------- children */

static int child_inc(HANDLE mutex, HANDLE map, long n)
{
    volatile int *v = MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(int));
    if (!v)
        return 1;
    for (long k = 0; k < n; k++) {
        if (WaitForSingleObject(mutex, INFINITE) != WAIT_OBJECT_0)
            return 1;
        (*v)++;
        ReleaseMutex(mutex);
    }
    return 0;
}

static int child_echo(HANDLE rd, HANDLE wr)
{
    char buf[RAW_RTT_MSG];
    while (full_io(rd, buf, sizeof buf, 0) == 0)
        if (full_io(wr, buf, sizeof buf, 1) != 0)
            return 1;
    return 0;
}

/* Waits for one byte on rd, then writes count messages of size bytes. */
static int child_stream(HANDLE rd, HANDLE wr, uint64_t count, size_t size)
{
    char go;
    char *buf = calloc(1, size);
    if (!buf || full_io(rd, &go, 1, 0) != 0)
        return 1;
    for (uint64_t i = 0; i < count; i++)
        if (full_io(wr, buf, size, 1) != 0)
            return 1;
    free(buf);
    return 0;
}

static void ring_yield(void) { SwitchToThread(); }

/* The ring's producer: the mapping holds the ring (ring.h). */
static int child_ring(HANDLE map, long n, size_t sz)
{
    void *mem = MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, ring_size(sz));
    if (!mem)
        return 1;
    int rc = ring_produce(mem, sz, n, ring_yield);
    UnmapViewOfFile(mem);
    return rc == 0 ? 0 : 1;
}

int raw_child_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--raw-child") != 0)
        return -1;
    if (argc == 6 && strcmp(argv[2], "inc") == 0)
        return child_inc(arg_handle(argv[3]), arg_handle(argv[4]), strtol(argv[5], NULL, 10));
    if (argc == 5 && strcmp(argv[2], "echo") == 0)
        return child_echo(arg_handle(argv[3]), arg_handle(argv[4]));
    if (argc == 7 && strcmp(argv[2], "stream") == 0)
        return child_stream(arg_handle(argv[3]), arg_handle(argv[4]), strtoull(argv[5], NULL, 10),
                            (size_t)strtoull(argv[6], NULL, 10));
    if (argc == 6 && strcmp(argv[2], "ring") == 0)
        return child_ring(arg_handle(argv[3]), strtol(argv[4], NULL, 10), (size_t)strtoull(argv[5], NULL, 10));
    fprintf(stderr, "mproc-bench: bad --raw-child arguments\n");
    return 2;
}

/* ------------------------------------------------------------ processes */

int raw_fork_join(void) { return -1; }

int raw_spawn_join(void) { return join(start_self("--exit-now", NULL, 0)); }

/* ---------------------------------------------------------------- locks */

struct raw_lock {
    HANDLE mutex, map;
    volatile int *value; /* in map, shared with raw_value_inc's children */
};

raw_lock *raw_lock_new(void)
{
    raw_lock *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->mutex = CreateMutexW(NULL, FALSE, NULL);
    l->map = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(int), NULL);
    l->value = l->map ? MapViewOfFile(l->map, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(int)) : NULL;
    if (!l->mutex || !l->value) {
        raw_lock_free(l);
        return NULL;
    }
    return l;
}

int raw_lock_cycle(raw_lock *l)
{
    if (WaitForSingleObject(l->mutex, INFINITE) != WAIT_OBJECT_0)
        return -1;
    return ReleaseMutex(l->mutex) ? 0 : -1;
}

int raw_value_inc(raw_lock *l, long n)
{
    char args[128];
    HANDLE inherit[2] = {l->mutex, l->map}, procs[2];
    snprintf(args, sizeof args, "--raw-child inc %llu %llu %ld", handle_arg(l->mutex), handle_arg(l->map), n);
    *l->value = 0;
    for (int i = 0; i < 2; i++)
        procs[i] = start_self(args, inherit, 2);
    int rc = 0;
    for (int i = 0; i < 2; i++)
        rc |= join(procs[i]);
    return rc == 0 && *l->value == 2 * n ? 0 : -1;
}

void raw_lock_free(raw_lock *l)
{
    if (!l)
        return;
    if (l->value)
        UnmapViewOfFile((void *)l->value);
    if (l->map)
        CloseHandle(l->map);
    if (l->mutex)
        CloseHandle(l->mutex);
    free(l);
}

/* ---------------------------------------------------------------- peers */

struct raw_peer {
    HANDLE to, from, proc; /* to the child, from the child */
};

/* Two pipes and a child holding their other ends, run with `mode_args`
 * after the two handle values. */
static int peer_open(raw_peer *p, const char *mode, const char *extra)
{
    HANDLE child_rd, child_wr;
    if (!CreatePipe(&child_rd, &p->to, NULL, PIPE_BUFFER))
        return -1;
    if (!CreatePipe(&p->from, &child_wr, NULL, PIPE_BUFFER)) {
        CloseHandle(child_rd);
        CloseHandle(p->to);
        return -1;
    }
    char args[256];
    snprintf(args, sizeof args, "--raw-child %s %llu %llu%s", mode, handle_arg(child_rd), handle_arg(child_wr),
             extra);
    HANDLE inherit[2] = {child_rd, child_wr};
    p->proc = start_self(args, inherit, 2);
    CloseHandle(child_rd);
    CloseHandle(child_wr);
    if (!p->proc) {
        CloseHandle(p->to);
        CloseHandle(p->from);
        return -1;
    }
    return 0;
}

static void peer_close(raw_peer *p, int *ok)
{
    CloseHandle(p->to);
    CloseHandle(p->from);
    if (join(p->proc) != 0 && ok)
        *ok = 0;
}

raw_peer *raw_peer_start(raw_peer_mode mode, uint64_t count, size_t size)
{
    raw_peer *p = malloc(sizeof *p);
    char extra[64] = "";
    if (mode == RAW_STREAM)
        snprintf(extra, sizeof extra, " %llu %llu", (unsigned long long)count, (unsigned long long)size);
    if (!p || peer_open(p, mode == RAW_ECHO ? "echo" : "stream", extra) != 0) {
        free(p);
        return NULL;
    }
    char go = 1;
    if (mode == RAW_STREAM && full_io(p->to, &go, 1, 1) != 0) {
        raw_peer_end(p);
        return NULL;
    }
    return p;
}

int raw_peer_rtt(raw_peer *p)
{
    char msg[RAW_RTT_MSG] = {0};
    return full_io(p->to, msg, sizeof msg, 1) == 0 && full_io(p->from, msg, sizeof msg, 0) == 0 ? 0 : -1;
}

int raw_peer_read(raw_peer *p, void *buf, size_t len) { return full_io(p->from, buf, len, 0); }

void raw_peer_end(raw_peer *p)
{
    peer_close(p, NULL);
    free(p);
}

double raw_pipe_stream(size_t sz, long n)
{
    raw_peer p;
    char extra[64], go = 1;
    snprintf(extra, sizeof extra, " %ld %llu", n, (unsigned long long)sz);
    char *b = calloc(1, sz);
    if (!b || peer_open(&p, "stream", extra) != 0)
        exit(1);
    double t0 = bench_now();
    if (full_io(p.to, &go, 1, 1) != 0)
        exit(1);
    for (long i = 0; i < n; i++)
        if (full_io(p.from, b, sz, 0) != 0)
            exit(1);
    double t = bench_now() - t0;
    int ok = 1;
    peer_close(&p, &ok);
    free(b);
    if (!ok)
        exit(1);
    return t / (double)n * 1e6;
}

double raw_ring_stream(size_t sz, long n)
{
    size_t len = ring_size(sz);
    HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)len, NULL);
    void *mem = map ? MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, len) : NULL;
    if (!mem)
        exit(1);
    ring_init(mem);
    char args[128];
    snprintf(args, sizeof args, "--raw-child ring %llu %ld %llu", handle_arg(map), n, (unsigned long long)sz);
    HANDLE proc = start_self(args, &map, 1);
    if (!proc)
        exit(1);
    double us = ring_consume(mem, sz, n, ring_yield);
    if (join(proc) != 0 || us < 0) {
        fprintf(stderr, "mproc-bench: the raw ring failed\n");
        exit(1);
    }
    UnmapViewOfFile(mem);
    CloseHandle(map);
    return us;
}

int raw_capture(const char *cmd, char *buf, size_t len)
{
    char line[4096];
    snprintf(line, sizeof line, "%s 2>NUL", cmd);
    FILE *f = _popen(line, "r");
    if (!f)
        return -1;
    size_t got = fread(buf, 1, len - 1, f);
    buf[got] = '\0';
    return _pclose(f) == 0 ? 0 : -1;
}
