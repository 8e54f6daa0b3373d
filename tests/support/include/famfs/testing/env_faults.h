// Faults chosen by the environment, for end-to-end tests that run whole
// binaries (the CLI tests of memory failure run `famfs` and, through
// `famfs mount`, `famfs_fused`). Only the test builds of those binaries
// (build/fault-bin, see tests/support/CMakeLists.txt) install it, as
// open_device()'s decorator (device.h); the shipped binaries have no such
// path.
//
//   FAMFS_TEST_POISON="OFFSET:LEN[,OFFSET:LEN...]"
//
// (device offsets, page-rounded): those ranges of every device the process
// opens raise SIGBUS when touched, like poisoned memory, through the
// FaultyDevice that wraps it.
#pragma once

#include <memory>

#include "famfs/device.h"
#include "famfs/result.h"

namespace famfs::testing {

// The device itself when FAMFS_TEST_POISON is unset or empty, else the
// device wrapped in a FaultyDevice with those ranges poisoned; EINVAL
// naming the range that does not parse or lies outside the device.
Result<std::unique_ptr<Device>> faults_from_environment(std::unique_ptr<Device> device);

}  // namespace famfs::testing
