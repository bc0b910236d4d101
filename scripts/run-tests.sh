#!/usr/bin/env bash
# Runs the tap suite and ends with the plain "N passed, N failed" line CI reads.
set -uo pipefail
log=$(mktemp)
npx tap "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -1)
total=$(sed -nE 's/.*total: ([0-9]+).*/\1/p' <<<"$summary")
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
rm -f "$log"
if [ -n "$total" ]; then
  todo=$(sed -nE 's/.*todo: ([0-9]+).*/\1/p' <<<"$summary")
  skip=$(sed -nE 's/.*skip: ([0-9]+).*/\1/p' <<<"$summary")
  # todo and skip are neither passed nor failed (tap prints no "fail:" when nothing failed)
  [ -z "$fail" ] && fail=$(( total - ${pass:-0} - ${todo:-0} - ${skip:-0} ))
  [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
  skipped=$(( ${todo:-0} + ${skip:-0} ))
  if [ "$skipped" -gt 0 ]; then echo "tests: ${pass:-0} passed, ${fail} failed, ${skipped} skipped"
  else echo "tests: ${pass:-0} passed, ${fail} failed"; fi
fi
exit "$rc"
