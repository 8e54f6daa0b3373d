#include "famfs/testing/noncoherent_device.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

namespace famfs::testing {
namespace {

constexpr uint64_t kLine = 64;
constexpr uint64_t kPage = 4096;

uint8_t* map_private(uint64_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
}

bool all_zero(const uint8_t* p, uint64_t n) {
    return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

}  // namespace

Result<std::unique_ptr<NonCoherentDevice>> NonCoherentDevice::create(
    std::shared_ptr<MemoryDevice> memory, Options opt) {
    const uint64_t size = memory->size();
    uint8_t* cache = map_private(size);
    uint8_t* clean = cache ? map_private(size) : nullptr;
    if (!clean) {
        const int err = errno;
        if (cache) munmap(cache, size);
        return make_error(err, opt.host + ": cannot map a cache of " + std::to_string(size) +
                                   " bytes: " + std::strerror(err));
    }
    {
        // Fresh anonymous pages are zero: only memory's other pages are
        // copied, so a cache costs what the memory holds, not its size.
        std::lock_guard lk(memory->line_mutex());
        for (uint64_t off = 0; off < size; off += kPage) {
            const uint64_t n = std::min(kPage, size - off);
            if (all_zero(memory->base() + off, n)) continue;
            std::memcpy(cache + off, memory->base() + off, n);
            std::memcpy(clean + off, memory->base() + off, n);
        }
    }
    return std::unique_ptr<NonCoherentDevice>(
        new NonCoherentDevice(std::move(memory), std::move(opt), cache, clean));
}

NonCoherentDevice::NonCoherentDevice(std::shared_ptr<MemoryDevice> memory, Options opt,
                                     uint8_t* cache, uint8_t* clean)
    : DeviceWrapper(memory),
      memory_(*memory),
      opt_(std::move(opt)),
      path_(opt_.host + ":" + memory->path()),
      cache_(cache),
      clean_(clean),
      rng_(opt_.seed) {}

NonCoherentDevice::~NonCoherentDevice() {
    munmap(cache_, size());
    munmap(clean_, size());
}

template <class Op>
void NonCoherentDevice::each_line(const void* p, size_t n, Op op) {
    if (n == 0) return;
    const auto off = static_cast<uint64_t>(static_cast<const uint8_t*>(p) - cache_);
    const uint64_t end = std::min(off + n, size());
    for (uint64_t line = off / kLine; line * kLine < end; ++line) op(line);
}

void NonCoherentDevice::write_back(uint64_t line) {
    const uint64_t off = line * kLine;
    const uint64_t n = std::min(kLine, size() - off);
    if (std::memcmp(cache_ + off, clean_ + off, n) == 0) return;  // clean: nothing to write
    std::memcpy(memory_.base() + off, cache_ + off, n);
    std::memcpy(clean_ + off, cache_ + off, n);
}

void NonCoherentDevice::refresh(uint64_t line) {
    const uint64_t off = line * kLine;
    const uint64_t n = std::min(kLine, size() - off);
    std::memcpy(cache_ + off, memory_.base() + off, n);
    std::memcpy(clean_ + off, memory_.base() + off, n);
}

void NonCoherentDevice::evict_at_random() {
    const uint64_t lines = (size() + kLine - 1) / kLine;
    for (uint32_t i = 0; i < opt_.evictions_per_call; ++i) {
        const uint64_t line = rng_() % lines;
        write_back(line);
        refresh(line);
    }
}

Status NonCoherentDevice::persist(const void* p, size_t n) {
    std::lock_guard lk(memory_.line_mutex());
    each_line(p, n, [this](uint64_t line) { write_back(line); });
    evict_at_random();
    return {};
}

void NonCoherentDevice::invalidate(const void* p, size_t n) {
    std::lock_guard lk(memory_.line_mutex());
    each_line(p, n, [this](uint64_t line) {
        write_back(line);
        refresh(line);
    });
    evict_at_random();
}

uint64_t NonCoherentDevice::dirty_lines(uint64_t offset, uint64_t len) const {
    std::lock_guard lk(memory_.line_mutex());
    uint64_t dirty = 0;
    const uint64_t end = std::min(offset + len, size());
    for (uint64_t off = offset / kLine * kLine; off < end; off += kLine) {
        const uint64_t n = std::min(kLine, size() - off);
        if (std::memcmp(cache_ + off, clean_ + off, n) != 0) dirty++;
    }
    return dirty;
}

}  // namespace famfs::testing
