// Whether a device is in use on this host: held by a famfs server (its
// mount lock), listed as a famfs mount, or the source of any other mount.
#pragma once

#include <string>

namespace famfs::cli {

bool device_in_use(const std::string& device);

}  // namespace famfs::cli
