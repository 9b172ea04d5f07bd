#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check-license.sh - every tracked file carries an
# "SPDX-License-Identifier: MIT" line in its first lines, and LICENSE
# exists. Exempt: LICENSE itself and the fuzz seed inputs (raw bytes that
# a comment would change). Lists the files without one; exits 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f LICENSE ] || { echo "LICENSE missing"; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files)
else
  mapfile -t files < <(find . -type f ! -path './build*' ! -path './.git/*' | sed 's|^\./||')
fi
bad=0
for f in "${files[@]}"; do
  case "$f" in
    tests/fuzz/corpus/* | LICENSE) continue ;;
  esac
  [ -f "$f" ] || continue
  if ! head -n 5 "$f" | grep -q 'SPDX-License-Identifier: MIT'; then
    echo "no SPDX line: $f"
    bad=1
  fi
done
[ "$bad" -eq 0 ] && echo "ok: ${#files[@]} files checked"
exit "$bad"
