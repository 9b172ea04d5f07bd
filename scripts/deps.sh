#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deps.sh - installs every Debian package that building and testing mproc
# needs. Idempotent: runs apt-get (update first) only when something is
# missing. Needs root (or sudo).
#   --test   also what the full test run needs: clang-19 and its sanitizer
#            runtime (GCC 12's libasan deadlocks children forked while another
#            thread is inside malloc; LLVM >= 17 locks its allocator on fork)
#            and Open MPI (libopenmpi-dev, openmpi-bin) and MPICH (libmpich-dev,
#            mpich; its own configuration, MPROC_MPI_ENGINE=mpich) for the MPI
#            pool and its tests (label mpi), and valgrind (scripts/test.sh
#            --valgrind). Open MPI stays the default mpicc/mpirun (Debian's
#            alternatives rank it above MPICH).
#   --docs   also doxygen, for the API reference (cmake --build build --target docs)
#   --package  also what scripts/package-test.sh needs: doxygen, dpkg-dev
#            (dpkg-shlibdeps) and file (both for CPack's Debian packages)
set -euo pipefail

PKGS=(build-essential cmake ninja-build pkg-config
      libapr1-dev libcunit1-dev libmsgpack-dev libssl-dev
      python3)
for a in "$@"; do
  case "$a" in
    --test) PKGS+=(clang-19 libclang-rt-19-dev libopenmpi-dev openmpi-bin libmpich-dev mpich valgrind) ;;
    --docs) PKGS+=(doxygen) ;;
    --package) PKGS+=(doxygen dpkg-dev file) ;;
    *) echo "usage: $0 [--test] [--docs] [--package]" >&2; exit 2 ;;
  esac
done

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "[deps] all packages present"
  exit 0
fi
echo "[deps] installing: ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[deps] done"
