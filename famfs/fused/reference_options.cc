#include "reference_options.h"

#include <sys/stat.h>

#include <cstdlib>
#include <string_view>
#include <vector>

namespace famfs::fused {

const char kReferenceOptionsHelp[] =
    "  -o daxdev=DEVICE        the device to serve (instead of the DEVICE argument)\n"
    "  -o source=PATH          a directory: as shadow=; anything else: as daxdev=\n"
    "  -o shadow=DIR           the per-mount state directory (holds the diagnostics\n"
    "                          socket DIR/sock; default: a new /tmp/famfs_shadow_*)\n"
    "  -o fsname=NAME          the first column of /proc/mounts (default: the device)\n"
    "  -o timeout=SECS         attribute and entry timeout\n"
    "  -o cache=never|auto|always  timeout 0, 1 or 86400 s unless timeout= is given\n"
    "  -o allow_other          let every user use the mount\n"
    "  -o default_permissions  the kernel checks the mode bits (else the server does)\n"
    "  -o flock, no_flock, readdirplus, no_readdirplus, debug=N\n"
    "                          accepted, no effect (locks are local to the host)\n"
    "  -o pass_yaml            refused: the server reads the log, never shadow YAML\n";

namespace {

// Splits at unescaped commas, as libfuse's fuse_opt does.
std::vector<std::string> split_list(const std::string& list) {
    std::vector<std::string> out(1);
    for (size_t i = 0; i < list.size(); i++) {
        if (list[i] == '\\' && i + 1 < list.size()) {
            out.back() += list[++i];
        } else if (list[i] == ',') {
            out.emplace_back();
        } else {
            out.back() += list[i];
        }
    }
    return out;
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Error bad(const std::string& item, const std::string& why) {
    return make_error(EINVAL, "-o " + item + ": " + why);
}

Status set_device(ReferenceOptions& ro, const std::string& item, const std::string& dev) {
    if (dev.empty()) return bad(item, "names no device");
    if (!ro.device.empty() && ro.device != dev) {
        return bad(item, "a second device (" + ro.device + " was named already)");
    }
    ro.device = dev;
    return {};
}

Status parse_timeout(ReferenceOptions& ro, const std::string& item, const std::string& v) {
    char* end = nullptr;
    const double secs = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || secs < 0) {
        return bad(item, "timeout must be a number of seconds >= 0");
    }
    ro.timeout_secs = secs;
    ro.timeout_set = true;
    return {};
}

Status parse_cache(ReferenceOptions& ro, const std::string& item, const std::string& v) {
    double secs;
    if (v == "never") {
        secs = 0;
    } else if (v == "auto") {
        secs = 1;
    } else if (v == "always") {
        secs = 86400;
    } else {
        return bad(item, "cache must be never, auto or always");
    }
    if (!ro.timeout_set) ro.timeout_secs = secs;
    return {};
}

Status parse_debug(const std::string& item, const std::string& v) {
    char* end = nullptr;
    std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0') return bad(item, "debug must be a number");
    return {};
}

Status parse_item(const std::string& item, ReferenceOptions& ro) {
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    const bool has_value = eq != std::string::npos;
    const std::string value = has_value ? item.substr(eq + 1) : "";
    if (has_value) {
        if (name == "daxdev") return set_device(ro, item, value);
        if (name == "shadow" || (name == "source" && is_directory(value))) {
            if (value.empty()) return bad(item, "names no directory");
            ro.state_dir = value;
            return {};
        }
        if (name == "source") return set_device(ro, item, value);
        if (name == "fsname") {
            ro.fsname = value;
            return {};
        }
        if (name == "timeout") return parse_timeout(ro, item, value);
        if (name == "cache") return parse_cache(ro, item, value);
        if (name == "debug") return parse_debug(item, value);
    } else {
        if (name == "allow_other") {
            ro.allow_other = true;
            return {};
        }
        if (name == "default_permissions") {
            ro.default_permissions = true;
            return {};
        }
        static constexpr std::string_view kNoEffect[] = {"flock", "no_flock", "readdirplus",
                                                         "no_readdirplus"};
        for (std::string_view n : kNoEffect) {
            if (name == n) return {};
        }
        if (name == "pass_yaml") {
            return bad(item,
                       "not supported: this famfs_fused reads the log itself and passes no shadow "
                       "YAML to the kernel");
        }
    }
    return bad(item, "unknown option (famfs_fused --help lists the -o options)");
}

}  // namespace

Status parse_reference_list(const std::string& list, ReferenceOptions& ro) {
    for (const std::string& item : split_list(list)) {
        if (item.empty()) continue;  // "a,,b" as libfuse reads it
        if (auto st = parse_item(item, ro); !st) return st;
    }
    return {};
}

void apply_reference_options(const ReferenceOptions& ro, ServerOptions& opt) {
    if (!ro.device.empty()) opt.device = ro.device;
    if (!ro.state_dir.empty()) opt.state_dir = ro.state_dir;
    if (!ro.fsname.empty()) opt.fsname = ro.fsname;
    opt.allow_other = ro.allow_other;
    opt.default_permissions = ro.default_permissions;
    opt.timeout_secs = ro.timeout_secs;
}

}  // namespace famfs::fused
