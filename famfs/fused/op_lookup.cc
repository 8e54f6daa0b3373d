// Name lookup and attributes. A lookup miss catches up with the log before
// answering ENOENT: the famfs CLI on this host appends to the log directly
// and then stats the new path through the mount. Once the device is stale
// (server.h) every name and inode of the old tree answers ESTALE; only the
// root and .meta (where .meta/.status says what happened) still answer.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "famfs/meta_protocol.h"
#include "ops.h"

namespace famfs::fused {

namespace {

// The child `name` of `parent`, or nullopt; caller holds read_tree().
std::optional<Inode> find_child(const Server& s, const Inode& parent, const char* name) {
    if (parent.meta) {
        if (auto m = meta_by_name(name)) return Inode{nullptr, m};
        return std::nullopt;
    }
    if (parent.node->ino == kRootIno && std::strcmp(name, meta::kDir) == 0) {
        return Inode{nullptr, MetaFile::kDir};
    }
    const Node* child = s.tree().child(*parent.node, name);
    if (!child) return std::nullopt;
    return Inode{child, std::nullopt};
}

// 0 with `e` filled, or a positive errno.
int lookup_once(Server& s, const Caller& c, fuse_ino_t parent, const char* name,
                fuse_entry_param& e) {
    auto rd = s.read_tree();
    auto dir = resolve(s, parent);
    if (!dir) return ENOENT;
    if (!dir->is_dir()) return ENOTDIR;
    if (int err = check_access(s, c, *dir, kMayExec)) return err;
    s.lookup_stats().nodes_scanned.fetch_add(1, std::memory_order_relaxed);
    auto child = find_child(s, *dir, name);
    if (s.answers_stale() && !(child && child->meta)) return ESTALE;
    if (!child) return ENOENT;
    e = entry_for(s, *child);
    return 0;
}

void famfs_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    Server& s = server_of(req);
    const Caller caller = caller_of(req);
    fuse_entry_param e{};
    s.lookup_stats().searches.fetch_add(1, std::memory_order_relaxed);
    int err = lookup_once(s, caller, parent, name, e);
    if (err == ENOENT) {
        const CatchUp c = s.apply_new_entries();
        // Again when entries arrived, or when the catch-up found the device
        // stale (then the answer is ESTALE).
        if (c.after != c.before || s.answers_stale()) err = lookup_once(s, caller, parent, name, e);
    }
    if (err) {
        s.lookup_stats().failures.fetch_add(1, std::memory_order_relaxed);
        fuse_reply_err(req, err);
        return;
    }
    fuse_reply_entry(req, &e);
}

void famfs_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    (void)fi;
    const Server& s = server_of(req);
    struct stat st {};
    {
        auto rd = s.read_tree();
        auto in = resolve(s, ino);
        if (!in) {
            fuse_reply_err(req, ENOENT);
            return;
        }
        if (s.answers_stale() && !in->meta && ino != kRootIno) {
            fuse_reply_err(req, ESTALE);
            return;
        }
        // Only the directories above matter, as for stat(2).
        if (int err = check_access(s, caller_of(req), *in, 0)) {
            fuse_reply_err(req, err);
            return;
        }
        st = attributes(s, *in);
    }
    fuse_reply_attr(req, &st, s.options().timeout_secs);
}

// access(2) and chdir(2): sent only when the server checks permissions
// (the kernel answers them itself under default_permissions).
void famfs_access(fuse_req_t req, fuse_ino_t ino, int mask) {
    const Server& s = server_of(req);
    int err;
    {
        auto rd = s.read_tree();
        auto in = resolve(s, ino);
        // The mode decides, as under default_permissions: root's W_OK on a
        // file logged read-only succeeds there too, and its open fails.
        err = in ? check_access(s, caller_of(req), *in, mask & (R_OK | W_OK | X_OK)) : ENOENT;
    }
    fuse_reply_err(req, err);
}

// Nodes live as long as the server, so the kernel's lookup counts need no
// bookkeeping: forgetting an inode frees nothing.
void famfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    (void)ino;
    (void)nlookup;
    fuse_reply_none(req);
}

void famfs_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    (void)count;
    (void)forgets;
    fuse_reply_none(req);
}

}  // namespace

void register_lookup_ops(fuse_lowlevel_ops& ops) {
    ops.lookup = famfs_lookup;
    ops.getattr = famfs_getattr;
    ops.access = famfs_access;
    ops.forget = famfs_forget;
    ops.forget_multi = famfs_forget_multi;
}

}  // namespace famfs::fused
