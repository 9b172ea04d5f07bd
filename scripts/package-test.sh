#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# package-test.sh - builds the Debian packages and uses them the way a
# user of mproc would, from outside the source tree:
#   1. configures with no CMAKE_BUILD_TYPE (must become RelWithDebInfo),
#      -DCMAKE_INSTALL_PREFIX=/usr and MPI, builds the libraries only;
#   2. cpack -G DEB: libmproc0, libmproc-dev, libmproc-mpi0,
#      libmproc-mpi-dev; checks their names, contents and Depends (every
#      library a runtime package NEEDs is named by its real package,
#      dpkg -S; apt-get resolves them all, simulated);
#   3. unpacks them into a throwaway root (dpkg -x; nothing is installed on
#      the machine);
#   4. readelf: libmproc.so NEEDs no libmpi, libmproc-mpi.so NEEDs both;
#      pkg-config --cflags mproc is mproc's include directory only;
#   5. builds a C and a C++ consumer (tests/package/) with find_package and
#      with pkg-config, shared and static, all with -Wall -Wextra -Wpedantic
#      -Werror, and runs them; a static one must not NEED libmproc.so;
#      the MPI consumer runs alone and under mpirun with two worker ranks;
#   6. uses mproc as a subproject (FetchContent, CUnit hidden, no build
#      type): no tests, examples or bench, an optimised library, a consumer
#      that runs;
#   7. builds the Doxygen reference with every warning (an undocumented
#      public name too) an error, and checks its XML with
#      scripts/check-docs.py (enum values too; mproc_* names in the docs).
# Exits non-zero at the first failure. Work files: build-package/ (set
# PACKAGE_TEST_DIR to change it). Takes two to four minutes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${PACKAGE_TEST_DIR:-$ROOT/build-package}"
BUILD="$WORK/build"
STAGE="$WORK/root"   # the throwaway root the packages are unpacked into
CONS="$WORK/consumers"
T0=$(date +%s)

step() { printf '\n=== package-test: %s ===\n' "$*"; }
die() { printf 'package-test: FAILED: %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok: %s\n' "$*"; }
# run LOG CMD...: runs CMD with its output in LOG, shown on failure
run() {
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then
    tail -40 "$log" >&2
    die "$* (log: $log)"
  fi
}

bash "$ROOT/scripts/deps.sh" --test --package >/dev/null || die "dependency installation (scripts/deps.sh --test --package)"
rm -rf "$STAGE" "$CONS" "$WORK/subproject"
mkdir -p "$WORK" "$STAGE" "$CONS"

# ------------------------------------------------------------ 1. build
step "configure (no CMAKE_BUILD_TYPE) and build the libraries"
run "$WORK/configure.log" cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_INSTALL_PREFIX=/usr \
  -DMPROC_WITH_MPI=ON -DMPROC_WERROR=ON \
  -DMPROC_BUILD_TESTS=OFF -DMPROC_BUILD_EXAMPLES=OFF -DMPROC_BUILD_BENCH=OFF
grep -q '^CMAKE_BUILD_TYPE:STRING=RelWithDebInfo$' "$BUILD/CMakeCache.txt" ||
  die "no build type given, but CMAKE_BUILD_TYPE is not RelWithDebInfo"
ok "default build type RelWithDebInfo"
run "$WORK/build.log" cmake --build "$BUILD"
ok "built"

# ---------------------------------------------------------- 2. packages
step "cpack -G DEB"
rm -rf "$BUILD/packages"
(cd "$BUILD" && run "$WORK/cpack.log" cpack -G DEB)
VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
ARCH=$(dpkg --print-architecture)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
DEBVER="$VERSION-1"
declare -A DEB
for p in libmproc0 libmproc-dev libmproc-mpi0 libmproc-mpi-dev; do
  f="$BUILD/packages/${p}_${DEBVER}_${ARCH}.deb"
  [ -f "$f" ] || die "package $p missing (expected $f; made: $(ls "$BUILD/packages"))"
  [ "$(dpkg-deb -f "$f" Package)" = "$p" ] || die "$f is not package $p"
  DEB[$p]=$f
  printf '%-18s Depends: %s\n' "$p" "$(dpkg-deb -f "$f" Depends)"
done
[ "$(find "$BUILD/packages" -maxdepth 1 -name "*.deb" | wc -l)" -eq 4 ] || die "more packages than the four: $(ls "$BUILD/packages")"

