#include "ops.h"

#include <vector>

namespace famfs::fused {

Caller caller_of(fuse_req_t req) {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    return Caller(ctx->uid, ctx->gid, [req] {
        // The kernel does not send them: libfuse reads the requester's
        // /proc status. Unreadable (the requester is gone, or in another
        // pid namespace): no supplementary groups, which grants less.
        std::vector<gid_t> groups(64);
        for (;;) {
            const int n = fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
            if (n < 0) return std::vector<gid_t>{};
            if (static_cast<size_t>(n) <= groups.size()) {
                groups.resize(static_cast<size_t>(n));
                return groups;
            }
            groups.resize(static_cast<size_t>(n));
        }
    });
}

int metadata_change_errno(const Server& s) {
    return s.role() == Role::kClient ? EROFS : EOPNOTSUPP;
}

fuse_entry_param entry_for(const Server& s, const Inode& in) {
    fuse_entry_param e{};
    e.attr = attributes(s, in);
    e.ino = e.attr.st_ino;
    // Inode numbers are never reused (the namespace only grows).
    e.generation = 1;
    e.attr_timeout = s.options().timeout_secs;
    e.entry_timeout = s.options().timeout_secs;
    return e;
}

fuse_lowlevel_ops make_ops() {
    fuse_lowlevel_ops ops{};
    register_init_ops(ops);
    register_lookup_ops(ops);
    register_dir_ops(ops);
    register_file_ops(ops);
    register_io_ops(ops);
    register_statfs_ops(ops);
    register_xattr_ops(ops);
    register_refused_ops(ops);
    register_remove_ops(ops);
    register_setattr_ops(ops);
    return ops;
}

}  // namespace famfs::fused
