// Volume operations: what they log, what they refuse, and that a refused or
// failed operation leaves the log exactly as it was.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "famfs/volume.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

using test::kGiB;
using test::kMiB;

std::vector<uint8_t> log_bytes(Volume& v) {
    auto r = v.device().range(omf::kLogOffset, v.superblock().log_len);
    return {r.begin(), r.end()};
}

CreateSpec spec(const std::string& path, uint64_t size) {
    CreateSpec s;
    s.relpath = path;
    s.size = size;
    return s;
}

struct VolumeFixture : ::testing::Test {
    testing::FaultyDevice* dev = nullptr;
    std::unique_ptr<Volume> vol = test::memory_volume(1 * kGiB, 8 * kMiB, &dev);

    State load() {
        auto st = vol->load();
        EXPECT_TRUE(st.ok()) << st.error().message;
        return std::move(*st);
    }
    // Runs `op`, which must fail with `code`, and checks the log is untouched.
    template <class Op>
    void expect_refused(Op op, int code, const std::string& what) {
        const auto before = log_bytes(*vol);
        const Error e = op();
        EXPECT_EQ(e.code, code) << what << ": " << e.message;
        EXPECT_FALSE(e.message.empty()) << what;
        EXPECT_TRUE(log_bytes(*vol) == before) << what << ": the log changed";
    }
    Error create_error(const CreateSpec& s) {
        auto r = vol->create_file(s);
        return r.ok() ? Error{0, "succeeded"} : r.error();
    }
    Error mkdir_error(const std::string& p, bool parents) {
        auto r = vol->mkdir(p, 0755, 0, 0, parents);
        return r.ok() ? Error{0, "succeeded"} : r.error();
    }
};

TEST_F(VolumeFixture, OpensAsMasterOnItsOwnDevice) {
    EXPECT_EQ(vol->role(), Role::kMaster);
    EXPECT_TRUE(vol->require_master().ok());
    EXPECT_EQ(vol->superblock().log_len, 8 * kMiB);
    EXPECT_EQ(vol->superblock().system_uuid, test::host_uuid());
}

TEST_F(VolumeFixture, CreateFileLogsOneEntryWithTheAllocatedMap) {
    auto s = spec("f", 3000001);
    s.mode = 0640;
    s.uid = 12;
    s.gid = 34;
    auto c = vol->create_file(s);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_TRUE(c->created);
    EXPECT_EQ(c->file.size, 3000001u);
    ASSERT_EQ(c->file.extents.size(), 1u);
    EXPECT_EQ(c->file.extents[0], (omf::Extent{0, 10 * kMiB, 4 * kMiB}));
    EXPECT_EQ(vol->log().next_index(), 1u);
    auto e = omf::decode_entry(vol->log().slot(0), 0);
    ASSERT_TRUE(e.ok());
    const auto& f = std::get<omf::FileEntry>(e->payload);
    EXPECT_EQ(f.relpath, "f");
    EXPECT_EQ(f.mode, 0640u);
    EXPECT_EQ(f.uid, 12u);
    EXPECT_EQ(f.gid, 34u);
    EXPECT_EQ(f.flags, omf::kFileFlagsAllRW);
    EXPECT_EQ(f.extents, c->file.extents);
    const State st = load();
    ASSERT_NE(st.ns.lookup("f"), nullptr);
    EXPECT_EQ(st.alloc.used_bytes(), 14 * kMiB);
}

TEST_F(VolumeFixture, SameSizeIsANoOpOtherSizeFails) {
    ASSERT_TRUE(vol->create_file(spec("f", 4096)).ok());
    const auto before = log_bytes(*vol);
    auto again = vol->create_file(spec("f", 4096));
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_FALSE(again->created);
    EXPECT_EQ(again->file.size, 4096u);
    EXPECT_TRUE(log_bytes(*vol) == before);
    expect_refused([&] { return create_error(spec("f", 8192)); }, EEXIST, "other size");
}

