// unlink and rmdir (docs/delete.md). On the master they log a DELETE, as
// `famfs rm` and `famfs rmdir` do, and apply it before replying, so the
// name is gone from this mount when the call returns; the file's memory is
// reused only once every host has let go of it. Clients change no
// metadata: EROFS.
#include <cerrno>
#include <string>
#include <string_view>

#include "famfs/meta_protocol.h"
#include "ops.h"

namespace famfs::fused {

namespace {

// The relpath of `name` in directory `parent`, after the caller's checks
// (its write and search permission on the directory); 0 or a positive errno.
int relpath_of(Server& s, const Caller& c, fuse_ino_t parent, const char* name, std::string& out) {
    auto rd = s.read_tree();
    auto dir = resolve(s, parent);
    if (!dir || (dir->node && dir->node->deleted_at)) return ENOENT;
    if (dir->meta) return EPERM;  // .meta's files are the server's own
    if (!dir->is_dir()) return ENOTDIR;
    if (dir->node->ino == kRootIno && std::string_view(name) == meta::kDir) return EPERM;
    if (int err = check_access(s, c, *dir, kMayWrite | kMayExec)) return err;
    const std::string& base = dir->node->relpath();
    out = base.empty() ? std::string(name) : base + "/" + name;
    return 0;
}

int remove(fuse_req_t req, fuse_ino_t parent, const char* name, Volume::RemoveMode mode) {
    Server& s = server_of(req);
    if (s.role() != Role::kMaster) return EROFS;
    if (const int err = s.device_errno("a delete")) return err;
    std::string relpath;
    if (int err = relpath_of(s, caller_of(req), parent, name, relpath)) return err;
    if (const Status st = s.volume().remove(relpath, mode); !st) return st.error().code;
    s.apply_new_entries();
    return 0;
}

void famfs_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
    fuse_reply_err(req, remove(req, parent, name, Volume::RemoveMode::kFile));
}

void famfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
    fuse_reply_err(req, remove(req, parent, name, Volume::RemoveMode::kEmptyDirectory));
}

}  // namespace

void register_remove_ops(fuse_lowlevel_ops& ops) {
    ops.unlink = famfs_unlink;
    ops.rmdir = famfs_rmdir;
}

}  // namespace famfs::fused
