#include "devices.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "famfs/memsafe.h"
#include "real_calls.h"

namespace famfs::intercept {

namespace {

struct Cache {
    std::mutex mu;
    std::map<std::pair<std::string, Access>, OpenDevice> open;   // guarded by mu
    std::map<std::string, const std::atomic<uint64_t>*> epochs;  // guarded by mu
};

Cache& cache() {
    static Cache* c = new Cache;  // never destroyed: calls may come during exit()
    return *c;
}

Status holds_file_system(Device& dev, const std::string& path, const omf::Uuid& fs_uuid) {
    if (dev.size() < omf::kSuperblockRegion) {
        return make_error(ENODEV, path + ": too small to hold a famfs superblock");
    }
    const auto now = read_fs_uuid(dev);
    if (!now) return make_error(EIO, path + ": the superblock cannot be read");
    if (*now != fs_uuid) {
        return make_error(ESTALE, path + ": holds another file system than the mount's");
    }
    return {};
}

Result<OpenDevice> open_uncached(const std::string& path, Access access, const omf::Uuid& fs_uuid) {
    auto dev = open_device(path, access);
    if (!dev) return dev.error();
    FAMFS_TRY(holds_file_system(**dev, path, fs_uuid));
    const int flags = (access == Access::kReadWrite ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    const int fd = real().open(path.c_str(), flags);
    if (fd < 0) return make_error(errno, path + ": " + std::strerror(errno));
    return OpenDevice{std::shared_ptr<Device>(std::move(*dev)), fd};
}

}  // namespace

Result<omf::Uuid> read_fs_uuid(Device& dev) {
    const uint8_t* at = dev.base() + omf::kSuperblockFsUuidOffset;
    omf::Uuid uuid{};
    Status read = memsafe::guarded(at, uuid.size(), [&] {
        dev.invalidate_data(at, uuid.size());
        std::memcpy(uuid.data(), at, uuid.size());
    });
    if (!read) return read.error();
    return uuid;
}

void lock_devices_for_fork() {
    cache().mu.lock();
}

void unlock_devices_after_fork() {
    cache().mu.unlock();
}

const std::atomic<uint64_t>* map_epoch_page(const std::string& path) {
    if (path.empty()) return nullptr;
    Cache& c = cache();
    std::lock_guard lock(c.mu);
    if (auto it = c.epochs.find(path); it != c.epochs.end()) return it->second;
    const int fd = real().open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return nullptr;
    void* p = real().mmap(nullptr, sizeof(uint64_t), PROT_READ, MAP_SHARED, fd, 0);
    real().close(fd);
    if (p == MAP_FAILED) return nullptr;
    // Never unmapped: served files keep pointing at it.
    return c.epochs[path] = static_cast<const std::atomic<uint64_t>*>(p);
}

Result<OpenDevice> open_famfs_device(const std::string& path, Access access,
                                     const omf::Uuid& fs_uuid) {
    Cache& c = cache();
    std::lock_guard lock(c.mu);
    const auto key = std::make_pair(path, access);
    if (auto it = c.open.find(key); it != c.open.end()) {
        // A device re-formatted since it was opened: open it again.
        if (holds_file_system(*it->second.device, path, fs_uuid)) return it->second;
    }
    auto opened = open_uncached(path, access, fs_uuid);
    if (!opened) return opened.error();
    // The old mapping stays: files still served from it keep their memory.
    c.open[key] = *opened;
    return opened;
}

}  // namespace famfs::intercept
