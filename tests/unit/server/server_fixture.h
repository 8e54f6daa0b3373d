// A famfs_fused Server on a fresh /dev/shm device, driven without a mount:
// the fixture of the server's unit tests (poison, stale device).
#pragma once

#include <gtest/gtest.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datapath.h"
#include "famfs/dax.h"
#include "famfs/test_pattern.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"
#include "server.h"

namespace famfs::fused::test_support {

// The test pattern of `seed`, `len` bytes.
inline std::vector<uint8_t> pattern(uint64_t seed, uint64_t len) {
    std::vector<uint8_t> out(len);
    fill_pattern(seed, out);
    return out;
}

class ServerFixture : public ::testing::Test {
  protected:
    // Sparse; large enough for two 1 GiB stripe buckets.
    static constexpr uint64_t kDeviceSize = 4 * omf::kGiB;

    void SetUp() override {
        dev_ = std::make_unique<test::ShmFile>(kDeviceSize);
        MkfsOptions mo;
        mo.allow_small = true;
        auto st = mkfs(dev_->path(), mo);
        ASSERT_TRUE(st) << st.error().message;
        open_volume();
    }
    void TearDown() override {
        server_.reset();
        vol_.reset();
    }

    // (Re)opens the device as the master's volume, which logs new files.
    void open_volume() {
        vol_.reset();
        auto v = Volume::open(dev_->path(), Access::kReadWrite);
        ASSERT_TRUE(v) << v.error().message;
        vol_ = std::move(v.value());
    }

    // Logs a file and fills it with the pattern of `seed`.
    omf::FileEntry create(const std::string& relpath, uint64_t size, uint64_t seed,
                          InterleaveParams ip = {}) {
        CreateSpec spec;
        spec.relpath = relpath;
        spec.size = size;
        spec.interleave = ip;
        auto c = vol_->create_file(spec);
        EXPECT_TRUE(c) << relpath << ": " << (c ? "" : c.error().message);
        if (!c) return {};
        auto map = dax::FileMapping::from_entry(vol_->shared_device(), c->file);
        EXPECT_TRUE(map);
        if (!map) return c->file;
        EXPECT_EQ(map->write(0, pattern(seed, size)), size);
        return c->file;
    }

    // The server, opened on first use; `follow` starts its follower then.
    Server& server(bool follow = false) {
        if (!server_) {
            ServerOptions o;
            o.device = dev_->path();
            o.mountpoint = "/nowhere";
            auto s = Server::open(o);
            EXPECT_TRUE(s) << (s ? "" : s.error().message);
            if (s) server_ = std::move(s.value());
            if (server_ && follow) server_->start_following();
        }
        return *server_;
    }

    // A handle as the server's open makes it.
    std::shared_ptr<FileHandle> open(const std::string& relpath, bool writable = false) {
        Server& s = server();
        auto rd = s.read_tree();
        const Node* n = s.tree().lookup(relpath);
        EXPECT_TRUE(n) << relpath;
        if (!n) return nullptr;
        auto f = open_data(s, Inode{n, std::nullopt}, writable);
        EXPECT_TRUE(f) << relpath;
        return f ? std::make_shared<FileHandle>(std::move(f.value())) : nullptr;
    }

    // The file's bytes through the server's read path, or the errno.
    int read_all(const FileHandle& f, std::vector<uint8_t>& out) {
        std::vector<iovec> iov;
        const int err = gather_read(server(), f, 0, f.size, iov);
        out.clear();
        for (const iovec& v : iov) {
            const auto* p = static_cast<const uint8_t*>(v.iov_base);
            out.insert(out.end(), p, p + v.iov_len);
        }
        return err;
    }

    std::string status() { return server().status_text(); }

    std::unique_ptr<test::ShmFile> dev_;
    std::unique_ptr<Volume> vol_;
    std::unique_ptr<Server> server_;
};

}  // namespace famfs::fused::test_support
