#!/usr/bin/env python3
"""py_bench.py - Python multiprocessing's figures for mproc-bench.

Prints one JSON object: {"python": version, "rows": {name: {"median_us": ..,
"repeats": .., "iterations": ..}}}. Row names match mproc-bench's.
"""
import json
import multiprocessing as mp
import statistics
import sys
import time


def noop():
    pass


def start_join(ctx, iterations):
    t0 = time.perf_counter()
    for _ in range(iterations):
        p = ctx.Process(target=noop)
        p.start()
        p.join()
    return (time.perf_counter() - t0) / iterations * 1e6


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
        ctx = mp.get_context(method)
        start_join(ctx, 1)  # warm-up (starts the forkserver)
        samples = [start_join(ctx, iterations) for _ in range(repeats)]
        rows[name] = {"median_us": statistics.median(samples), "repeats": repeats,
                      "iterations": iterations}
    print(json.dumps({"python": sys.version.split()[0], "rows": rows}))


if __name__ == "__main__":
    main()
