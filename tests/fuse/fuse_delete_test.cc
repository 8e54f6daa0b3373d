// Deletes through mounts and the reclaim rule across hosts (docs/delete.md):
// unlink and rmdir on the master's mount, EROFS on a client's, a file
// deleted while a client holds it open keeps its bytes and its memory until
// that client lets go, eviction fences a host, and a client opens nothing
// before the master grants its slot.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "famfs/host_table.h"
#include "fuse_fixture.h"

namespace famfs::fusetest {
namespace {

// The allocation units a file's map covers.
std::set<uint64_t> units_of(const omf::FileEntry& f) {
    std::set<uint64_t> units;
    for (const auto& e : f.extents)
        for (uint64_t off = e.offset; off < e.offset + e.len; off += omf::kAllocUnit)
            units.insert(off / omf::kAllocUnit);
    return units;
}

bool overlap(const omf::FileEntry& a, const omf::FileEntry& b) {
    const auto ua = units_of(a), ub = units_of(b);
    for (uint64_t u : ua)
        if (ub.count(u)) return true;
    return false;
}

int errno_of(int rc) {
    return rc == 0 ? 0 : errno;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    return text;
}

class FuseDeleteTest : public FuseTest {
  protected:
    omf::FileEntry create_now(const std::string& relpath, uint64_t size) {
        CreateSpec spec;
        spec.relpath = relpath;
        spec.size = size;
        auto c = volume().create_file(spec);
        EXPECT_TRUE(c) << (c ? "" : c.error().message);
        return c ? c->file : omf::FileEntry{};
    }
    // The watermark the host of `uuid_file` publishes in the table.
    uint64_t published_watermark(const std::string& uuid_file) {
        auto me = parse_system_uuid(read_text(uuid_file));
        auto table = read_host_table(volume().device());
        if (!me || !table) return 0;
        for (const HostSlot& s : *table)
            if (s.host.status == omf::HalfStatus::kValid && s.host.half.system_uuid == *me)
                return s.host.half.watermark;
        return 0;
    }
    uint64_t delete_index_of(const std::string& relpath) {
        auto st = volume().load();
        EXPECT_TRUE(st);
        uint64_t found = 0;
        for (uint64_t i = 0; st && i < st->ns.applied(); ++i) {
            const Node* n = st->ns.node_at(i);
            if (n && n->relpath() == relpath && n->deleted_at) found = *n->deleted_at;
        }
        return found;
    }
};

TEST_F(FuseDeleteTest, UnlinkAndRmdirOnTheMastersMountLogDeletesThatClientsFollow) {
    mkdir("d");
    create("d/f", 4096, 0644, 1);
    create("g", 4096, 0644, 2);
    Host& a = start_master();
    Host& b = start_client("b");
    ASSERT_EQ(read_file(b.path("g")), pattern(2, 4096));

    EXPECT_EQ(errno_of(unlink(b.path("g").c_str())), EROFS);
    EXPECT_EQ(errno_of(rmdir(b.path("d").c_str())), EROFS);
    EXPECT_EQ(errno_of(unlink(a.path("g").c_str())), 0);
    struct stat st {};
    EXPECT_EQ(errno_of(stat(a.path("g").c_str(), &st)), ENOENT);
    EXPECT_TRUE(
        wait_until([&] { return stat(b.path("g").c_str(), &st) != 0 && errno == ENOENT; }, 5000));

    EXPECT_EQ(errno_of(rmdir(a.path("d").c_str())), ENOTEMPTY);
    EXPECT_EQ(errno_of(unlink(a.path("d").c_str())), EISDIR);
    EXPECT_EQ(errno_of(unlink(a.path("d/f").c_str())), 0);
    EXPECT_EQ(errno_of(rmdir(a.path("d").c_str())), 0);
    const std::vector<std::string> only_meta{".meta"};
    EXPECT_EQ(list_dir(a.path()), only_meta);
    EXPECT_TRUE(wait_until([&] { return list_dir(b.path()) == only_meta; }, 5000));
    ASSERT_EQ(stat(a.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 3u) << "the root's link count drops with its subdirectory";

    auto loaded = volume().load();
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->ns.lookup("g"), nullptr);
    EXPECT_EQ(loaded->ns.lookup("d"), nullptr);
    EXPECT_TRUE(loaded->ns.problems().empty());
    EXPECT_EQ(errno_of(unlink(a.path("g").c_str())), ENOENT);
}

// The race, on one machine: the space of a file deleted while a
// client holds it open goes to no other file until the client closes it.
TEST_F(FuseDeleteTest, ADeletedFileOpenOnAClientKeepsItsBytesAndItsMemoryUntilClosed) {
    const uint64_t size = omf::kAllocUnit;
    const omf::FileEntry old = create("old", size, 0644, 7);
    Host& a = start_master();
    Host& b = start_client("b");
    const int fd = open(b.path("old").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0) << strerror(errno);

    ASSERT_EQ(unlink(a.path("old").c_str()), 0);
    const uint64_t deleted_at = delete_index_of("old");
    ASSERT_GT(deleted_at, 0u);
    std::vector<uint8_t> got(size);
    EXPECT_EQ(pread(fd, got.data(), size, 0), static_cast<ssize_t>(size));
    EXPECT_EQ(got, pattern(7, size)) << "an open descriptor keeps reading the deleted file";
    EXPECT_TRUE(wait_until(
        [&] { return status_field(b, "deleted_files_held_open").rfind("1 ", 0) == 0; }, 5000))
        << status_field(b, "deleted_files_held_open");
    EXPECT_LE(published_watermark(b.uuid_file()), deleted_at);

    const omf::FileEntry during = create_now("during", size);
    EXPECT_FALSE(overlap(during, old)) << "reused while a client holds the file open";
    EXPECT_TRUE(wait_until(
        [&] {
            return status_field(b, "pending_reclaim_bytes")
                       .rfind(std::to_string(size) + " (1 runs", 0) == 0;
        },
        5000))
        << status_field(b, "pending_reclaim_bytes");
    got.assign(size, 0);
    EXPECT_EQ(pread(fd, got.data(), size, 0), static_cast<ssize_t>(size));
    EXPECT_EQ(got, pattern(7, size));

    ASSERT_EQ(close(fd), 0);
    EXPECT_TRUE(wait_until([&] { return published_watermark(b.uuid_file()) > deleted_at; }, 5000));
    const omf::FileEntry after = create_now("after", size);
    EXPECT_TRUE(overlap(after, old)) << "the space comes back once every host let go";
}

TEST_F(FuseDeleteTest, ADescriptorOfADeletedFileShowsNoLinks) {
    create("f", 4096, 0644, 5);
    Host& a = start_master();
    Host& b = start_client("b");
    const int fd = open(b.path("f").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0) << strerror(errno);
    ASSERT_EQ(unlink(a.path("f").c_str()), 0);
    struct stat st {};
    EXPECT_TRUE(wait_until([&] { return fstat(fd, &st) == 0 && st.st_nlink == 0; }, 5000))
        << "st_nlink " << st.st_nlink;
    EXPECT_EQ(st.st_size, 4096);
    close(fd);
}

TEST_F(FuseDeleteTest, AnEvictedClientFailsWithEstaleUntilItRemounts) {
    create("f", 4096, 0644, 3);
    Host& a = start_master();
    Host& b = start_client("b");
    ASSERT_EQ(read_file(b.path("f")), pattern(3, 4096));
    const std::string uuid = read_text(b.uuid_file());
    std::string out;
    ASSERT_EQ(a.run(cli_bin() + " --device " + device() + " host evict " + uuid, &out), 0) << out;
    int err = 0;
    EXPECT_TRUE(wait_until(
        [&] {
            read_file(b.path("f"), &err);
            return err == ESTALE;
        },
        5000))
        << "read error " << err;
    EXPECT_NE(status_field(b, "error").find("evicted"), std::string::npos);

    b.unmount();
    ASSERT_EQ(b.mount(device()), "");
    EXPECT_EQ(read_file(b.path("f")), pattern(3, 4096));
}

// The opt-in lease: a client whose server stops (SIGSTOP: a paused host)
// is evicted by the master once its heartbeat has not moved for the
// lease; the space it held comes back, and when it resumes it finds itself
// evicted and answers ESTALE.
TEST_F(FuseDeleteTest, ALeaseEvictsAHostWhoseHeartbeatStoppedAndItComesBackFenced) {
    const uint64_t size = omf::kAllocUnit;
    const omf::FileEntry old = create("old", size, 0644, 8);
    Host& a = start_master({"--lease-ms", "1500"});
    Host& b = start_client("b", {"--heartbeat-ms", "100"});
    const int fd = open(b.path("old").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0) << strerror(errno);
    ASSERT_EQ(unlink(a.path("old").c_str()), 0);
    EXPECT_FALSE(overlap(create_now("while_held", size), old));

    ASSERT_EQ(kill(b.server_pid(), SIGSTOP), 0);
    EXPECT_TRUE(wait_until(
        [&] {
            return status_field(a, "host_last_lease_eviction").find("slot") != std::string::npos;
        },
        10000))
        << status_field(a, "hosts_stale");
    EXPECT_TRUE(overlap(create_now("after_lease", size), old))
        << "an evicted host holds nothing back";

    ASSERT_EQ(kill(b.server_pid(), SIGCONT), 0);
    std::vector<uint8_t> got(size);
    EXPECT_TRUE(wait_until(
        [&] { return pread(fd, got.data(), size, 0) < 0 && (errno == ESTALE || errno == EIO); },
        5000))
        << "the evicted host still serves the old descriptor";
    EXPECT_EQ(status_field(b, "host_standing"), "fenced");
    close(fd);
}

TEST_F(FuseDeleteTest, AClientOpensNoFileBeforeTheMasterGrantsItsSlot) {
    create("f", 4096, 0644, 4);
    Host& b = start_client("b", {"--grant-wait-ms", "200"});
    int err = 0;
    read_file(b.path("f"), &err);
    EXPECT_EQ(err, EAGAIN);
    EXPECT_EQ(status_field(b, "host_standing"), "waiting for a grant");
    EXPECT_NE(status_field(b, "host_error").find("no grant from the master"), std::string::npos);

    start_master();
    EXPECT_TRUE(wait_until(
        [&] {
            read_file(b.path("f"), &err);
            return err == 0;
        },
        5000));
    EXPECT_EQ(read_file(b.path("f")), pattern(4, 4096));
    EXPECT_EQ(status_field(b, "host_standing"), "active");
}

}  // namespace
}  // namespace famfs::fusetest
