// Talking to one host of a running lab: guest commands through the agent,
// QMP and HMP through the monitor. Each call holds a per-host lock (the QEMU
// sockets serve one client at a time) and lands in the transcript.
#pragma once

#include <string>

#include "guest_agent.h"
#include "json.h"
#include "run_dir.h"

namespace lab {

struct ExecOptions {
    double timeout_s = 120;
    std::string input;
    bool record = true;
};

Result<ExecResult> guest_exec(const RunDir& run, const std::string& host,
                              const std::string& command, const ExecOptions& opts);

Result<Json> host_qmp(const RunDir& run, const std::string& host, const std::string& command,
                      const Json& args, double timeout_s = 10);

Result<std::string> host_hmp(const RunDir& run, const std::string& host, const std::string& line,
                             double timeout_s = 10);

// Whether a guest in `vm_state` (QMP query-status; empty: unknown) can run
// commands: a paused one cannot, and the error says how to resume it.
Status check_vm_runs(const std::string& host, const std::string& vm_state);

// One guest-sync round trip with a short limit: is the agent answering?
bool agent_answers(const RunDir& run, const std::string& host, double timeout_s);

}  // namespace lab
