// The FUSE low-level operation table. Each family of operations lives in its
// own op_*.cc file and registers itself here. One errno convention, as in
// libfuse's passthrough_hp: a helper returns 0 or a positive errno (the value
// fuse_reply_err takes), and each handler replies exactly once.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "inodes.h"
#include "permissions.h"
#include "server.h"

namespace famfs::fused {

inline Server& server_of(fuse_req_t req) {
    return *static_cast<Server*>(fuse_req_userdata(req));
}

// Who sent the request (permissions.h); its groups are read from /proc
// only if a decision needs them.
Caller caller_of(fuse_req_t req);

// The errno for metadata changes famfs does not make through a mount:
// clients are read-only for metadata; the master uses the famfs CLI.
int metadata_change_errno(const Server& s);

// Fills a fuse_entry_param for an inode (caller holds read_tree()).
fuse_entry_param entry_for(const Server& s, const Inode& in);

void register_init_ops(fuse_lowlevel_ops& ops);
void register_lookup_ops(fuse_lowlevel_ops& ops);
void register_dir_ops(fuse_lowlevel_ops& ops);
void register_file_ops(fuse_lowlevel_ops& ops);
void register_io_ops(fuse_lowlevel_ops& ops);
void register_statfs_ops(fuse_lowlevel_ops& ops);
void register_xattr_ops(fuse_lowlevel_ops& ops);
void register_refused_ops(fuse_lowlevel_ops& ops);
void register_remove_ops(fuse_lowlevel_ops& ops);
void register_setattr_ops(fuse_lowlevel_ops& ops);

fuse_lowlevel_ops make_ops();

}  // namespace famfs::fused
