// Comparing file data with expected bytes. Pure memory work: callers that
// pass device memory run it inside dax::FileMapping::guarded(), which turns
// a poison SIGBUS into an EIO error naming the file and offset.
#pragma once

#include <cstddef>
#include <optional>

namespace famfs::cli {

// Offset of the first byte where a and b differ, if any.
std::optional<size_t> first_difference(const void* a, const void* b, size_t n);

}  // namespace famfs::cli
