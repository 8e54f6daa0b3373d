#!/usr/bin/env bash
# Runs the FUSE integration tests a second time with libfamfs_intercept.so
# preloaded into the test process, so their reads, writes and mappings
# through the mounts are served by the library, and fails unless the
# library really served them.
#
# Left out, because they test what happens inside the server, which the
# library bypasses by design:
#  - LargeRequestsAreServedOnTheRequestersCpu: counts the server's requests;
#  - MemoryThatFailsUnderTheServerGivesEioNotACrash: the fault is injected
#    into the server's own view of the device (the memory is sound), and
#    the test asserts that the server's reads found it; under the library
#    the server reads nothing. Memory that really fails is an EIO under the
#    library too (intercept_test's MemoryThatFailsUnderAnOpenFile...).
# And one the library does not match, a known limit (README):
#  - ADescriptorOfADeletedFileShowsNoLinks: the library's fstat takes the
#    kernel's cached attributes (statx DONT_SYNC, no server round trip),
#    whose st_nlink stays 1 for a file another host deleted.
set -eu
fuse_test=${1:?usage: run_fuse_tests_under_library.sh FUSE_TEST LIBRARY}
library=${2:?usage: run_fuse_tests_under_library.sh FUSE_TEST LIBRARY}
report=$(mktemp /tmp/famfs-intercept-report.XXXXXX)
trap 'rm -f "$report"' EXIT
excluded='*LargeRequestsAreServedOnTheRequestersCpu:*MemoryThatFailsUnderTheServerGivesEioNotACrash'
excluded+=':*ADescriptorOfADeletedFileShowsNoLinks'
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
