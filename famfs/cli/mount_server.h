// A mount and its server, for the commands that manage famfs mounts (mount,
// umount, status, logplay): what is mounted where, where famfs_fused is, and
// talking to a running famfs_fused through its .meta files
// (famfs/meta_protocol.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "famfs/mounts.h"
#include "famfs/result.h"

namespace famfs::cli {

// `path` made absolute and lexically clean without touching it (a dead FUSE
// mount point cannot be stat()ed).
std::string absolute_lexical(const std::string& path);

enum class MountState { kNotMounted, kLive, kDead };
// Whether something is mounted on `dir`; a FUSE mount whose server died
// answers ENOTCONN and is kDead.
MountState mount_state(const std::string& dir);

// The famfs mount whose mount point is exactly `dir` (absolute), if any.
std::optional<MountInfo> famfs_mount_at(const std::string& dir);

// The server's .meta/.status: the text, and key -> value for its
// "key: value" lines (the first of repeated keys).
struct ServerStatus {
    std::map<std::string, std::string> fields;
    std::string text;
    uint64_t number(const std::string& key) const;
};
Result<ServerStatus> read_server_status(const std::string& mountpoint);
// Writes one command to the server's .meta/.control.
Status send_control(const std::string& mountpoint, const std::string& command);

// Where famfs_fused is: $FAMFS_FUSED, else next to this executable, else
// the PATH.
std::string fused_path();

}  // namespace famfs::cli
