// chmod, chown and utimes through the mount, as the reference daemon takes
// them: accepted and kept in this server's memory only. They are never
// logged, so other hosts do not see them and a remount forgets them; the
// log stays the authority (sizes and maps cannot change this way).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace famfs::fused {

struct AttrChange {
    std::optional<mode_t> mode;  // permission bits only (07777)
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    std::optional<timespec> atime, mtime, ctime;
};

// Its mutex is a leaf of the lock order (server.h).
class AttrOverrides {
  public:
    // Merges `c` into what inode `ino` already had changed.
    void set(uint64_t ino, const AttrChange& c);
    // Overlays the changes of `st.st_ino` (if any) on `st`.
    void apply(struct stat& st) const;

  private:
    mutable std::mutex mutex_;
    std::unordered_map<uint64_t, AttrChange> changed_;
};

}  // namespace famfs::fused
