#!/usr/bin/env bash
# Runs the FUSE integration tests a second time with libfamfs_intercept.so
# preloaded into the test process, so their reads, writes and mappings
# through the mounts are served by the library, and fails unless the
# library really served them.
#
# Left out, because they test what happens inside the server, which the
# library bypasses by design:
#  - LargeRequestsAreServedOnTheRequestersCpu: counts the server's requests;
#  - MemoryThatFailsUnderTheServerGivesEioNotACrash and
#    APoisonListRecordFailsTheFileItCoversAndOnlyThatFile: the fault is
#    injected into the server's view of the device only (the memory itself
#    is sound), and the library learns of it at its next check with the
#    server (within 100 ms), not on the very next call. Real failed memory
#    is an EIO at once under the library (intercept_test's poison case).
set -eu
fuse_test=${1:?usage: run_fuse_tests_under_library.sh FUSE_TEST LIBRARY}
library=${2:?usage: run_fuse_tests_under_library.sh FUSE_TEST LIBRARY}
report=$(mktemp /tmp/famfs-intercept-report.XXXXXX)
trap 'rm -f "$report"' EXIT
excluded='*LargeRequestsAreServedOnTheRequestersCpu:*MemoryThatFailsUnderTheServerGivesEioNotACrash'
excluded+=':*APoisonListRecordFailsTheFileItCoversAndOnlyThatFile'
FAMFS_INTERCEPT_REPORT=$report LD_PRELOAD=$library "$fuse_test" --gtest_filter="-$excluded"
served=$(grep -m1 '(fuse_test)' -A1 "$report" | sed -n 's/^  served from memory: //p')
echo "the library served: $served"
for call in read pread pwrite mmap; do
  if ! grep -Eq "(^|, )$call [1-9]" <<<"$served"; then
    echo "run_fuse_tests_under_library.sh: the library served no $call: the tests ran through the mount" >&2
    cat "$report" >&2
    exit 1
  fi
done
