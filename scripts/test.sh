#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh - installs what is needed, then builds and runs every ctest suite in
# every configuration: native (-Werror), MPROC_PORTABLE=ON (the macOS code
# paths), ASan+UBSan (clang), TSan (gcc), and the Windows backend cross-built with
# mingw-w64 and run under wine. Exits non-zero on any failure.
#   --quick       native configuration only
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
took() { times+=("$(printf '%-28s %4d s' "$1" "$2")"); echo "[time] $1: $2 s"; }

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

# config NAME CMAKE_ARGS... ; runs ctest (args after --) in build-NAME;
# builds only the targets in $CONFIG_TARGETS when it is set
config() {
  local name=$1; shift
  local cargs=() targs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cargs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  targs=("$@")
  local dir="$ROOT/build-test-$name"
  local t0=$SECONDS
  step "$name: configure and build"
  if ! cmake -S "$ROOT" -B "$dir" -G Ninja -DMPROC_WERROR=ON "${cargs[@]}" >"$dir.log" 2>&1 ||
     ! cmake --build "$dir" ${CONFIG_TARGETS:+--target $CONFIG_TARGETS} >>"$dir.log" 2>&1; then
    tail -50 "$dir.log"
    failures+=("$name:build")
    took "$name: build (failed)" $((SECONDS - t0))
    return
  fi
  took "$name: configure and build" $((SECONDS - t0))
  t0=$SECONDS
  step "$name: ctest"
  if (cd "$dir" && ctest --output-on-failure -j2 --timeout 300 "${targs[@]}"); then
    passed=$((passed + 1))
  else
    failures+=("$name:ctest")
  fi
  took "$name: ctest" $((SECONDS - t0))
}

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

config native -DCMAKE_BUILD_TYPE=RelWithDebInfo -- -LE soak
# The core's folders use only those below them (docs/architecture.md), and
# the static archives define no global name outside mproc_* and mproc__*.
step "native: the core's layers, the archives' symbols"
t0=$SECONDS
if bash scripts/check-layers.sh "$ROOT/build-test-native" && bash scripts/check-symbols.sh "$ROOT/build-test-native"; then
  passed=$((passed + 1))
else
  failures+=("layers-symbols")
fi
took "layers, symbols" $((SECONDS - t0))
# The MPI pool on MPICH too (native uses Open MPI, the default engine when
# both are installed): only its tests, label mpi.
CONFIG_TARGETS="test_mpi test_mpi_kill" config mpich -DMPROC_MPI_ENGINE=mpich -DMPROC_WITH_MPI=ON \
  -DMPROC_BUILD_EXAMPLES=OFF -DMPROC_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -- -L mpi
if [ "$QUICK" -eq 0 ]; then
  config portable -DMPROC_PORTABLE=ON -DCMAKE_BUILD_TYPE=Debug -- -LE "install|soak|mpikill"
  # clang-19: its ASan allocator is fork-safe in threaded programs (GCC 12's is not)
  config asan -DCMAKE_C_COMPILER=clang-19 -DMPROC_SANITIZE=address,undefined \
    -DCMAKE_BUILD_TYPE=Debug -- -LE "install|soak|mpikill"
  config tsan -DMPROC_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug -- -LE "install|soak"
  package_step
  if [ -f scripts/win-test.sh ]; then
    step "win32: mingw-w64 cross build, ctest under wine"
    t0=$SECONDS
    if bash scripts/win-test.sh -j2; then
      passed=$((passed + 1))
    else
      failures+=("win32")
    fi
    took "win32 (build, wine, ctest)" $((SECONDS - t0))
  fi
fi

echo
echo "=== summary ==="
for t in "${times[@]}"; do echo "$t"; done
printf '%-28s %4d s\n' "total" "$SECONDS"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "configurations: ${passed} passed, ${#failures[@]} failed"
[ "${#failures[@]}" -eq 0 ]
