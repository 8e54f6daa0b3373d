#include "devmem.h"

#include <cstring>

#include "famfs/memsafe.h"

namespace famfs::cli {

Status copy_memory(void* dst, const void* src, size_t n) {
    return memsafe::copy(dst, src, n);
}

Result<std::optional<size_t>> compare_memory(const void* a, const void* b, size_t n) {
    std::optional<size_t> differs;
    Status s = memsafe::guarded(a, n, [&] {
        if (std::memcmp(a, b, n) == 0) return;
        const auto* pa = static_cast<const uint8_t*>(a);
        const auto* pb = static_cast<const uint8_t*>(b);
        size_t i = 0;
        while (pa[i] == pb[i]) ++i;
        differs = i;
    });
    if (!s) return s.error();
    return differs;
}

}  // namespace famfs::cli
