#include "inject.h"

#include <cstdio>
#include <set>
#include <sstream>

#include "host_access.h"
#include "provision.h"
#include "text_util.h"

namespace lab {

namespace {

constexpr uint64_t kDevdaxDataOffset = 2ull << 20;  // devdax info block, see lab.md

Result<std::string> guest_output(const RunDir& run, const std::string& host,
                                 const std::string& cmd) {
    auto r = guest_exec(run, host, cmd, ExecOptions{});
    if (!r) return r.error();
    if (r->exit_code != 0) return fail("[" + host + "] " + cmd + ": " + r->err + r->out);
    return trim(r->out);
}

}  // namespace

Result<uint64_t> file_to_device_offset(const std::string& getmap, uint64_t file_offset) {
    std::istringstream in(getmap);
    std::string line;
    uint64_t passed = 0;
    while (std::getline(in, line)) {
        auto fields = split(trim(line), '\t');
        if (fields.size() != 2 || !starts_with(fields[0], "0x")) continue;
        auto off = parse_uint(fields[0]);
        auto len = parse_uint(trim(fields[1]));
        if (!off || !len) continue;
        if (file_offset < passed + *len) return *off + (file_offset - passed);
        passed += *len;
    }
    return fail("offset " + std::to_string(file_offset) + " is beyond the file's extents");
}

namespace {

Result<uint64_t> device_offset(const RunDir& run, const InjectRequest& req) {
    if (req.file.empty()) return req.offset;
    auto map = guest_output(run, req.host, "famfs getmap " + shell_quote(req.file));
    if (!map) return map.error();
    return file_to_device_offset(*map, req.offset);
}

Result<std::string> choose_method(const RunDir& run, const InjectRequest& req) {
    if (req.method != "auto") return req.method;
    auto cmds = host_qmp(run, req.host, "query-commands", Json(), 10);
    if (!cmds) return cmds.error();
    std::set<std::string> names;
    for (const auto& c : cmds->items()) names.insert(c["name"].as_string());
    auto t = run.load_topology();
    bool cxl = t && t->model == DeviceModel::Cxl;
    if (cxl && req.kind == "poison" && names.count("cxl-inject-poison")) return std::string("cxl");
    bool intel = t && t->cpu.find("GenuineIntel") != std::string::npos;
    if (names.count("human-monitor-command") && intel) return std::string("mce");
    return std::string("hwpoison");
}

Status inject_cxl(const RunDir& run, const InjectRequest& req, uint64_t dev_off) {
    Json args = Json::object();
    args.set("path", Json::string("/machine/peripheral/cxl-pmem0"));
    args.set("start", Json::number(static_cast<int64_t>((dev_off + kDevdaxDataOffset) & ~63ull)));
    args.set("length", Json::number(64));
    auto r = host_qmp(run, req.host, "cxl-inject-poison", args, 10);
    if (!r) return r.error();
    return ok();
}

Status inject_mce(const RunDir& run, const InjectRequest& req, uint64_t gpa) {
    char line[160];
    // Bank 9, status VAL|UC|EN|MISCV|ADDRV|S (SRAO: action optional),
    // mcg_status RIPV|MCIP, misc 0x86 (address mode physical, 4 KiB grain).
    std::snprintf(line, sizeof line, "mce 0 9 0xbd000000000000c0 0x5 0x%llx 0x86",
                  static_cast<unsigned long long>(gpa));
    auto r = host_hmp(run, req.host, line, 10);
    if (!r) return r.error();
    return ok();
}

Status inject_hwpoison(const RunDir& run, const InjectRequest& req, uint64_t gpa) {
    auto r = guest_output(
        run, req.host,
        "echo " + std::to_string(gpa >> 12) + " > /sys/kernel/debug/hwpoison/corrupt-pfn");
    if (!r) return r.error();
    return ok();
}

}  // namespace

namespace {

// Delivers poison at one device offset to one guest, at that guest's own
// guest-physical address of the offset.
Status poison_on_host(const RunDir& run, const InjectRequest& req, uint64_t dev_off) {
    auto gpa_text = guest_output(
        run, req.host,
        std::string("labmem phys ") + kGuestDevice + " --offset " + std::to_string(dev_off));
    if (!gpa_text) return gpa_text.error();
    auto gpa = parse_uint(*gpa_text);
    if (!gpa) return fail("bad physical address from labmem on " + req.host + ": " + *gpa_text);
    auto method = choose_method(run, req);
    if (!method) return method.error();
    Status st = *method == "cxl"        ? inject_cxl(run, req, dev_off)
                : *method == "mce"      ? inject_mce(run, req, *gpa)
                : *method == "hwpoison" ? inject_hwpoison(run, req, *gpa)
                                        : Status(fail("unknown method '" + *method + "'"));
    if (!st) return st;
    std::printf("injected poison on %s via %s: device offset 0x%llx, guest physical 0x%llx\n",
                req.host.c_str(), method->c_str(), static_cast<unsigned long long>(dev_off),
                static_cast<unsigned long long>(*gpa));
    auto log =
        guest_exec(run, req.host, "dmesg | grep -i 'memory failure' | tail -n 2", ExecOptions{});
    if (log && !log->out.empty()) std::printf("%s kernel: %s", req.host.c_str(), log->out.c_str());
    return ok();
}

Status inject_poison(const RunDir& run, const InjectRequest& req) {
    // The file's extents are resolved once, on the named host: the device
    // offset is the same everywhere, the guest-physical address is not.
    auto dev_off = device_offset(run, req);
    if (!dev_off) return dev_off.error();
    if (req.only_host) return poison_on_host(run, req, *dev_off);
    auto t = run.load_topology();
    if (!t) return t.error();
    for (const auto& h : t->hosts) {
        InjectRequest on = req;
        on.host = h.name;
        if (Status st = poison_on_host(run, on, *dev_off); !st) return st;
    }
    return ok();
}

Status notify_failure(const RunDir& run, const InjectRequest& req) {
    auto r = guest_output(run, req.host,
                          "printf '%s' " + shell_quote("notify-failure " + req.reason) + " > " +
                              shell_quote(req.mount + "/.meta/.control"));
    if (!r) return r.error();
    std::printf("notified failure on %s through %s/.meta/.control: %s\n", req.host.c_str(),
                req.mount.c_str(), req.reason.c_str());
    return ok();
}

}  // namespace

Status inject_fault(const RunDir& run, const InjectRequest& req) {
    if (req.kind == "poison") return inject_poison(run, req);
    if (req.kind == "notify-failure") return notify_failure(run, req);
    return fail("unknown fault '" + req.kind + "' (poison, notify-failure)");
}

}  // namespace lab
