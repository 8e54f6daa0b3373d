// Size arguments: a number with an optional last-character suffix k/K, m/M,
// g/G (powers of 1024), as the famfs CLI has always accepted; and sizes as
// people read them.
#pragma once

#include <cstdint>
#include <string>

#include "famfs/result.h"

namespace famfs {

Result<uint64_t> parse_size(const std::string& text);

// "512 B", "1.50 KiB", "8.00 GiB": two decimals in the largest binary unit
// that keeps the number at 1 or more.
std::string human_size(uint64_t bytes);

}  // namespace famfs
