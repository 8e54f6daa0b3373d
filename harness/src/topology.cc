#include "topology.h"

#include <sys/stat.h>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <map>
#include <sstream>

#include "text_util.h"

#ifndef HARNESS_TOPOLOGY_DIR
#define HARNESS_TOPOLOGY_DIR "topologies"
#endif

namespace lab {

const char* model_name(DeviceModel m) {
    switch (m) {
        case DeviceModel::Cxl:
            return "cxl";
        case DeviceModel::CxlVolatile:
            return "cxl-volatile";
        case DeviceModel::Nvdimm:
            return "nvdimm";
        case DeviceModel::VirtioPmem:
            return "virtio-pmem";
        case DeviceModel::Ivshmem:
            return "ivshmem";
    }
    return "?";
}

const HostSpec* Topology::find_host(const std::string& host) const {
    for (const auto& h : hosts) {
        if (h.name == host) return &h;
    }
    return nullptr;
}

const HostSpec& Topology::master() const {
    for (const auto& h : hosts) {
        if (h.master) return h;
    }
    return hosts.front();
}

namespace {

using Section = std::map<std::string, std::string>;

struct RawFile {
    Section lab;
    Section shared;
    std::vector<std::pair<std::string, Section>> hosts;
};

bool valid_host_name(const std::string& s) {
    if (s.empty() || s.size() > 32) return false;
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
    return true;
}

Result<RawFile> split_sections(const std::string& text) {
    RawFile raw;
    Section* current = nullptr;
    int lineno = 0;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        ++lineno;
        std::string s = trim(line.substr(0, line.find('#')));
        if (s.empty()) continue;
        std::string where = "line " + std::to_string(lineno) + ": ";
        if (s.front() == '[') {
            if (s.back() != ']') return fail(where + "unterminated section header");
            std::string head = trim(s.substr(1, s.size() - 2));
            if (head == "lab") {
                current = &raw.lab;
            } else if (head == "shared") {
                current = &raw.shared;
            } else if (starts_with(head, "host ")) {
                std::string name = trim(head.substr(5));
                if (!valid_host_name(name)) return fail(where + "bad host name '" + name + "'");
                raw.hosts.emplace_back(name, Section{});
                current = &raw.hosts.back().second;
            } else {
                return fail(where + "unknown section [" + head + "]");
            }
            continue;
        }
        auto eq = s.find('=');
        if (eq == std::string::npos || !current) return fail(where + "expected key = value");
        (*current)[trim(s.substr(0, eq))] = trim(s.substr(eq + 1));
    }
    return raw;
}

Result<DeviceModel> parse_model(const std::string& s) {
    if (s == "cxl") return DeviceModel::Cxl;
    if (s == "cxl-volatile") return DeviceModel::CxlVolatile;
    if (s == "nvdimm") return DeviceModel::Nvdimm;
    if (s == "virtio-pmem") return DeviceModel::VirtioPmem;
    if (s == "ivshmem") return DeviceModel::Ivshmem;
    return fail("unknown shared model '" + s +
                "' (cxl, cxl-volatile, nvdimm, virtio-pmem, ivshmem)");
}

Status take_size(const Section& sec, const char* key, uint64_t& out) {
    auto it = sec.find(key);
    if (it == sec.end()) return ok();
    auto v = parse_size(it->second);
    if (!v || *v == 0) return fail(std::string("bad size for ") + key + ": " + it->second);
    out = *v;
    return ok();
}

Status check_known(const Section& sec, std::initializer_list<const char*> known,
                   const std::string& where) {
    for (const auto& [k, v] : sec) {
        bool found = false;
        for (const char* name : known) found = found || k == name;
        if (!found) return fail(where + ": unknown key '" + k + "'");
    }
    return ok();
}

Status apply_lab(const Section& sec, Topology& t, uint64_t& memory, int& cpus) {
    if (auto st = check_known(sec,
                              {"description", "cpu", "machine", "memory", "cpus", "qemu_args",
                               "kernel_args", "qemu", "kernel"},
                              "[lab]");
        !st) {
        return st;
    }
    if (sec.count("description")) t.description = sec.at("description");
    if (sec.count("cpu")) t.cpu = sec.at("cpu");
    if (sec.count("machine")) t.machine = sec.at("machine");
    if (sec.count("qemu_args")) t.extra_args = sec.at("qemu_args");
    if (sec.count("kernel_args")) t.kernel_args = sec.at("kernel_args");
    if (sec.count("qemu")) t.qemu = sec.at("qemu");
    if (sec.count("kernel")) t.kernel = sec.at("kernel");
    if (auto st = take_size(sec, "memory", memory); !st) return st;
    if (sec.count("cpus")) cpus = static_cast<int>(parse_uint(sec.at("cpus")).value_or(1));
    return ok();
}

Status apply_shared(const Section& sec, Topology& t) {
    if (auto st = check_known(sec, {"model", "size", "lsa_size"}, "[shared]"); !st) return st;
    if (!sec.count("model")) return fail("[shared]: 'model' is required");
    auto m = parse_model(sec.at("model"));
    if (!m) return m.error();
    t.model = *m;
    if (auto st = take_size(sec, "size", t.shared_size); !st) return st;
    return take_size(sec, "lsa_size", t.lsa_size);
}

Status validate(const Topology& t) {
    if (t.hosts.empty()) return fail("no [host NAME] sections");
    int masters = 0;
    for (size_t i = 0; i < t.hosts.size(); ++i) {
        masters += t.hosts[i].master;
        for (size_t j = 0; j < i; ++j) {
            if (t.hosts[i].name == t.hosts[j].name)
                return fail("duplicate host " + t.hosts[i].name);
        }
    }
    if (masters != 1) return fail("exactly one host needs 'master = yes'");
    if (t.shared_size < (16ull << 20)) return fail("shared size below 16 MiB");
    if (t.model == DeviceModel::Ivshmem && (t.shared_size & (t.shared_size - 1)))
        return fail("ivshmem needs a power-of-two shared size");
    if (is_cxl(t.model) && t.shared_size % (256ull << 20))
        return fail("cxl needs a shared size that is a multiple of 256 MiB");
    return ok();
}

}  // namespace

