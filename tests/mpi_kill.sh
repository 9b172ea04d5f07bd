#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mpi_kill.sh RUNS MPIEXEC [LAUNCHER OPTIONS...] -- PROGRAM: runs PROGRAM
# (test_mpi_kill) RUNS times, each a fresh job of 5 ranks whose worker rank
# running a random item kills itself. Every run must end within 60 s. If
# the program says "survives 1", the run must succeed (the map failed with
# MPROC_EWORKERLOST or succeeded, then the pool went on); with "survives 0"
# the engine may end the job (that is what the query promises), and it
# must: a run that ends with status 0 anyway is fine too. Prints the time
# from the kill to the end of the job (abort) or of the program.
set -u
runs=$1; shift
launcher=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do launcher+=("$1"); shift; done
shift
prog=$1
fail=0
for i in $(seq 1 "$runs"); do
  at=$(( (RANDOM * 32768 + RANDOM) % 20000 ))
  start=$(date +%s)
  out=$(timeout -k 5 60 "${launcher[@]}" -n 5 "$prog" "$at" 2>&1)
  rc=$?
  end=$(date +%s.%N)
  ended=$(( ${end%.*} - start < 60 ))
  killed=$(sed -n 's/^killed at //p' <<<"$out" | head -1)
  took=""
  [ -n "$killed" ] && took=$(awk -v a="$killed" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
  surv=$(sed -n 's/^survives //p' <<<"$out" | head -1)
  if [ $ended -eq 0 ]; then
    echo "run $i (item $at): did not end within 60 s"; fail=1
  elif [ -z "$surv" ]; then
    echo "run $i (item $at): never started (status $rc): $out"; fail=1
  elif [ "$surv" = 1 ] && [ $rc -ne 0 ]; then
    echo "run $i (item $at): survives 1 but status $rc: $out"; fail=1
  else
    echo "run $i (item $at): survives $surv, status $rc, kill to end ${took:-?} s, $(grep -E '^(map|second)' <<<"$out" | tr '\n' ' ')"
  fi
done
exit $fail
