#include "pending_report.h"

#include <cstdint>

namespace famfs::cli {

std::string pending_runs_text(const State& st, const std::vector<HostSlot>& table,
                              const omf::Uuid& fs) {
    const uint64_t horizon = reclaim_horizon(table, fs);
    std::string out;
    for (const auto& [first, run] : st.alloc.pending()) {
        out += "  deleted at entry " + std::to_string(run.delete_index) + ": ";
        if (run.delete_index < horizon) {
            out += "reclaimable now\n";
            continue;
        }
        out += "waits for";
        for (const ReclaimBlocker& b : reclaim_verdict(table, fs, run.delete_index).blockers)
            out += " slot " + std::to_string(b.slot) + " (" + b.why + ")";
        out += "\n";
    }
    return out;
}

}  // namespace famfs::cli
