// The path index against a plain model: a map from full path to kind. The
// log has no deletes, so "exists" is just "was added", and the refusal
// rules (no parent, parent is a file, already there) follow from the map.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "famfs/namespace.h"
#include "famfs/path_index.h"

namespace famfs {
namespace {

TEST(PathIndex, StartsWithOnlyTheRoot) {
    PathIndex paths;
    EXPECT_EQ(paths.size(), 1u);
    EXPECT_EQ(paths.find(""), PathIndex::kRoot);
    EXPECT_TRUE(paths.is_dir(PathIndex::kRoot));
    EXPECT_EQ(paths.find("a"), PathIndex::kNone);
}

TEST(PathIndex, PlaceSaysWhyAPathCannotBeAdded) {
    PathIndex paths;
    auto d = paths.place("d");
    ASSERT_TRUE(d.ok());
    const PathIndex::Id dir = paths.add(*d, true, 0);
    auto f = paths.place("d/f");
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->parent, dir);
    EXPECT_EQ(f->name, "f");
    const PathIndex::Id file = paths.add(*f, false, 1);

    EXPECT_EQ(paths.place("d/f").error().code, EEXIST);
    EXPECT_EQ(paths.place("d").error().code, EEXIST);
    EXPECT_EQ(paths.place("d/f/g").error().code, ENOTDIR);
    EXPECT_EQ(paths.place("x/g").error().code, ENOENT);
    EXPECT_EQ(paths.find("d/f"), file);
    EXPECT_EQ(paths.child(dir, "f"), file);
    EXPECT_EQ(paths.parent(file), dir);
    EXPECT_EQ(paths.log_index(file), 1u);
    EXPECT_EQ(paths.name(file), "f");
    EXPECT_FALSE(paths.is_dir(file));
}

TEST(PathIndex, SameNameUnderDifferentParentsAreDifferentPaths) {
    PathIndex paths;
    const auto a = paths.add(*paths.place("a"), true, 0);
    const auto b = paths.add(*paths.place("b"), true, 1);
    const auto af = paths.add(*paths.place("a/x"), false, 2);
    const auto bf = paths.add(*paths.place("b/x"), false, 3);
    EXPECT_NE(af, bf);
    EXPECT_EQ(paths.child(a, "x"), af);
    EXPECT_EQ(paths.child(b, "x"), bf);
    EXPECT_EQ(paths.child(PathIndex::kRoot, "x"), PathIndex::kNone);
}

// Random adds, mostly valid, some refused, through many table growths
// (reserve is deliberately not used): every answer matches the model.
TEST(PathIndex, AgreesWithAMapModelThroughGrowth) {
    PathIndex paths;
    std::map<std::string, bool> model;  // path -> is_dir
    std::vector<std::string> dirs{""};
    std::mt19937 rng(7);
    for (uint64_t i = 0; i < 20000; ++i) {
        const std::string& parent = dirs[rng() % dirs.size()];
        const std::string name = "n" + std::to_string(rng() % 3000);
        const std::string path = parent.empty() ? name : parent + "/" + name;
        const bool is_dir = rng() % 8 == 0;
        auto place = paths.place(path);
        ASSERT_EQ(place.ok(), !model.count(path)) << path;
        if (!place) continue;
        paths.add(*place, is_dir, i);
        model[path] = is_dir;
        if (is_dir) dirs.push_back(path);
    }
    EXPECT_EQ(paths.size(), model.size() + 1);
    for (const auto& [path, is_dir] : model) {
        const auto id = paths.find(path);
        ASSERT_NE(id, PathIndex::kNone) << path;
        EXPECT_EQ(paths.is_dir(id), is_dir) << path;
        EXPECT_EQ(paths.find(path + "_absent"), PathIndex::kNone);
    }
}

}  // namespace
}  // namespace famfs
