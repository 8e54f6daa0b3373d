// The guest's serial console as a fallback channel (when the guest agent is
// dead): run one shell line and collect its output and status, or relay the
// terminal interactively.
#pragma once

#include <string>

#include "run_dir.h"

namespace lab {

// Runs `line` in the console shell; returns its exit status, prints output.
Result<int> console_run(const RunDir& run, const std::string& host, const std::string& line,
                        double timeout_s);

// Copies stdin to the console and the console to stdout until EOF on stdin.
Status console_attach(const RunDir& run, const std::string& host);

}  // namespace lab
