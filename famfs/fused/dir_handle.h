// An open directory: a snapshot of its entries taken at opendir, so
// offsets stay stable while the follower adds entries.
#pragma once

#include <string>
#include <vector>

#include "inodes.h"

namespace famfs::fused {

struct DirEntry {
    std::string name;
    Inode inode;
};

struct DirHandle {
    std::vector<DirEntry> entries;
};

}  // namespace famfs::fused
