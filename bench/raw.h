/* SPDX-License-Identifier: MIT */
/* raw.h - the raw OS figures of mproc-bench: for each operation, the bare
 * system calls mproc's version is measured against. One implementation per
 * backend (raw_posix.c, raw_win32.c) behind the same names, so that
 * mproc_bench.c has no OS call of its own. */
#ifndef MPROC_BENCH_RAW_H
#define MPROC_BENCH_RAW_H

#include <stddef.h>
#include <stdint.h>

#define RAW_RTT_MSG 64 /* bytes per round-trip message */

/* What each raw figure is made of on this OS, for the table. */
typedef struct raw_labels {
    const char *fork, *spawn, *lock, *value_inc, *conn, *stream, *ring;
} raw_labels;
extern const raw_labels raw_label;

double bench_now(void); /* monotonic seconds */

/* This program's path, for re-running it as a raw child. */
const char *raw_self_exe(const char *argv0);

/* Called first in main: if argv asks for one of the raw children below
 * (argv[1] == "--raw-child"), runs it and returns its exit code; else -1. */
int raw_child_main(int argc, char **argv);

/* Starts a child that exits at once and waits for it: by fork, by running
 * this program again (with --exit-now). 0 on success; raw_fork_join gives
 * -1 where there is no fork (raw_label.fork is NULL then). */
int raw_fork_join(void);
int raw_spawn_join(void);

/* A lock between processes, the primitive mproc's Lock is made of. */
typedef struct raw_lock raw_lock;
raw_lock *raw_lock_new(void);
int raw_lock_cycle(raw_lock *l); /* acquire + release */
/* Two child processes each add 1 n times to a shared int under the lock;
 * 0 when the total is right. */
int raw_value_inc(raw_lock *l, long n);
void raw_lock_free(raw_lock *l);

/* A child connected by a duplex byte channel. RAW_ECHO: it echoes
 * RAW_RTT_MSG-byte messages until the channel closes. RAW_STREAM: it
 * writes `count` messages of `size` bytes, without framing. */
typedef enum { RAW_ECHO, RAW_STREAM } raw_peer_mode;
typedef struct raw_peer raw_peer;
raw_peer *raw_peer_start(raw_peer_mode mode, uint64_t count, size_t size);
int raw_peer_rtt(raw_peer *p);                         /* one echo round trip */
int raw_peer_read(raw_peer *p, void *buf, size_t len); /* exactly len bytes */
void raw_peer_end(raw_peer *p);                        /* closes and waits */

/* n messages of sz bytes from a child through a one-way pipe, one write
 * and one full read each; microseconds per message, the child's start
 * excluded. Exits the program on failure. */
double raw_pipe_stream(size_t sz, long n);

/* n messages of sz bytes (8 to 4096) from a child through a lock-free
 * single-producer/single-consumer ring in shared memory (ring.h): the
 * physical bound for a queue. Microseconds per message, the child's start
 * excluded. Exits the program on failure. */
double raw_ring_stream(size_t sz, long n);

/* Runs a shell command line and captures up to len-1 bytes of its
 * standard output (stderr discarded), NUL-terminated; 0 when it ran and
 * exited with 0. */
int raw_capture(const char *cmd, char *buf, size_t len);

#endif
