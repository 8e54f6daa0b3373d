// Every load from and store to device memory that the CLI's data loops make
// goes through these two functions. Poisoned memory raises SIGBUS on touch;
// here it becomes an EIO error (famfs/memsafe.h) that the caller reports
// with the file and offset, instead of killing the command.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "famfs/result.h"

namespace famfs::cli {

// Copies n bytes (either side may be device memory).
Status copy_memory(void* dst, const void* src, size_t n);
// Offset of the first differing byte, if any. Only `a` is guarded: it is
// the device side.
Result<std::optional<size_t>> compare_memory(const void* a, const void* b, size_t n);

}  // namespace famfs::cli
