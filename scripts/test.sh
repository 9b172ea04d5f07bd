#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh - installs what is needed, then builds and runs every ctest suite in
# every configuration: native (-Werror), MPROC_PORTABLE=ON (the macOS code
# paths), ASan+UBSan (clang), TSan (gcc), and the Windows backend cross-built with
# mingw-w64 and run under wine. Exits non-zero on any failure. The builds
# run ahead in the background (at nice 19) while earlier configurations'
# tests run; each part's time is printed as it ends and in the summary.
#   --quick       the native configuration (and its layer and symbol checks) and the
#                 MPI pool on MPICH only
#   --fuzz [SECS] only the libFuzzer targets of tests/fuzz, SECS each (60)
#   --soak        only the soak test (random kills under load, 2 minutes)
#   --valgrind    only the POSIX suites under valgrind (memcheck)
#   --package     only the package test (scripts/package-test.sh: Debian
#                 packages, consumers from outside the tree, the API reference)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=0
SOAK=0
VALGRIND=0
PACKAGE=0
FUZZ=0
FUZZ_SECS=60
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --soak) SOAK=1 ;;
    --valgrind) VALGRIND=1 ;;
    --package) PACKAGE=1 ;;
    --fuzz)
      FUZZ=1
      if [ $# -gt 1 ] && [[ "$2" =~ ^[0-9]+$ ]]; then FUZZ_SECS=$2; shift; fi ;;
    *) echo "usage: $0 [--quick | --fuzz [SECS] | --soak | --valgrind | --package]" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/deps.sh --test || { echo "dependency installation failed" >&2; exit 1; }

failures=()
passed=0
step() { echo; echo "=== $* ==="; }
# Seconds each part took, printed as it ends and again in the summary.
times=()
# took LABEL SECONDS [NOTE]
took() { times+=("$(printf '%-40s %4d s%s' "$1" "$2" "${3:+ ($3)}")"); echo "[time] $1: $2 s${3:+ ($3)}"; }

# Fuzzing (clang's libFuzzer with ASan+UBSan): each target starts from its
# checked-in seed corpus (copied: the run's finds stay in the build tree)
# and runs for FUZZ_SECS; a crash, leak or sanitizer report fails the run.
if [ "$FUZZ" -eq 1 ]; then
  dir="$ROOT/build-fuzz"
  step "fuzz: configure and build"
  if ! cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_C_COMPILER=clang-19 -DMPROC_FUZZ=ON \
         -DMPROC_SANITIZE=fuzzer-no-link,address,undefined -DMPROC_BUILD_TESTS=OFF \
         -DMPROC_BUILD_EXAMPLES=OFF -DMPROC_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug \
         -DMPROC_WERROR=ON >"$dir.log" 2>&1 || ! cmake --build "$dir" >>"$dir.log" 2>&1; then
    tail -50 "$dir.log"
    exit 1
  fi
  rc=0
  for t in frame auth args manager value; do
    step "fuzz: $t, ${FUZZ_SECS}s"
    work="$dir/corpus-$t"
    mkdir -p "$work"
    cp "$ROOT/tests/fuzz/corpus/$t/"* "$work/"
    if (cd "$dir" && ./tests/fuzz/fuzz_$t -max_total_time="$FUZZ_SECS" -max_len=4096 -timeout=10 \
          -print_final_stats=1 "$work" >"$dir/fuzz-$t.log" 2>&1); then
      grep -E "^Done|stat::number_of_executed_units|stat::peak_rss_mb" "$dir/fuzz-$t.log"
      echo "corpus: $(ls "$work" | wc -l) inputs"
    else
      tail -40 "$dir/fuzz-$t.log"
      echo "FAILED: fuzz_$t (reproducer in $dir)"
      rc=1
    fi
  done
  exit $rc
fi

# core/ must stay free of OS headers and platform #ifdefs.
step "core/ is OS-free"
bad=$(grep -rnE '#\s*include\s*<(unistd|windows|pthread|signal|fcntl|dlfcn|poll|apr[^>]*|sys/[^>]*)\.h>|_WIN32|__linux__|__APPLE__|__unix__' core/ || true)
if [ -n "$bad" ]; then
  echo "$bad"
  failures+=("core-os-free")
else
  echo "ok"
  passed=$((passed + 1))
fi

# LICENSE and an SPDX line in every file outside core/ and backends/.
step "license: SPDX lines"
if bash scripts/check-license.sh; then
  passed=$((passed + 1))
else
  failures+=("license")
fi

# Soak: random kills under load, alone on the machine (it counts /dev/shm).
if [ "$SOAK" -eq 1 ]; then
  dir="$ROOT/build-test-native"
  step "soak: build"
  cmake -S "$ROOT" -B "$dir" -G Ninja -DMPROC_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$dir.log" 2>&1 &&
    cmake --build "$dir" >>"$dir.log" 2>&1 || { tail -50 "$dir.log"; exit 1; }
  step "soak: ctest -L soak"
  (cd "$dir" && ctest --output-on-failure -V -L soak) | grep -E "soak|Test|tests passed|FAILED|Failed"
  exit "${PIPESTATUS[0]}"
