#include "poison_watch.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <system_error>
#include <utility>

namespace famfs::fused::poison {

namespace {

std::string errno_message(int err) {
    return std::error_code(err, std::generic_category()).message();
}

// A number in `base` (16 takes an optional 0x), nothing else; nullopt when
// malformed or too big.
std::optional<uint64_t> parse_number(std::string_view s, int base) {
    if (base == 16 && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
    }
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// The first line of a small file (sysfs attributes), without its newline.
Result<std::string> read_line(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(errno, path + ": " + errno_message(errno));
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) < 0 && errno == EINTR) {
    }
    const int err = errno;
    ::close(fd);
    if (n < 0) return make_error(err, path + ": " + errno_message(err));
    std::string_view text(buf, static_cast<size_t>(n));
    return std::string(text.substr(0, text.find('\n')));
}

Result<uint64_t> read_number(const std::string& path, int base) {
    auto line = read_line(path);
    if (!line) return line.error();
    auto v = parse_number(*line, base);
    if (!v) return make_error(EINVAL, path + ": not a number: " + *line);
    return *v;
}

// Writes to an existing file (a sysfs or tracefs control); never creates.
Status write_control(const std::string& path, std::string_view text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return make_error(errno, path + ": " + errno_message(errno));
    ssize_t n;
    while ((n = ::write(fd, text.data(), text.size())) < 0 && errno == EINTR) {
    }
    const int err = errno;
    ::close(fd);
    if (n < 0) return make_error(err, path + ": " + errno_message(err));
    return {};
}

bool is_dir(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& path) {
    return ::access(path.c_str(), F_OK) == 0;
}

// memN names under SYSFS/bus/cxl/devices that can trigger a poison list
// read, in number order.
std::vector<std::string> memdevs_of(const std::string& sysfs) {
    const std::string dir = sysfs + "/bus/cxl/devices";
    std::vector<std::pair<uint64_t, std::string>> found;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (const dirent* e = ::readdir(d)) {
            const std::string_view name = e->d_name;
            if (name.substr(0, 3) != "mem") continue;
            const auto n = parse_number(name.substr(3), 10);
            if (!n || !exists(dir + "/" + e->d_name + "/trigger_poison_list")) continue;
            found.emplace_back(*n, e->d_name);
        }
        ::closedir(d);
    }
    std::sort(found.begin(), found.end());
    std::vector<std::string> names;
    for (auto& f : found) names.push_back(std::move(f.second));
    return names;
}

// The tracefs to use ("" when none): a tracefs has an instances directory.
std::string tracefs_of(const std::string& given) {
    if (!given.empty()) return is_dir(given + "/instances") ? given : std::string();
    for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
        if (is_dir(std::string(root) + "/instances")) return root;
    }
    return {};
}

uint64_t saturating_add(uint64_t a, uint64_t b) {
    return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

}  // namespace

std::optional<Record> parse_trace_line(std::string_view line) {
    // The event's name follows the header (task-pid [cpu] flags time:).
    constexpr std::string_view kEvent = "cxl_poison: ";
    size_t at = line.find(kEvent);
    while (at != std::string_view::npos && at != 0 && line[at - 1] != ' ') {
        at = line.find(kEvent, at + 1);
    }
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view rest = line.substr(at + kEvent.size());
    Record r;
    bool memdev = false, type = false, hpa = false, dpa = false, length = false;
    while (!rest.empty()) {
        const size_t space = rest.find(' ');
        const std::string_view field = rest.substr(0, space);
        rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
        if (field.empty()) continue;
        const size_t eq = field.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        const std::string_view key = field.substr(0, eq);
        const std::string_view value = field.substr(eq + 1);
        if (key == "memdev") {
            r.memdev = value;
            memdev = !value.empty();
        } else if (key == "region") {
            r.region = value;
        } else if (key == "trace_type") {
            r.trace_type = value;
            type = !value.empty();
        } else if (key == "hpa") {
            const auto v = parse_number(value, 16);
            if (!v) return std::nullopt;
            if (*v != UINT64_MAX) r.hpa = *v;
            hpa = true;
        } else if (key == "dpa") {
            const auto v = parse_number(value, 16);
            if (!v) return std::nullopt;
            r.dpa = *v;
            dpa = true;
        } else if (key == "dpa_length") {
            const auto v = parse_number(value, 16);
            if (!v) return std::nullopt;
            r.length = *v;
            length = true;
        } else if (key == "flags") {
            r.overflow = value.find("Overflow") != std::string_view::npos;
        }
    }
    if (!memdev || !type || !hpa || !dpa || !length) return std::nullopt;
    return r;
}