Result<Topology> parse_topology(const std::string& text, const std::string& name) {
    auto raw = split_sections(text);
    if (!raw) return raw.error();
    Topology t;
    t.name = name;
    uint64_t memory = 768ull << 20;
    int cpus = 1;
    if (auto st = apply_lab(raw->lab, t, memory, cpus); !st) return st.error();
    if (auto st = apply_shared(raw->shared, t); !st) return st.error();
    for (const auto& [host_name, sec] : raw->hosts) {
        if (auto st = check_known(sec, {"master", "memory", "cpus"}, "[host " + host_name + "]");
            !st) {
            return st.error();
        }
        HostSpec h{host_name, false, memory, cpus};
        if (sec.count("master")) h.master = sec.at("master") == "yes" || sec.at("master") == "true";
        if (auto st = take_size(sec, "memory", h.memory); !st) return st.error();
        if (sec.count("cpus")) h.cpus = static_cast<int>(parse_uint(sec.at("cpus")).value_or(1));
        t.hosts.push_back(h);
    }
    if (auto st = validate(t); !st) return st.error();
    return t;
}

Result<Topology> load_topology_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return fail("cannot read topology " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string base = path.substr(path.find_last_of('/') + 1);
    std::string name = base.substr(0, base.find('.'));
    auto t = parse_topology(ss.str(), name);
    if (!t) return fail(path + ": " + t.error().message);
    return t;
}

Result<std::string> find_topology(const std::string& name_or_path) {
    struct stat st {};
    if (name_or_path.find('/') != std::string::npos) {
        if (::stat(name_or_path.c_str(), &st) == 0) return name_or_path;
        return fail("no topology file " + name_or_path);
    }
    std::vector<std::string> dirs;
    if (const char* env = std::getenv("LAB_TOPOLOGIES")) dirs.emplace_back(env);
    dirs.emplace_back("topologies");
    dirs.emplace_back(HARNESS_TOPOLOGY_DIR);
    for (const auto& d : dirs) {
        std::string p = d + "/" + name_or_path + ".conf";
        if (::stat(p.c_str(), &st) == 0) return p;
    }
    return fail("no topology '" + name_or_path + "' in " + join(dirs, ", ") +
                " ('harness topologies' lists them)");
}

}  // namespace lab