step "package contents"
contents() { dpkg-deb -c "${DEB[$1]}" | awk '{print $6}' | sed 's|^\./|/|'; }
expect_in() { # PACKAGE REGEX...: each regex matches a path of the package
  local p=$1 c; shift
  c=$(contents "$p")
  for re in "$@"; do grep -qE "$re" <<<"$c" || die "$p has no file matching $re"; done
}
expect_not_in() {
  local p=$1 c; shift
  c=$(contents "$p")
  for re in "$@"; do ! grep -qE "$re" <<<"$c" || die "$p must not have $(grep -E "$re" <<<"$c" | head -1)"; done
}
L="/usr/lib/$MULTIARCH"
expect_in libmproc0 "^$L/libmproc\.so\.0$" "^$L/libmproc\.so\.$VERSION$" "^/usr/share/doc/libmproc0/copyright$"
expect_not_in libmproc0 "\.h$" "\.a$" "^$L/libmproc\.so$" "mpi"
expect_in libmproc-dev "^/usr/include/mproc\.h$" "^/usr/include/mproc/version\.h$" "^$L/libmproc\.a$" \
  "^$L/libmproc\.so$" "^$L/pkgconfig/mproc\.pc$" "^$L/pkgconfig/mproc-static\.pc$" \
  "^$L/cmake/mproc/mprocConfig\.cmake$" "^$L/cmake/mproc/mprocTargets\.cmake$"
expect_not_in libmproc-dev "testhooks" "mpi" "\.so\.0"
expect_in libmproc-mpi0 "^$L/libmproc-mpi\.so\.0$" "^/usr/share/doc/libmproc-mpi0/copyright$"
expect_not_in libmproc-mpi0 "\.h$" "\.a$" "^$L/libmproc\.so"
expect_in libmproc-mpi-dev "^$L/libmproc-mpi\.a$" "^$L/libmproc-mpi\.so$" "^$L/pkgconfig/mproc-mpi\.pc$" \
  "^$L/pkgconfig/mproc-mpi-static\.pc$" "^$L/cmake/mproc/mprocMpiTargets\.cmake$"
ok "each package holds its files and no other's"

step "package dependencies"
depends() { dpkg-deb -f "${DEB[$1]}" Depends | tr ',' '\n' | sed 's/^ *//; s/ *$//'; }
has_dep() {
  local d
  d=$(depends "$1")
  grep -qE "^$2( |$)" <<<"$d" || die "$1 does not depend on $2 (Depends: $(paste -sd, <<<"$d"))"
}
# Every library the runtime package's library NEEDs, by the package that
# ships it on this system (libc aside: dpkg-shlibdeps names it too).
# owner PATH: the package that ships PATH (merged /usr: dpkg may know
# either spelling, of the link or of the file it points to)
owner() {
  local real c
  real=$(readlink -f "$1")
  for c in "$1" "$real" "${real#/usr}" "/usr$1"; do
    if dpkg -S "$c" >/dev/null 2>&1; then
      dpkg -S "$c" | head -1 | cut -d: -f1
      return 0
    fi
  done
  return 1
}
needed_pkgs() {
  local lib=$1 so path
  for so in $(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    case "$so" in libmproc*) continue ;; esac
    path=$(ldconfig -p | awk -v s="$so" '$1 == s {print $NF; exit}')
    [ -n "$path" ] || die "cannot find $so (NEEDED by $lib)"
    owner "$path" || die "no package ships $path ($so, NEEDED by $lib)"
  done
}
for pair in "libmproc0:$BUILD/libmproc.so.0" "libmproc-mpi0:$BUILD/libmproc-mpi.so.0"; do
  p=${pair%%:*}
  for dep in $(needed_pkgs "${pair#*:}" | sort -u); do
    has_dep "$p" "$dep"
    ok "$p depends on $dep"
  done
done
has_dep libmproc-mpi0 "libmproc0 \(= $DEBVER\)"
has_dep libmproc-dev "libmproc0 \(= $DEBVER\)"
for d in libapr1-dev libmsgpack-dev libssl-dev; do has_dep libmproc-dev "$d"; done
has_dep libmproc-mpi-dev "libmproc-dev \(= $DEBVER\)"
has_dep libmproc-mpi-dev "libmproc-mpi0 \(= $DEBVER\)"
has_dep libmproc-mpi-dev libopenmpi-dev
ok "libmproc-mpi0, libmproc-dev and libmproc-mpi-dev depend on their runtime and -dev packages"
run "$WORK/apt-simulate.log" apt-get install -s -o Debug::NoLocking=1 "${DEB[@]}"
ok "apt-get resolves every dependency of the four packages (simulated)"

