#include "devmem.h"

#include <cstring>

namespace famfs::cli {

Status copy_memory(void* dst, const void* src, size_t n) {
    std::memcpy(dst, src, n);
    return {};
}

Result<std::optional<size_t>> compare_memory(const void* a, const void* b, size_t n) {
    if (std::memcmp(a, b, n) == 0) return std::optional<size_t>{};
    const auto* pa = static_cast<const uint8_t*>(a);
    const auto* pb = static_cast<const uint8_t*>(b);
    size_t i = 0;
    while (pa[i] == pb[i]) ++i;
    return std::optional<size_t>{i};
}

}  // namespace famfs::cli
