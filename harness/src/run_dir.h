// The run directory holds everything about one running lab, so separate
// harness invocations (up, exec, down, ...) cooperate through it:
//
//   RUN/lab.state            topology, stack (QEMU, kernel, image), shared-memory file,
//                            namespace uuid
//   RUN/stack.txt            the stack's detected capabilities and the decisions taken
//   RUN/topology.conf        copy of the topology the lab was started from
//   RUN/transcript.jsonl     one JSON record per command run (plus .log, readable)
//   RUN/hosts/H/qemu.pid     QEMU's pid (cwd of QEMU is this directory)
//   RUN/hosts/H/{qmp,qga,serial}.sock, console.log, qemu.log, qemu.cmdline,
//   RUN/hosts/H/lsa.raw      CXL label storage, zeroed before every boot
//   RUN/hosts/H/system_uuid  the guest's famfs identity, kept across reboots
#pragma once

#include <sys/types.h>
#include <string>

#include "result.h"
#include "topology.h"

namespace lab {

struct LabState {
    std::string topology_name;
    std::string qemu_choice;  // as given: system | 10 | 11 | PATH
    std::string kernel;       // as given: 6.1 | 6.12 | VERSION
    std::string image_dir;    // that kernel's image
    std::string shm_path;
    std::string namespace_uuid;
};

class RunDir {
  public:
    static std::string default_path();
    static Result<RunDir> open(const std::string& path, bool create);

    const std::string& root() const { return root_; }
    std::string path(const std::string& name) const { return root_ + "/" + name; }
    std::string host_dir(const std::string& host) const { return root_ + "/hosts/" + host; }
    std::string host_file(const std::string& host, const std::string& name) const {
        return host_dir(host) + "/" + name;
    }

    bool has_lab() const;
    Result<LabState> load_state() const;
    Status save_state(const LabState& state) const;
    Status clear_state() const;
    Result<Topology> load_topology() const;

    pid_t host_pid(const std::string& host) const;
    bool host_running(const std::string& host) const;

  private:
    std::string root_;
};

}  // namespace lab
