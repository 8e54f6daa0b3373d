// Inode numbers the kernel sees. Namespace nodes keep famfs::Node::ino (root
// 1, else log index + 2: the same on every host). The compatibility and
// control files under .meta live far above any log index.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>

#include "famfs/namespace.h"
#include "meta.h"

namespace famfs::fused {

class Server;

inline constexpr uint64_t kRootIno = 1;

// What an inode number refers to: a namespace node or a .meta entry.
struct Inode {
    const Node* node = nullptr;
    std::optional<MetaFile> meta;
    bool is_dir() const { return meta ? *meta == MetaFile::kDir : node->is_dir; }
};

// Resolves under the caller's read_tree() lock; nullopt for unknown numbers.
// A deleted file or directory still resolves: the kernel asks about the
// inodes of descriptors opened before the delete (check Node::deleted_at
// before giving out anything new).
std::optional<Inode> resolve(const Server& s, uint64_t ino);

struct stat attributes(const Server& s, const Inode& in);

}  // namespace famfs::fused
