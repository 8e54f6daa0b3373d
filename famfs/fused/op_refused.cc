// Operations famfs does not perform through a mount. Metadata is changed
// by the master's famfs CLI, which logs it (unlink and rmdir are the
// exceptions: op_remove.cc); so these fail with a clear errno (EROFS on
// clients, EOPNOTSUPP on the master) and touch nothing.
#include "ops.h"

namespace famfs::fused {

namespace {

void refuse(fuse_req_t req) {
    fuse_reply_err(req, metadata_change_errno(server_of(req)));
}

void famfs_mknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) {
    refuse(req);
}
void famfs_mkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) {
    refuse(req);
}
void famfs_symlink(fuse_req_t req, const char*, fuse_ino_t, const char*) {
    refuse(req);
}
void famfs_rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
    refuse(req);
}
void famfs_link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) {
    refuse(req);
}
void famfs_create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) {
    refuse(req);
}
void famfs_setxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) {
    refuse(req);
}
void famfs_removexattr(fuse_req_t req, fuse_ino_t, const char*) {
    refuse(req);
}
void famfs_fallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) {
    refuse(req);
}

}  // namespace

void register_refused_ops(fuse_lowlevel_ops& ops) {
    ops.mknod = famfs_mknod;
    ops.mkdir = famfs_mkdir;
    ops.symlink = famfs_symlink;
    ops.rename = famfs_rename;
    ops.link = famfs_link;
    ops.create = famfs_create;
    ops.setxattr = famfs_setxattr;
    ops.removexattr = famfs_removexattr;
    ops.fallocate = famfs_fallocate;
}

}  // namespace famfs::fused
