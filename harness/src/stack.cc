#include "stack.h"

#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <regex>
#include <sstream>
#include <vector>

#include "clock.h"
#include "files.h"
#include "process.h"
#include "qmp.h"
#include "text_util.h"

#ifndef HARNESS_VM_IMAGES_DIR
#define HARNESS_VM_IMAGES_DIR "vm-images"
#endif

namespace lab {

namespace {

// Device types whose presence and properties lab decisions depend on.
const char* const kProbedDevices[] = {"cxl-type3", "pxb-cxl",         "cxl-rp",
                                      "nvdimm",    "virtio-pmem-pci", "ivshmem-plain"};

// Runs a command; returns its standard output. Its standard error is
// passed on when it succeeds (progress) and is the error when it fails.
Result<std::string> run_for_output(const std::vector<std::string>& argv) {
    std::string errors = make_temp_dir("harness-run") + "/stderr";
    std::vector<std::string> quoted;
    for (const auto& a : argv) quoted.push_back(shell_quote(a));
    FILE* p = ::popen((join(quoted, " ") + " 2>" + shell_quote(errors)).c_str(), "r");
    if (!p) return fail("cannot run " + argv.front());
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = ::pclose(p);
    auto captured = read_file(errors);
    std::string err = captured ? *captured : "";
    remove_tree(errors.substr(0, errors.rfind('/')));
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        auto lines = split(trim(err), '\n');
        return fail(lines.empty() ? argv.front() + " failed" : lines.back());
    }
    std::fputs(err.c_str(), stderr);
    return out;
}

bool valid_kernel_choice(const std::string& k) {
    static const std::regex series(R"(\d+\.\d+)");
    static const std::regex version(R"(\d+\.\d+[0-9A-Za-z.+~-]*-amd64)");
    return std::regex_match(k, series) || std::regex_match(k, version);
}

Status wait_for_socket(const std::string& path, pid_t pid, const std::string& dir,
                       Deadline deadline) {
    while (!file_exists(path)) {
        if (!process_alive(pid, dir)) return fail("QEMU exited at once");
        if (ms_left(deadline) == 0) return fail("QEMU did not open its monitor socket");
        sleep_ms(20);
    }
    return ok();
}

Result<QemuCaps> ask_qemu(Qmp& qmp, Deadline deadline) {
    QemuCaps caps;
    auto version = qmp.execute("query-version", Json(), deadline);
    if (!version) return version.error();
    const Json& v = (*version)["qemu"];
    caps.version = std::to_string(v["major"].as_int()) + "." + std::to_string(v["minor"].as_int()) +
                   "." + std::to_string(v["micro"].as_int());
    auto commands = qmp.execute("query-commands", Json(), deadline);
    if (!commands) return commands.error();
    for (const auto& c : commands->items()) caps.commands.insert(c["name"].as_string());
    for (const char* type : kProbedDevices) {
        Json args = Json::object();
        args.set("typename", Json::string(type));
        auto props = qmp.execute("device-list-properties", args, deadline);
        if (!props) continue;  // QEMU has no such device
        caps.devices.insert(type);
        for (const auto& p : props->items()) caps.properties[type].insert(p["name"].as_string());
    }
    return caps;
}

}  // namespace

bool QemuCaps::has_property(const std::string& type, const std::string& prop) const {
    auto it = properties.find(type);
    return it != properties.end() && it->second.count(prop) != 0;
}

bool KernelCaps::configured(const std::string& option) const {
    auto it = config.find(option);
    return it != config.end() && (it->second == "y" || it->second == "m");
}

Result<std::string> resolve_qemu(const std::string& choice) {
    if (choice.empty()) return fail("empty --qemu (system, 10, 11 or a path)");
    auto out = run_for_output({std::string(HARNESS_VM_IMAGES_DIR) + "/qemu.sh", choice});
    if (!out) return out.error();
    return trim(*out);
}

