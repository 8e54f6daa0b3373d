// The CLI's volume opening (cli::TargetResolver) on devices opened in-process: a
// client host on memory without cache coherence checks a file that the
// master's host filled through the CLI's data path. Both sides maintain
// their caches (data_io.h), or the client would read zeros.
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "data_io.h"
#include "famfs/dax.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"
#include "target.h"
#include "target_resolver.h"

namespace famfs::cli {
namespace {

using test::kMiB;

TEST(CliTargetResolver, AClientHostVerifiesWhatTheMasterHostWrote) {
    auto m = test::noncoherent_hosts(32 * kMiB, 2);
    auto master = Volume::open(m.hosts[0]);
    ASSERT_TRUE(master.ok()) << master.error().message;
    CreateSpec spec;
    spec.relpath = "f";
    spec.size = 5 * kMiB;
    auto c = (*master)->create_file(spec);
    ASSERT_TRUE(c.ok()) << c.error().message;
    auto map = dax::FileMapping::from_entry(m.hosts[0], c->file);
    ASSERT_TRUE(map.ok());
    ASSERT_TRUE(write_pattern(*m.hosts[0], *map, 77).ok());

    TargetResolver resolver(Access::kReadOnly);
    {
        test::ScopedHost other(omf::random_uuid());
        auto loaded = resolver.load("client-device", m.hosts[1]);
        ASSERT_TRUE(loaded.ok()) << loaded.error().message;
        EXPECT_EQ(loaded->vol->role(), Role::kClient);
    }
    Target t;
    t.device = "client-device";
    t.relpath = "f";
    auto f = resolver.open_file(t);
    ASSERT_TRUE(f.ok()) << f.error().message;
    auto mismatch = find_pattern_mismatch(*m.hosts[1], f->map, 77);
    ASSERT_TRUE(mismatch.ok()) << mismatch.error().message;
    EXPECT_FALSE(mismatch->has_value()) << "differs at " << **mismatch;
    auto wrong = find_pattern_mismatch(*m.hosts[1], f->map, 78);
    ASSERT_TRUE(wrong.ok());
    EXPECT_TRUE(wrong->has_value()) << "the check can fail";

    auto twice = resolver.load("client-device", m.hosts[1]);
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(twice.error().code, EEXIST);
}

}  // namespace
}  // namespace famfs::cli
