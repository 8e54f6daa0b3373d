// Makes a range of a mapping behave like failed memory: every access raises
// SIGBUS, as touching poisoned memory does: how the fault-injecting device
// (famfs/testing/faulty_device.h) poisons memory without a machine check.
#pragma once

#include <cstdint>

#include "famfs/result.h"

namespace famfs::testing {

// [addr, addr + len) must be page-aligned and inside an existing mapping.
Status map_sigbus_hole(uint8_t* addr, uint64_t len);

}  // namespace famfs::testing
