#include "devmem.h"

#include <cstdint>
#include <cstring>

namespace famfs::cli {

std::optional<size_t> first_difference(const void* a, const void* b, size_t n) {
    if (std::memcmp(a, b, n) == 0) return std::nullopt;
    const auto* pa = static_cast<const uint8_t*>(a);
    const auto* pb = static_cast<const uint8_t*>(b);
    size_t i = 0;
    while (pa[i] == pb[i]) ++i;
    return i;
}

}  // namespace famfs::cli
