// The devices this process reaches famfs files through: each opened and
// mapped once per access mode, with this process's own credentials, so the
// data isolation the library offers is exactly the device node's
// permissions. A device is used only when its superblock holds the file
// system the server's map belongs to.
#pragma once

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

Result<OpenDevice> open_famfs_device(const std::string& path, Access access,
                                     const omf::Uuid& fs_uuid);

}  // namespace famfs::intercept