void LineBuffer::feed(std::string_view bytes, const std::function<void(std::string_view)>& fn) {
    while (!bytes.empty()) {
        const size_t nl = bytes.find('\n');
        const std::string_view piece = bytes.substr(0, nl);
        if (!dropping_) {
            if (partial_.size() + piece.size() > kMaxLine) {
                partial_.clear();
                dropping_ = true;
            } else if (nl != std::string_view::npos && partial_.empty()) {
                if (!piece.empty()) fn(piece);  // a whole line: no copy
            } else {
                partial_.append(piece);
            }
        }
        if (nl == std::string_view::npos) return;
        if (!dropping_ && !partial_.empty()) fn(partial_);
        partial_.clear();
        dropping_ = false;
        bytes.remove_prefix(nl + 1);
    }
}

Result<std::string> dax_name_of(const std::string& sysfs, unsigned major, unsigned minor) {
    const std::string link =
        sysfs + "/dev/char/" + std::to_string(major) + ":" + std::to_string(minor);
    char target[PATH_MAX];
    const ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    if (n < 0) return make_error(errno, link + ": " + errno_message(errno));
    std::string_view t(target, static_cast<size_t>(n));
    while (!t.empty() && t.back() == '/') t.remove_suffix(1);
    const std::string name(t.substr(t.rfind('/') + 1));
    if (name.substr(0, 3) != "dax") {
        return make_error(ENODEV, link + " is " + name + ", not a dax device");
    }
    return name;
}

Result<DaxWindow> read_dax_window(const std::string& sysfs, const std::string& name) {
    const std::string dir = sysfs + "/bus/dax/devices/" + name;
    DaxWindow w;
    w.name = name;
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    for (int i = 0;; i++) {
        const std::string m = dir + "/mapping" + std::to_string(i);
        if (!exists(m)) break;
        auto start = read_number(m + "/start", 16);
        if (!start) return start.error();
        auto end = read_number(m + "/end", 16);  // inclusive
        if (!end) return end.error();
        auto pgoff = read_number(m + "/page_offset", 16);
        if (!pgoff) return pgoff.error();
        if (*end < *start) return make_error(EINVAL, m + ": ends before it starts");
        w.pieces.push_back({*start, *end - *start + 1, *pgoff * page});
    }
    if (w.pieces.empty()) {
        auto start = read_number(dir + "/resource", 16);
        if (!start) return start.error();
        auto size = read_number(dir + "/size", 10);
        if (!size) return size.error();
        w.pieces.push_back({*start, *size, 0});
    }
    return w;
}

std::vector<DeviceRange> device_ranges(const DaxWindow& w, uint64_t hpa, uint64_t len,
                                       uint64_t device_size) {
    std::vector<DeviceRange> out;
    const uint64_t end = saturating_add(hpa, len);
    for (const DaxPiece& p : w.pieces) {
        const uint64_t lo = std::max(hpa, p.phys);
        const uint64_t hi = std::min(end, saturating_add(p.phys, p.len));
        if (lo >= hi) continue;
        const uint64_t off = p.dev_offset + (lo - p.phys);
        if (off >= device_size) continue;
        out.push_back({off, std::min(hi - lo, device_size - off)});
    }
    return out;
}

std::unique_ptr<Watcher> Watcher::create(const WatchOptions& opt, const std::string& device,
                                         uint64_t device_size, Sink sink) {
    std::unique_ptr<Watcher> w(new Watcher());
    w->opt_ = opt;
    w->device_size_ = device_size;
    w->sink_ = std::move(sink);
    w->off_why_ = w->setup(device);
    return w;
}

