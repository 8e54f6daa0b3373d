// --fuse and --nofuse (-F): the reference famfs chooses with them between
// its FUSE server and its standalone kernel module, also for the internal
// mount through which mkfs.famfs and fsck reach a device. Here only the FUSE
// server exists, and mkfs.famfs and fsck read the device directly, so they
// accept both flags; --nofuse says that it changes nothing.
#pragma once

#include <string_view>

namespace famfs::cli {

// Why --nofuse cannot be honoured here (famfs mount refuses with it).
inline constexpr const char* kNoStandaloneModule = "standalone famfs kernel module not available";

// Tells the user (stderr) that --nofuse was accepted and has no effect:
// `program` ("mkfs.famfs", "famfs fsck") reaches the device directly.
void note_nofuse_ignored(std::string_view program);

}  // namespace famfs::cli
