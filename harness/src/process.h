// Starting QEMU in the background and stopping it again, by pid.
#pragma once

#include <sys/types.h>
#include <string>
#include <vector>

#include "result.h"

namespace lab {

// Starts argv in its own session with cwd `dir`, stdin from /dev/null and
// stdout+stderr appended to `log_path`; the process outlives the harness.
Result<pid_t> spawn_detached(const std::vector<std::string>& argv, const std::string& dir,
                             const std::string& log_path);

// True when `pid` runs and its working directory is `dir` (guards against a
// recycled pid after the lab's QEMU is long gone). Reaps our own zombies.
bool process_alive(pid_t pid, const std::string& dir);

// SIGTERM, then SIGKILL after `grace_s`; waits at most a few seconds more.
void stop_process(pid_t pid, const std::string& dir, double grace_s);

bool wait_process_exit(pid_t pid, const std::string& dir, double timeout_s);

}  // namespace lab
