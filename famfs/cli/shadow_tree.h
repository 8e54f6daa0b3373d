// The reference famfs's shadow tree, written by `famfs logplay --shadow`:
// below a root directory, a directory per famfs directory (with its logged
// mode and owner) and, per famfs file, a YAML file of the same name holding
// its log entry (famfs/shadow_yaml.h). The reference's FUSE daemon serves a
// mount from such a tree.
#pragma once

#include <cstdint>
#include <string>

#include "famfs/namespace.h"
#include "famfs/result.h"

namespace famfs::cli {

// The directory the tree goes into, as the reference decides it: DIR itself
// when its path ends in /root, else DIR/root, which must exist. DIR must be
// a directory this user may write.
Result<std::string> shadow_root(const std::string& dir);

struct ShadowOptions {
    bool dry_run = false;  // write nothing; say what would be written
    bool test = false;     // read every shadow file back and compare it with the log
    int verbose = 0;       // 1: a line per file and directory; 2: also each file's YAML
};

struct ShadowTally {
    uint64_t files_new = 0, files_updated = 0, files_same = 0;
    uint64_t dirs_new = 0, dirs_same = 0;
    uint64_t files_removed = 0, dirs_removed = 0;  // shadows of deleted objects
    uint64_t checked = 0, mismatches = 0;          // --shadowtest
    uint64_t errors = 0;                           // objects not written or not readable back
};

// Brings the tree below `root` up to date with `ns`: creates what is
// missing, rewrites shadow files that describe an older entry, removes the
// shadows of deleted objects (shadow files, and directories that hold
// nothing else; a name deleted and created again, of another kind, gets
// its new object), and leaves alone what is already right. Never follows a symbolic link in the
// tree, and never overwrites a file that is not a shadow file. Every error is reported on stderr as
// it happens (the shadow path and the reason) and counted; writing goes on with the rest of the
// tree.
ShadowTally write_shadow_tree(const Namespace& ns, const std::string& root,
                              const ShadowOptions& opt);

}  // namespace famfs::cli