TEST_F(VolumeFixture, ReadOnlyFlagsAreLoggedAndNeverAddedToAnExistingFile) {
    CreateSpec ro = spec("ro", 4096);
    ro.flags = omf::kFileFlagsAllRO;
    auto c = vol->create_file(ro);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->file.flags, omf::kFileFlagsAllRO);
    EXPECT_TRUE(c->file.read_only());
    const State st = load();
    ASSERT_NE(st.ns.lookup("ro"), nullptr);
    EXPECT_EQ(st.ns.lookup("ro")->file.flags, omf::kFileFlagsAllRO);
    // Asking again without the flag finds the file as it is (read-only).
    auto again = vol->create_file(spec("ro", 4096));
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_FALSE(again->created);
    EXPECT_TRUE(again->file.read_only());
    // A read-write file cannot become read-only by creating it again.
    ASSERT_TRUE(vol->create_file(spec("rw", 4096)).ok());
    CreateSpec rw_as_ro = spec("rw", 4096);
    rw_as_ro.flags = omf::kFileFlagsAllRO;
    expect_refused([&] { return create_error(rw_as_ro); }, EEXIST, "read-write file as read-only");
    EXPECT_FALSE(omf::flags_read_only(0));
    EXPECT_FALSE(omf::flags_read_only(omf::kFileFlagsAllRW));
    EXPECT_TRUE(omf::flags_read_only(omf::kFileFlagsAllRO | omf::kFileFlagsAllRW));
}

TEST_F(VolumeFixture, MkdirWithAndWithoutParents) {
    ASSERT_TRUE(vol->mkdir("a/b/c", 0750, 1, 2, true).ok());
    EXPECT_EQ(vol->log().next_index(), 3u);
    State st = load();
    for (const char* p : {"a", "a/b", "a/b/c"}) {
        const Node* n = st.ns.lookup(p);
        ASSERT_NE(n, nullptr) << p;
        EXPECT_TRUE(n->is_dir);
        EXPECT_EQ(n->mode, 0750u);
        EXPECT_EQ(n->uid, 1u);
        EXPECT_EQ(n->gid, 2u);
    }
    // -p on existing directories appends nothing.
    const auto before = log_bytes(*vol);
    ASSERT_TRUE(vol->mkdir("a/b/c", 0755, 0, 0, true).ok());
    ASSERT_TRUE(vol->mkdir("a/b", 0755, 0, 0, true).ok());
    EXPECT_TRUE(log_bytes(*vol) == before);
    ASSERT_TRUE(vol->mkdir("a/b/d", 0755, 0, 0, false).ok());
    EXPECT_EQ(vol->log().next_index(), 4u);
    expect_refused([&] { return mkdir_error("a/b", false); }, EEXIST, "existing dir without -p");
    expect_refused([&] { return mkdir_error("x/y", false); }, ENOENT, "missing parent without -p");
    ASSERT_TRUE(vol->create_file(spec("a/file", 1)).ok());
    expect_refused([&] { return mkdir_error("a/file/sub", true); }, ENOTDIR, "file in the way");
    expect_refused([&] { return mkdir_error("a/file", true); }, ENOTDIR, "file with that name");
}

TEST_F(VolumeFixture, CreateRefusals) {
    ASSERT_TRUE(vol->mkdir("d", 0755, 0, 0, false).ok());
    ASSERT_TRUE(vol->create_file(spec("d/f", 1)).ok());
    expect_refused([&] { return create_error(spec("nodir/f", 1)); }, ENOENT, "missing parent");
    expect_refused([&] { return create_error(spec("d/f/g", 1)); }, ENOTDIR, "parent is a file");
    expect_refused([&] { return create_error(spec("d", 1)); }, EISDIR, "a directory");
    expect_refused([&] { return create_error(spec("d/zero", 0)); }, EINVAL, "size 0");
    expect_refused([&] { return create_error(spec("/abs", 1)); }, EINVAL, "absolute");
    expect_refused([&] { return create_error(spec("d/../x", 1)); }, EINVAL, "dot-dot");
    expect_refused([&] { return create_error(spec(std::string(80, 'p'), 1)); }, ENAMETOOLONG,
                   "80-byte path");
    auto bad_ip = spec("d/striped", 64 * kMiB);
    bad_ip.interleave = {4, 8, 2 * kMiB};
    expect_refused([&] { return create_error(bad_ip); }, EINVAL, "more strips than buckets");
}

