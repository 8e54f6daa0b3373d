// Access control. By default the kernel checks every access against the
// mode bits the server reports (mount option default_permissions). With -p
// the mount has no default_permissions and the server makes the same checks
// itself, for every lookup, getattr, open, opendir, access and getxattr:
// search permission on every directory from the root down, then the
// owner/group/other bits of the object for what the request wants, decided
// as the kernel's generic_permission() decides it, with uid 0 holding the
// capabilities that override them. Reads, writes and readdir go through a
// handle, whose open was checked. Nothing is ever granted that the mode
// bits do not grant.
//
// Whatever the mode, some rules hold for everyone but root: .meta/.control
// takes commands from root only, .meta/.superblock and .meta/.log (which
// hold every name in the file system) are read by root only, and the
// status text (.meta/.status, the root's user.famfs.status) names no file.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <vector>

namespace famfs::fused {

class Server;
struct Inode;

// What a request asks, as access(2)'s bits.
inline constexpr int kMayRead = 4, kMayWrite = 2, kMayExec = 1;

// Who asks: the requester's file-system uid and gid, and its supplementary
// groups, which are fetched only when a decision needs them.
class Caller {
  public:
    Caller(uid_t uid, gid_t gid, std::function<std::vector<gid_t>()> groups)
        : uid_(uid), gid_(gid), fetch_(std::move(groups)) {}
    uid_t uid() const { return uid_; }
    bool root() const { return uid_ == 0; }
    bool in_group(gid_t g) const;

  private:
    uid_t uid_;
    gid_t gid_;
    std::function<std::vector<gid_t>()> fetch_;
    mutable std::optional<std::vector<gid_t>> groups_;
};

// Whether an object of `mode` (file type included), `owner` and `group`
// grants `want` (kMay* bits) to `c`: the owner's bits for its owner, else
// the group's for a member, else the others'. Root may read and write
// anything, search any directory and execute a file with an execute bit.
bool mode_allows(const Caller& c, mode_t mode, uid_t owner, gid_t group, int want);

// Whether the server checks permissions itself (-p), not the kernel.
bool server_checks_permissions(const Server& s);

// 0 when `c` may search every directory above `in` and has `want` on `in`
// itself, else EACCES. Always 0 when the kernel checks permissions. The
// caller holds read_tree().
int check_access(const Server& s, const Caller& c, const Inode& in, int want);

}  // namespace famfs::fused
