// read and write requests; a write to .meta/.control runs a command (meta.h).
#include <string>
#include <string_view>

#include "datapath.h"
#include "famfs/meta_protocol.h"
#include "meta.h"
#include "ops.h"

namespace famfs::fused {

namespace {

void read_text(fuse_req_t req, const std::string& text, size_t size, off_t off) {
    const size_t at = std::min(text.size(), static_cast<size_t>(off));
    fuse_reply_buf(req, text.data() + at, std::min(size, text.size() - at));
}

void famfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    (void)ino;
    Server& s = server_of(req);
    const auto f = s.files().get(fi->fh);
    if (!f) {
        fuse_reply_err(req, EBADF);
        return;
    }
    if (f->inode.meta == MetaFile::kStatus) {
        read_text(req, f->text, size, off);
        return;
    }
    std::vector<iovec> iov;
    const int err = gather_read(s, *f, static_cast<uint64_t>(off), size, iov);
    if (err) {
        fuse_reply_err(req, err);
        return;
    }
    fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
}

void famfs_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                 fuse_file_info* fi) {
    (void)ino;
    Server& s = server_of(req);
    const auto f = s.files().get(fi->fh);
    if (!f) {
        fuse_reply_err(req, EBADF);
        return;
    }
    if (f->inode.meta == MetaFile::kControl) {
        const int err = run_control(s, std::string_view(buf, size));
        if (err) {
            fuse_reply_err(req, err);
        } else {
            fuse_reply_write(req, size);
        }
        return;
    }
    uint64_t written = 0;
    if (const int err = store_write(s, *f, static_cast<uint64_t>(off), buf, size, written)) {
        fuse_reply_err(req, err);
        return;
    }
    fuse_reply_write(req, static_cast<size_t>(written));
}

}  // namespace

void register_io_ops(fuse_lowlevel_ops& ops) {
    ops.read = famfs_read;
    ops.write = famfs_write;
}

}  // namespace famfs::fused
