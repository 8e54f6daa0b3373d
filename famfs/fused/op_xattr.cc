// Extended attributes: the root carries the server's state as
// "user.famfs.status" (the same text as .meta/.status) and, as the
// reference daemon's root does, "user.famfs.shadow": the per-mount state
// directory holding the diagnostics socket (state_dir.h). A regular file
// answers "user.famfs.map" (famfs/file_map_record.h) for the interception
// library; it is not listed, so tools that copy attributes (cp -a, rsync -X,
// tar --xattrs) do not carry one file's map onto another.
#include <cstring>
#include <string>

#include "datapath.h"
#include "famfs/file_map_record.h"
#include "ops.h"

namespace famfs::fused {

namespace {

constexpr const char kStatusXattr[] = "user.famfs.status";
constexpr const char kShadowXattr[] = "user.famfs.shadow";

void reply_value(fuse_req_t req, const std::string& value, size_t size) {
    if (size == 0) {
        fuse_reply_xattr(req, value.size());
    } else if (size < value.size()) {
        fuse_reply_err(req, ERANGE);
    } else {
        fuse_reply_buf(req, value.data(), value.size());
    }
}

// user.* attributes need read permission on the object (xattr(7)).
int may_read_xattrs(fuse_req_t req, const Caller& c, fuse_ino_t ino) {
    const Server& s = server_of(req);
    auto rd = s.read_tree();
    auto in = resolve(s, ino);
    return in ? check_access(s, c, *in, kMayRead) : ENOENT;
}

// The map of a regular file, under the rules a read through the mount
// follows: a device that no longer holds the file system answers ESTALE,
// a failed one or a file with bytes in known poison EIO.
int file_map(Server& s, fuse_ino_t ino, std::string& value) {
    auto rd = s.read_tree();
    auto in = resolve(s, ino);
    if (!in) return ENOENT;
    if (!in->node || in->meta) return ENODATA;
    if (const int err = s.device_errno("a map request")) return err;
    auto f = open_data(s, *in, false);
    if (!f) return f.error().code;
    if (hits_poison(s, *f)) return EIO;
    FileMapRecord r;
    r.flags = s.device().host_local_memory() ? FileMapRecord::kHostLocalMemory : 0;
    r.fs_uuid = s.volume().superblock().fs_uuid;
    r.device_size = s.device().size();
    r.device_path = s.device().path();
    r.epoch_path = s.epoch_path();
    r.file = in->node->file;
    const auto bytes = encode_file_map(r);
    value.assign(bytes.begin(), bytes.end());
    return 0;
}

void famfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    const Server& s = server_of(req);
    const Caller c = caller_of(req);
    if (int err = may_read_xattrs(req, c, ino)) {
        fuse_reply_err(req, err);
        return;
    }
    if (ino == kRootIno && std::strcmp(name, kStatusXattr) == 0) {
        // The same text as .meta/.status, under the same rule: file names
        // for root only.
        reply_value(req, s.status_text(c.root()), size);
        return;
    }
    if (ino == kRootIno && std::strcmp(name, kShadowXattr) == 0 && !s.options().state_dir.empty()) {
        reply_value(req, s.options().state_dir, size);  // no NUL, as the reference's
        return;
    }
    if (ino != kRootIno && std::strcmp(name, kFileMapXattr) == 0) {
        std::string value;
        if (const int err = file_map(server_of(req), ino, value)) {
            fuse_reply_err(req, err);
        } else {
            reply_value(req, value, size);
        }
        return;
    }
    fuse_reply_err(req, ENODATA);
}

void famfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    if (int err = may_read_xattrs(req, caller_of(req), ino)) {
        fuse_reply_err(req, err);
        return;
    }
    std::string names;
    if (ino == kRootIno) {  // each with its NUL
        names.assign(kStatusXattr, sizeof(kStatusXattr));
        if (!server_of(req).options().state_dir.empty()) {
            names.append(kShadowXattr, sizeof(kShadowXattr));
        }
    }
    reply_value(req, names, size);
}

}  // namespace

void register_xattr_ops(fuse_lowlevel_ops& ops) {
    ops.getxattr = famfs_getxattr;
    ops.listxattr = famfs_listxattr;
}

}  // namespace famfs::fused