# ------------------------------------------------------ 3. throwaway root
step "unpack into $STAGE (dpkg -x)"
for f in "${DEB[@]}"; do dpkg -x "$f" "$STAGE"; done
LIBDIR="$STAGE/usr/lib/$MULTIARCH"
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
ok "unpacked"

# -------------------------------------------------- 4. readelf, pkg-config
step "linking: readelf and pkg-config"
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
n=$(needed "$LIBDIR/libmproc.so.0")
if [ -z "$n" ] || grep -q mpi <<<"$n"; then die "libmproc.so NEEDs MPI: $(paste -sd' ' <<<"$n")"; fi
ok "libmproc.so.0 NEEDs no MPI: $(paste -sd' ' <<<"$n")"
n=$(needed "$LIBDIR/libmproc-mpi.so.0")
grep -q '^libmproc\.so\.0$' <<<"$n" || die "libmproc-mpi.so does not NEED libmproc.so.0"
grep -q '^libmpi' <<<"$n" || die "libmproc-mpi.so does not NEED libmpi"
ok "libmproc-mpi.so.0 NEEDs: $(paste -sd' ' <<<"$n")"
cflags=$(pkg-config --cflags mproc | sed 's/ *$//')
if [[ "$cflags" != -I* || "$cflags" == *" "* ]] || [ "$(realpath "${cflags#-I}")" != "$STAGE/usr/include" ]; then
  die "pkg-config --cflags mproc is '$cflags', not just -I<the package's include directory>"
fi
ok "pkg-config --cflags mproc: $cflags (the package's include directory alone)"
[ "$(pkg-config --modversion mproc)" = "$VERSION" ] || die "pkg-config --modversion mproc"

# ------------------------------------------------------------ 5. consumers
step "consumers with find_package (CMake), shared and static"
cp "$ROOT"/tests/package/consumer.c "$ROOT"/tests/package/consumer.cpp "$ROOT"/tests/package/mpi_consumer.c \
  "$ROOT"/tests/package/CMakeLists.txt "$CONS/"
MPIRUN=(timeout 120 mpirun --allow-run-as-root --oversubscribe -np 3 -x LD_LIBRARY_PATH)
# check_run NAME EXE KIND: runs EXE, checks its last line; a static one must not NEED libmproc
check_run() {
  local name=$1 exe=$2 kind=$3 want base note=""
  base=$(basename "$exe")
  case "$base" in *cxx*) want="consumer++ ok" ;; *mpi*) want="mpi consumer ok" ;; *) want="consumer ok" ;; esac
  local n
  n=$(needed "$exe")
  if [ "$kind" = static ] && grep -q '^libmproc' <<<"$n"; then
    die "$name is linked statically but NEEDs $(grep libmproc <<<"$n" | paste -sd' ')"
  fi
  local out
  out=$(LD_LIBRARY_PATH="$LIBDIR" timeout 120 "$exe" 2>&1) || die "$name failed: $out"
  grep -q "^$want" <<<"$out" || die "$name: no '$want' in: $out"
  if [[ "$base" == *mpi* ]]; then
    out=$(LD_LIBRARY_PATH="$LIBDIR" "${MPIRUN[@]}" "$exe" 2>&1) || die "$name under mpirun failed: $out"
    grep -q "^mpi consumer ok (2 worker ranks)" <<<"$out" || die "$name under mpirun: $out"
    note=", and under mpirun -np 3"
  fi
  ok "$name ($kind$note)"
}
for kind in shared static; do
  b="$CONS/cmake-$kind"
  run "$b.log" cmake -S "$CONS" -B "$b" -G Ninja -DCONSUMER_LINK=$kind -Dmproc_DIR="$LIBDIR/cmake/mproc" \
    -DCMAKE_PREFIX_PATH="$STAGE/usr"
  run "$b.build.log" cmake --build "$b"
  for exe in consumer_c consumer_cxx consumer_mpi; do check_run "cmake $exe" "$b/$exe" $kind; done
done

