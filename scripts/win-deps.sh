#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# win-deps.sh - everything needed to cross-build mproc for 64-bit Windows and
# test it under wine, on Debian 12:
#   1. apt-installs the x86_64 mingw-w64 C compiler (and C++: msgpack-c's
#      CMake project needs one), wine, cmake and ninja;
#   2. builds CUnit (Debian's `cunit` source package) and msgpack-c (Debian's
#      `msgpack-c` source package) as static mingw libraries into
#      $MPROC_WIN_PREFIX (default /opt/mproc-mingw), where
#      cmake/toolchains/mingw-w64.cmake looks for them.
# Idempotent: what is installed already is skipped, so a second run is a fast
# no-op. Needs root (or sudo) for apt-get and the prefix.
set -euo pipefail

PREFIX="${MPROC_WIN_PREFIX:-/opt/mproc-mingw}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLCHAIN="$ROOT/cmake/toolchains/mingw-w64.cmake"
TRIPLE=x86_64-w64-mingw32
PKGS=(gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 binutils-mingw-w64-x86-64 wine wine64 cmake ninja-build)
DEBIAN_SOURCES=/etc/apt/sources.list.d/debian.sources
DEBSRC_SOURCES=/etc/apt/sources.list.d/debian-src.sources
# Stamps mark complete installs (written last), named after the version built.
STAMPS="$PREFIX/share/mproc-win-deps"

