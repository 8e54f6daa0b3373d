#include "inject.h"

#include <cstdio>
#include <sstream>

#include "host_access.h"
#include "lab_features.h"
#include "provision.h"
#include "qemu_args.h"
#include "text_util.h"

namespace lab {

namespace {

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
    auto t = run.load_topology();
    if (!t) return t.error();
    auto cmds = host_qmp(run, req.host, "query-commands", Json(), 10);
    if (!cmds) return cmds.error();
    QemuCaps caps;
    for (const auto& c : cmds->items()) caps.commands.insert(c["name"].as_string());
    return auto_poison_method(*t, caps);
}

// Whether the host's QEMU's `command` takes an argument named `member`:
// commands grow required arguments across releases (QEMU 11's event
// injection requires the CXL 3.2 `sub-type` that 10 does not know).
Result<bool> command_takes(const RunDir& run, const std::string& host, const std::string& command,
                           const std::string& member) {
    auto schema = host_qmp(run, host, "query-qmp-schema", Json(), 10);
    if (!schema) return schema.error();
    std::string arg_type;
    for (const auto& e : schema->items())
        if (e["meta-type"].as_string() == "command" && e["name"].as_string() == command)
            arg_type = e["arg-type"].as_string();
    for (const auto& e : schema->items()) {
        if (e["name"].as_string() != arg_type) continue;
        for (const auto& m : e["members"].items())
            if (m["name"].as_string() == member) return true;
    }
    return false;
}

// The CXL memdev of the host's QEMU, and the device physical address (DPA)
// of a /dev/famfs0 offset in it.
struct CxlTarget {
    std::string path;
    uint64_t dpa;
};

Result<CxlTarget> cxl_target(const RunDir& run, uint64_t dev_off) {
    auto t = run.load_topology();
    if (!t) return t.error();
    if (!is_cxl(t->model))
        return fail("lab " + t->name + " has no CXL device (" + model_name(t->model) + ")");
    return CxlTarget{std::string("/machine/peripheral/") + cxl_memdev_id(t->model),
                     dev_off + device_data_offset(t->model)};
}

// QMP cxl-inject-poison: one 64-byte entry in the device's poison list. The
// data stays readable and no machine check follows: a guest learns of it only
// by reading the list (trigger_poison_list, the cxl_poison trace event).
// Returns the poisoned DPA.
Result<uint64_t> inject_poison_list(const RunDir& run, const InjectRequest& req, uint64_t dev_off) {
    auto target = cxl_target(run, dev_off);
    if (!target) return target.error();
    uint64_t dpa = target->dpa & ~63ull;
    Json args = Json::object();
    args.set("path", Json::string(target->path));
    args.set("start", Json::number(static_cast<int64_t>(dpa)));
    args.set("length", Json::number(64));
    auto r = host_qmp(run, req.host, "cxl-inject-poison", args, 10);
    if (!r) return r.error();
    return dpa;
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

// Delivers poison at one device offset to one guest: at that guest's own
// guest-physical address of the offset, or as a poison-list entry of its
// CXL device.
Status poison_on_host(const RunDir& run, const InjectRequest& req, uint64_t dev_off) {
    auto method = choose_method(run, req);
    if (!method) return method.error();
    if (*method == "cxl-poison-list") {
        auto dpa = inject_poison_list(run, req, dev_off);
        if (!dpa) return dpa.error();
        std::printf("injected poison on %s via cxl-poison-list: device offset 0x%llx, DPA 0x%llx\n",
                    req.host.c_str(), static_cast<unsigned long long>(dev_off),
                    static_cast<unsigned long long>(*dpa));
        return ok();
    }
    if (*method != "mce" && *method != "hwpoison")
        return fail("unknown poison method '" + *method +
                    "' (auto, mce, hwpoison, cxl-poison-list)");
    auto gpa_text = guest_output(
        run, req.host,
        std::string("labmem phys ") + kGuestDevice + " --offset " + std::to_string(dev_off));
    if (!gpa_text) return gpa_text.error();
    auto gpa = parse_uint(*gpa_text);
    if (!gpa) return fail("bad physical address from labmem on " + req.host + ": " + *gpa_text);
    Status st = *method == "mce" ? inject_mce(run, req, *gpa) : inject_hwpoison(run, req, *gpa);
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

// QMP cxl-inject-general-media-event: an uncorrectable ECC error on a host
// read, in the failure log. The device raises an interrupt and the guest
// kernel reads the record (trace event cxl_general_media) and clears it.
Status general_media_event(const RunDir& run, const InjectRequest& req) {
    auto dev_off = device_offset(run, req);
    if (!dev_off) return dev_off.error();
    auto target = cxl_target(run, *dev_off);
    if (!target) return target.error();
    Json args = Json::object();
    args.set("path", Json::string(target->path));
    args.set("log", Json::string("failure"));
    args.set("flags", Json::number(1));  // permanent condition
    args.set("dpa", Json::number(static_cast<int64_t>(target->dpa & ~63ull)));
    args.set("descriptor", Json::number(1));        // uncorrectable event
    args.set("type", Json::number(0));              // ECC error
    args.set("transaction-type", Json::number(1));  // host read
    auto sub_type = command_takes(run, req.host, "cxl-inject-general-media-event", "sub-type");
    if (!sub_type) return sub_type.error();
    if (*sub_type) args.set("sub-type", Json::number(0));  // not reported
    auto r = host_qmp(run, req.host, "cxl-inject-general-media-event", args, 10);
    if (!r) return r.error();
    std::printf("injected a general media event on %s: device offset 0x%llx, DPA 0x%llx\n",
                req.host.c_str(), static_cast<unsigned long long>(*dev_off),
                static_cast<unsigned long long>(target->dpa & ~63ull));
    return ok();
}

// Linux (6.12) leaves AER "uncorrectable internal error" masked on a CXL
// type-3 endpoint, which is how QEMU signals a CXL uncorrectable error: the
// error would only be latched in the status register. Unmasking it in the
// guest's AER capability lets the guest handle the error as on a host whose
// platform reports it.
const char* kUnmaskInternalErrors =
    R"SH(dev=$(ls -d /sys/bus/pci/drivers/cxl_pci/0000:* 2>/dev/null | head -n1)
[ -n "$dev" ] || { echo "no PCI device bound to cxl_pci" >&2; exit 1; }
c=$dev/config
word() { od -A n -t u4 -j "$1" -N 4 "$c" | tr -d ' '; }
put() { printf "$(printf '\%03o\%03o\%03o\%03o' $(($2 & 255)) $(($2 >> 8 & 255)) $(($2 >> 16 & 255)) $(($2 >> 24 & 255)))" |
        dd of="$c" bs=1 seek="$1" conv=notrunc 2>/dev/null; }
off=256
while [ "$off" -ne 0 ]; do
    h=$(word $off)
    [ $((h & 0xffff)) -eq 1 ] && break
    off=$((h >> 20))
done
[ "$off" -ne 0 ] || { echo "$dev has no AER capability" >&2; exit 1; }
put $((off + 4)) $((0x400000))
put $((off + 8)) $(($(word $((off + 8))) & ~0x400000))
echo "${dev##*/}"
)SH";

// QMP cxl-inject-uncorrectable-errors: an AER uncorrectable internal error of
// the type-3 device. The guest's CXL driver reacts by disabling CXL.mem and
// resetting the link: the memdev's region and dax device go away.
Status uncorrectable_error(const RunDir& run, const InjectRequest& req) {
    auto target = cxl_target(run, 0);
    if (!target) return target.error();
    auto pci = guest_output(run, req.host, kUnmaskInternalErrors);
    if (!pci) return pci.error();
    std::printf("unmasked AER internal errors of %s on %s\n", pci->c_str(), req.host.c_str());
    Json error = Json::object();
    error.set("type", Json::string("mem-data-ecc"));
    Json header = Json::array();
    for (int i = 0; i < 4; ++i) header.push(Json::number(0));
    error.set("header", header);
    Json errors = Json::array();
    errors.push(error);
    Json args = Json::object();
    args.set("path", Json::string(target->path));
    args.set("errors", errors);
    auto r = host_qmp(run, req.host, "cxl-inject-uncorrectable-errors", args, 10);
    if (!r) return r.error();
    std::printf("injected an uncorrectable error (mem-data-ecc) into %s's CXL device\n",
                req.host.c_str());
    return ok();
}

}  // namespace

Status inject_fault(const RunDir& run, const InjectRequest& req) {
    if (req.kind == "poison") return inject_poison(run, req);
    if (req.kind == "notify-failure") return notify_failure(run, req);
    if (req.kind == "general-media-event") return general_media_event(run, req);
    if (req.kind == "uncorrectable-error") return uncorrectable_error(run, req);
    return fail("unknown fault '" + req.kind +
                "' (poison, notify-failure, general-media-event, uncorrectable-error)");
}

}  // namespace lab
