#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# win-test.sh [ctest args...] - cross-build mproc for 64-bit Windows with
# mingw-w64 into build-win/ and run its test suites under wine.
#   - scripts/win-deps.sh first (packages, CUnit and msgpack-c for mingw);
#   - configure (cmake/toolchains/mingw-w64.cmake, -DMPROC_WERROR=ON), build;
#   - ctest in a private, throwaway WINEPREFIX: headless, WINEDEBUG=-all, no
#     Mono/Gecko/debugger dialogs, one persistent wineserver and a single
#     wineboot up front (else wine restarts its services for every test);
#     wineserver, prefix and wine's socket dir are removed on any exit.
# Exits non-zero if the build or any test fails. Extra args go to ctest
# (-R test_process, -V, ...). BUILD_DIR overrides build-win.
#   --build-only  (first argument) the dependencies, configure and build,
#                 and a wine prefix made ahead for the next run; no tests
#   --no-build    (first argument) ctest under wine on the build already
#                 there (scripts/test.sh builds it ahead with --build-only)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-win}"

log() { printf '[win-test] %s\n' "$*" >&2; }
die() { printf '[win-test] ERROR: %s\n' "$*" >&2; exit 2; }

MODE=all
case "${1:-}" in
  --build-only) MODE=build; shift ;;
  --no-build) MODE=test; shift ;;
esac

if [ "$MODE" != test ]; then
  bash "$ROOT/scripts/win-deps.sh"
  log "configure $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/mingw-w64.cmake" -DMPROC_WERROR=ON >/dev/null
  log "build"
  t_build=$SECONDS
  cmake --build "$BUILD_DIR"
  log "build took $((SECONDS - t_build)) s"
fi
WINE=$(command -v wine64 || command -v wine || true)
WINESERVER=$(command -v wineserver || true)
[ -n "$WINE" ] && [ -n "$WINESERVER" ] || die "wine not found (scripts/win-deps.sh installs it)"

# Headless and quiet.
export WINEARCH=win64
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
unset DISPLAY WAYLAND_DISPLAY

# stop_wine: the server of $WINEPREFIX and its processes end; Debian's wine
# leaves ${TMPDIR:-/tmp}/wine-XXXXXX behind, named in $WINEPREFIX/wineserver.
stop_wine() {
  "$WINESERVER" -k >/dev/null 2>&1 || true # stop the server and its processes
  "$WINESERVER" -w >/dev/null 2>&1 || true # and wait until it has gone
  local d
  d=$(cat "$WINEPREFIX/wineserver" 2>/dev/null || true)
  if [[ "$d" =~ ^wine-[A-Za-z0-9]{6}$ ]]; then rm -rf "${TMPDIR:-/tmp}/$d" || true; fi
}
# boot: a persistent server for $WINEPREFIX and one wineboot (else wine
# restarts its services for every test).
boot() {
  "$WINESERVER" -p </dev/null >/dev/null 2>&1
  local t0
  t0=$(date +%s%N)
  # Output to a file: helper processes left running must not hold our pipes.
  if ! timeout 300 "$WINE" wineboot --init </dev/null >"$WINEPREFIX/wineboot.log" 2>&1; then
    cat "$WINEPREFIX/wineboot.log" >&2 || true
    die "wineboot failed"
  fi
  log "wineboot took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

# A prefix made ahead: --build-only also creates one in the build
# directory (a first wineboot takes 10 to 60 s here; one in a prefix made
# before, under a second), which the next run takes and removes.
READY="$BUILD_DIR/wineprefix"
if [ "$MODE" = build ]; then
  rm -rf "$READY"
  mkdir -p "$READY"
  WINEPREFIX=$READY
  export WINEPREFIX
  # shellcheck disable=SC2317  # invoked via trap
  trap 'stop_wine; [ -f "$READY/.made" ] || rm -rf "$READY"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  log "a WINEPREFIX for the next run: $READY"
  boot
  touch "$READY/.made"
  exit 0
fi
[ -f "$BUILD_DIR/CTestTestfile.cmake" ] || die "$BUILD_DIR has no tests (build it first: --build-only)"

# Private, throwaway prefix: the one made ahead, else a new one.
if [ -f "$READY/.made" ]; then
  WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/mproc-wine.XXXXXX")
  rmdir "$WINEPREFIX"
  mv "$READY" "$WINEPREFIX"
  log "WINEPREFIX=$WINEPREFIX (throwaway; made by --build-only); starting a persistent wineserver"
else
  rm -rf "$READY"
  WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/mproc-wine.XXXXXX")
  log "WINEPREFIX=$WINEPREFIX (throwaway); starting a persistent wineserver"
fi
export WINEPREFIX
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  stop_wine
  rm -rf "$WINEPREFIX" || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
boot

cd "$BUILD_DIR"
log "ctest --output-on-failure --timeout 300 $*"
rc=0
t_ctest=$SECONDS
ctest --output-on-failure --timeout 300 "$@" || rc=$?
log "ctest took $((SECONDS - t_ctest)) s"
log "ctest exit status $rc"
exit "$rc"
