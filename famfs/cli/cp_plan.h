// What `famfs cp` will do, worked out before anything is logged: the
// directories to make and the files to copy, with their famfs paths.
// Sources that cannot be copied are reported and skipped here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "famfs/namespace.h"
#include "famfs/result.h"
#include "target.h"

namespace famfs::cli {

struct CopyItem {
    std::string src;      // local path
    Target dest;          // famfs path (dest.arg is how messages name it)
    bool is_dir = false;  // a directory to make (cp -r)
    uint64_t size = 0;
    uint32_t mode = 0;  // the source's permission bits
};

struct CopyPlan {
    std::vector<CopyItem> items;  // parents before children
    int skipped = 0;              // sources reported and left out
    // What they were ("symbolic link", "zero-length file", ...) -> how many,
    // for the summary.
    std::map<std::string, uint64_t> skipped_kinds;
};

// Expands wildcard patterns the shell left alone (glob(3)); a pattern that
// matches nothing stays as it is, to be reported as missing.
std::vector<std::string> expand_sources(const std::vector<std::string>& args);

// Fails when the copy cannot start at all (several sources but DEST is not
// a directory, DEST is a file under a directory source, ...).
Result<CopyPlan> plan_copy(const std::vector<std::string>& sources, const Target& dest,
                           const Namespace& ns, bool recursive);

}  // namespace famfs::cli
