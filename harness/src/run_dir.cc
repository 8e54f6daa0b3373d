#include "run_dir.h"

#include <unistd.h>
#include <cstdlib>

#include "files.h"
#include "process.h"
#include "text_util.h"

namespace lab {

std::string RunDir::default_path() {
    if (const char* env = std::getenv("LAB_RUN_DIR")) return env;
    return "out/lab/current";
}

Result<RunDir> RunDir::open(const std::string& path, bool create) {
    if (create) {
        if (auto st = make_dirs(path); !st) return st.error();
    } else if (!file_exists(path)) {
        return fail("no lab in " + path + " (start one with: harness up TOPOLOGY)");
    }
    RunDir r;
    r.root_ = absolute_path(path);
    return r;
}

bool RunDir::has_lab() const {
    return file_exists(path("lab.state"));
}

Result<LabState> RunDir::load_state() const {
    auto text = read_file(path("lab.state"));
    if (!text) return fail("no lab is up in " + root_ + " (start one with: harness up TOPOLOGY)");
    auto kv = parse_key_values(*text);
    return LabState{kv["topology"], kv["qemu"], kv["kernel"],
                    kv["image"],    kv["shm"],  kv["namespace_uuid"]};
}

Status RunDir::save_state(const LabState& s) const {
    return write_file(path("lab.state"), format_key_values({{"topology", s.topology_name},
                                                            {"qemu", s.qemu_choice},
                                                            {"kernel", s.kernel},
                                                            {"image", s.image_dir},
                                                            {"shm", s.shm_path},
                                                            {"namespace_uuid", s.namespace_uuid}}));
}

Status RunDir::clear_state() const {
    ::unlink(path("lab.state").c_str());
    return ok();
}

Result<Topology> RunDir::load_topology() const {
    auto state = load_state();
    if (!state) return state.error();
    auto text = read_file(path("topology.conf"));
    if (!text) return text.error();
    return parse_topology(*text, state->topology_name);
}

pid_t RunDir::host_pid(const std::string& host) const {
    auto text = read_file(host_file(host, "qemu.pid"));
    if (!text) return -1;
    return static_cast<pid_t>(parse_uint(trim(*text)).value_or(0));
}

bool RunDir::host_running(const std::string& host) const {
    return process_alive(host_pid(host), host_dir(host));
}

}  // namespace lab
