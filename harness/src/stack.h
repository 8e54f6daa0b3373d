// A stack is the QEMU and the guest kernel a lab runs on, and what each can
// do. Capabilities are detected (QMP of the chosen QEMU, the chosen image's
// kernel release and configuration), never assumed from a name, and every
// lab decision that depends on them is taken in lab_features.h from these facts.
#pragma once

#include <map>
#include <set>
#include <string>

#include "result.h"

namespace lab {

struct QemuCaps {
    std::string version;                                      // "10.0.2"
    std::set<std::string> commands;                           // QMP commands
    std::set<std::string> devices;                            // probed device types that exist
    std::map<std::string, std::set<std::string>> properties;  // device type -> properties

    bool has_command(const std::string& name) const { return commands.count(name) != 0; }
    bool has_device(const std::string& type) const { return devices.count(type) != 0; }
    bool has_property(const std::string& type, const std::string& prop) const;
};

struct KernelCaps {
    std::string release;  // uname -r of the guest kernel
    int major = 0;
    int minor = 0;
    std::map<std::string, std::string> config;  // CONFIG_X -> "y" | "m" | "n" (not set) | value

    bool at_least(int maj, int min) const { return major > maj || (major == maj && minor >= min); }
    bool configured(const std::string& option) const;  // =y or =m
    bool knows(const std::string& option) const { return config.count(option) != 0; }
};

struct Stack {
    std::string qemu_choice;  // system | 10 | 11 | PATH
    std::string qemu;         // the program to run
    std::string kernel_choice;
    std::string image_dir;  // vmlinuz, initramfs.cpio, kernel.version, kernel.config
    QemuCaps qemu_caps;
    KernelCaps kernel_caps;
};

// "system", "10", "11" or a path -> a program (fetching a newer QEMU into the
// cache on first use, through vm-images/qemu.sh).
Result<std::string> resolve_qemu(const std::string& choice);

// A kernel choice (a series such as 6.1, or a full version) -> its image.
Result<std::string> resolve_image(const std::string& image_root, const std::string& kernel);

// Starts the QEMU with no machine in `scratch_dir` and asks it over QMP.
Result<QemuCaps> probe_qemu(const std::string& qemu, const std::string& scratch_dir);

Result<KernelCaps> read_kernel_caps(const std::string& image_dir);
KernelCaps parse_kernel_caps(const std::string& release, const std::string& config);

// Resolves the QEMU and probes it and the kernel image (from resolve_image).
Result<Stack> open_stack(const std::string& qemu_choice, const std::string& kernel_choice,
                         const std::string& image_dir, const std::string& scratch_dir);

}  // namespace lab
