#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""py_bench.py - Python multiprocessing's figures for mproc-bench.

Prints one JSON object: {"python": version, "rows": {name: {"median_us": ..,
"repeats": .., "iterations": ..}}}. Row names match mproc-bench's.
"""
import json
import multiprocessing as mp
import statistics
import sys
import time

# Children start by fork where the OS has it (as mproc-bench's do), else by
# spawn (Windows).
METHOD = "fork" if "fork" in mp.get_all_start_methods() else "spawn"


def noop():
    pass


def start_join(ctx, iterations):
    t0 = time.perf_counter()
    for _ in range(iterations):
        p = ctx.Process(target=noop)
        p.start()
        p.join()
    return (time.perf_counter() - t0) / iterations * 1e6


def lock_loop(iterations):
    lock = mp.Lock()
    t0 = time.perf_counter()
    for _ in range(iterations):
        lock.acquire()
        lock.release()
    return (time.perf_counter() - t0) / iterations * 1e6


def add_under_lock(value, n):
    for _ in range(n):
        with value.get_lock():
            value.value += 1


def value_inc(iterations):
    """Two processes, iterations increments in all: time per increment."""
    ctx = mp.get_context(METHOD)
    v = ctx.Value("i", 0)
    half = iterations // 2
    t0 = time.perf_counter()
    ps = [ctx.Process(target=add_under_lock, args=(v, half)) for _ in range(2)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    assert v.value == 2 * half
    return (time.perf_counter() - t0) / (2 * half) * 1e6


def pipe_echo(conn):
    while True:
        msg = conn.recv_bytes()
        if len(msg) == 1:
            break
        conn.send_bytes(msg)


def pipe_rtt(iterations):
    """Pipe() round trip of 64 bytes to a forked child: time per round trip."""
    ctx = mp.get_context(METHOD)
    a, b = ctx.Pipe()
    p = ctx.Process(target=pipe_echo, args=(b,))
    p.start()
    msg = bytes(64)
    t0 = time.perf_counter()
    for _ in range(iterations):
        a.send_bytes(msg)
        a.recv_bytes()
    dt = time.perf_counter() - t0
    a.send_bytes(b"q")
    p.join()
    return dt / iterations * 1e6


SMALL_DICT = {"id": 7, "name": "widget", "price": 9.99, "tags": ["a", "b"], "ok": True}


def value_echo(conn):
    while True:
        obj = conn.recv()
        if obj is None:
            break
        conn.send(obj)


def pipe_value_dict(iterations):
    """Connection.send/recv round trip of a small dict to a forked child."""
    ctx = mp.get_context(METHOD)
    a, b = ctx.Pipe()
    p = ctx.Process(target=value_echo, args=(b,))
    p.start()
    t0 = time.perf_counter()
    for _ in range(iterations):
        a.send(SMALL_DICT)
        a.recv()
    dt = time.perf_counter() - t0
    a.send(None)
    p.join()
    return dt / iterations * 1e6


def pipe_stream(conn, count):
    big = bytes(1 << 20)
    for _ in range(count):
        conn.send_bytes(big)


def pipe_1mib(iterations):
    """1 MiB messages from a forked child through Pipe(): time per message."""
    ctx = mp.get_context(METHOD)
    a, b = ctx.Pipe()
    p = ctx.Process(target=pipe_stream, args=(b, iterations))
    p.start()
    t0 = time.perf_counter()
    for _ in range(iterations):
        a.recv_bytes()
    dt = time.perf_counter() - t0
    p.join()
    return dt / iterations * 1e6


def queue_producer(q, go, n, size):
    b = bytes(size)
    go.wait()
    for _ in range(n):
        q.put(b)


def queue_spsc(size, iterations):
    """A producer process puts iterations messages of size bytes, we get
    them: time per message, the start excluded (as mproc-bench does)."""
    ctx = mp.get_context(METHOD)
    q, go = ctx.Queue(), ctx.Event()
    p = ctx.Process(target=queue_producer, args=(q, go, iterations, size))
    p.start()
    t0 = time.perf_counter()
    go.set()
    for _ in range(iterations):
        assert len(q.get()) == size
    t = time.perf_counter() - t0
    p.join()
    return t / iterations * 1e6


def queue_consumer(q, go, done, n, size):
    go.wait()
    for _ in range(n):
        assert len(q.get()) == size
    done.release()


def queue_4p4c(size, iterations):
    """4 producer and 4 consumer processes on one Queue, iterations
    messages in all: total time per message, the starts excluded (the
    clock stops when every consumer has its share), as mproc-bench's
    queue_4p4c_single."""
    ctx = mp.get_context(METHOD)
    q, go, done = ctx.Queue(), ctx.Event(), ctx.Semaphore(0)
    per = max(iterations // 4, 1)
    ps = [ctx.Process(target=queue_producer, args=(q, go, per, size)) for _ in range(4)]
    ps += [ctx.Process(target=queue_consumer, args=(q, go, done, per, size)) for _ in range(4)]
    for p in ps:
        p.start()
    t0 = time.perf_counter()
    go.set()
    for _ in range(4):
        done.acquire()
    t = time.perf_counter() - t0
    for p in ps:
        p.join()
    return t / (4 * per) * 1e6


def square(x):
    return x * x


def busy(x):
    """About 20 us of work, as mproc-bench's items."""
    end = time.perf_counter() + 20e-6
    while time.perf_counter() < end:
        x += 1
    return x


