// Fuzzes everything a reader does with a log it did not write: the input is
// the log region (optionally preceded by a superblock) of a small in-memory
// device; replay, namespace, allocator, fsck and direct-access mapping must
// never crash, whatever the bytes.
//
// Input: byte 0 holds flags, then an optional 200-byte superblock, then the
// log bytes. Flags let the fuzzer get past the CRCs to the code behind them:
//   bit 0: the input carries its own superblock (else a valid default one)
//   bit 1: repair the log header (magic, lengths, CRC; next_index kept)
//   bit 2: reseal every whole entry (seqnum = index, CRC)
//   bit 3: human-readable and verbose fsck report
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "famfs/dax.h"
#include "famfs/describe.h"
#include "famfs/fsck.h"
#include "famfs/testing/faulty_device.h"
#include "famfs/volume.h"

namespace {

using namespace famfs;

constexpr uint64_t kDeviceSize = 8 * omf::kGiB;  // sparse: only touched pages cost memory
constexpr uint8_t kOwnSuperblock = 1, kRepairHeader = 2, kResealEntries = 4, kHumanVerbose = 8;

std::shared_ptr<testing::FaultyDevice> g_device;
size_t g_dirty = 0;  // log bytes the previous input wrote

void put_u64(uint8_t* p, uint64_t v) {
    std::memcpy(p, &v, sizeof v);
}
uint64_t get_u64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

void write_default_superblock(uint8_t* out) {
    omf::Superblock sb;
    sb.dev_size = kDeviceSize;
    sb.dev_name = "/dev/dax0.0";
    omf::encode_superblock(sb, {out, omf::kSuperblockBytes});
}

void repair_header(uint8_t* log, uint64_t log_len) {
    const auto h = omf::make_log_header(log_len);
    const uint64_t next_index = get_u64(log + 40) % (h.last_index + 2);
    omf::LogHeader fixed = h;
    fixed.next_seqnum = get_u64(log + 32);
    fixed.next_index = next_index;
    omf::encode_log_header(fixed, {log, omf::kLogHeaderBytes});
}

void reseal_entries(uint8_t* log, size_t len) {
    for (uint64_t i = 0; omf::kLogHeaderBytes + (i + 1) * omf::kEntryBytes <= len; ++i) {
        uint8_t* e = log + omf::kLogHeaderBytes + i * omf::kEntryBytes;
        put_u64(e, i);
        put_u64(e + 536, omf::crc32({e, 536}));
    }
}

void exercise_mapping(const std::shared_ptr<Device>& dev, const Node& n) {
    (void)describe_file(n.file);
    auto m = dax::FileMapping::from_entry(dev, n.file);
    if (!m) return;
    uint64_t total = 0;
    for (const auto& s : m->segments()) total += s.bytes.size();
    if (total != m->size()) abort();  // segments must cover exactly the file
    for (uint64_t off : {uint64_t{0}, m->size() / 3, m->size() - 1}) {
        uint64_t len = 0;
        uint8_t* p = m->address(off, &len);
        if (off < m->size() && (!p || len == 0 || len > m->size() - off)) abort();
    }
    (void)m->contiguous();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    static char uuid_file[] = "/tmp/famfs-fuzz-uuid-XXXXXX";
    int fd = mkstemp(uuid_file);
    if (fd >= 0) close(fd);
    unlink(uuid_file);  // created with a fresh UUID on first use
    setenv("FAMFS_SYSTEM_UUID_FILE", uuid_file, 1);
    atexit([] { unlink(uuid_file); });
    auto dev = testing::FaultyDevice::create(kDeviceSize, "/dev/dax0.0");
    if (!dev) abort();
    g_device = std::move(*dev);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t flags = data[0];
    ++data, --size;
    uint8_t* base = g_device->base();
    if (flags & kOwnSuperblock) {
        if (size < omf::kSuperblockBytes) return 0;
        std::memcpy(base, data, omf::kSuperblockBytes);
        data += omf::kSuperblockBytes, size -= omf::kSuperblockBytes;
    } else {
        write_default_superblock(base);
    }
    const uint64_t log_len = std::min<uint64_t>(omf::decode_superblock({base, 200}).log_len,
                                                kDeviceSize - omf::kLogOffset);
    const size_t n = std::min<uint64_t>(size, log_len);
    uint8_t* log = base + omf::kLogOffset;
    std::memset(log, 0, std::max(g_dirty, n));
    std::memcpy(log, data, n);
    g_dirty = n;
    if ((flags & kRepairHeader) && n >= omf::kLogHeaderBytes && log_len >= omf::kMinLogLen)
        repair_header(log, log_len);
    if (flags & kResealEntries) reseal_entries(log, n);

    auto vol = Volume::open(std::shared_ptr<Device>(g_device));
    if (!vol) return 0;
    auto st = (*vol)->load();
    if (st)
        st->ns.for_each([&](const Node& node) {
            if (!node.is_dir) exercise_mapping(g_device, node);
        });
    FsckOptions opt;
    opt.human = opt.verbose = (flags & kHumanVerbose) != 0;
    auto report = fsck(**vol, opt);
    if (report) (void)format_fsck(*report, opt);
    return 0;
}