Result<std::string> resolve_image(const std::string& image_root, const std::string& kernel) {
    if (!valid_kernel_choice(kernel))
        return fail("unknown kernel '" + kernel +
                    "' (a Debian series such as 6.1 or 6.12, or a version such as "
                    "6.12.48+deb12-amd64)");
    std::string dir = absolute_path(image_root + "/" + kernel);
    if (!file_exists(dir + "/vmlinuz") || !file_exists(dir + "/initramfs.cpio"))
        return fail("no guest image for kernel " + kernel + " in " + dir +
                    " (build it: make vm-image LAB_KERNELS=" + kernel + ")");
    return dir;
}

KernelCaps parse_kernel_caps(const std::string& release, const std::string& config) {
    KernelCaps k;
    k.release = trim(release);
    auto parts = split(k.release, '.');
    if (parts.size() >= 2) {
        k.major = static_cast<int>(parse_uint(parts[0]).value_or(0));
        k.minor = static_cast<int>(parse_uint(parts[1]).value_or(0));
    }
    std::istringstream in(config);
    std::string line;
    const std::string not_set = " is not set";
    while (std::getline(in, line)) {
        if (starts_with(line, "# CONFIG_") && line.size() > not_set.size() &&
            line.compare(line.size() - not_set.size(), not_set.size(), not_set) == 0) {
            k.config[line.substr(2, line.size() - 2 - not_set.size())] = "n";
            continue;
        }
        if (!starts_with(line, "CONFIG_")) continue;
        auto eq = line.find('=');
        if (eq != std::string::npos) k.config[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return k;
}

Result<KernelCaps> read_kernel_caps(const std::string& image_dir) {
    auto release = read_file(image_dir + "/kernel.version");
    if (!release) return fail("image " + image_dir + " has no kernel.version (make vm-image)");
    auto config = read_file(image_dir + "/kernel.config");
    if (!config) return fail("image " + image_dir + " has no kernel.config (make vm-image)");
    return parse_kernel_caps(*release, *config);
}

Result<QemuCaps> probe_qemu(const std::string& qemu, const std::string& scratch_dir) {
    if (auto s = make_dirs(scratch_dir); !s) return s.error();
    std::string dir = absolute_path(scratch_dir);
    std::string sock = dir + "/probe-qmp.sock";
    ::unlink(sock.c_str());
    std::vector<std::string> argv = {
        qemu,          "-machine", "none",
        "-nodefaults", "-display", "none",
        "-S",          "-qmp",     "unix:" + sock + ",server=on,wait=off"};
    auto pid = spawn_detached(argv, dir, dir + "/probe-qemu.log");
    if (!pid) return pid.error();
    auto deadline = deadline_in(20);
    Result<QemuCaps> caps = fail("no answer");
    if (auto s = wait_for_socket(sock, *pid, dir, deadline); !s) {
        caps = s.error();
    } else if (auto qmp = Qmp::connect(sock, deadline); !qmp) {
        caps = qmp.error();
    } else {
        caps = ask_qemu(*qmp, deadline);
        (void)qmp->execute_final("quit", deadline);
    }
    if (!wait_process_exit(*pid, dir, 5)) stop_process(*pid, dir, 1);
    ::unlink(sock.c_str());
    if (!caps) {
        auto log = read_file(dir + "/probe-qemu.log");
        return fail("probing QEMU " + qemu + ": " + caps.error().message +
                    (log && !log->empty() ? " (" + trim(*log) + ")" : ""));
    }
    return caps;
}

Result<Stack> open_stack(const std::string& qemu_choice, const std::string& kernel_choice,
                         const std::string& image_dir, const std::string& scratch_dir) {
    Stack s;
    s.qemu_choice = qemu_choice;
    s.kernel_choice = kernel_choice;
    s.image_dir = image_dir;
    auto kernel = read_kernel_caps(s.image_dir);
    if (!kernel) return kernel.error();
    s.kernel_caps = *kernel;
    auto qemu = resolve_qemu(qemu_choice);
    if (!qemu) return qemu.error();
    s.qemu = *qemu;
    auto caps = probe_qemu(s.qemu, scratch_dir);
    if (!caps) return caps.error();
    s.qemu_caps = *caps;
    return s;
}

}  // namespace lab