TEST_F(VolumeFixture, OutOfSpaceAppendsNothing) {
    expect_refused([&] { return create_error(spec("huge", 2 * kGiB)); }, ENOSPC, "out of space");
    ASSERT_TRUE(vol->create_file(spec("fits", 1 * kGiB - 10 * kMiB)).ok());
    expect_refused([&] { return create_error(spec("one-more", 1)); }, ENOSPC, "device full");
}

TEST_F(VolumeFixture, LogFullAppendsNothing) {
    for (uint64_t i = 0; i + 2 < vol->log().capacity(); ++i)
        ASSERT_TRUE(vol->log().append({0, omf::OtherEntry{4}}).ok());
    // Two slots left: a three-level mkdir -p must fail as a whole.
    expect_refused([&] { return mkdir_error("a/b/c", true); }, ENOSPC, "mkdir -p past the end");
    ASSERT_TRUE(vol->mkdir("a/b", 0755, 0, 0, true).ok());
    expect_refused([&] { return create_error(spec("a/f", 1)); }, ENOSPC, "create in a full log");
    expect_refused([&] { return mkdir_error("c", false); }, ENOSPC, "mkdir in a full log");
    EXPECT_EQ(vol->log().next_index(), vol->log().capacity());
}

TEST_F(VolumeFixture, ClientsAreRefusedWithEperm) {
    ASSERT_TRUE(vol->create_file(spec("f", 1)).ok());
    test::ScopedHost other(omf::random_uuid());
    auto client = Volume::open(vol->shared_device());
    ASSERT_TRUE(client.ok()) << client.error().message;
    Volume& c = **client;
    EXPECT_EQ(c.role(), Role::kClient);
    const auto before = log_bytes(*vol);
    auto cr = c.create_file(spec("g", 1));
    ASSERT_FALSE(cr.ok());
    EXPECT_EQ(cr.error().code, EPERM);
    auto md = c.mkdir("d", 0755, 0, 0, true);
    ASSERT_FALSE(md.ok());
    EXPECT_EQ(md.error().code, EPERM);
    auto cl = c.clone("f", "g");
    ASSERT_FALSE(cl.ok());
    EXPECT_EQ(cl.error().code, EPERM);
    EXPECT_EQ(c.require_master().error().code, EPERM);
    EXPECT_TRUE(log_bytes(*vol) == before);
    // A client still reads everything.
    auto st = c.load();
    ASSERT_TRUE(st.ok());
    EXPECT_NE(st->ns.lookup("f"), nullptr);
}

TEST_F(VolumeFixture, CloneLogsTheSameExtents) {
    auto f = vol->create_file(spec("src", 5 * kMiB));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(vol->clone("src", "dst").ok());
    State st = load();
    const Node* d = st.ns.lookup("dst");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->file.extents, f->file.extents);
    EXPECT_EQ(d->file.size, 5 * kMiB);
    EXPECT_EQ(st.alloc.units_claimed_twice(), 3u);
    EXPECT_EQ(st.alloc.collisions().size(), 1u) << "one run of 3 units";
    EXPECT_EQ(vol->clone("nope", "x").error().code, ENOENT);
    EXPECT_EQ(vol->clone("src", "dst").error().code, EEXIST);
}

