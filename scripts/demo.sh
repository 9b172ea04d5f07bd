#!/usr/bin/env bash
# demo.sh - installs what is needed, builds mproc and runs the demo: the
# seed examples: a Process that prints "hello bob", a Pipe to a child, and a
# Pool's map and apply_async with callbacks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build-demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_TESTS=OFF -DMPROC_BUILD_BENCH=OFF >/dev/null
cmake --build build-demo --target hello pipe pool >/dev/null
echo "== examples/hello: Process(target=f, args=('bob',)) =="
./build-demo/examples/hello
echo "== examples/pipe: Pipe(); Process(target=f, args=(child_conn,)) =="
./build-demo/examples/pipe
echo "== examples/pool: Pool().map(job, range(10)), apply_async(job, (2,)), callbacks =="
./build-demo/examples/pool
