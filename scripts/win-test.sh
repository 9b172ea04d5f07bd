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
#   --build-only  (first argument) the dependencies, configure and build only
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
[ "$MODE" != build ] || exit 0
[ -f "$BUILD_DIR/CTestTestfile.cmake" ] || die "$BUILD_DIR has no tests (build it first: --build-only)"

WINE=$(command -v wine64 || command -v wine || true)
WINESERVER=$(command -v wineserver || true)
[ -n "$WINE" ] && [ -n "$WINESERVER" ] || die "wine not found (scripts/win-deps.sh installs it)"

# Private prefix; headless and quiet.
WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/mproc-wine.XXXXXX")
export WINEPREFIX
export WINEARCH=win64
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
unset DISPLAY WAYLAND_DISPLAY

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  "$WINESERVER" -k >/dev/null 2>&1 || true # stop the server and its processes
  "$WINESERVER" -w >/dev/null 2>&1 || true # and wait until it has gone
  # Debian's wine leaves ${TMPDIR:-/tmp}/wine-XXXXXX behind; its name is in
  # $WINEPREFIX/wineserver.
  local d
  d=$(cat "$WINEPREFIX/wineserver" 2>/dev/null || true)
  if [[ "$d" =~ ^wine-[A-Za-z0-9]{6}$ ]]; then rm -rf "${TMPDIR:-/tmp}/$d" || true; fi
  rm -rf "$WINEPREFIX" || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "WINEPREFIX=$WINEPREFIX (throwaway); starting a persistent wineserver"
"$WINESERVER" -p </dev/null >/dev/null 2>&1
t0=$(date +%s%N)
# Output to a file: helper processes left running must not hold our pipes.
if ! timeout 300 "$WINE" wineboot --init </dev/null >"$WINEPREFIX/wineboot.log" 2>&1; then
  cat "$WINEPREFIX/wineboot.log" >&2 || true
  die "wineboot failed"
fi
log "wineboot took $(( ($(date +%s%N) - t0) / 1000000 )) ms"

cd "$BUILD_DIR"
log "ctest --output-on-failure --timeout 300 $*"
rc=0
t_ctest=$SECONDS
ctest --output-on-failure --timeout 300 "$@" || rc=$?
log "ctest took $((SECONDS - t_ctest)) s"
log "ctest exit status $rc"
exit "$rc"
