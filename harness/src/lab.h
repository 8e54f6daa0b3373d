// Whole-lab and per-host life cycle: up, down, boot, restart, crash, status.
#pragma once

#include <string>
#include <vector>

#include "provision.h"
#include "run_dir.h"
#include "topology.h"

namespace lab {

struct UpOptions {
    std::string topology;  // name or path
    std::string run_dir;
    std::string image_root;  // one image per kernel: IMAGE_ROOT/KERNEL
    std::string qemu;        // empty: the topology's (default "system")
    std::string kernel;      // empty: the topology's (default "6.1")
    double boot_timeout_s = 240;
    bool keep_on_failure = false;
};

std::string default_image_root();

Status lab_up(const UpOptions& opts);
Status lab_down(const RunDir& run);

// Boots one host of a running lab again (after crash) and re-attaches it to
// the shared device.
Status lab_restart_host(const RunDir& run, const std::string& host, double timeout_s);

// how: "quit" (QEMU exits at once: power loss), "reset" (system_reset; with
// -no-reboot also ends QEMU), "kill" (SIGKILL to QEMU).
Status lab_crash_host(const RunDir& run, const std::string& host, const std::string& how);

Status lab_status(const RunDir& run);

// Waits until every host's guest agent answers; fails at once, with the
// console's tail and path, when a host's QEMU exited or its kernel panicked.
Status wait_ready(const RunDir& run, const std::vector<std::string>& hosts, double timeout_s);

}  // namespace lab