TEST_F(VolumeFixture, StripedCreate) {
    // 1 GiB device: one bucket of 1 GiB holds one strip.
    auto s = spec("striped", 8 * kMiB);
    s.interleave = {1, 1, 2 * kMiB};
    auto c = vol->create_file(s);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->file.ext_type, omf::ExtentType::kInterleaved);
    State st = load();
    const Node* n = st.ns.lookup("striped");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->file.interleave, c->file.interleave);
}

TEST_F(VolumeFixture, FailedAppendLeavesAConsistentLogAndTheNextOneWorks) {
    ASSERT_TRUE(vol->create_file(spec("a", 1)).ok());
    dev->fail_persist_at(1);  // dies before the entry is flushed
    EXPECT_FALSE(vol->create_file(spec("b", 1)).ok());
    dev->fail_persist_at(0);
    State st = load();
    EXPECT_EQ(st.ns.lookup("b"), nullptr);
    EXPECT_TRUE(st.log_is_clean());
    auto b = vol->create_file(spec("b", 1));
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_TRUE(b->created);
    const State after = load();
    EXPECT_NE(after.ns.lookup("b"), nullptr);
    EXPECT_TRUE(after.alloc.collisions().empty());
}

TEST_F(VolumeFixture, SeesEntriesAppendedBehindItsBack) {
    ASSERT_TRUE(vol->create_file(spec("a", 1)).ok());
    // Another process on the master host appends through its own volume.
    auto other = Volume::open(vol->shared_device());
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->create_file(spec("b", 1)).ok());
    auto c = vol->create_file(spec("c", 1));
    ASSERT_TRUE(c.ok());
    State st = load();
    EXPECT_TRUE(st.alloc.collisions().empty()) << "c was allocated over b";
    EXPECT_EQ(st.ns.files(), 3u);
}

TEST_F(VolumeFixture, RefusesToAppendAfterAnInvalidEntry) {
    ASSERT_TRUE(vol->create_file(spec("a", 1)).ok());
    ASSERT_TRUE(vol->create_file(spec("b", 1)).ok());
    vol->log().slot(0)[200] ^= 1;
    auto fresh = Volume::open(vol->shared_device());
    ASSERT_TRUE(fresh.ok());
    const auto before = log_bytes(*vol);
    EXPECT_FALSE((*fresh)->create_file(spec("c", 1)).ok());
    EXPECT_TRUE(log_bytes(*vol) == before);
}

// What create_file must answer for `path`, from the namespace a full
// replay builds: 0 (created), -1 (exists with this size), else the errno.
int expected_create(const State& st, const std::string& path, uint64_t size) {
    if (const Node* n = st.ns.lookup(path)) {
        if (n->is_dir) return EISDIR;
        return n->file.size == size ? -1 : EEXIST;
    }
    const std::string parent(split_relpath(path).first);
    const Node* p = parent.empty() ? &st.ns.root() : st.ns.lookup(parent);
    if (!p) return ENOENT;
    return p->is_dir ? 0 : ENOTDIR;
}

