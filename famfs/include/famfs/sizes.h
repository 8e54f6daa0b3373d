// Size arguments: a number with an optional last-character suffix k/K, m/M,
// g/G (powers of 1024), as the famfs CLI has always accepted.
#pragma once

#include <cstdint>
#include <string>

#include "famfs/result.h"

namespace famfs {

Result<uint64_t> parse_size(const std::string& text);

}  // namespace famfs
