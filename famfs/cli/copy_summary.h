// The one line `famfs cp` ends with: what it copied, what it skipped and
// why, what failed, and the room left in the file system.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace famfs::cli {

struct CopySummary {
    uint64_t files = 0, bytes = 0;            // files whose data was copied
    uint64_t compared = 0;                    // cp -c: existing files only compared
    uint64_t dirs = 0;                        // directories made (or already there)
    std::map<std::string, uint64_t> skipped;  // kind of source -> count
    uint64_t failed = 0;                      // items whose copy or logging failed
    uint64_t free_bytes = 0, free_entries = 0;
};

// "famfs cp: copied 2 files (3.00 MiB) and 1 directory; skipped 1 (1
// symbolic link); 7.98 GiB and 15415 log entries free"
std::string format_copy_summary(const CopySummary& s);

}  // namespace famfs::cli
