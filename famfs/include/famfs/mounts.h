// Finding famfs mounts: a path inside a mount resolves to the device that
// backs it and the relative path famfs logs. The mount table is the truth
// (famfs_fused mounts with fsname = device path and subtype famfs).
#pragma once

#include <chrono>
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

// `path` with symbolic links resolved, or as given when it cannot be (it
// does not exist): how two names of one device are compared.
std::string resolved_or_given(const std::string& path);

// Whether a famfs server on this host serves the device: it is listed as a
// famfs mount, or a server holds the device's mount lock. After a plain
// `umount` the mount is gone at once but its server holds the lock until it
// has exited, so a lock without a mount is given `grace` to go; a mount
// that is still starting (lock taken, not yet listed) stays busy.
bool served_here(const std::string& device_path,
                 std::chrono::milliseconds grace = std::chrono::seconds(2));
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
