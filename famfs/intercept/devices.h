// The devices this process reaches famfs files through: each opened and
// mapped once per access mode, with this process's own credentials, so the
// data isolation the library offers is exactly the device node's
// permissions. A device is used only when its superblock holds the file
// system the server's map belongs to.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "famfs/device.h"
#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs::intercept {

struct OpenDevice {
    std::shared_ptr<Device> device;  // the whole device, mapped MAP_SHARED
    int fd = -1;                     // for mapping pieces of it into mmap() ranges
};

// The file system UUID the device's superblock holds now (its cache line
// dropped first on memory that is not host-local); EIO when that memory
// has failed. What tells one formatting of a device from the next.
Result<omf::Uuid> read_fs_uuid(Device& dev);

// The server's epoch page (epoch_page.h in famfs_fused), mapped read-only
// once per process; null when it cannot be mapped (the library then only
// asks the server again every ServedFile::kRecheck).
const std::atomic<uint64_t>* map_epoch_page(const std::string& path);

// fork(): the device cache is held across it, so the child's is whole.
void lock_devices_for_fork();
void unlock_devices_after_fork();

Result<OpenDevice> open_famfs_device(const std::string& path, Access access,
                                     const omf::Uuid& fs_uuid);

}  // namespace famfs::intercept
