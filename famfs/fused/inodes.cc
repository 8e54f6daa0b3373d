#include "inodes.h"

#include <unistd.h>

#include <chrono>

#include "server.h"

namespace famfs::fused {

namespace {

timespec to_timespec(std::chrono::system_clock::time_point t) {
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

}  // namespace

std::optional<Inode> resolve(const Server& s, uint64_t ino) {
    if (auto m = meta_of_ino(ino)) return Inode{nullptr, m};
    const Node* n = ino == kRootIno ? &s.tree().root() : s.tree().find_ino_or_deleted(ino);
    if (!n) return std::nullopt;
    return Inode{n, std::nullopt};
}

struct stat attributes(const Server& s, const Inode& in) {
    struct stat st {};
    // The log records no times; the mount time is the honest answer for all.
    st.st_atim = st.st_mtim = st.st_ctim = to_timespec(s.started());
    st.st_blksize = static_cast<blksize_t>(omf::kAllocUnit);
    if (in.meta) {
        st.st_ino = meta_ino(*in.meta);
        st.st_mode = meta_mode(*in.meta);
        st.st_nlink = *in.meta == MetaFile::kDir ? 2 : 1;
        st.st_size = static_cast<off_t>(meta_size(s, *in.meta));
        st.st_uid = 0;
        st.st_gid = 0;
    } else {
        const Node& n = *in.node;
        st.st_ino = n.ino;
        st.st_mode = (n.is_dir ? S_IFDIR : S_IFREG) | (n.mode & 07777);
        st.st_uid = n.uid;
        st.st_gid = n.gid;
        st.st_size = static_cast<off_t>(n.size());
        st.st_nlink = n.is_dir ? static_cast<nlink_t>(2 + s.subdirs(n)) : 1;
        if (n.deleted_at) st.st_nlink = 0;  // as fstat shows an unlinked file
        if (n.ino == kRootIno) {
            // The root is not logged: it belongs to whoever mounted.
            st.st_mode = S_IFDIR | 0755;
            st.st_uid = getuid();
            st.st_gid = getgid();
            st.st_nlink += 1;  // .meta
        }
        s.attr_overrides().apply(st);  // chmod, chown, utimes on this host
        // A file logged read-only for all hosts shows no write bits: the
        // server refuses its writes whatever the mode (op_file.cc).
        if (!n.is_dir && n.file.read_only()) st.st_mode &= ~mode_t(0222);
    }
    const uint64_t alloc = (uint64_t(st.st_size) + omf::kAllocUnit - 1) / omf::kAllocUnit;
    st.st_blocks = static_cast<blkcnt_t>(alloc * (omf::kAllocUnit / 512));
    return st;
}

}  // namespace famfs::fused
