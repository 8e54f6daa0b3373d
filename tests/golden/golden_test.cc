// The golden images written by the reference famfs (golden/README.md):
//  - reader: replaying each image reproduces namespace.txt exactly and the
//    reference fsck report's sections;
//  - writer: replaying ops.txt with our mkfs and Volume yields the same log
//    entries, byte for byte (striped files: the same rules, since the
//    reference picks buckets at random);
//  - superblock: every field decodes as documented and re-encodes to the
//    same bytes.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "famfs/describe.h"
#include "famfs/fsck.h"
#include "famfs/sizes.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

namespace fs = std::filesystem;

const fs::path kCases = fs::path(FAMFS_GOLDEN_DIR) / "upstream-omf-2.2";

std::vector<uint8_t> gunzip(const fs::path& path) {
    std::vector<uint8_t> out;
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) return out;
    uint8_t buf[1 << 16];
    int n;
    while ((n = gzread(gz, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
    gzclose(gz);
    return out;
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Op {
    std::string verb, path;
    uint64_t size = 0;
    InterleaveParams interleave;
};

struct Ops {
    uint64_t dev_size = 0, log_len = 0;
    std::vector<Op> ops;
};

Ops parse_ops(const std::string& text) {
    Ops o;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string verb;
        words >> verb;
        if (verb == "mkfs") {
            std::string dev, log;
            words >> dev >> log;
            o.dev_size = *parse_size(dev.substr(dev.find('=') + 1));
            o.log_len = *parse_size(log.substr(log.find('=') + 1));
        } else if (verb == "mkdir" || verb == "creat") {
            Op op;
            op.verb = verb;
            words >> op.path >> op.size >> op.interleave.nbuckets >> op.interleave.nstrips >>
                op.interleave.chunk_size;
            o.ops.push_back(op);
        }
    }
    return o;
}

// One reference image as a device: superblock region, then the log region.
struct Image {
    std::vector<uint8_t> sb_region, log_region;
    Ops ops;
    std::string namespace_txt, fsck_txt;
    omf::Superblock sb;
};

Image load_image(const std::string& name) {
    Image im;
    const fs::path dir = kCases / name;
    im.sb_region = gunzip(dir / "superblock.bin.gz");
    im.log_region = gunzip(dir / "log.bin.gz");
    im.ops = parse_ops(slurp(dir / "ops.txt"));
    im.namespace_txt = slurp(dir / "namespace.txt");
    im.fsck_txt = slurp(dir / "fsck.txt");
    if (im.sb_region.size() >= omf::kSuperblockBytes) im.sb = omf::decode_superblock(im.sb_region);
    return im;
}

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(kCases, ec))
        if (e.is_directory()) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
}

// The namespace in namespace.txt's form: every directory and file, sorted
// by path.
std::string describe_namespace(const Namespace& ns) {
    std::vector<std::pair<std::string, std::string>> items;
    ns.for_each([&](const Node& n) {
        if (!n.parent) return;
        const std::string path = n.relpath();
        items.push_back(
            {path, n.is_dir ? "dir " + path + "\n" : "--- " + path + "\n" + describe_file(n.file)});
    });
    std::sort(items.begin(), items.end());
    std::string out;
    for (const auto& [path, text] : items) out += text;
    return out;
}

// namespace.txt split into its items ("dir P" lines, "--- P" blocks) by path.
std::map<std::string, std::string> namespace_items(const std::string& text) {
    std::map<std::string, std::string> items;
    std::istringstream in(text);
    std::string line, path;
    while (std::getline(in, line)) {
        if (line.rfind("dir ", 0) == 0)
            path = line.substr(4);
        else if (line.rfind("--- ", 0) == 0)
            path = line.substr(4);
        items[path] += line + "\n";
    }
    return items;
}

// The report split into sections ("Name:" line up to the blank line).
std::map<std::string, std::string> sections(const std::string& report) {
    std::map<std::string, std::string> out;
    std::istringstream in(report);
    std::string line, name;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        if (line[0] != ' ')
            name = line;
        else
            out[name] += line + "\n";
    }
    return out;
}

