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
//   bit 4: then write as the master (mkdir -p, create a file, striped when
//          bit 5 is set) and check that the writer never logs an entry replay
//          refuses or space that is already taken
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "famfs/dax.h"
#include "famfs/describe.h"
#include "famfs/fsck.h"
#include "famfs/testing/faulty_device.h"
#include "famfs/volume.h"

namespace {

using namespace famfs;

constexpr uint64_t kDeviceSize = 8 * omf::kGiB;  // sparse: only touched pages cost memory
constexpr uint8_t kOwnSuperblock = 1, kRepairHeader = 2, kResealEntries = 4, kHumanVerbose = 8,
                  kWrite = 16, kStriped = 32;

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
    if (auto me = local_system_uuid()) sb.system_uuid = *me;  // this host is the master
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

// Appends through the Volume and checks the result replays cleanly: no new
// refusals, no new collisions, the new file where it was asked for.
[[noreturn]] void violated(const std::string& what) {
    std::fprintf(stderr, "fuzz_replay: writer property violated: %s\n", what.c_str());
    abort();
}

void write_and_check(Volume& vol, const State& before, uint8_t flags, uint64_t size) {
    if (vol.role() != Role::kMaster || !before.log_is_clean()) return;
    if (!vol.mkdir("fuzz/dir", 0755, 0, 0, true)) return;  // e.g. a file named "fuzz" exists
    CreateSpec spec;
    spec.relpath = "fuzz/dir/file";
    spec.size = size;
    if (flags & kStriped) spec.interleave = {4, 2, 2 * omf::kMiB};
    auto created = vol.create_file(spec);
    auto after = vol.load();
    if (!after) violated("the log no longer replays: " + after.error().message);
    if (!after->log_is_clean())
        violated("the writer appended entry " + std::to_string(*after->invalid_index) +
                 " that replay refuses: " + after->invalid_reason->message);
    const auto& problems = after->ns.problems();
    if (problems.size() != before.ns.problems().size())
        violated("new refused entry " + std::to_string(problems.back().index) + " '" +
                 problems.back().relpath + "': " + problems.back().reason);
    const auto& collisions = after->alloc.collisions();
    if (after->alloc.units_claimed_twice() != before.alloc.units_claimed_twice())
        violated("new collision at unit " + std::to_string(collisions.back().unit) + " by entry " +
                 std::to_string(collisions.back().index));
    if (created && created->created) {
        const Node* n = after->ns.lookup(spec.relpath);
        if (!n || n->file.size != size) violated("the created file is missing or has another size");
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // One host identity for every fuzzing process (fork mode, crash
    // reproduction): a fixed file, so that none is left behind per process.
    setenv("FAMFS_SYSTEM_UUID_FILE", "/tmp/famfs-fuzz-system-uuid", 1);
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
    if (st && (flags & kWrite)) {
        write_and_check(**vol, *st, flags, 1 + (size * 40503) % (300 * omf::kMiB));
        // Clear whatever the writer appended before the next input.
        const uint64_t end = omf::kLogHeaderBytes + (*vol)->log().next_index() * omf::kEntryBytes;
        g_dirty = std::max<uint64_t>(g_dirty, std::min(end, log_len));
    }
    FsckOptions opt;
    opt.human = opt.verbose = (flags & kHumanVerbose) != 0;
    auto report = fsck(**vol, opt);
    if (report) (void)format_fsck(*report, opt);
    return 0;
}