fi

# Valgrind (memcheck) over the POSIX suites, fork start method (valgrind
# follows forked children; spawned ones would run without it).
if [ "$VALGRIND" -eq 1 ]; then
  dir="$ROOT/build-test-valgrind"
  step "valgrind: build"
  cmake -S "$ROOT" -B "$dir" -G Ninja -DMPROC_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >"$dir.log" 2>&1 &&
    cmake --build "$dir" >>"$dir.log" 2>&1 || { tail -50 "$dir.log"; exit 1; }
  rc=0
  for t in test_errors test_args test_sync test_shared test_queue test_connection test_listener test_pool test_manager; do
    step "valgrind: $t"
    if ! (cd "$dir" && valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
            --show-leak-kinds=definite --child-silent-after-fork=yes ./tests/$t --method fork 2>&1 |
          tee "$dir/$t.valgrind.log" | grep -E "Run Summary|tests |==[0-9]+==" | head -40; exit "${PIPESTATUS[0]}"); then
      echo "FAILED: $t under valgrind (log: $dir/$t.valgrind.log)"
      rc=1
    fi
  done
  exit $rc
fi

# The packages as a user gets them: scripts/package-test.sh (a few minutes).
package_step() {
  local t0=$SECONDS
  step "package: Debian packages, consumers (find_package, pkg-config; C, C++; shared, static), API reference"
  if bash scripts/package-test.sh; then
    passed=$((passed + 1))
  else
    failures+=("package")
  fi
  took "package" $((SECONDS - t0))
}
if [ "$PACKAGE" -eq 1 ]; then
  package_step
  [ "${#failures[@]}" -eq 0 ]
  exit
fi

# The configurations, in the order their tests run (--quick: native and
# mpich), with their cmake arguments (each also gets -G Ninja
# -DMPROC_WERROR=ON), the targets to build (all if none) and the ctest
# arguments (each also gets --output-on-failure -j2 --timeout 300).
declare -A CMAKE_ARGS TARGETS CTEST_ARGS
CONFIGS=(native mpich)
CMAKE_ARGS[native]="-DCMAKE_BUILD_TYPE=RelWithDebInfo"
CTEST_ARGS[native]="-LE soak"
# The MPI pool on MPICH too (native uses Open MPI, the default engine when
# both are installed): only its tests, label mpi.
CMAKE_ARGS[mpich]="-DMPROC_MPI_ENGINE=mpich -DMPROC_WITH_MPI=ON -DMPROC_BUILD_EXAMPLES=OFF -DMPROC_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo"
TARGETS[mpich]="test_mpi test_mpi_kill"
CTEST_ARGS[mpich]="-L mpi"
if [ "$QUICK" -eq 0 ]; then
  # tsan first: its build is the quickest (Debug, no LTO; some 15-20 s
  # from scratch), and the others build while its tests run.
  CONFIGS=(tsan native mpich portable asan)
  CMAKE_ARGS[portable]="-DMPROC_PORTABLE=ON -DCMAKE_BUILD_TYPE=Debug"
  CTEST_ARGS[portable]="-LE install|soak|mpikill"
  # clang-19: its ASan allocator is fork-safe in threaded programs (GCC 12's is not).
  # MUTEX_TID_WORD=0: the robust mutex notes its holder itself, as on a
  # libc other than glibc (cmake/MprocProbes.cmake), so that path runs too.
  CMAKE_ARGS[asan]="-DCMAKE_C_COMPILER=clang-19 -DMPROC_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug -DMPROC_PROBE_MUTEX_TID_WORD=0"
  CTEST_ARGS[asan]="-LE install|soak|mpikill"
  CMAKE_ARGS[tsan]="-DMPROC_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug"
  CTEST_ARGS[tsan]="-LE install|soak"
fi
WIN=0
[ "$QUICK" -eq 0 ] && [ -f scripts/win-test.sh ] && WIN=1

