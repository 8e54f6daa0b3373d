// SETATTR: chmod, chown and utimes are kept in memory on this host
// (attr_overrides.h), as the reference daemon keeps them; a size stays what
// the log says (a "change" to the current size is accepted: it changes
// nothing, and tools that set the size they already have keep working).
// When the server checks permissions (-p) it applies POSIX's rules: only
// the owner or root may chmod or set times, only root may give a file away,
// the owner may pick one of its own groups. Otherwise the kernel applied
// them before asking (default_permissions).
#include <sys/stat.h>

#include <cerrno>
#include <ctime>

#include "ops.h"

namespace famfs::fused {

namespace {

constexpr int kTimeBits =
    FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW;

// 0 if `c` may make the change `to_set` asks of an object with attributes
// `cur`, else EPERM or EACCES.
int may_change(const Caller& c, const struct stat& cur, const struct stat& want, int to_set) {
    if (c.root()) return 0;
    const bool owner = c.uid() == cur.st_uid;
    if ((to_set & FUSE_SET_ATTR_MODE) && !owner) return EPERM;
    if ((to_set & FUSE_SET_ATTR_UID) && (want.st_uid != cur.st_uid || !owner)) return EPERM;
    if ((to_set & FUSE_SET_ATTR_GID) &&
        (!owner || (want.st_gid != cur.st_gid && !c.in_group(want.st_gid)))) {
        return EPERM;
    }
    const bool explicit_time =
        (to_set & FUSE_SET_ATTR_ATIME && !(to_set & FUSE_SET_ATTR_ATIME_NOW)) ||
        (to_set & FUSE_SET_ATTR_MTIME && !(to_set & FUSE_SET_ATTR_MTIME_NOW));
    if (explicit_time && !owner) return EPERM;
    if ((to_set & kTimeBits) && !owner &&
        !mode_allows(c, cur.st_mode, cur.st_uid, cur.st_gid, kMayWrite)) {
        return EACCES;
    }
    return 0;
}

timespec now() {
    timespec t{};
    clock_gettime(CLOCK_REALTIME, &t);
    return t;
}

AttrChange change_of(const Caller& c, const struct stat& cur, const struct stat& want, int to_set) {
    AttrChange ch;
    if (to_set & FUSE_SET_ATTR_MODE) {
        mode_t m = want.st_mode & 07777;
        // As chmod(2): setgid is dropped for a caller outside the group.
        if (!c.root() && !S_ISDIR(cur.st_mode) && !c.in_group(cur.st_gid)) m &= ~mode_t(S_ISGID);
        ch.mode = m;
    }
    if (to_set & FUSE_SET_ATTR_UID) ch.uid = want.st_uid;
    if (to_set & FUSE_SET_ATTR_GID) ch.gid = want.st_gid;
    const timespec t = now();
    if (to_set & FUSE_SET_ATTR_ATIME)
        ch.atime = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? t : want.st_atim;
    if (to_set & FUSE_SET_ATTR_MTIME)
        ch.mtime = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? t : want.st_mtim;
    ch.ctime = (to_set & FUSE_SET_ATTR_CTIME) ? want.st_ctim : t;
    return ch;
}

// 0 with `cur` filled, or a positive errno.
int current_attributes(const Server& s, const Caller& c, fuse_ino_t ino, struct stat& cur) {
    auto rd = s.read_tree();
    auto in = resolve(s, ino);
    if (!in) return ENOENT;
    if (in->meta) return EPERM;  // the server's own files are what they are
    if (s.answers_stale()) return ESTALE;
    if (int err = check_access(s, c, *in, 0)) return err;
    cur = attributes(s, *in);
    return 0;
}

void famfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
    Server& s = server_of(req);
    const Caller c = caller_of(req);
    struct stat cur {};
    if (int err = current_attributes(s, c, ino, cur)) {
        fuse_reply_err(req, err);
        return;
    }
    if ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size != cur.st_size) {
        fuse_reply_err(req, metadata_change_errno(s));
        return;
    }
    const int changes = to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
                                  kTimeBits | FUSE_SET_ATTR_CTIME);
    if (changes) {
        if (server_checks_permissions(s)) {
            if (int err = may_change(c, cur, *attr, changes)) {
                fuse_reply_err(req, err);
                return;
            }
        }
        s.attr_overrides().set(ino, change_of(c, cur, *attr, changes));
        auto rd = s.read_tree();
        if (auto in = resolve(s, ino)) cur = attributes(s, *in);
    }
    fuse_reply_attr(req, &cur, s.options().timeout_secs);
}

}  // namespace

void register_setattr_ops(fuse_lowlevel_ops& ops) {
    ops.setattr = famfs_setattr;
}

}  // namespace famfs::fused
