// The server's side of the .meta protocol (famfs/meta_protocol.h): the
// directory at the mount's root, its files, who may open each, and what a
// command written to .control does. The superblock and the log are served
// like files over their device regions (datapath.h); the text of .status is
// made by Server::status_text (status_text.cc).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace famfs::fused {

class Caller;
class Server;
struct FileHandle;

enum class MetaFile { kDir, kSuperblock, kLog, kStatus, kControl };
inline constexpr MetaFile kMetaFiles[] = {MetaFile::kSuperblock, MetaFile::kLog, MetaFile::kStatus,
                                          MetaFile::kControl};

// Inode numbers, far above any log index (inodes.h).
uint64_t meta_ino(MetaFile m);
std::optional<MetaFile> meta_of_ino(uint64_t ino);
// A file inside .meta by name.
std::optional<MetaFile> meta_by_name(std::string_view name);
const char* meta_name(MetaFile m);
mode_t meta_mode(MetaFile m);
// The size stat shows: the region's for the superblock and the log, else 0
// (the generated files are read with direct I/O, so it limits nothing).
uint64_t meta_size(const Server& s, MetaFile m);

// An open(2) of a .meta file with `flags`, by `c` (mode bits already
// checked): fills `out` for .status and .control, which touch no device
// memory; for the superblock and the log it only decides who may open them
// and leaves `out` empty (open_data maps them). 0 or a positive errno.
int open_meta(Server& s, const Caller& c, MetaFile m, int flags, std::shared_ptr<FileHandle>& out);

// Runs one command written to .control; 0 or a positive errno (EINVAL for
// an unknown command).
int run_control(Server& s, std::string_view cmd);

}  // namespace famfs::fused
