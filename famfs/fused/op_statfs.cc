// statfs: capacity and free space from the allocator, inodes from the log.
#include <sys/statvfs.h>

#include "ops.h"

namespace famfs::fused {

namespace {

void famfs_statfs(fuse_req_t req, fuse_ino_t ino) {
    (void)ino;
    Server& s = server_of(req);
    struct statvfs st {};
    auto rd = s.read_tree();
    const Allocator& a = s.allocator();
    st.f_bsize = a.unit();
    st.f_frsize = a.unit();
    st.f_blocks = a.capacity() / a.unit();
    st.f_bfree = a.free_bytes() / a.unit();
    st.f_bavail = st.f_bfree;
    // Every file and directory costs one log entry.
    st.f_files = s.volume().log().capacity();
    st.f_ffree = st.f_files - std::min<uint64_t>(st.f_files, s.tree().applied());
    st.f_favail = st.f_ffree;
    st.f_namemax = omf::kMaxRelpathLen;
    fuse_reply_statfs(req, &st);
}

}  // namespace

void register_statfs_ops(fuse_lowlevel_ops& ops) {
    ops.statfs = famfs_statfs;
}

}  // namespace famfs::fused
