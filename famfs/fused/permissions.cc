#include "permissions.h"

#include <sys/stat.h>

#include <algorithm>

#include "inodes.h"
#include "server.h"

namespace famfs::fused {

bool Caller::in_group(gid_t g) const {
    if (g == gid_) return true;
    if (!groups_) groups_ = fetch_ ? fetch_() : std::vector<gid_t>{};
    return std::find(groups_->begin(), groups_->end(), g) != groups_->end();
}

bool mode_allows(const Caller& c, mode_t mode, uid_t owner, gid_t group, int want) {
    want &= kMayRead | kMayWrite | kMayExec;
    if (c.root()) {
        // CAP_DAC_OVERRIDE: everything but executing a file nobody may execute.
        return !(want & kMayExec) || S_ISDIR(mode) || (mode & (S_IXUSR | S_IXGRP | S_IXOTH));
    }
    unsigned bits;
    if (c.uid() == owner) {
        bits = (mode >> 6) & 7;
    } else if (((mode >> 3) & 7 & want) != (mode & 7 & want) && c.in_group(group)) {
        // Membership matters only where the group's bits differ from the others'.
        bits = (mode >> 3) & 7;
    } else {
        bits = mode & 7;
    }
    return (static_cast<unsigned>(want) & ~bits) == 0;
}

bool server_checks_permissions(const Server& s) {
    return !s.options().default_permissions;
}

namespace {

bool allows(const Server& s, const Caller& c, const Inode& in, int want) {
    const struct stat st = attributes(s, in);
    return mode_allows(c, st.st_mode, st.st_uid, st.st_gid, want);
}

}  // namespace

int check_access(const Server& s, const Caller& c, const Inode& in, int want) {
    if (!server_checks_permissions(s)) return 0;
    // The directories above, root first; nodes never move, so this is the
    // one path every walk to `in` takes.
    std::vector<Inode> above;
    if (in.meta) {
        if (*in.meta != MetaFile::kDir) above.push_back(Inode{nullptr, MetaFile::kDir});
        above.push_back(*resolve(s, kRootIno));
    } else {
        for (const Node* p = in.node->parent; p; p = p->parent)
            above.push_back(Inode{p, std::nullopt});
    }
    for (auto it = above.rbegin(); it != above.rend(); ++it) {
        if (!allows(s, c, *it, kMayExec)) return EACCES;
    }
    return want == 0 || allows(s, c, in, want) ? 0 : EACCES;
}

}  // namespace famfs::fused
