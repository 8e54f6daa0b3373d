#include "attr_overrides.h"

namespace famfs::fused {

namespace {

template <class T>
void merge(std::optional<T>& into, const std::optional<T>& from) {
    if (from) into = from;
}

}  // namespace

void AttrOverrides::set(uint64_t ino, const AttrChange& c) {
    std::lock_guard lk(mutex_);
    AttrChange& a = changed_[ino];
    merge(a.mode, c.mode);
    merge(a.uid, c.uid);
    merge(a.gid, c.gid);
    merge(a.atime, c.atime);
    merge(a.mtime, c.mtime);
    merge(a.ctime, c.ctime);
}

void AttrOverrides::apply(struct stat& st) const {
    std::lock_guard lk(mutex_);
    auto it = changed_.find(st.st_ino);
    if (it == changed_.end()) return;
    const AttrChange& a = it->second;
    if (a.mode) st.st_mode = (st.st_mode & S_IFMT) | (*a.mode & 07777);
    if (a.uid) st.st_uid = *a.uid;
    if (a.gid) st.st_gid = *a.gid;
    if (a.atime) st.st_atim = *a.atime;
    if (a.mtime) st.st_mtim = *a.mtime;
    if (a.ctime) st.st_ctim = *a.ctime;
}

}  // namespace famfs::fused
