#include "famfs/testing/faulty_device.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "famfs/testing/memory_device.h"
#include "sigbus_hole.h"

namespace famfs::testing {
namespace {

constexpr uint64_t kLine = 64;

uint64_t page_size() {
    return static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

Result<std::unique_ptr<FaultyDevice>> FaultyDevice::create(uint64_t size, std::string path) {
    auto memory = MemoryDevice::create(size, std::move(path));
    if (!memory) return memory.error();
    return std::make_unique<FaultyDevice>(std::shared_ptr<Device>(std::move(*memory)));
}

Status FaultyDevice::persist(const void* p, size_t n) {
    ++persists_;
    const auto* bytes = static_cast<const uint8_t*>(p);
    if (fail_at_ != 0 && persists_ == fail_at_)
        return make_error(
            EIO, path() + ": injected power loss at persist #" + std::to_string(persists_));
    if (tear_at_ != 0 && persists_ == tear_at_) return tear(bytes, n);
    return write_back(bytes, n);
}

Status FaultyDevice::write_back(const uint8_t* p, size_t n) {
    if (!snapshot_.empty()) {
        const uint64_t off = static_cast<uint64_t>(p - base());
        persisted_[off].assign(p, p + n);
    }
    return DeviceWrapper::persist(p, n);
}

Status FaultyDevice::tear(const uint8_t* p, size_t n) {
    // Whole lines of the range, each written back or not by a coin flip.
    std::mt19937_64 rng(tear_seed_);
    const auto first = reinterpret_cast<uintptr_t>(p) / kLine * kLine;
    const auto end = reinterpret_cast<uintptr_t>(p) + n;
    for (uintptr_t a = first; a < end; a += kLine) {
        const auto* line = reinterpret_cast<const uint8_t*>(std::max(a, uintptr_t(p)));
        const size_t len = std::min<uintptr_t>(a + kLine, end) - uintptr_t(line);
        if (rng() & 1) FAMFS_TRY(write_back(line, len));
    }
    return make_error(EIO, path() + ": injected power loss during persist #" +
                               std::to_string(persists_) + " (torn)");
}

void FaultyDevice::fail_persist_at(uint64_t k) {
    fail_at_ = k == 0 ? 0 : persists_ + k;
}

void FaultyDevice::tear_persist_at(uint64_t k, uint64_t seed) {
    tear_at_ = k == 0 ? 0 : persists_ + k;
    tear_seed_ = seed;
}

void FaultyDevice::snapshot() {
    snapshot_.assign(base(), base() + size());
    persisted_.clear();
}

std::vector<uint8_t> FaultyDevice::persisted_image() const {
    std::vector<uint8_t> image = snapshot_;
    for (const auto& [off, data] : persisted_)
        std::copy(data.begin(), data.end(), image.begin() + off);
    return image;
}

void FaultyDevice::load_image(const std::vector<uint8_t>& image) {
    std::memcpy(base(), image.data(), std::min<uint64_t>(image.size(), size()));
}

Status FaultyDevice::poison(uint64_t offset, uint64_t len) {
    const uint64_t pg = page_size();
    const uint64_t first = offset / pg * pg;
    const uint64_t end = std::min(size(), (offset + len + pg - 1) / pg * pg);
    FAMFS_TRY(map_sigbus_hole(base() + first, end - first));
    poisoned_.emplace_back(first, end - first);
    return {};
}

Status FaultyDevice::unpoison_all() {
    auto* memory = dynamic_cast<MemoryDevice*>(&target());
    if (!memory && !poisoned_.empty())
        return make_error(ENOTSUP, path() + ": poisoned memory of this device cannot be restored");
    for (auto [off, len] : poisoned_) FAMFS_TRY(memory->remap(off, len));
    poisoned_.clear();
    return {};
}

}  // namespace famfs::testing
