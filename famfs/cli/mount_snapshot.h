// A copy of a mounted file system's metadata, read through the mount's
// .meta files: the superblock and the log, laid out as on the device in a
// sparse memory file. fsck of a mount path uses it when this user may not
// open the device itself (the reference tool reads the .meta files too).
#pragma once

#include <string>

#include "famfs/result.h"

namespace famfs::cli {

// The path of the copy (/proc/self/fd/N, open until exit), for
// Volume::open.
Result<std::string> metadata_snapshot(const std::string& mountpoint);

}  // namespace famfs::cli