// "key: value" lines of a section, with the bucket number folded into keys.
std::map<std::string, std::string> bucket_values(const std::string& section) {
    std::map<std::string, std::string> out;
    std::istringstream in(section);
    std::string line, bucket;
    while (std::getline(in, line)) {
        const auto first = line.find_first_not_of(' ');
        const auto colon = line.find(':');
        if (line.compare(first, 12, "Bitmap range") == 0) {
            bucket = line.substr(first) + " ";
            continue;
        }
        if (colon == std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        out[bucket + line.substr(first, colon - first)] = value;
    }
    return out;
}

uint64_t num(const std::string& s) {
    return std::stoull(s);
}

class Golden : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        im_ = load_image(GetParam());
        ASSERT_EQ(im_.sb_region.size(), omf::kSuperblockRegion);
        ASSERT_GT(im_.ops.dev_size, 0u);
        ASSERT_EQ(im_.log_region.size(), im_.ops.log_len);
    }
    // The reference image on an in-memory device of the mkfs size (sparse
    // until written), opened as the host that made it (the master).
    std::unique_ptr<Volume> open_reference() {
        auto dev = testing::FaultyDevice::create(im_.ops.dev_size, "/dev/dax0.0");
        EXPECT_TRUE(dev.ok());
        std::copy(im_.sb_region.begin(), im_.sb_region.end(), (*dev)->base());
        std::copy(im_.log_region.begin(), im_.log_region.end(), (*dev)->base() + omf::kLogOffset);
        auto vol = Volume::open(std::shared_ptr<Device>(std::move(*dev)));
        EXPECT_TRUE(vol.ok()) << vol.error().message;
        return vol.ok() ? std::move(*vol) : nullptr;
    }
    Image im_;
};

TEST_P(Golden, SuperblockFieldsAndReEncoding) {
    const omf::Superblock& sb = im_.sb;
    ASSERT_TRUE(omf::validate_superblock(im_.sb_region).ok());
    EXPECT_EQ(sb.magic, omf::kSuperblockMagic);
    EXPECT_EQ(sb.version, 48u);
    EXPECT_EQ(sb.log_offset, 0x200000u);
    EXPECT_EQ(sb.log_len, im_.ops.log_len);
    EXPECT_EQ(sb.alloc_unit, 0x200000u);
    EXPECT_EQ(sb.omf_major, 2u);
    EXPECT_EQ(sb.omf_minor, 2u);
    EXPECT_EQ(sb.crc, omf::superblock_crc(im_.sb_region));
    EXPECT_EQ(sb.flags, 0u);
    EXPECT_EQ(sb.dev_size, im_.ops.dev_size);
    EXPECT_EQ(sb.daxdev_uuid, omf::Uuid{});
    EXPECT_EQ(sb.dev_name, "/dev/dax0.0");
    const auto golden = sections(im_.fsck_txt)["Famfs Superblock:"];
    EXPECT_NE(golden.find("Filesystem UUID:   " + omf::uuid_to_string(sb.fs_uuid)),
              std::string::npos);
    EXPECT_NE(golden.find("Device UUID:       " + omf::uuid_to_string(sb.dev_uuid)),
              std::string::npos);
    EXPECT_NE(golden.find("System UUID:       " + omf::uuid_to_string(sb.system_uuid)),
              std::string::npos);

    std::vector<uint8_t> again(omf::kSuperblockBytes);
    omf::encode_superblock(sb, again);
    EXPECT_TRUE(std::equal(again.begin(), again.end(), im_.sb_region.begin()));
    EXPECT_TRUE(std::all_of(im_.sb_region.begin() + omf::kSuperblockBytes, im_.sb_region.end(),
                            [](uint8_t b) { return b == 0; }));
}

