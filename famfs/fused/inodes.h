// Inode numbers the kernel sees. Namespace nodes keep famfs::Node::ino (root
// 1, else log index + 2: the same on every host). The compatibility and
// control files under .meta live far above any log index.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "famfs/meta_protocol.h"
#include "famfs/namespace.h"

namespace famfs::fused {

class Server;

inline constexpr uint64_t kRootIno = 1;

enum class MetaFile { kDir, kSuperblock, kLog, kStatus, kControl };

uint64_t meta_ino(MetaFile m);
std::optional<MetaFile> meta_of_ino(uint64_t ino);
// A file inside .meta by name.
std::optional<MetaFile> meta_by_name(std::string_view name);
const char* meta_name(MetaFile m);
inline constexpr MetaFile kMetaFiles[] = {MetaFile::kSuperblock, MetaFile::kLog, MetaFile::kStatus,
                                          MetaFile::kControl};

// What an inode number refers to: a namespace node or a .meta entry.
struct Inode {
    const Node* node = nullptr;
    std::optional<MetaFile> meta;
    bool is_dir() const { return meta ? *meta == MetaFile::kDir : node->is_dir; }
};

// Resolves under the caller's read_tree() lock; nullopt for unknown numbers.
std::optional<Inode> resolve(const Server& s, uint64_t ino);

struct stat attributes(const Server& s, const Inode& in);

}  // namespace famfs::fused