step "consumers with pkg-config, shared and static"
CWARN=(-Wall -Wextra -Wpedantic -Werror)
for pc in mproc mproc-static; do
  kind=shared; [ "$pc" = mproc-static ] && kind=static
  # shellcheck disable=SC2046  # pkg-config's flags are words
  run "$CONS/pc-$pc-c.log" cc -std=c11 "${CWARN[@]}" -o "$CONS/pc-$pc-c" "$CONS/consumer.c" $(pkg-config --cflags --libs $pc)
  check_run "pkg-config $pc C" "$CONS/pc-$pc-c" $kind
  # shellcheck disable=SC2046
  run "$CONS/pc-$pc-cxx.log" c++ -std=c++11 "${CWARN[@]}" -o "$CONS/pc-$pc-cxx" "$CONS/consumer.cpp" $(pkg-config --cflags --libs $pc)
  check_run "pkg-config $pc C++" "$CONS/pc-$pc-cxx" $kind
done
for pc in mproc-mpi mproc-mpi-static; do
  kind=shared; [ "$pc" = mproc-mpi-static ] && kind=static
  # shellcheck disable=SC2046
  run "$CONS/pc-$pc.log" cc -std=c11 "${CWARN[@]}" -o "$CONS/pc-$pc" "$CONS/mpi_consumer.c" $(pkg-config --cflags --libs $pc)
  check_run "pkg-config $pc" "$CONS/pc-$pc" $kind
done

step "libmproc-dev alone (no libmproc-mpi packages): no MPI needed"
NOMPI="$WORK/root-nompi"
rm -rf "$NOMPI"
mkdir -p "$NOMPI"
dpkg -x "${DEB[libmproc0]}" "$NOMPI"
dpkg -x "${DEB[libmproc-dev]}" "$NOMPI"
b="$CONS/cmake-nompi"
run "$b.log" cmake -S "$CONS" -B "$b" -G Ninja -DCONSUMER_MPI=OFF -Dmproc_DIR="$NOMPI/usr/lib/$MULTIARCH/cmake/mproc"
run "$b.build.log" cmake --build "$b"
out=$(LD_LIBRARY_PATH="$NOMPI/usr/lib/$MULTIARCH" "$b/consumer_c" 2>&1) || die "consumer without the MPI packages: $out"
grep -q "^consumer ok" <<<"$out" || die "consumer without the MPI packages: $out"
ok "find_package(mproc) and a consumer work with libmproc0 and libmproc-dev alone"
if cmake -S "$CONS" -B "$b-mpi" -G Ninja -DCONSUMER_MPI=ON -Dmproc_DIR="$NOMPI/usr/lib/$MULTIARCH/cmake/mproc" \
     >"$b-mpi.log" 2>&1; then
  die "find_package(mproc COMPONENTS mpi) succeeded without libmproc-mpi-dev"
fi
grep -q "mpi" "$b-mpi.log" || die "find_package(mproc COMPONENTS mpi) failed, but not naming the component: $b-mpi.log"
ok "find_package(mproc COMPONENTS mpi) fails cleanly without libmproc-mpi-dev"

# ----------------------------------------------------------- 6. subproject
step "mproc as a subproject (FetchContent; CUnit hidden; no build type)"
SUB="$WORK/subproject"
run "$SUB.log" cmake -S "$ROOT/tests/package/subproject" -B "$SUB" -G Ninja -DMPROC_SOURCE_DIR="$ROOT" \
  -DCMAKE_DISABLE_FIND_PACKAGE_CUnit=ON -DMPROC_WITH_MPI=OFF
ok "configured without CUnit: tests, examples and bench are off"
cmds=$(ninja -C "$SUB" -t commands consumer)
grep -E -- '-O2 .*-c [^ ]*/core/base/errors\.c$' <<<"$cmds" >/dev/null ||
  die "the subproject's mproc is not optimised (no -O2 in its compile line)"
ok "its library is built with -O2"
run "$SUB.build.log" cmake --build "$SUB" --target consumer
check_run "subproject consumer" "$SUB/consumer" shared

# ------------------------------------------------------------- 7. reference
step "API reference: Doxygen with every warning an error, every public name described"
rm -rf "$BUILD/docs"
if ! cmake --build "$BUILD" --target docs >"$WORK/docs.log" 2>&1; then
  cat "$BUILD/docs/doxygen-warnings.txt" "$WORK/docs.log" 2>/dev/null | tail -40 >&2
  die "Doxygen warned (see $BUILD/docs/doxygen-warnings.txt)"
fi
[ ! -s "$BUILD/docs/doxygen-warnings.txt" ] || die "Doxygen warnings: $(head -5 "$BUILD/docs/doxygen-warnings.txt")"
ok "Doxygen: no warnings ($BUILD/docs/html/index.html)"
python3 "$ROOT/scripts/check-docs.py" "$BUILD" || die "scripts/check-docs.py"

echo
echo "package-test: passed in $(( $(date +%s) - T0 )) s"