def trivial():
    return None


def pool_map(fn, n, chunksize=None):
    """Pool(2).map over n items: time per item."""
    with mp.get_context(METHOD).Pool(2) as pool:
        pool.map(fn, range(max(n // 10, 1)))
        t0 = time.perf_counter()
        pool.map(fn, range(n), chunksize)
        dt = time.perf_counter() - t0
    return dt / n * 1e6


def pool_apply(n):
    """n apply_async of a trivial function, then every get: time per task."""
    with mp.get_context(METHOD).Pool(2) as pool:
        [r.get() for r in [pool.apply_async(trivial) for _ in range(max(n // 10, 1))]]
        t0 = time.perf_counter()
        rs = [pool.apply_async(trivial) for _ in range(n)]
        for r in rs:
            r.get()
        dt = time.perf_counter() - t0
    return dt / n * 1e6
def manager_dict(iterations):
    """Manager().dict(): d["k"] = i then d["k"]: time per operation."""
    with mp.get_context(METHOD).Manager() as m:
        d = m.dict()
        t0 = time.perf_counter()
        for i in range(iterations):
            d["k"] = i
            assert d["k"] == i
        dt = time.perf_counter() - t0
    return dt / (2 * iterations) * 1e6


def main():
    quick = "--quick" in sys.argv
    repeats = 3 if quick else 5
    plan = {
        "process_fork": ("fork", 20 if quick else 100),
        "process_spawn": ("spawn", 5 if quick else 20),
        "process_forkserver": ("forkserver", 20 if quick else 100),
    }
    rows = {}
    for name, (method, iterations) in plan.items():
        if method not in mp.get_all_start_methods():
            continue
        ctx = mp.get_context(method)
        start_join(ctx, 1)  # warm-up (starts the forkserver)
        samples = [start_join(ctx, iterations) for _ in range(repeats)]
        rows[name] = {"median_us": statistics.median(samples), "repeats": repeats,
                      "iterations": iterations}
    for name, fn, iterations in (("lock_uncontended", lock_loop, 200000 if quick else 1000000),
                                 ("value_inc_2proc", value_inc, 100000 if quick else 400000),
                                 ("pipe_rtt_64", pipe_rtt, 5000 if quick else 20000),
                                 ("pipe_1mib", pipe_1mib, 50 if quick else 200),
                                 ("manager_dict_op", manager_dict, 2000 if quick else 10000),
                                 ("pipe_value_dict", pipe_value_dict, 5000 if quick else 20000)):
        fn(min(iterations, 1000))
        samples = [fn(iterations) for _ in range(repeats)]
        rows[name] = {"median_us": statistics.median(samples), "repeats": repeats,
                      "iterations": iterations}
    # Queue rows. Python has no get_into, put_many or get_many on
    # multiprocessing.Queue (faster-fifo has the batch calls, and is not
    # used here): queue_64b_get_into, queue_64b_batch64 and queue_4p4c_batch
    # have no Python figure.
    for name, fn, size, iterations in (("queue_64b", queue_spsc, 64, 20000 if quick else 200000),
                                       ("queue_4kib", queue_spsc, 4096, 10000 if quick else 100000),
                                       ("queue_1mib", queue_spsc, 1 << 20, 100 if quick else 500),
                                       ("queue_4p4c_single", queue_4p4c, 64, 8000 if quick else 80000)):
        fn(size, max(iterations // 10, 1))
        samples = [fn(size, iterations) for _ in range(repeats)]
        rows[name] = {"median_us": statistics.median(samples), "repeats": repeats,
                      "iterations": iterations}
    for name, fn, iterations in (("pool_map_1m", lambda n: pool_map(square, n), 1000000),
                                 ("pool_cpu_20us", lambda n: pool_map(busy, n), 2000 if quick else 10000),
                                 ("pool_apply_async", pool_apply, 5000 if quick else 20000)):
        samples = [fn(iterations) for _ in range(repeats)]
        rows[name] = {"median_us": statistics.median(samples), "repeats": repeats,
                      "iterations": iterations}
    print(json.dumps({"python": sys.version.split()[0], "rows": rows}))


if __name__ == "__main__":
    main()
