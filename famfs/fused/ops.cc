#include "ops.h"

namespace famfs::fused {

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
    return ops;
}

}  // namespace famfs::fused
