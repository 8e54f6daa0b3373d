// The .meta protocol between a mount's server (famfs_fused) and the famfs
// CLI (docs/cli.md, "The .meta directory of a mount"): the directory every
// famfs mount serves at its root, its files, the keys of the .status lines
// the CLI reads, and the commands .control takes. Both sides use these
// names, so neither can drift from the other.
#pragma once

namespace famfs::meta {

// The directory, at the mount's root.
inline constexpr char kDir[] = ".meta";

// Its files. The superblock and the log are the device's own bytes (root
// only); .status is text the server makes on open; .control takes one
// command per write (root only).
inline constexpr char kSuperblock[] = ".superblock";
inline constexpr char kLog[] = ".log";
inline constexpr char kStatus[] = ".status";
inline constexpr char kControl[] = ".control";

// The same files as paths relative to the mount's root.
inline constexpr char kSuperblockPath[] = ".meta/.superblock";
inline constexpr char kLogPath[] = ".meta/.log";
inline constexpr char kStatusPath[] = ".meta/.status";
inline constexpr char kControlPath[] = ".meta/.control";

// .status is "key: value" lines; these are the keys the CLI reads.
inline constexpr char kKeySeparator[] = ": ";
inline constexpr char kKeyRole[] = "role";  // present in every status
inline constexpr char kKeyPid[] = "pid";    // the server's process
inline constexpr char kKeyEntriesReplayed[] = "entries_replayed";
inline constexpr char kKeyLogNextIndex[] = "log_next_index";
inline constexpr char kKeyErrors[] = "errors";
inline constexpr char kKeyPoisoned[] = "poisoned";  // one line per poisoned range

// Commands written to .control.
inline constexpr char kCatchUp[] = "catchup";               // apply the log now
inline constexpr char kNotifyFailure[] = "notify-failure";  // [REASON]: mark the device failed

}  // namespace famfs::meta
