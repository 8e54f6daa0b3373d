// Finding famfs mounts: a path inside a mount resolves to the device that
// backs it and the relative path famfs logs. The mount table is the truth
// (famfs_fused mounts with fsname = device path and subtype famfs).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "famfs/result.h"

namespace famfs {

struct MountInfo {
    std::string device;      // as given to famfs mount
    std::string mountpoint;  // absolute
};

inline constexpr const char* kFuseType = "fuse.famfs";

std::vector<MountInfo> famfs_mounts();
// The famfs mounts listed in a mount table in /proc/self/mounts syntax
// (fields separated by blanks, octal escapes such as \040 in names).
std::vector<MountInfo> parse_famfs_mounts(std::string_view table);
// The mount containing `path` (which need not exist yet) and path's
// position relative to the mount point ("" for the mount point itself).
struct ResolvedPath {
    MountInfo mount;
    std::string relpath;
};
// ENOENT when no famfs mount contains the path.
Result<ResolvedPath> resolve_in_mount(const std::string& path);
// The same against a given list of mounts (tests).
Result<ResolvedPath> resolve_in_mount(const std::string& path,
                                      const std::vector<MountInfo>& mounts);

}  // namespace famfs