std::string Watcher::setup(const std::string& device) {
    if (opt_.interval.count() <= 0) return "disabled by --poison-poll-ms 0";
    std::string dax = opt_.test_dax;
    if (dax.empty()) {
        struct stat st {};
        if (::stat(device.c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) return "not a devdax device";
        auto name = dax_name_of(opt_.sysfs, major(st.st_rdev), minor(st.st_rdev));
        if (!name) return "not a devdax device: " + name.error().message;
        dax = *name;
    }
    memdevs_ = memdevs_of(opt_.sysfs);
    if (memdevs_.empty()) return "no CXL memdev";
    const std::string tracefs = tracefs_of(opt_.tracefs);
    if (tracefs.empty()) {
        return "no tracefs at " +
               (opt_.tracefs.empty()
                    ? std::string("/sys/kernel/tracing or /sys/kernel/debug/tracing")
                    : opt_.tracefs);
    }
    auto window = read_dax_window(opt_.sysfs, dax);
    if (!window) return window.error().message;
    window_ = std::move(*window);

    // An instance of our name that exists already was left by a killed
    // server whose pid we now have: it is ours to use and remove.
    const std::string inst = tracefs + "/instances/famfs_fused." + std::to_string(::getpid());
    if (::mkdir(inst.c_str(), 0750) != 0 && errno != EEXIST) {
        return "cannot create the trace instance " + inst + ": " + errno_message(errno);
    }
    instance_ = inst;  // removed by the destructor from here on
    if (auto st = write_control(inst + "/events/cxl/cxl_poison/enable", "1"); !st) {
        return "no cxl_poison trace event: " + st.error().message;
    }
    pipe_fd_ = ::open((inst + "/trace_pipe").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (pipe_fd_ < 0) return inst + "/trace_pipe: " + errno_message(errno);
    return {};
}

Watcher::~Watcher() {
    stop();
    if (pipe_fd_ >= 0) ::close(pipe_fd_);
    // Best effort: a fake tree's instance is a plain directory with files.
    if (!instance_.empty()) (void)::rmdir(instance_.c_str());
}

void Watcher::start() {
    if (!on() || thread_.joinable()) return;
    {
        std::lock_guard lk(stop_mutex_);
        stop_ = false;
    }
    thread_ = std::thread([this] { loop(); });
}

void Watcher::stop() {
    {
        std::lock_guard lk(stop_mutex_);
        stop_ = true;
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Watcher::loop() {
    std::unique_lock lk(stop_mutex_);
    while (!stop_) {
        lk.unlock();
        poll_once();
        lk.lock();
        stop_cv_.wait_for(lk, opt_.interval, [this] { return stop_; });
    }
}

void Watcher::poll_once() {
    if (!on()) return;
    // The kernel emits the events while the write runs, so they are all in
    // the trace buffer when the reads below start.
    std::string failed;
    for (const std::string& m : memdevs_) {
        const std::string path = opt_.sysfs + "/bus/cxl/devices/" + m + "/trigger_poison_list";
        if (auto st = write_control(path, "1"); !st) {
            failed += (failed.empty() ? "" : "; ") + st.error().message;
        }
    }
    {
        std::lock_guard lk(error_mutex_);
        trigger_error_ = std::move(failed);
    }
    round_ = {};
    char buf[16384];
    // Bounded: a pipe that never runs dry must not keep the thread here.
    for (int i = 0; i < 1024; i++) {
        const ssize_t n = ::read(pipe_fd_, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EAGAIN: drained (a regular file: its end)
        lines_.feed({buf, static_cast<size_t>(n)}, [this](std::string_view line) { take(line); });
    }
    records_.store(round_.records, std::memory_order_relaxed);
    unmapped_.store(round_.unmapped, std::memory_order_relaxed);
    outside_.store(round_.outside, std::memory_order_relaxed);
}

void Watcher::take(std::string_view line) {
    const auto r = parse_trace_line(line);
    // A cleared record says the memory was repaired; poison this server
    // knows of stays until the remount (ranges only accumulate).
    if (!r || r->trace_type == "Clear") return;
    round_.records++;
    if (r->overflow) overflow_.store(true, std::memory_order_relaxed);
    if (!r->hpa) {
        round_.unmapped++;
        return;
    }
    const auto ranges = device_ranges(window_, *r->hpa, r->length, device_size_);
    if (ranges.empty()) round_.outside++;
    for (const DeviceRange& d : ranges) sink_(d);
}

Watcher::Counts Watcher::counts() const {
    Counts c;
    c.records = records_.load(std::memory_order_relaxed);
    c.unmapped = unmapped_.load(std::memory_order_relaxed);
    c.outside = outside_.load(std::memory_order_relaxed);
    c.overflow = overflow_.load(std::memory_order_relaxed);
    return c;
}

std::string Watcher::trigger_error() const {
    std::lock_guard lk(error_mutex_);
    return trigger_error_;
}

std::string Watcher::describe() const {
    if (!on()) return "off (" + off_why_ + ")";
    std::string names;
    for (const std::string& m : memdevs_) names += (names.empty() ? "" : ",") + m;
    return "cxl-poison-list " + names + " every " + std::to_string(opt_.interval.count()) + " ms";
}

}  // namespace famfs::fused::poison