// A volume's first write indexes only the paths it names (and their
// ancestors). Its answers must be those of a full replay, on a log whose
// refused entries (duplicates, missing or non-directory parents) make the
// order of entries matter.
TEST_F(VolumeFixture, AWriteThatIndexesOnlyItsOwnPathsAnswersAsAFullReplay) {
    uint64_t unit = 0;
    auto forged_file = [&](const std::string& path) {
        const uint64_t off = 512 * kMiB + (unit++) * 2 * kMiB;
        return vol->log().append(test::file_entry(path, 4096, {{off, 2 * kMiB}}));
    };
    ASSERT_TRUE(vol->log().append(test::dir_entry("a")).ok());
    ASSERT_TRUE(forged_file("a").ok());    // refused: a is a directory
    ASSERT_TRUE(forged_file("b/c").ok());  // refused: no b yet
    ASSERT_TRUE(vol->log().append(test::dir_entry("b")).ok());
    ASSERT_TRUE(forged_file("f").ok());
    ASSERT_TRUE(vol->log().append(test::dir_entry("f/g")).ok());  // refused: f is a file
    ASSERT_TRUE(vol->log().append(test::dir_entry("d/e")).ok());  // refused: no d yet
    ASSERT_TRUE(vol->log().append(test::dir_entry("d")).ok());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(forged_file("other" + std::to_string(i)).ok());

    for (const std::string path : {"a", "a/x", "b/c", "b/c", "b", "f", "f/g", "f/g/h", "d/e",
                                   "d/e/x", "new", "a/y/z", "other7"}) {
        const int want = expected_create(load(), path, 4096);
        auto fresh = Volume::open(vol->shared_device());
        ASSERT_TRUE(fresh.ok());
        auto got = (*fresh)->create_file(spec(path, 4096));
        const int code = got.ok() ? (got->created ? 0 : -1) : got.error().code;
        EXPECT_EQ(code, want) << path << (got.ok() ? "" : ": " + got.error().message);
    }
    const State st = load();
    EXPECT_TRUE(st.alloc.collisions().empty());
    EXPECT_TRUE(st.log_is_clean());
}

// A later write outside the first write's paths rebuilds the index of
// every path once; nothing is allocated twice on the way.
TEST_F(VolumeFixture, AWriteOutsideTheIndexedPathsSeesEveryPath) {
    ASSERT_TRUE(vol->create_file(spec("one", 3 * kMiB)).ok());
    {
        auto other = Volume::open(vol->shared_device());
        ASSERT_TRUE(other.ok());
        ASSERT_TRUE((*other)->mkdir("dir", 0755, 0, 0, false).ok());
        ASSERT_TRUE((*other)->create_file(spec("dir/two", 1)).ok());
    }
    expect_refused([&] { return create_error(spec("dir/two", 5)); }, EEXIST, "dir/two resized");
    expect_refused([&] { return create_error(spec("dir", 1)); }, EISDIR, "dir as a file");
    expect_refused([&] { return mkdir_error("one", false); }, ENOTDIR, "one as a directory");
    ASSERT_TRUE(vol->create_file(spec("dir/three", 1)).ok());
    const State st = load();
    EXPECT_EQ(st.ns.files(), 3u);
    EXPECT_TRUE(st.alloc.collisions().empty());
}

TEST(Mkfs, FormatsAFileDeviceAndRefusesToOverwrite) {
    test::ShmFile file(5 * kGiB);
    MkfsOptions opt;
    ASSERT_TRUE(mkfs(file.path(), opt).ok());
    auto vol = Volume::open(file.path(), Access::kReadWrite);
    ASSERT_TRUE(vol.ok()) << vol.error().message;
    const auto& sb = (*vol)->superblock();
    EXPECT_EQ(sb.version, 48u);
    EXPECT_EQ(sb.dev_size, 5 * kGiB);
    EXPECT_EQ(sb.dev_name, file.path());
    EXPECT_EQ(sb.system_uuid, test::host_uuid());
    EXPECT_EQ((*vol)->role(), Role::kMaster);
    auto st = (*vol)->load();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->next_index, 0u);
    vol->reset();

    auto again = mkfs(file.path(), opt);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, EEXIST);
    opt.force = true;
    opt.kill = true;
    ASSERT_TRUE(mkfs(file.path(), opt).ok());
    EXPECT_FALSE(Volume::open(file.path(), Access::kReadOnly).ok()) << "killed superblock";
}

