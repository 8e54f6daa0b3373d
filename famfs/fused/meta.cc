#include "meta.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "datapath.h"
#include "famfs/meta_protocol.h"
#include "famfs/omf.h"
#include "permissions.h"
#include "server.h"

namespace famfs::fused {

namespace {

constexpr uint64_t kMetaInoBase = uint64_t(1) << 62;

struct MetaInfo {
    MetaFile kind;
    const char* name;
    mode_t mode;
};

constexpr MetaInfo kMetaInfo[] = {
    {MetaFile::kDir, meta::kDir, S_IFDIR | 0555},
    // The log names every file, even inside directories only root may
    // search: root's alone, like the superblock (permissions.h).
    {MetaFile::kSuperblock, meta::kSuperblock, S_IFREG | 0400},
    {MetaFile::kLog, meta::kLog, S_IFREG | 0400},
    // Generated on open; direct I/O, so the size shown does not limit reads.
    {MetaFile::kStatus, meta::kStatus, S_IFREG | 0444},
    {MetaFile::kControl, meta::kControl, S_IFREG | 0200},
};

const MetaInfo& info(MetaFile m) {
    return kMetaInfo[static_cast<int>(m)];
}

}  // namespace

uint64_t meta_ino(MetaFile m) {
    return kMetaInoBase + static_cast<uint64_t>(m);
}

std::optional<MetaFile> meta_of_ino(uint64_t ino) {
    if (ino < kMetaInoBase || ino > meta_ino(MetaFile::kControl)) return std::nullopt;
    return static_cast<MetaFile>(ino - kMetaInoBase);
}

std::optional<MetaFile> meta_by_name(std::string_view name) {
    for (MetaFile m : kMetaFiles) {
        if (name == info(m).name) return m;
    }
    return std::nullopt;
}

uint64_t meta_size(const Server& s, MetaFile m) {
    switch (m) {
        case MetaFile::kSuperblock:
            return omf::superblock_extent().len;
        case MetaFile::kLog:
            return omf::log_extent(s.volume().superblock()).len;
        default:
            return 0;
    }
}

const char* meta_name(MetaFile m) {
    return info(m).name;
}

mode_t meta_mode(MetaFile m) {
    return info(m).mode;
}

int open_meta(Server& s, const Caller& c, MetaFile m, int flags, std::shared_ptr<FileHandle>& out) {
    const bool write = (flags & O_ACCMODE) != O_RDONLY;
    switch (m) {
        case MetaFile::kStatus:
            if (write) return EACCES;
            out = std::make_shared<FileHandle>();
            out->inode = Inode{nullptr, m};
            out->text = s.status_text(c.root());
            out->size = out->text.size();
            return 0;
        case MetaFile::kControl:
            // Its commands fail the device for everyone: root's alone,
            // whatever the mount's permission mode (permissions.h).
            if (!c.root() || (flags & O_ACCMODE) != O_WRONLY) return EACCES;
            out = std::make_shared<FileHandle>();
            out->inode = Inode{nullptr, m};
            out->writable = true;
            return 0;
        default:
            // The superblock and the log: read-only here, and root's alone.
            return !c.root() || write ? EACCES : 0;
    }
}

// One command per write: catch up with the log now (famfs logplay), or mark
// the device failed, with an optional reason.
int run_control(Server& s, std::string_view cmd) {
    while (!cmd.empty() && (cmd.back() == '\n' || cmd.back() == ' ')) cmd.remove_suffix(1);
    if (cmd == meta::kCatchUp) {
        s.apply_new_entries();
        return 0;
    }
    constexpr std::string_view kFail = meta::kNotifyFailure;
    if (cmd.substr(0, kFail.size()) == kFail) {
        std::string_view why = cmd.substr(kFail.size());
        while (!why.empty() && why.front() == ' ') why.remove_prefix(1);
        s.mark_failed(why.empty() ? "notified by .meta/.control" : std::string(why));
        return 0;
    }
    return EINVAL;
}

}  // namespace famfs::fused
