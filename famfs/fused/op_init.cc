// Session start: choose the kernel's caching mode (see README-datapath.md).
#include "ops.h"

namespace famfs::fused {

namespace {

void famfs_init(void* userdata, fuse_conn_info* conn) {
    const auto* s = static_cast<const Server*>(userdata);
    // write() must reach the server (and so shared memory) before it
    // returns: no kernel write-back cache.
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    // Cached pages are dropped explicitly on every open (keep_cache = 0);
    // attribute-driven invalidation adds nothing, since sizes never change.
    conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
    // O_TRUNC arrives with open(), where it is refused as a size change.
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    // readdirplus hands the kernel entries it would not have to look up:
    // not when the server decides who may look them up.
    if (server_checks_permissions(*s)) {
        conn->want &= ~FUSE_CAP_READDIRPLUS;
    } else if (conn->capable & FUSE_CAP_READDIRPLUS) {
        conn->want |= FUSE_CAP_READDIRPLUS;
    }
}

}  // namespace

void register_init_ops(fuse_lowlevel_ops& ops) {
    ops.init = famfs_init;
}

}  // namespace famfs::fused