// Writers in several threads and through separate opens of one device (as
// separate processes would) serialise on the append lock: every file is
// logged once and no two share space.
TEST(ConcurrentWriters, NeverCollide) {
    test::ShmFile file(4 * kGiB + 64 * kMiB);
    ASSERT_TRUE(mkfs(file.path(), MkfsOptions{}).ok());
    auto a = Volume::open(file.path(), Access::kReadWrite);
    auto b = Volume::open(file.path(), Access::kReadWrite);
    ASSERT_TRUE(a.ok() && b.ok());
    constexpr int kThreads = 4, kFiles = 40;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
        Volume& v = t % 2 ? **a : **b;
        threads.emplace_back([&v, &failures, t] {
            for (int i = 0; i < kFiles; ++i) {
                auto c = v.create_file(spec("t" + std::to_string(t) + "-" + std::to_string(i),
                                            1 + static_cast<uint64_t>(i) * 100000));
                if (!c.ok() || !c->created) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    auto st = (*a)->load();
    ASSERT_TRUE(st.ok());
    EXPECT_TRUE(st->log_is_clean());
    EXPECT_EQ(st->ns.files(), static_cast<uint64_t>(kThreads * kFiles));
    EXPECT_TRUE(st->alloc.collisions().empty());
    EXPECT_TRUE(st->ns.problems().empty());
}

// A refused mkfs loses nothing: not the superblock, not the device's size.
TEST(Mkfs, RefusalLeavesTheDeviceAsItWas) {
    test::ShmFile file(5 * kGiB);
    ASSERT_TRUE(mkfs(file.path(), MkfsOptions{}).ok());
    const auto size_of = [&] { return std::filesystem::file_size(file.path()); };
    MkfsOptions resize;
    resize.create_size = 6 * kGiB;
    EXPECT_FALSE(mkfs(file.path(), resize).ok()) << "existing superblock without force";
    EXPECT_EQ(size_of(), 5 * kGiB);
    MkfsOptions bad_log;
    bad_log.force = true;
    bad_log.log_len = 12 * kMiB;
    bad_log.create_size = 6 * kGiB;
    EXPECT_FALSE(mkfs(file.path(), bad_log).ok()) << "bad log length";
    EXPECT_EQ(size_of(), 5 * kGiB);
    EXPECT_TRUE(Volume::open(file.path(), Access::kReadOnly).ok());
}

TEST(Mkfs, LogLengthAndSmallDevices) {
    test::ShmFile file(256 * kMiB);
    MkfsOptions opt;
    EXPECT_FALSE(mkfs(file.path(), opt).ok()) << "under 4 GiB without allow_small";
    opt.allow_small = true;
    opt.log_len = 12 * kMiB;
    EXPECT_FALSE(mkfs(file.path(), opt).ok()) << "log not a power of two";
    opt.log_len = 4 * kMiB;
    EXPECT_FALSE(mkfs(file.path(), opt).ok()) << "log under 8 MiB";
    opt.log_len = 16 * kMiB;
    ASSERT_TRUE(mkfs(file.path(), opt).ok());
    auto vol = Volume::open(file.path(), Access::kReadOnly);
    ASSERT_TRUE(vol.ok());
    EXPECT_EQ((*vol)->log().capacity(), 30840u);
}

}  // namespace
}  // namespace famfs

namespace famfs {
namespace {

TEST(VolumePoison, PoisonedSuperblockIsAnErrorNotACrash) {
    std::shared_ptr<testing::FaultyDevice> dev = test::formatted_memory(64 * test::kMiB);
    ASSERT_TRUE(dev->poison(0, 1).ok());
    auto v = Volume::open(std::shared_ptr<Device>(dev));
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().code, EIO);
    EXPECT_NE(v.error().message.find("superblock"), std::string::npos) << v.error().message;
}

}  // namespace
}  // namespace famfs

namespace famfs {
namespace {

// Volume::Transaction: data first, log entry second.
struct TransactionTest : ::testing::Test {
    std::unique_ptr<Volume> vol = test::memory_volume(256 * test::kMiB);
    bool logged(const std::string& relpath) const {
        auto st = vol->load();
        return st.ok() && st->ns.lookup(relpath) != nullptr;
    }
};

TEST_F(TransactionTest, AReservedFileIsInvisibleUntilCommitted) {
    auto txn = vol->begin_transaction();
    ASSERT_TRUE(txn.ok()) << txn.error().message;
    auto r = (*txn)->reserve({"f", 3 * test::kMiB});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->created);
    EXPECT_FALSE(logged("f")) << "reserved, not logged: no host may see it yet";
    ASSERT_TRUE((*txn)->commit(r->file).ok());
    EXPECT_TRUE(logged("f"));
    auto st = vol->load();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->ns.lookup("f")->file, r->file);
    EXPECT_TRUE(st->alloc.collisions().empty());
}

