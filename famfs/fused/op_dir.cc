// Directory listing. opendir takes a snapshot of the children, so offsets
// stay stable while the follower adds entries.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dir_handle.h"
#include "famfs/meta_protocol.h"
#include "ops.h"

namespace famfs::fused {

namespace {

std::shared_ptr<DirHandle> snapshot(const Server& s, const Inode& dir) {
    auto h = std::make_shared<DirHandle>();
    h->entries.push_back({".", dir});
    if (dir.meta) {
        h->entries.push_back({"..", *resolve(s, kRootIno)});
        for (MetaFile m : kMetaFiles) h->entries.push_back({meta_name(m), Inode{nullptr, m}});
        return h;
    }
    const Node* parent = dir.node->parent ? dir.node->parent : dir.node;
    h->entries.push_back({"..", Inode{parent, std::nullopt}});
    if (dir.node->ino == kRootIno)
        h->entries.push_back({meta::kDir, Inode{nullptr, MetaFile::kDir}});
    h->entries.reserve(h->entries.size() + dir.node->nchildren);
    const size_t first_child = h->entries.size();
    for (const Node* child = dir.node->first_child; child; child = child->next_sibling) {
        // A logged root entry named .meta is hidden by ours (lookup agrees).
        if (dir.node->ino == kRootIno && child->name == meta::kDir) continue;
        h->entries.push_back({std::string(child->name), Inode{child, std::nullopt}});
    }
    std::sort(h->entries.begin() + first_child, h->entries.end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return h;
}

void famfs_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Server& s = server_of(req);
    std::shared_ptr<DirHandle> h;
    {
        auto rd = s.read_tree();
        auto in = resolve(s, ino);
        if (!in) {
            fuse_reply_err(req, ENOENT);
            return;
        }
        if (!in->is_dir()) {
            fuse_reply_err(req, ENOTDIR);
            return;
        }
        // A stale device (server.h): the old tree is not listed any more;
        // .meta still is.
        if (s.answers_stale() && !in->meta) {
            fuse_reply_err(req, ESTALE);
            return;
        }
        // Listing needs read permission; readdir goes through this handle.
        if (int err = check_access(s, caller_of(req), *in, kMayRead)) {
            fuse_reply_err(req, err);
            return;
        }
        h = snapshot(s, *in);
    }
    fi->fh = s.dirs().add(std::move(h));
    if (fuse_reply_open(req, fi) != 0) s.dirs().remove(fi->fh);
}

// Entry i is at offset i + 1: the offset of the next entry to return.
void reply_dir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus) {
    Server& s = server_of(req);
    const auto h = s.dirs().get(fi->fh);
    if (!h) {
        fuse_reply_err(req, EBADF);
        return;
    }
    if (s.answers_stale() && !h->entries.front().inode.meta) {
        fuse_reply_err(req, ESTALE);
        return;
    }
    std::vector<char> buf(size);
    size_t used = 0;
    auto rd = s.read_tree();
    for (size_t i = static_cast<size_t>(off); i < h->entries.size(); i++) {
        const DirEntry& d = h->entries[i];
        char* at = buf.data() + used;
        const size_t room = size - used;
        size_t need;
        if (plus) {
            fuse_entry_param e = entry_for(s, d.inode);
            need = fuse_add_direntry_plus(req, at, room, d.name.c_str(), &e, off_t(i + 1));
        } else {
            struct stat st {};
            st.st_ino = d.inode.meta ? meta_ino(*d.inode.meta) : d.inode.node->ino;
            st.st_mode = d.inode.is_dir() ? S_IFDIR : S_IFREG;
            need = fuse_add_direntry(req, at, room, d.name.c_str(), &st, off_t(i + 1));
        }
        if (need > room) break;
        used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
}

void famfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    (void)ino;
    reply_dir(req, size, off, fi, false);
}

void famfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    (void)ino;
    reply_dir(req, size, off, fi, true);
}

void famfs_releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    (void)ino;
    server_of(req).dirs().remove(fi->fh);
    fuse_reply_err(req, 0);
}

void famfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
    (void)ino;
    (void)datasync;
    (void)fi;
    fuse_reply_err(req, 0);  // metadata is persisted by whoever logs it
}

}  // namespace

void register_dir_ops(fuse_lowlevel_ops& ops) {
    ops.opendir = famfs_opendir;
    ops.readdir = famfs_readdir;
    ops.readdirplus = famfs_readdirplus;
    ops.releasedir = famfs_releasedir;
    ops.fsyncdir = famfs_fsyncdir;
}

}  // namespace famfs::fused
