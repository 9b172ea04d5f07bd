#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check-symbols.sh BUILD_DIR - the static archives export only mproc's
# names. Lists every global symbol that libmproc.a and libmproc-mpi.a in
# BUILD_DIR define (nm) whose name starts neither with mproc_ (the API) nor
# with mproc__ (the internal prefix; it starts with mproc_ too), then links
# a program that defines each name of scripts/old-internal-names.txt (the
# internals' names before they got the prefix, e.g. dict_set, q_lock,
# pool_submit) against the whole of both archives, as a user program that
# happens to use those names would be. Fails if a symbol is listed or the
# link fails. POSIX build directories (nm, cc, the .pc files of BUILD_DIR).
set -euo pipefail
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB="$BUILD/libmproc.a"
MPILIB="$BUILD/libmproc-mpi.a"
for f in "$LIB" "$MPILIB" "$BUILD/mproc-static.pc" "$BUILD/mproc-mpi-static.pc"; do
  [ -f "$f" ] || { echo "check-symbols: $f missing (build $BUILD first)" >&2; exit 2; }
done
rc=0

# 1. nm: global defined symbols outside mproc_*.
for a in "$LIB" "$MPILIB"; do
  bad=$(nm -A -g --defined-only "$a" 2>/dev/null |
        awk 'NF == 3 && $2 ~ /^[A-Z]$/ && $2 != "U" && $3 !~ /^mproc_/ {sub(/:[0-9a-f]*$/, "", $1); print $1 ": " $3}')
  n=$(grep -c . <<<"$bad" || true)
  if [ "$n" -gt 0 ]; then
    echo "$(basename "$a"): $n global symbols outside mproc_* and mproc__*:"
    while IFS= read -r line; do echo "  ${line#*: }"; done <<<"$bad"
    rc=1
  else
    echo "ok: $(basename "$a") defines only mproc_* and mproc__* globals"
  fi
done

# 2. A program that defines the old internal names links against both
#    archives whole (every object pulled in, as a program using all of
#    mproc would).
work=$(mktemp -d "${TMPDIR:-/tmp}/mproc-symbols.XXXXXX")
trap 'rm -rf "$work"' EXIT
names=$(grep -v '^#' "$ROOT/scripts/old-internal-names.txt" | grep .)
{
  echo '#include <mproc.h>'
  for n in $names; do echo "void $n(void);"; echo "void $n(void) {}"; done
  echo 'int main(void) { return mproc_version()[0] ? 0 : 1; }'
} >"$work/user.c"
# shellcheck disable=SC2016  # a literal ${libdir}
deps() { sed -n 's/^Libs: //p' "$1" | tr ' ' '\n' | grep -v '^\${' | grep . | tr '\n' ' '; }
# shellcheck disable=SC2046  # the dependency flags are words
if cc -o "$work/user" "$work/user.c" -I"$ROOT/include" -I"$BUILD/include" -DMPROC_STATIC \
     -Wl,--whole-archive "$MPILIB" "$LIB" -Wl,--no-whole-archive \
     $(deps "$BUILD/mproc-mpi-static.pc") $(deps "$BUILD/mproc-static.pc") -lpthread >"$work/link.log" 2>&1; then
  echo "ok: a program defining the $(wc -w <<<"$names") old internal names links against both archives"
else
  echo "link of a program defining the old internal names failed ($(grep -c 'multiple definition' "$work/link.log" || true) multiple definitions):"
  grep -m 20 -E 'multiple definition|error' "$work/link.log" | sed 's/^/  /'
  rc=1
fi
exit $rc