TEST_F(TransactionTest, SpaceReservedAndNeverCommittedIsFreeAgain) {
    uint64_t reserved_at = 0;
    {
        auto txn = vol->begin_transaction();
        ASSERT_TRUE(txn.ok());
        auto r = (*txn)->reserve({"lost", 4 * test::kMiB});
        ASSERT_TRUE(r.ok());
        reserved_at = r->file.extents[0].offset;
    }  // the writer "died" before its data was complete
    auto g = vol->create_file({"g", 4 * test::kMiB});
    ASSERT_TRUE(g.ok()) << g.error().message;
    EXPECT_EQ(g->file.extents[0].offset, reserved_at);
    EXPECT_FALSE(logged("lost"));
    auto st = vol->load();
    ASSERT_TRUE(st.ok());
    EXPECT_TRUE(st->alloc.collisions().empty());
}

TEST_F(TransactionTest, ReservationsTakeDistinctSpaceAndDirectoriesAreLoggedAtOnce) {
    auto txn = vol->begin_transaction();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->mkdir("d/e", 0755, 0, 0).ok());
    EXPECT_TRUE(logged("d/e"));
    auto a = (*txn)->reserve({"d/e/a", 2 * test::kMiB});
    auto b = (*txn)->reserve({"d/e/b", 2 * test::kMiB});
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(a->file.extents[0].offset, b->file.extents[0].offset);
    ASSERT_TRUE((*txn)->commit(b->file).ok());
    ASSERT_TRUE((*txn)->commit(a->file).ok());
    EXPECT_TRUE(logged("d/e/a") && logged("d/e/b"));
}

TEST_F(TransactionTest, DirectoriesCannotTakeEntriesPromisedToReservedFiles) {
    LogView& log = vol->log();
    for (uint64_t i = 0; i < log.capacity() - 2; ++i)
        ASSERT_TRUE(log.append({0, omf::OtherEntry{4}}).ok());
    auto txn = vol->begin_transaction();
    ASSERT_TRUE(txn.ok()) << txn.error().message;
    auto a = (*txn)->reserve({"a", 4096});
    ASSERT_TRUE(a.ok());
    // Two entries left, one promised to "a": a two-level mkdir -p needs
    // two, so it must be refused whole, and "a" must still be loggable.
    auto d = (*txn)->mkdir("x/y", 0755, 0, 0);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().code, ENOSPC);
    EXPECT_FALSE(logged("x")) << "a refused mkdir -p logs none of its directories";
    EXPECT_TRUE((*txn)->commit(a->file).ok());
    EXPECT_TRUE(logged("a"));
}

TEST_F(TransactionTest, ReservationsCountAgainstTheLogCapacity) {
    LogView& log = vol->log();
    const uint64_t keep_free = 2;
    for (uint64_t i = 0; i < log.capacity() - keep_free; ++i)
        ASSERT_TRUE(log.append({0, omf::OtherEntry{4}}).ok());
    auto txn = vol->begin_transaction();
    ASSERT_TRUE(txn.ok()) << txn.error().message;
    ASSERT_TRUE((*txn)->reserve({"a", 4096}).ok());
    ASSERT_TRUE((*txn)->reserve({"b", 4096}).ok());
    auto c = (*txn)->reserve({"c", 4096});
    ASSERT_FALSE(c.ok()) << "two entries left, both promised";
    EXPECT_EQ(c.error().code, ENOSPC);
}

}  // namespace
}  // namespace famfs
