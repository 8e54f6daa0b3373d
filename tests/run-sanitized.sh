#!/usr/bin/env bash
# Runs the test suites of a sanitizer build (ASan + UBSan) and fails if any
# process reported an error.
#
# A report aborts the process that made it, which fails a unit test (its
# death tests provoke reports on purpose, so those run as they are). The
# golden, CLI and FUSE suites run the sanitized famfs, mkfs.famfs and
# famfs_fused as child processes, where a report would only show as an
# exit status that a test expecting failure accepts: every process of those
# suites writes its reports to a log directory, checked at the end.
set -u
build=${1:?usage: run-sanitized.sh BUILD_DIR}
logs="$(cd "$build" && pwd)/sanitizer-logs"
rm -rf "$logs" && mkdir -p "$logs"
run_ctest() { (cd "$build" && ctest --output-on-failure -j "$(nproc)" -L "$1"); }

run_ctest unit
rc=$?
ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1" \
  UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1" run_ctest 'golden|cli|fuse' || rc=$?

shopt -s nullglob
reports=("$logs"/*)
if [ ${#reports[@]} -gt 0 ]; then
  echo "run-sanitized.sh: ${#reports[@]} sanitizer report(s):" >&2
  for r in "${reports[@]}"; do
    echo "=== $r" >&2
    cat "$r" >&2
  done
  exit 1
fi
exit "$rc"
