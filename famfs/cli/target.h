// Where a command's path argument lives: the device that backs it and the
// path relative to the file system root. With the global --device option
// paths are already relative to the root of that (unmounted) device;
// otherwise they are paths inside a famfs mount, found in the mount table.
#pragma once

#include <string>

#include "commands.h"
#include "famfs/result.h"

namespace famfs::cli {

struct Target {
    std::string arg;  // as the user wrote it, for messages
    std::string device;
    std::string relpath;     // "" for the root
    std::string mountpoint;  // empty when addressed through --device

    bool mounted() const { return !mountpoint.empty(); }
    // The path of `relpath` inside the mount (only when mounted()).
    std::string mount_path() const;
    // The same target, one level down.
    Target child(const std::string& name) const;
};

Result<Target> resolve_target(const GlobalOptions& g, const std::string& arg);

// After a metadata change made through a mount, looks the new path up
// through the mount: the server catches up with the log on a lookup miss,
// so the change is visible there at once. A no-op for --device targets.
void reveal_in_mount(const Target& t);

// The last component of a path ("a/b/" -> "b").
std::string base_name(const std::string& path);
// Joins relative paths, either of which may be empty (the root).
std::string join_relpath(const std::string& dir, const std::string& name);

}  // namespace famfs::cli