log() { printf '[win-deps] %s\n' "$*"; }
die() { printf '[win-deps] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
as_root() { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@"; }

APT_UPDATED=0
apt_update() { # at most once per run
  [ "$APT_UPDATED" -eq 1 ] && return 0
  log "apt-get update"
  as_root apt-get update -qq
  APT_UPDATED=1
}

# --- 1. packages ------------------------------------------------------------
missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_update
  log "apt-get install --no-install-recommends ${missing[*]}"
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in "$TRIPLE-gcc" "$TRIPLE-ar" wine wineserver cmake ninja; do
  command -v "$tool" >/dev/null || die "$tool not found after install"
done

have_stamp() { compgen -G "$STAMPS/$1-*.done" >/dev/null; }
if have_stamp cunit && have_stamp msgpack-c && [ -f "$PREFIX/lib/libcunit.a" ] &&
   [ -f "$PREFIX/lib/libmsgpackc.a" ]; then
  log "CUnit and msgpack-c already in $PREFIX - nothing to do"
  exit 0
fi

# --- 2. Debian source packages ---------------------------------------------
have_src() { [[ "$(apt-cache showsrc "$1" 2>/dev/null || true)" == *"Package: $1"* ]]; }
if ! have_src cunit || ! have_src msgpack-c; then
  # Enable deb-src by cloning the existing Debian source list.
  if ! grep -qsE '^[[:space:]]*(Types:.*deb-src|deb-src[[:space:]])' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; then
    [ -f "$DEBIAN_SOURCES" ] || die "no $DEBIAN_SOURCES to derive deb-src entries from"
    log "enabling deb-src: $DEBSRC_SOURCES (copy of $DEBIAN_SOURCES)"
    sed -E 's/^Types:.*/Types: deb-src/' "$DEBIAN_SOURCES" | "${SUDO[@]}" tee "$DEBSRC_SOURCES" >/dev/null
  fi
  APT_UPDATED=0
  apt_update
  have_src cunit || die "apt cannot find the 'cunit' source package (deb-src enabled?)"
  have_src msgpack-c || die "apt cannot find the 'msgpack-c' source package (deb-src enabled?)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mproc-win-deps.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Downloads a source package into $work/$1 and unpacks its upstream tarball
# into $work/$1/src. Prints the upstream version.
fetch_src() {
  local pkg=$1 dir="$work/$1"
  mkdir -p "$dir/src"
  (cd "$dir" && apt-get source -qq --download-only "$pkg" 2>&1 | grep -v 'unsandboxed as root' >&2 || true)
  local origs
  shopt -s nullglob
  origs=("$dir/${pkg}_"*.orig.tar.*)
  shopt -u nullglob
  [ "${#origs[@]}" -gt 0 ] || die "$pkg orig tarball was not downloaded"
  tar -xf "${origs[0]}" -C "$dir/src" --strip-components=1
  local v=${origs[0]##*/"${pkg}_"}
  printf '%s\n' "${v%.orig.tar.*}"
}

stamp() {
  "${SUDO[@]}" install -d "$STAMPS"
  "${SUDO[@]}" rm -f "$STAMPS/$1-"*.done
  printf 'built %s\n' "$(date -u +%FT%TZ)" | "${SUDO[@]}" tee "$STAMPS/$1-$2.done" >/dev/null
}

# --- 3. CUnit ---------------------------------------------------------------
build_cunit() {
  local v cv cr
  v=$(fetch_src cunit)              # e.g. 2.1-3-dfsg
  cv=${v%%-*}                       # 2.1: @VERSION@ in CUnit.h.in
  cr=${v#*-}; cr=${cr%%-*}          # 3:   @RELEASE@
  local S="$work/cunit/src/CUnit" B="$work/cunit/build"
  [ -f "$S/Headers/CUnit.h.in" ] || die "unexpected layout in the cunit source"
  mkdir -p "$B/inc/CUnit" "$B/obj"
  # Headers go to include/CUnit (<CUnit/Basic.h>); the shipped CUnit.h is
  # stale, so it is generated from CUnit.h.in.
  for h in "$S"/Headers/*.h; do
    case "$(basename "$h")" in CUnit.h|CUCurses.h|wxWidget.h) continue ;; esac
    cp "$h" "$B/inc/CUnit/"
  done
  sed -e "s/@VERSION@/$cv/g" -e "s/@RELEASE@/$cr/g" "$S/Headers/CUnit.h.in" > "$B/inc/CUnit/CUnit.h"
  grep -q "CU_VERSION \"$cv-$cr\"" "$B/inc/CUnit/CUnit.h" || die "CUnit.h version substitution failed"
  local f
  for f in Framework/CUError.c Framework/MyMem.c Framework/TestDB.c Framework/TestRun.c \
           Framework/Util.c Basic/Basic.c Automated/Automated.c Console/Console.c; do
    "$TRIPLE-gcc" -O2 -I"$B/inc/CUnit" -c "$S/Sources/$f" -o "$B/obj/$(basename "${f%.c}").o"
  done
  "$TRIPLE-ar" rcs "$B/libcunit.a" "$B"/obj/*.o
  "${SUDO[@]}" install -d "$PREFIX/include/CUnit" "$PREFIX/lib/pkgconfig"
  "${SUDO[@]}" install -m 0644 "$B"/inc/CUnit/*.h "$PREFIX/include/CUnit/"
  cat > "$B/cunit.pc" <<EOF
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: CUnit
Description: CUnit $cv-$cr, static, for $TRIPLE
Version: $cv-$cr
Libs: -L\${libdir} -lcunit
Cflags: -I\${includedir}
EOF
  "${SUDO[@]}" install -m 0644 "$B/cunit.pc" "$PREFIX/lib/pkgconfig/cunit.pc"
  "${SUDO[@]}" install -m 0644 "$B/libcunit.a" "$PREFIX/lib/libcunit.a"
  stamp cunit "$v"
  log "CUnit $v installed in $PREFIX"
}

# --- 4. msgpack-c -------------------------------------------------------------
build_msgpack() {
  local v
  v=$(fetch_src msgpack-c)
  local S="$work/msgpack-c/src" B="$work/msgpack-c/build"
  [ -f "$S/CMakeLists.txt" ] || die "unexpected layout in the msgpack-c source"
  # BUILD_SHARED_LIBS=OFF: msgpack-c then builds its static library only.
  cmake -S "$S" -B "$B" -G Ninja -Wno-dev \
    -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DMPROC_WIN_PREFIX="$PREFIX" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DBUILD_SHARED_LIBS=OFF -DMSGPACK_ENABLE_SHARED=OFF -DMSGPACK_ENABLE_STATIC=ON \
    -DMSGPACK_BUILD_TESTS=OFF -DMSGPACK_BUILD_EXAMPLES=OFF >"$B.log" 2>&1 ||
    { cat "$B.log" >&2; die "msgpack-c: cmake configure failed"; }
  cmake --build "$B" >>"$B.log" 2>&1 || { cat "$B.log" >&2; die "msgpack-c: build failed"; }
  "${SUDO[@]}" cmake --install "$B" >>"$B.log" 2>&1 || { cat "$B.log" >&2; die "msgpack-c: install failed"; }
  [ -f "$PREFIX/lib/libmsgpackc.a" ] || die "msgpack-c: $PREFIX/lib/libmsgpackc.a missing after install"
  stamp msgpack-c "$v"
  log "msgpack-c $v installed in $PREFIX"
}

if have_stamp cunit && [ -f "$PREFIX/lib/libcunit.a" ]; then
  log "CUnit already in $PREFIX"
else
  log "building CUnit for $TRIPLE"
  build_cunit
fi
if have_stamp msgpack-c && [ -f "$PREFIX/lib/libmsgpackc.a" ]; then
  log "msgpack-c already in $PREFIX"
else
  log "building msgpack-c for $TRIPLE"
  build_msgpack
fi
log "done"
