#include "famfs_test_support.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "famfs/log.h"

namespace famfs::test {
namespace {

void write_host_uuid(const omf::Uuid& uuid) {
    std::ofstream out(system_uuid_path(), std::ios::trunc);
    out << omf::uuid_to_string(uuid) << "\n";
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "test support: %s\n", what.c_str());
    std::abort();
}

}  // namespace

omf::Uuid host_uuid() {
    auto u = local_system_uuid();
    if (!u) die(u.error().message);
    return *u;
}

ScopedHost::ScopedHost(const omf::Uuid& uuid) : saved_(host_uuid()) {
    write_host_uuid(uuid);
}

ScopedHost::~ScopedHost() {
    write_host_uuid(saved_);
}

omf::Superblock make_superblock(uint64_t dev_size, uint64_t log_len, const omf::Uuid& system) {
    omf::Superblock sb;
    sb.log_len = log_len;
    sb.fs_uuid = omf::random_uuid();
    sb.dev_uuid = omf::random_uuid();
    sb.system_uuid = system;
    sb.dev_size = dev_size;
    sb.dev_name = "/dev/dax0.0";
    return sb;
}

void format_device(Device& dev, uint64_t log_len, const omf::Uuid& system) {
    auto st = format_log(dev, omf::kLogOffset, log_len);
    if (!st) die(st.error().message);
    auto sb = dev.range(0, omf::kSuperblockBytes);
    omf::encode_superblock(make_superblock(dev.size(), log_len, system), sb);
    if (auto p = dev.persist(sb.data(), sb.size()); !p) die(p.error().message);
}

omf::Uuid reformat_as_another_host(const std::string& path, const omf::Uuid& system,
                                   uint64_t log_len) {
    auto dev = open_device(path, Access::kReadWrite);
    if (!dev) die(dev.error().message);
    Device& d = **dev;
    auto sb_bytes = d.range(0, omf::kSuperblockRegion);
    std::memset(sb_bytes.data(), 0, sb_bytes.size());
    if (auto st = d.persist(sb_bytes.data(), sb_bytes.size()); !st) die(st.error().message);
    if (auto st = format_log(d, omf::kLogOffset, log_len); !st) die(st.error().message);
    omf::Superblock sb = make_superblock(d.size(), log_len, system);
    sb.dev_name = path;
    omf::encode_superblock(sb, sb_bytes);
    if (auto st = d.persist(sb_bytes.data(), omf::kSuperblockBytes); !st) {
        die(st.error().message);
    }
    return sb.fs_uuid;
}

std::unique_ptr<testing::FaultyDevice> formatted_memory(uint64_t dev_size, uint64_t log_len) {
    auto dev = testing::FaultyDevice::create(dev_size);
    if (!dev) die(dev.error().message);
    format_device(**dev, log_len, host_uuid());
    return std::move(*dev);
}

std::unique_ptr<Volume> memory_volume(uint64_t dev_size, uint64_t log_len,
                                      testing::FaultyDevice** dev) {
    auto mem = formatted_memory(dev_size, log_len);
    if (dev) *dev = mem.get();
    auto vol = Volume::open(std::move(mem));
    if (!vol) die(vol.error().message);
    return std::move(*vol);
}

NonCoherentHosts noncoherent_hosts(uint64_t dev_size, size_t count, uint32_t evictions_per_call,
                                   uint64_t seed) {
    NonCoherentHosts out;
    auto memory = testing::MemoryDevice::create(dev_size, "shared-memory");
    if (!memory) die(memory.error().message);
    out.memory = std::move(*memory);
    for (size_t i = 0; i < count; ++i) {
        testing::NonCoherentDevice::Options o;
        o.host = "host" + std::to_string(i);
        o.seed = seed + i;
        o.evictions_per_call = evictions_per_call;
        auto host = testing::NonCoherentDevice::create(out.memory, o);
        if (!host) die(host.error().message);
        out.hosts.push_back(std::move(*host));
    }
    if (count > 0) format_device(*out.hosts[0], omf::kMinLogLen, host_uuid());
    return out;
}

ShmFile::ShmFile(uint64_t size) {
    static std::atomic<int> counter{0};
    path_ = "/dev/shm/famfs-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) die("cannot create " + path_);
    close(fd);
}

ShmFile::~ShmFile() {
    unlink(path_.c_str());
}

omf::LogEntry file_entry(const std::string& relpath, uint64_t size,
                         std::vector<omf::Extent> extents) {
    omf::FileEntry f;
    f.relpath = relpath;
    f.size = size;
    f.extents = std::move(extents);
    return omf::LogEntry{0, f};
}

omf::LogEntry dir_entry(const std::string& relpath) {
    omf::MkdirEntry d;
    d.relpath = relpath;
    return omf::LogEntry{0, d};
}

omf::MasterHalf grant_of(const omf::HostHalf& h, bool evicted) {
    omf::MasterHalf m;
    m.evicted = evicted;
    m.granted_uuid = h.system_uuid;
    m.fs_uuid = h.fs_uuid;
    m.nonce = h.nonce;
    m.generation = 1;
    return m;
}

void encode_granted_slot(const omf::HostHalf& h, std::span<uint8_t> slot, bool evicted) {
    if (!omf::encode_host_half(h, slot.first(omf::kHostHalfBytes)))
        throw std::invalid_argument("encode_granted_slot: a host half that cannot be encoded");
    omf::encode_master_half(grant_of(h, evicted),
                            slot.subspan(omf::kHostHalfBytes, omf::kHostHalfBytes));
}

}  // namespace famfs::test
