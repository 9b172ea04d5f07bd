#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh - installs what is needed (scripts/deps.sh), builds mproc and walks
# through the seed tutorials' scenarios, one example program each
# (examples/*.c; each file's header quotes the Python it mirrors).
#   MPROC_START_METHOD=spawn bash scripts/demo.sh   # any start method
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build-demo

bash scripts/deps.sh

bar() { # bar DONE TOTAL LABEL: a one-line progress bar
  local done=$1 total=$2 width=30 fill
  fill=$((total > 0 ? done * width / total : width))
  printf '\r  [%-*s] %3d/%d %s' "$width" "$(printf '%*s' "$fill" '' | tr ' ' '#')" "$done" "$total" "$3"
}

echo "== building mproc and the examples in $BUILD/ =="
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_TESTS=OFF \
  -DMPROC_BUILD_BENCH=OFF >"$BUILD.log" 2>&1 || { cat "$BUILD.log"; exit 1; }
# ninja prints "[done/total] ..." per step: turn that into the bar
if ! NINJA_STATUS='[%f/%t] ' cmake --build "$BUILD" --target examples 2>&1 | tee -a "$BUILD.log" |
  while IFS= read -r line; do
    if [[ $line =~ ^\[([0-9]+)/([0-9]+)\] ]]; then bar "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "compiled"; fi
  done; then
  echo; tail -30 "$BUILD.log"; exit 1
fi
echo
echo "  start method: ${MPROC_START_METHOD:-the platform default}"

SCENARIOS=(
  "hello|Process(target=f, args=('bob',)); start(); join()"
  "subclass|class MyProcess(Process): def run(self) -- a struct with its run function"
  "pool|Pool().map(job, range(10)), apply_async(job, (2,)).get(), callbacks"
  "pool_imap|Pool(2).imap(job, range(10), chunksize=3), imap_unordered"
  "queue|two processes put their results on a Queue; the parent gets both"
  "pipe|parent_conn, child_conn = Pipe(); the child sends [42, None, 'hello']"
  "joinable|JoinableQueue: consumers call task_done(), the producer join()s"
  "value_array|Value('i', 0), Value('d', 3.14), Array('i', [1, 2, 3, 4]) shared with a child"
  "lock|a Lock around a shared Value, then around printing (10 processes)"
  "semaphore|Semaphore(2): at most two of five processes inside at once"
  "event|the traffic light: cars wait() on an Event the daemonic light set()s"
  "barrier|Barrier(3, action=...): nobody passes until all three arrive"
  "manager|Manager().dict() and .list() changed by a child and by Pool tasks"
  "signals|terminate() / kill() exit codes; wait() on sentinels instead of SIGCHLD"
  "as_completed|concurrent.futures: as_completed(), wait(FIRST_COMPLETED / FIRST_EXCEPTION / ALL_COMPLETED), Future.cancel()"
  "shareable_list|ShareableList([1, 2.5, True, None, 'hello', b'bytes']) changed by a child; SharedMemoryManager"
)
n=${#SCENARIOS[@]}
i=0
for s in "${SCENARIOS[@]}"; do
  i=$((i + 1))
  name=${s%%|*}
  echo
  echo "== [$i/$n] examples/$name.c: ${s#*|} =="
  t0=$(date +%s.%N)
  "./$BUILD/examples/$name" | sed 's/^/  | /'
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "  (%.2f s)\n", b - a }'
done
echo
echo "== all $n scenarios ran =="