TEST_P(Golden, LogHeader) {
    ASSERT_TRUE(omf::validate_log_header(im_.log_region, im_.ops.log_len).ok());
    const auto h = omf::decode_log_header(im_.log_region);
    EXPECT_EQ(h.log_len, im_.ops.log_len);
    EXPECT_EQ(h.last_index, omf::log_capacity(im_.ops.log_len) - 1);
    EXPECT_EQ(h.next_index, im_.ops.ops.size());
    EXPECT_EQ(h.next_seqnum, im_.ops.ops.size());
}

TEST_P(Golden, ReplayReproducesNamespace) {
    auto vol = open_reference();
    ASSERT_TRUE(vol);
    auto st = vol->load();
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_TRUE(st->log_is_clean());
    EXPECT_TRUE(st->ns.problems().empty());
    EXPECT_EQ(describe_namespace(st->ns), im_.namespace_txt);
}

TEST_P(Golden, FsckReproducesTheReferenceReport) {
    test::ScopedHost maker(im_.sb.system_uuid);
    auto vol = open_reference();
    ASSERT_TRUE(vol);
    FsckOptions opt;
    opt.verbose = true;
    auto r = fsck(*vol, opt);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->errors(), 0u);
    auto ours = sections(format_fsck(*r, opt));
    auto theirs = sections(im_.fsck_txt);
    for (const char* s : {"Famfs Superblock:", "Log stats:", "Capacity:", "Famfs log:"}) {
        ASSERT_TRUE(theirs.count(s)) << s;
        EXPECT_EQ(ours[s], theirs[s]) << s;
    }
    // Buckets: the reference counts "In use" twice over (its Size - Free is
    // the truth) and reports 0 as the smallest of a single fragment.
    auto our_b = bucket_values(ours["Stripe bucket info:"]);
    auto their_b = bucket_values(theirs["Stripe bucket info:"]);
    EXPECT_EQ(our_b["Wasted overhang"], their_b["Wasted overhang"]);
    for (int i = 0; i < 4; ++i) {
        const std::string b = "Bitmap range " + std::to_string(i) + " ";
        ASSERT_TRUE(their_b.count(b + "Size")) << b;
        for (const char* k : {"Size", "Free", "Free fragments", "Largest frag"})
            EXPECT_EQ(our_b[b + k], their_b[b + k]) << b << k;
        EXPECT_EQ(num(our_b[b + "In use"]), num(their_b[b + "Size"]) - num(their_b[b + "Free"]));
    }
    auto our_v = bucket_values(ours["Verbose:"]);
    auto their_v = bucket_values(theirs["Verbose:"]);
    for (const char* k : {"log_offset", "log_len", "last_log_index"})
        EXPECT_EQ(our_v[k], their_v[k]) << k;
}

// Checks the striped entry we wrote against the rules the reference follows.
void expect_same_striping(const omf::FileEntry& ours, const omf::FileEntry& theirs,
                          const InterleaveParams& ip, uint64_t dev_size) {
    ASSERT_EQ(ours.ext_type, omf::ExtentType::kInterleaved);
    EXPECT_EQ(ours.relpath, theirs.relpath);
    EXPECT_EQ(ours.size, theirs.size);
    EXPECT_EQ(ours.mode, theirs.mode);
    EXPECT_EQ(ours.flags, theirs.flags);
    EXPECT_EQ(ours.interleave.nstrips, theirs.interleave.nstrips);
    EXPECT_EQ(ours.interleave.nstrips, ip.nstrips);
    EXPECT_EQ(ours.interleave.chunk_size, theirs.interleave.chunk_size);
    ASSERT_EQ(ours.interleave.strips.size(), theirs.interleave.strips.size());
    const uint64_t bucket = dev_size / ip.nbuckets;
    std::set<uint64_t> buckets;
    for (size_t i = 0; i < ours.interleave.strips.size(); ++i) {
        const auto& s = ours.interleave.strips[i];
        EXPECT_EQ(s.len, theirs.interleave.strips[i].len);
        EXPECT_EQ(s.offset / bucket, (s.offset + s.len - 1) / bucket);
        buckets.insert(s.offset / bucket);
    }
    EXPECT_EQ(buckets.size(), ip.nstrips);
}

