#include "fuse_fixture.h"

#include <algorithm>
#include <stdexcept>

#include "famfs/test_pattern.h"

namespace famfs::fusetest {

void FuseTest::SetUp() {
    dev_ = std::make_unique<test::ShmFile>(kDeviceSize);
    MkfsOptions opt;
    opt.allow_small = true;
    auto st = mkfs(dev_->path(), opt);
    ASSERT_TRUE(st) << st.error().message;
    auto v = Volume::open(dev_->path(), Access::kReadWrite);
    ASSERT_TRUE(v) << v.error().message;
    vol_ = std::move(v.value());
    ASSERT_EQ(vol_->role(), Role::kMaster);
}

void FuseTest::TearDown() {
    hosts_.clear();  // unmounts
    vol_.reset();
}

Host& FuseTest::start_master(const std::vector<std::string>& flags) {
    hosts_.push_back(Host::master(scratch_, "master"));
    const std::string err = hosts_.back()->mount(device(), flags);
    EXPECT_EQ(err, "");
    if (!err.empty()) throw std::runtime_error(err);
    return *hosts_.back();
}

Host& FuseTest::start_client(const std::string& name, const std::vector<std::string>& flags) {
    hosts_.push_back(Host::client(scratch_, name));
    const std::string err = hosts_.back()->mount(device(), flags);
    EXPECT_EQ(err, "");
    if (!err.empty()) throw std::runtime_error(err);
    EXPECT_EQ(status_field(*hosts_.back(), "role"), "client");
    return *hosts_.back();
}

omf::FileEntry FuseTest::create(const std::string& relpath, uint64_t size, uint32_t mode,
                                uint64_t seed) {
    CreateSpec spec;
    spec.relpath = relpath;
    spec.size = size;
    spec.mode = mode;
    auto c = vol_->create_file(spec);
    EXPECT_TRUE(c) << relpath << ": " << (c ? "" : c.error().message);
    if (!c) return {};
    if (seed) {
        auto map = dax::FileMapping::from_entry(vol_->shared_device(), c->file);
        EXPECT_TRUE(map);
        auto bytes = pattern(seed, size);
        EXPECT_EQ(map->write(0, bytes), size);
        for (const auto& s : map->segments()) {
            EXPECT_TRUE(vol_->device().persist(s.bytes.data(), s.bytes.size()));
        }
    }
    return c->file;
}

void FuseTest::mkdir(const std::string& relpath, uint32_t mode) {
    auto st = vol_->mkdir(relpath, mode, 0, 0, /*parents=*/true);
    EXPECT_TRUE(st) << relpath << ": " << (st ? "" : st.error().message);
}

std::vector<uint8_t> FuseTest::direct_read(const std::string& relpath) {
    auto map = dax::FileMapping::open(device(), relpath, Access::kReadOnly);
    EXPECT_TRUE(map) << relpath << ": " << (map ? "" : map.error().message);
    if (!map) return {};
    std::vector<uint8_t> out(map->size());
    EXPECT_EQ(map->read(0, out), out.size());
    return out;
}

std::vector<uint8_t> FuseTest::metadata_bytes() {
    const auto& sb = vol_->superblock();
    auto r = vol_->device().range(0, sb.log_offset + sb.log_len);
    std::vector<uint8_t> bytes(r.begin(), r.end());
    // Every mounted host rewrites its slot of the host table at each
    // heartbeat (docs/delete.md): not metadata an operation may change.
    std::fill_n(bytes.begin() + omf::kHostTableOffset, omf::kHostSlots * omf::kHostSlotBytes, 0);
    return bytes;
}

}  // namespace famfs::fusetest
