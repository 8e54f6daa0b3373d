// Little-endian field access at explicit offsets: the codec never relies on
// the compiler's struct layout.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>

namespace famfs::bytes {

static_assert(std::endian::native == std::endian::little, "famfs media are little-endian");

template <class T>
inline T get(std::span<const uint8_t> b, size_t off) {
    T v;
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

template <class T>
inline void put(std::span<uint8_t> b, size_t off, T v) {
    std::memcpy(b.data() + off, &v, sizeof v);
}

}  // namespace famfs::bytes
