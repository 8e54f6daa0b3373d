// What each run of space pending reclaim waits for (docs/delete.md, "The
// reclaim rule"), in the words `famfs hosts` and `famfs fsck` both print.
#pragma once

#include <string>
#include <vector>

#include "famfs/host_table.h"
#include "famfs/omf.h"
#include "famfs/volume.h"

namespace famfs::cli {

// One line per pending run, in delete order: "  deleted at entry D: "
// then "reclaimable now" (an empty table allows it: every host takes a
// slot before it replays the log), or "waits for" and every slot
// whose host may still reach the run's memory, with the reason.
std::string pending_runs_text(const State& st, const std::vector<HostSlot>& table,
                              const omf::Uuid& fs);

}  // namespace famfs::cli