TEST_P(Golden, WriterReproducesTheLog) {
    test::ShmFile file(im_.ops.dev_size);
    MkfsOptions mk;
    mk.log_len = im_.ops.log_len;
    ASSERT_TRUE(mkfs(file.path(), mk).ok());
    auto vol = Volume::open(file.path(), Access::kReadWrite);
    ASSERT_TRUE(vol.ok()) << vol.error().message;
    for (const Op& op : im_.ops.ops) {
        if (op.verb == "mkdir") {
            ASSERT_TRUE((*vol)->mkdir(op.path, 0755, 0, 0, false).ok()) << op.path;
            continue;
        }
        CreateSpec s;
        s.relpath = op.path;
        s.size = op.size;
        s.mode = 0644;
        s.interleave = op.interleave;
        auto c = (*vol)->create_file(s);
        ASSERT_TRUE(c.ok()) << op.path << ": " << c.error().message;
    }
    LogView& log = (*vol)->log();
    const auto ours_header = log.header_bytes();
    EXPECT_TRUE(std::equal(ours_header.begin(), ours_header.end(), im_.log_region.begin()));
    for (uint64_t i = 0; i < im_.ops.ops.size(); ++i) {
        const auto ours = log.slot(i);
        const std::span<const uint8_t> theirs(
            im_.log_region.data() + omf::kLogHeaderBytes + i * omf::kEntryBytes, omf::kEntryBytes);
        if (im_.ops.ops[i].interleave.enabled()) {
            auto a = omf::decode_entry(ours, i);
            auto b = omf::decode_entry(theirs, i);
            ASSERT_TRUE(a.ok() && b.ok()) << "entry " << i;
            expect_same_striping(std::get<omf::FileEntry>(a->payload),
                                 std::get<omf::FileEntry>(b->payload), im_.ops.ops[i].interleave,
                                 im_.ops.dev_size);
            continue;
        }
        EXPECT_TRUE(std::equal(ours.begin(), ours.end(), theirs.begin()))
            << "entry " << i << " (" << im_.ops.ops[i].verb << " " << im_.ops.ops[i].path
            << ") differs from the reference";
    }
    // The rest of our log is still zero, as the reference's is.
    const auto rest = (*vol)->device().range(
        omf::kLogOffset + omf::kLogHeaderBytes + im_.ops.ops.size() * omf::kEntryBytes, 4096);
    EXPECT_TRUE(std::all_of(rest.begin(), rest.end(), [](uint8_t b) { return b == 0; }));
    auto report = fsck(**vol, {});
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->errors(), 0u);
    // Same space accounting as the reference (striped strips differ only in
    // where they are, not in how much they take).
    auto ours = sections(format_fsck(*report, {}));
    auto theirs = sections(im_.fsck_txt);
    for (const char* s : {"Log stats:", "Capacity:", "Famfs log:"})
        EXPECT_EQ(ours[s], theirs[s]) << s;

    // Our image replays to the reference namespace, striped maps aside.
    auto st = (*vol)->load();
    ASSERT_TRUE(st.ok());
    auto our_items = namespace_items(describe_namespace(st->ns));
    auto their_items = namespace_items(im_.namespace_txt);
    ASSERT_EQ(our_items.size(), their_items.size());
    for (const auto& [path, text] : their_items) {
        ASSERT_TRUE(our_items.count(path)) << path;
        const bool striped = text.find("striped_ext_list:") != std::string::npos;
        if (!striped) {
            EXPECT_EQ(our_items[path], text);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(UpstreamOmf22, Golden, ::testing::ValuesIn(case_names()),
                         [](const auto& param_info) {
                             std::string n = param_info.param;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

TEST(GoldenCases, AllPresent) {
    EXPECT_EQ(case_names(), (std::vector<std::string>{"g1-empty", "g2-mixed", "g3-many"}));
}

}  // namespace
}  // namespace famfs