# Building ahead. A background job, the builder, builds the configurations
# one after another in the order above (and checks the native build's
# layers and symbols), then the Windows cross build and a wine prefix
# (win-test.sh --build-only), then runs the package test (itself mostly
# builds), while the tests of the configurations already built run here. The tests mostly wait (on
# children, pipes, timeouts) and leave much of the two CPUs idle; what
# follows the first build runs at nice 19, so that a test wanting a CPU
# gets it first. Each job leaves "EXIT_CODE SECONDS" in $STATE/NAME; its
# output is in build-test-NAME.log (build-win.log, build-package.log,
# build-test-native-checks.log).
STATE="$ROOT/build-test-state"
rm -rf "$STATE"
mkdir -p "$STATE"
# job NAME CMD...: runs CMD, its output to NAME's log, and records the outcome
job() {
  local name=$1 t0=$SECONDS rc=0; shift
  "$@" >"$(job_log "$name")" 2>&1 || rc=$?
  echo "$rc $((SECONDS - t0))" >"$STATE/$name.tmp" && mv "$STATE/$name.tmp" "$STATE/$name"
}
job_log() {
  case "$1" in
    win32) echo "$ROOT/build-win.log" ;;
    package) echo "$ROOT/build-package.log" ;;
    layers) echo "$ROOT/build-test-native-checks.log" ;;
    *) echo "$ROOT/build-test-$1.log" ;;
  esac
}
build_config() {
  local name=$1 dir="$ROOT/build-test-$1" cargs targs=()
  read -ra cargs <<<"${CMAKE_ARGS[$name]}"
  [ -n "${TARGETS[$name]:-}" ] && read -ra targs <<<"--target ${TARGETS[$name]}"
  cmake -S "$ROOT" -B "$dir" -G Ninja -DMPROC_WERROR=ON "${cargs[@]}" && cmake --build "$dir" "${targs[@]}"
}
# The core's folders use only those below them (docs/architecture.md), and
# the static archives define no global name outside mproc_* and mproc__*:
# the native build's objects and archives.
check_native() {
  [ "$(cut -d' ' -f1 "$STATE/native")" = 0 ] || { echo "the native build failed"; return 1; }
  bash scripts/check-layers.sh "$ROOT/build-test-native" && bash scripts/check-symbols.sh "$ROOT/build-test-native"
}
builder() {
  local name
  for name in "${CONFIGS[@]}"; do
    job "$name" build_config "$name"
    renice -n 19 -p "$BASHPID" >/dev/null # what follows the first build runs beside tests
    if [ "$name" = native ]; then job layers check_native; fi
  done
  if [ "$WIN" -eq 1 ]; then job win32 bash scripts/win-test.sh --build-only; fi
  if [ "$QUICK" -eq 0 ]; then job package bash scripts/package-test.sh; fi
}
# Its own process group (set -m), so that everything it started can be
# stopped at once if this script ends early.
set -m
builder &
BUILDER=$!
set +m
trap 'kill -- -"$BUILDER" 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_job NAME LABEL: waits for the builder to finish NAME; prints its
# time and returns its exit code (99: the builder is gone without it).
wait_job() {
  local name=$1 label=$2 t0=$SECONDS rc secs
  while [ ! -f "$STATE/$name" ]; do
    if ! kill -0 "$BUILDER" 2>/dev/null && [ ! -f "$STATE/$name" ]; then
      echo "the builder ended without finishing $name"
      return 99
    fi
    sleep 1
  done
  read -r rc secs <"$STATE/$name"
  took "$label (background)" "$secs" "waited $((SECONDS - t0)) s for it"
  return "$rc"
}

# config NAME: runs NAME's ctest once the builder has built it.
config() {
  local name=$1 dir="$ROOT/build-test-$1" t0 targs
  read -ra targs <<<"${CTEST_ARGS[$name]}"
  step "$name: configure and build (background: $(job_log "$name"))"
  if ! wait_job "$name" "$name: build"; then
    tail -50 "$(job_log "$name")"
    failures+=("$name:build")
    return
  fi
  step "$name: ctest"
  t0=$SECONDS
  if (cd "$dir" && ctest --output-on-failure -j2 --timeout 300 "${targs[@]}"); then
    passed=$((passed + 1))
  else
    failures+=("$name:ctest")
  fi
  took "$name: ctest" $((SECONDS - t0))
}

# check_layers: the result of check_native (run by the builder).
check_layers() {
  step "native: the core's layers, the archives' symbols (background: $(job_log layers))"
  if wait_job layers "layers, symbols"; then
    cat "$(job_log layers)"
    passed=$((passed + 1))
  else
    tail -50 "$(job_log layers)"
    failures+=("layers-symbols")
  fi
}
for name in "${CONFIGS[@]}"; do
  config "$name"
  if [ "$name" = native ]; then check_layers; fi
done
if [ "$WIN" -eq 1 ]; then
  step "win32: mingw-w64 cross build (background: build-win.log), ctest under wine"
  if wait_job win32 "win32: build, wine prefix"; then
    t0=$SECONDS
    if bash scripts/win-test.sh --no-build -j2; then
      passed=$((passed + 1))
    else
      failures+=("win32")
    fi
    took "win32: wine, ctest" $((SECONDS - t0))
  else
    tail -50 "$ROOT/build-win.log"
    failures+=("win32:build")
  fi
fi
if [ "$QUICK" -eq 0 ]; then
  step "package: Debian packages, consumers (find_package, pkg-config; C, C++; shared, static), API reference"
  if wait_job package "package"; then
    grep -E "^(===|ok:|package-test:)" "$ROOT/build-package.log"
    passed=$((passed + 1))
  else
    tail -60 "$ROOT/build-package.log"
    failures+=("package")
  fi
fi

echo
echo "=== summary ==="
for t in "${times[@]}"; do echo "$t"; done
printf '%-40s %4d s\n' "total" "$SECONDS"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "configurations: ${passed} passed, ${#failures[@]} failed"
[ "${#failures[@]}" -eq 0 ]
