// Opening and closing files (README-datapath.md has the why). Every open
// sets keep_cache = 0, so it drops this host's cached pages of the file and
// its mappings fault in fresh memory. Regular files use direct I/O when the
// kernel allows direct-I/O files to be mmap()ed, else the page cache.
// .meta/.status and .meta/.control are generated text and commands: always
// direct I/O. Who may open what: permissions.h; a file logged read-only for
// all hosts is never opened for writing (EROFS), so neither write() nor a
// shared writable mmap can reach its memory.
#include <fcntl.h>

#include <cerrno>
#include <memory>

#include "datapath.h"
#include "fuse_transport.h"
#include "meta.h"
#include "ops.h"

namespace famfs::fused {

namespace {

bool wants_write(const fuse_file_info* fi) {
    return (fi->flags & O_ACCMODE) != O_RDONLY;
}

// What an open asks of the mode bits (O_TRUNC writes).
int wanted(const fuse_file_info* fi) {
    const int acc = fi->flags & O_ACCMODE;
    int want = acc == O_WRONLY ? kMayWrite : acc == O_RDWR ? kMayRead | kMayWrite : kMayRead;
    if (fi->flags & O_TRUNC) want |= kMayWrite;
    return want;
}

// Builds the handle; 0 or a positive errno.
int make_handle(Server& s, const Caller& c, const Inode& in, const fuse_file_info* fi,
                std::shared_ptr<FileHandle>& out) {
    if (in.is_dir()) return EISDIR;
    const bool write = wants_write(fi);
    if (int err = check_access(s, c, in, wanted(fi))) return err;
    if (in.meta) {
        if (int err = open_meta(s, c, *in.meta, fi->flags, out)) return err;
        if (out) return 0;  // generated: no device memory behind it
    }
    // Re-validates the superblock and the log header: a re-formatted device
    // opens nothing, even before the follower has noticed.
    if (const int err = s.device_errno("an open")) return err;
    // Logged read-only for all hosts: no user writes it, root included.
    if ((write || (fi->flags & O_TRUNC)) && in.node && in.node->file.read_only()) return EROFS;
    // Files have a fixed size; truncating one would change it.
    if ((fi->flags & O_TRUNC) && in.node && in.node->size() != 0) return metadata_change_errno(s);
    auto f = open_data(s, in, write);
    if (!f) return f.error().code;
    if (hits_poison(s, *f)) return EIO;
    out = std::make_shared<FileHandle>(std::move(f.value()));
    return 0;
}

// Builds the handle and enters it in the table under one hold of the tree
// lock: a DELETE applied later finds it there when the watermark is
// computed (Server::watermark), and a file deleted already opens no new
// handle (its descriptors opened before keep working). 0 or a positive errno.
int open_handle(Server& s, const Caller& c, fuse_ino_t ino, const fuse_file_info* fi,
                std::shared_ptr<FileHandle>& h, uint64_t& fh) {
    auto rd = s.read_tree();
    auto in = resolve(s, ino);
    if (!in || (in->node && in->node->deleted_at)) return ENOENT;
    if (int err = make_handle(s, c, *in, fi, h)) return err;
    fh = s.files().add(h);
    return 0;
}

void famfs_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Server& s = server_of(req);
    // A client reaches file memory only once the master has granted its
    // slot (membership.h); .meta files need no grant.
    if (!meta_of_ino(ino)) {
        if (const int err = s.registration_errno()) {
            fuse_reply_err(req, err);
            return;
        }
    }
    std::shared_ptr<FileHandle> h;
    uint64_t fh = 0;
    if (const int err = open_handle(s, caller_of(req), ino, fi, h, fh)) {
        fuse_reply_err(req, err);
        return;
    }
    const bool generated = h->inode.meta && (*h->inode.meta == MetaFile::kStatus ||
                                             *h->inode.meta == MetaFile::kControl);
    fi->keep_cache = 0;
    fi->direct_io = generated || direct_io_mmap_enabled() ? 1 : 0;
    fi->fh = fh;
    if (fuse_reply_open(req, fi) != 0) s.release_file(fh);
}

void famfs_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    (void)ino;
    server_of(req).release_file(fi->fh);
    fuse_reply_err(req, 0);
}

// The kernel has sent dirty mmap pages as WRITEs before FSYNC; writing the
// CPU caches of the whole file back covers stores that reached the mapping
// any other way.
void famfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
    (void)ino;
    (void)datasync;
    Server& s = server_of(req);
    const auto f = s.files().get(fi->fh);
    if (!f) {
        fuse_reply_err(req, EBADF);
        return;
    }
    fuse_reply_err(req, f->text.empty() ? persist_all(s, *f) : 0);
}

}  // namespace

void register_file_ops(fuse_lowlevel_ops& ops) {
    ops.open = famfs_open;
    ops.release = famfs_release;
    // No flush handler: libfuse answers ENOSYS once and the kernel stops
    // sending FLUSH, saving a round trip per close(). The server has nothing
    // buffered, and the kernel still writes dirty mmap pages back on every
    // close (write_inode_now runs before it checks for FLUSH support).
    ops.fsync = famfs_fsync;
}

}  // namespace famfs::fused
