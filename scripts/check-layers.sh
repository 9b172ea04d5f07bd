#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check-layers.sh [BUILD_DIR] - the core's subsystems use only those below
# them (docs/architecture.md). Two checks:
#   1. includes: every `#include "DIR/..."` in core/DIR2/ names a folder that
#      DIR2 may use (the table below);
#   2. calls (with BUILD_DIR, a POSIX build): every symbol an object file of
#      core/DIR2/ needs from another core folder is defined in one DIR2 may
#      use (nm), so no lower file calls up through a declaration alone.
# core/kinds.c, the table of kinds at the top, may use every folder.
# Lists each violation; exits 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A may=(
  [base]="base"
  [ipc]="base ipc"
  [sync]="base sync"
  [shmem]="base sync shmem"
  [proc]="base ipc sync shmem proc"
  [queue]="base ipc sync shmem proc queue"
  [pool]="base ipc sync shmem proc queue pool"
  [manager]="base ipc sync shmem proc queue manager"
)
allowed() { [[ " ${may[$1]} " == *" $2 "* ]]; }
bad=0
for dir in core/*/; do
  d=$(basename "$dir")
  [ -n "${may[$d]+x}" ] || { echo "core/$d: a folder without a place in the layer table"; bad=1; continue; }
  while IFS=: read -r file _ inc; do
    used=${inc%%/*}
    [ -n "${may[$used]+x}" ] || continue
    allowed "$d" "$used" || { echo "$file includes $inc: $d may not use $used"; bad=1; }
  done < <(grep -HnoE '#include "[a-z]+/[a-z_0-9]+\.h"' "$dir"* | sed -E 's/:#include "/:/; s/"$//' | awk -F: '{print $1 ":" $2 ":" $3}')
done

if [ $# -ge 1 ]; then
  objs="$1/CMakeFiles/mproc_objects.dir/core"
  [ -d "$objs" ] || { echo "check-layers: $objs missing (build first)" >&2; exit 2; }
  defs=$(mktemp)
  trap 'rm -f "$defs"' EXIT
  for o in "$objs"/*/*.o; do
    d=$(basename "$(dirname "$o")")
    nm -g --defined-only "$o" | awk -v d="$d" 'NF == 3 {print $3, d}'
  done | sort -k1,1 >"$defs"
  for o in "$objs"/*/*.o; do
    d=$(basename "$(dirname "$o")")
    while read -r sym owner; do
      [ "$owner" = "$d" ] && continue
      allowed "$d" "$owner" || { echo "core/$d/$(basename "${o%.o}"): calls $sym of core/$owner"; bad=1; }
    done < <(nm -u "$o" | awk '{print $2}' | sort -u | join - "$defs")
  done
fi
[ "$bad" -eq 0 ] && echo "ok: the core's layers run one way"
exit "$bad"
