#include "famfs/host_registration.h"

#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "famfs/memsafe.h"

namespace famfs {
namespace {

using omf::HalfStatus;

uint64_t wall_clock_ns() {
    using namespace std::chrono;
    return static_cast<uint64_t>(
        duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count());
}

// A nonce ties a grant to one request, so a new request must never repeat
// the one it replaces; zero is what an empty half holds.
Result<uint64_t> fresh_nonce(uint64_t previous) {
    for (;;) {
        uint64_t n = 0;
        const ssize_t got = getrandom(&n, sizeof n, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got != static_cast<ssize_t>(sizeof n)) {
            const int err = got < 0 ? errno : EIO;
            return make_error(
                err, std::string("getrandom (a host table request nonce): ") + std::strerror(err));
        }
        if (n != 0 && n != previous) return n;
    }
}

std::string master_name(const omf::Superblock& sb) {
    return "system " + omf::uuid_to_string(sb.system_uuid);
}

// Copies a half built in local memory into its slot and flushes its lines
// (the coherence rules of docs/delete.md). Only plain bytes live in the
// guarded region, so a SIGBUS abandons nothing.
Status write_half(Device& dev, size_t slot, size_t half_offset, const uint8_t* image) {
    auto mem = dev.range(omf::host_slot_offset(slot) + half_offset, omf::kHostHalfBytes);
    Status copied = memsafe::guarded(mem.data(), mem.size(),
                                     [&] { std::memcpy(mem.data(), image, mem.size()); });
    if (!copied)
        return make_error(EIO, dev.path() + ": host table slot " + std::to_string(slot) + ": " +
                                   copied.error().message);
    return dev.persist(mem.data(), mem.size());
}

Status write_master_half(Device& dev, size_t slot, const omf::MasterHalf& m) {
    uint8_t image[omf::kHostHalfBytes];
    omf::encode_master_half(m, image);
    return write_half(dev, slot, omf::kHostHalfBytes, image);
}

bool valid_host(const HostSlot& s) {
    return s.host.status == HalfStatus::kValid;
}

bool valid_master(const HostSlot& s) {
    return s.master.status == HalfStatus::kValid;
}

bool grant_names(const omf::MasterHalf& m, const omf::Uuid& host, uint64_t nonce) {
    return m.granted_uuid == host && m.nonce == nonce;
}

// `s` is a slot of this file system (slot_of_this_fs), so its halves'
// file system UUIDs are already the superblock's.
bool live_grant(const HostSlot& s, const omf::Uuid& host, uint64_t nonce) {
    return valid_master(s) && !s.master.half.evicted && grant_names(s.master.half, host, nonce);
}

// The master evicted exactly this request: it must never be granted again.
bool evicted_request(const HostSlot& s, const omf::Uuid& host, uint64_t nonce) {
    return valid_master(s) && s.master.half.evicted && grant_names(s.master.half, host, nonce);
}

uint64_t generation_of(const HostSlot& s) {
    return valid_master(s) ? s.master.half.generation : 0;
}

// Free: no host holds or asks for it (empty, of an earlier formatting, or
// left cleanly), or the master evicted the host whose half is there; and
// the master is not writing its half. A request in an evicted slot counts
// for reclaim again (slot_bound), as the eviction names another request.
bool free_slot(const HostSlot& s) {
    if (s.master.status == HalfStatus::kTorn) return false;
    if (s.host.status == HalfStatus::kEmpty) return true;
    if (!valid_host(s)) return false;
    const omf::HostHalf& h = s.host.half;
    return h.state == omf::HostState::kLeft || evicted_request(s, h.system_uuid, h.nonce);
}

// When the process `pid` of this host started, in seconds since the epoch
// (/proc/stat's boot time plus the process's start in clock ticks).
std::optional<uint64_t> process_start_secs(uint32_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return std::nullopt;
    const size_t comm_end = text.rfind(')');  // the command may hold spaces
    if (comm_end == std::string::npos) return std::nullopt;
    std::istringstream fields(text.substr(comm_end + 2));
    std::string field;
    for (int i = 3; i < 22 && fields >> field;) ++i;  // fields 3..21
    uint64_t ticks = 0;
    if (!(fields >> ticks)) return std::nullopt;
    std::ifstream sys("/proc/stat");
    for (std::string key; sys >> key;) {
        uint64_t btime = 0;
        if (key == "btime" && sys >> btime)
            return btime + ticks / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
        sys.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return std::nullopt;
}

// Whether the server that wrote a host half of this host still runs. Its
// pid alone is not enough: a host that rebooted may give the same pid to
// another process, even to the new server, so a process that started after
// the half's last heartbeat is not its writer. 0 is unknown, taken as gone.
// Any doubt (no /proc, a clock set back) says "running": the old slot then
// waits for an eviction, the safe side.
bool still_running(const omf::HostHalf& h) {
    if (h.server_pid == 0) return false;
    // Even this very process: after a reboot the new server may have the
    // pid the old one had.
    const auto pid = static_cast<pid_t>(h.server_pid);
    if (kill(pid, 0) != 0 && errno != EPERM) return false;
    const auto started = process_start_secs(h.server_pid);
    constexpr uint64_t kSlackSecs = 2;  // start times are whole ticks, btime whole seconds
    return !started || *started <= h.heartbeat_ns / 1'000'000'000ULL + kSlackSecs;
}

// A slot a previous mount of this host held (it died or left): taking it
// over keeps one slot per host identity rather than leaving the old one
// blocking reclaim until someone evicts it. Not while the server that holds
// it still runs (two mounts of one host, or servers in one test process).
bool held_before(const HostSlot& s, const omf::Uuid& me) {
    if (valid_host(s)) {
        const omf::HostHalf& h = s.host.half;
        if (h.system_uuid != me) return false;
        return h.state == omf::HostState::kLeft || !still_running(h);
    }
    return s.host.status == HalfStatus::kEmpty && valid_master(s) &&
           s.master.half.granted_uuid == me;
}

std::optional<size_t> choose_slot(const std::vector<HostSlot>& table, const omf::Uuid& fs,
                                  const omf::Uuid& me, std::optional<size_t> avoid) {
    for (bool (*pick)(const HostSlot&, const omf::Uuid&) :
         {+[](const HostSlot&s, const omf::Uuid&u) { return held_before(s, u); },
          +[](const HostSlot&s, const omf::Uuid&) { return free_slot(s); }}) {
        for (const HostSlot& raw : table) {
            if (avoid && raw.index == *avoid) continue;
            if (pick(slot_of_this_fs(raw, fs), me)) return raw.index;
        }
    }
    return std::nullopt;
}

Status master_only(Device& dev, const omf::Superblock& sb, Role role, const char* what) {
    if (role == Role::kMaster) return {};
    return make_error(EPERM, dev.path() + ": only the master (" + master_name(sb) + ") " + what +
                                 "; this host is a client");
}

// Held while a master half is read and written back: the master's server,
// famfs host evict and master commands all grant or evict, each from its
// own process on the master's host (DeviceLock, kHostTable).
Result<std::optional<DeviceLock>> lock_master_halves(Device& dev) {
    // In-memory test devices have no file to lock, nor a second process.
    if (dev.kind() == DeviceKind::kMemory) return std::optional<DeviceLock>{};
    auto lock = DeviceLock::acquire(dev.path(), DeviceLock::Kind::kHostTable, /*wait=*/true);
    if (!lock) return lock.error();
    return std::optional<DeviceLock>(std::move(*lock));
}

}  // namespace

const char* to_string(Standing s) {
    switch (s) {
        case Standing::kWaiting:
            return "waiting for a grant";
        case Standing::kActive:
            return "active";
        case Standing::kFenced:
            return "fenced";
    }
    return "?";
}

Result<HostIdentity> local_host_identity(const omf::Superblock& sb) {
    auto uuid = local_system_uuid();
    if (!uuid) return uuid.error();
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) {
        const int err = errno;
        return make_error(err, std::string("gethostname: ") + std::strerror(err));
    }
    HostIdentity me;
    me.system_uuid = *uuid;
    me.name = std::string(name).substr(0, omf::kHostNameBytes - 1);
    me.role = *uuid == sb.system_uuid ? Role::kMaster : Role::kClient;
    me.pid = static_cast<uint32_t>(getpid());
    return me;
}

// ---- HostMembership ----

HostMembership::HostMembership(Device& dev, const omf::Superblock& sb, HostIdentity me)
    : dev_(&dev), fs_uuid_(sb.fs_uuid), me_(std::move(me)) {
    if (me_.name.size() >= omf::kHostNameBytes) me_.name.resize(omf::kHostNameBytes - 1);
}

Result<HostMembership> HostMembership::request(Device& dev, const omf::Superblock& sb,
                                               const HostIdentity& me) {
    HostMembership m(dev, sb, me);
    auto table = read_host_table(dev);
    if (!table) return table.error();
    FAMFS_TRY(m.take_slot(*table, std::nullopt));
    return m;
}

Status HostMembership::take_slot(const std::vector<HostSlot>& table, std::optional<size_t> avoid) {
    auto slot = choose_slot(table, fs_uuid_, me_.system_uuid, avoid);
    if (!slot)
        return make_error(ENOSPC, dev_->path() + ": host table full (" +
                                      std::to_string(omf::kHostSlots) + " slots)");
    slot_ = *slot;
    standing_ = Standing::kWaiting;
    FAMFS_TRY(write_request());
    if (me_.role == Role::kMaster) FAMFS_TRY(grant_self());
    return {};
}

Status HostMembership::write_request() {
    auto nonce = fresh_nonce(nonce_);
    if (!nonce) return nonce.error();
    nonce_ = *nonce;
    return write_host_half(omf::HostState::kRequested, 0, 0);
}

Status HostMembership::grant_self() {
    auto lock = lock_master_halves(*dev_);
    if (!lock) return lock.error();
    auto table = read_host_table(*dev_);
    if (!table) return table.error();
    const HostSlot before = slot_of_this_fs((*table)[slot_], fs_uuid_);
    omf::MasterHalf g;
    g.granted_uuid = me_.system_uuid;
    g.fs_uuid = fs_uuid_;
    g.nonce = nonce_;
    g.generation = generation_of(before) + 1;
    g.time_ns = wall_clock_ns();
    FAMFS_TRY(write_master_half(*dev_, slot_, g));
    FAMFS_TRY(write_host_half(omf::HostState::kActive, watermark_, counter_ + 1));
    standing_ = Standing::kActive;
    return {};
}

Status HostMembership::write_host_half(omf::HostState state, uint64_t watermark, uint64_t counter) {
    omf::HostHalf h;
    h.state = state;
    h.server_pid = me_.pid;
    h.system_uuid = me_.system_uuid;
    h.fs_uuid = fs_uuid_;
    h.nonce = nonce_;
    h.watermark = watermark;
    h.heartbeat = counter;
    h.heartbeat_ns = wall_clock_ns();
    h.name = me_.name;
    uint8_t image[omf::kHostHalfBytes];
    FAMFS_TRY(omf::encode_host_half(h, image));
    FAMFS_TRY(write_half(*dev_, slot_, 0, image));
    counter_ = counter;
    watermark_ = std::max(watermark_, watermark);
    return {};
}

Result<Standing> HostMembership::heartbeat(uint64_t watermark) {
    if (standing_ == Standing::kFenced) return standing_;
    auto table = read_host_table(*dev_);
    if (!table) return table.error();
    const HostSlot s = slot_of_this_fs((*table)[slot_], fs_uuid_);
    const uint64_t w = std::max(watermark, watermark_);
    if (standing_ == Standing::kWaiting) {
        if (live_grant(s, me_.system_uuid, nonce_)) {
            FAMFS_TRY(write_host_half(omf::HostState::kActive, w, counter_ + 1));
            standing_ = Standing::kActive;
        } else if (evicted_request(s, me_.system_uuid, nonce_)) {
            standing_ = Standing::kFenced;
        } else if (!valid_host(s) || s.host.half.system_uuid != me_.system_uuid ||
                   s.host.half.nonce != nonce_) {
            // Another host's request landed over ours before the grant: the
            // slot is theirs now, and this request starts again elsewhere.
            FAMFS_TRY(take_slot(*table, slot_));
        }
        return standing_;
    }
    // A torn grant is the master mid-write: judge it at the next beat.
    if (s.master.status == HalfStatus::kTorn) return standing_;
    if (!live_grant(s, me_.system_uuid, nonce_)) {
        standing_ = Standing::kFenced;
        return standing_;
    }
    FAMFS_TRY(write_host_half(omf::HostState::kActive, w, counter_ + 1));
    return standing_;
}

Status HostMembership::leave() {
    if (standing_ == Standing::kFenced) return {};
    auto table = read_host_table(*dev_);
    if (!table) return table.error();
    const HostSlot s = slot_of_this_fs((*table)[slot_], fs_uuid_);
    const bool granted = live_grant(s, me_.system_uuid, nonce_);
    if (standing_ == Standing::kActive && !granted && s.master.status != HalfStatus::kTorn) {
        standing_ = Standing::kFenced;
        return {};
    }
    // A request another host's overwrote is theirs: there is nothing to leave.
    const bool mine =
        valid_host(s) && s.host.half.system_uuid == me_.system_uuid && s.host.half.nonce == nonce_;
    if (standing_ == Standing::kWaiting && !granted && !mine) return {};
    if (standing_ == Standing::kWaiting && evicted_request(s, me_.system_uuid, nonce_)) {
        standing_ = Standing::kFenced;
        return {};
    }
    return write_host_half(omf::HostState::kLeft, watermark_, counter_);
}

// ---- the master's side ----

Result<size_t> grant_requests(Device& dev, const omf::Superblock& sb, Role role,
                              std::vector<HostSlot>* read) {
    FAMFS_TRY(master_only(dev, sb, role, "grants host table slots"));
    auto lock = lock_master_halves(dev);
    if (!lock) return lock.error();
    auto table = read_host_table(dev);
    if (!table) return table.error();
    size_t granted = 0;
    for (const HostSlot& raw : *table) {
        const HostSlot s = slot_of_this_fs(raw, sb.fs_uuid);
        if (!valid_host(s) || s.host.half.state != omf::HostState::kRequested) continue;
        const omf::HostHalf& h = s.host.half;
        if (live_grant(s, h.system_uuid, h.nonce) || evicted_request(s, h.system_uuid, h.nonce))
            continue;
        omf::MasterHalf g;
        g.granted_uuid = h.system_uuid;
        g.fs_uuid = sb.fs_uuid;
        g.nonce = h.nonce;
        g.generation = generation_of(s) + 1;
        g.time_ns = wall_clock_ns();
        FAMFS_TRY(write_master_half(dev, s.index, g));
        ++granted;
    }
    if (read) *read = std::move(*table);
    return granted;
}

namespace {

// The hosts a `host` argument stands for, and the slots they hold.
struct HostMatch {
    std::vector<omf::Uuid> hosts;
    std::vector<size_t> slots;
    bool names(const omf::Uuid& u) const {
        return std::find(hosts.begin(), hosts.end(), u) != hosts.end();
    }
};

Result<HostMatch> match_host(std::span<const HostSlot> table, const omf::Superblock& sb,
                             const std::string& host, const std::string& device) {
    // A system UUID as given, and every UUID whose host half carries the name.
    HostMatch m;
    if (auto u = omf::uuid_from_string(host)) m.hosts.push_back(*u);
    for (const HostSlot& raw : table) {
        const HostSlot s = slot_of_this_fs(raw, sb.fs_uuid);
        if (valid_host(s) && s.host.half.name == host) m.hosts.push_back(s.host.half.system_uuid);
    }
    for (const HostSlot& raw : table) {
        const HostSlot s = slot_of_this_fs(raw, sb.fs_uuid);
        if ((valid_host(s) && m.names(s.host.half.system_uuid)) ||
            (valid_master(s) && m.names(s.master.half.granted_uuid)))
            m.slots.push_back(s.index);
    }
    if (m.slots.empty())
        return make_error(ENOENT, "no host '" + host + "' in the host table of " + device);
    if (m.names(sb.system_uuid))
        return make_error(EINVAL, "'" + host + "' is the master (" + master_name(sb) + " of " +
                                      device + "); the master is never evicted");
    return m;
}

}  // namespace

Result<std::vector<size_t>> slots_of_host(std::span<const HostSlot> table,
                                          const omf::Superblock& sb, const std::string& host,
                                          const std::string& device) {
    auto m = match_host(table, sb, host, device);
    if (!m) return m.error();
    return std::move(m->slots);
}

Result<std::vector<size_t>> evict_host(Device& dev, const omf::Superblock& sb, Role role,
                                       const std::string& host) {
    FAMFS_TRY(master_only(dev, sb, role, "evicts hosts"));
    auto lock = lock_master_halves(dev);
    if (!lock) return lock.error();
    auto table = read_host_table(dev);
    if (!table) return table.error();
    auto m = match_host(*table, sb, host, dev.path());
    if (!m) return m.error();
    for (size_t i : m->slots) {
        const HostSlot s = slot_of_this_fs((*table)[i], sb.fs_uuid);
        omf::MasterHalf e = valid_master(s) ? s.master.half : omf::MasterHalf{};
        // The eviction names the host's own request when the slot holds one,
        // so grant_requests() never grants that request again; else it
        // keeps the grant it ends.
        if (valid_host(s) && m->names(s.host.half.system_uuid)) {
            e.granted_uuid = s.host.half.system_uuid;
            e.nonce = s.host.half.nonce;
        }
        e.evicted = true;
        e.fs_uuid = sb.fs_uuid;
        e.time_ns = wall_clock_ns();
        FAMFS_TRY(write_master_half(dev, i, e));
    }
    return std::move(m->slots);
}

// ---- liveness ----

void LivenessTracker::observe(const std::vector<HostSlot>& table, Clock::time_point now) {
    for (const HostSlot& s : table) {
        if (s.index >= seen_.size()) continue;
        std::optional<Seen>& seen = seen_[s.index];
        if (s.host.status == HalfStatus::kTorn) {
            // A write in progress (or cut short): its counter is unknown, so
            // the stillness measured so far stands; it is not reported.
            if (seen) seen->active = false;
            continue;
        }
        if (s.host.status == HalfStatus::kEmpty) {
            seen.reset();
            continue;
        }
        const omf::HostHalf& h = s.host.half;
        if (!seen || seen->host != h.system_uuid || seen->nonce != h.nonce) {
            seen = Seen{h.system_uuid, h.nonce, h.heartbeat, now, false};
        } else if (seen->counter != h.heartbeat) {
            seen->counter = h.heartbeat;
            seen->since = now;
        }
        const omf::MasterHalf& m = s.master.half;
        seen->active = h.state == omf::HostState::kActive && valid_master(s) && !m.evicted &&
                       m.fs_uuid == h.fs_uuid && grant_names(m, h.system_uuid, h.nonce);
    }
}

std::vector<size_t> LivenessTracker::stale(Clock::time_point now) const {
    std::vector<size_t> out;
    for (size_t i = 0; i < seen_.size(); ++i)
        if (seen_[i] && seen_[i]->active && now - seen_[i]->since >= stale_after_) out.push_back(i);
    return out;
}

std::optional<std::chrono::milliseconds> LivenessTracker::still_for(size_t slot,
                                                                    Clock::time_point now) const {
    if (slot >= seen_.size() || !seen_[slot]) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - seen_[slot]->since);
}

}  // namespace famfs
