#include "copy_summary.h"

#include "famfs/sizes.h"

namespace famfs::cli {
namespace {

std::string count_of(uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string skipped_part(const std::map<std::string, uint64_t>& skipped) {
    uint64_t total = 0;
    std::string kinds;
    for (const auto& [kind, n] : skipped) {
        total += n;
        kinds += (kinds.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
    }
    if (total == 0) return "nothing skipped";
    return "skipped " + std::to_string(total) + " (" + kinds + ")";
}

}  // namespace

std::string format_copy_summary(const CopySummary& s) {
    std::string out = "famfs cp: copied " + count_of(s.files, "file", "files") + " (" +
                      human_size(s.bytes) + ") and " + count_of(s.dirs, "directory", "directories");
    if (s.compared != 0)
        out += ", compared " + count_of(s.compared, "existing file", "existing files");
    out += "; " + skipped_part(s.skipped);
    if (s.failed != 0) out += "; " + std::to_string(s.failed) + " failed";
    out += "; " + human_size(s.free_bytes) + " and " +
           count_of(s.free_entries, "log entry", "log entries") + " free\n";
    return out;
}

}  // namespace famfs::cli
