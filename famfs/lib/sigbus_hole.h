// Makes a range of a mapping behave like failed memory: every access raises
// SIGBUS, as touching poisoned memory does. Used by the fault-injecting
// device, and by the FAMFS_TEST_POISON test seam of open_device().
#pragma once

#include <cstdint>

#include "famfs/result.h"

namespace famfs {

// [addr, addr + len) must be page-aligned and inside an existing mapping.
Status map_sigbus_hole(uint8_t* addr, uint64_t len);

}  // namespace famfs
