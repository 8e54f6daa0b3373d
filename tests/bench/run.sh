#!/usr/bin/env bash
# Runs every benchmark program (build/bin/bench_*) in turn. Each prints its
# figures with the target and PASS/MISS; this script reports which ran and
# fails if any of them could not run to completion.
set -u
build=${1:-build}
shopt -s nullglob
benches=("$build"/bin/bench_*)
if [ ${#benches[@]} -eq 0 ]; then
  echo "run.sh: no benchmarks in $build/bin (build first)" >&2
  exit 1
fi
failed=0
for b in "${benches[@]}"; do
  [ -x "$b" ] || continue
  echo "=== $(basename "$b")"
  "$b"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "=== $(basename "$b"): did not complete (exit $rc)" >&2
    failed=$((failed + 1))
  fi
done
exit "$failed"
