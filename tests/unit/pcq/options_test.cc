// pcq's command line: the reference's options and the combinations it
// refuses.
#include "options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace famfs::pcq {
namespace {

Result<Options> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "pcq");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_options(static_cast<int>(args.size()), argv.data());
}

std::string error_of(std::vector<std::string> args) {
    auto o = parse(std::move(args));
    return o ? "" : o.error().message;
}

TEST(PcqOptions, CreateTakesSizesWithSuffixes) {
    auto o = parse({"--create", "-u", "0", "-g", "0", "-D", "-v", "--bsize", "64K", "--nbuckets",
                    "1k", "/mnt/famfs/q"});
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_TRUE(o->create);
    EXPECT_TRUE(o->dont_flush);
    EXPECT_EQ(o->verbose, 1);
    EXPECT_EQ(o->bucket_size, 64u << 10);
    EXPECT_EQ(o->nbuckets, 1024u);
    EXPECT_EQ(o->uid, 0u);
    EXPECT_EQ(o->queue, "/mnt/famfs/q");
}

TEST(PcqOptions, ShortFlagsCombineAsTheReferenceScriptsUseThem) {
    auto o =
        parse({"-pc", "-s", "1", "--seed", "43", "-N", "10000", "--statusfile", "/tmp/s", "q"});
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_TRUE(o->producer && o->consumer);
    EXPECT_EQ(o->status_interval_s, 1u);
    EXPECT_EQ(o->seed, 43u);
    EXPECT_EQ(o->nmessages, 10000u);
    EXPECT_EQ(o->status_file, "/tmp/s");
    o = parse({"--setperm", "c", "q"});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->setperm, Perm::kConsumer);
}

TEST(PcqOptions, HelpAndVersion) {
    for (const char* h : {"-?", "-h", "--help"}) {
        auto o = parse({h});
        ASSERT_TRUE(o) << h << ": " << o.error().message;
        EXPECT_TRUE(o->help) << h;
    }
    auto o = parse({"--version"});
    ASSERT_TRUE(o);
    EXPECT_TRUE(o->version);
}

TEST(PcqOptions, RefusesTheReferencesBadCombinations) {
    EXPECT_NE(error_of({"--info", "--create", "q"}).find("--info cannot be combined"),
              std::string::npos);
    EXPECT_NE(error_of({"--drain", "--producer", "q"}).find("--drain cannot"), std::string::npos);
    EXPECT_NE(error_of({"--time", "10", "--nmessages", "100"}).find("cannot be used together"),
              std::string::npos);
    EXPECT_NE(error_of({"--create"}).find("needs --bsize and --nbuckets"), std::string::npos);
    EXPECT_NE(error_of({"--create", "--bsize", "1024", "--nbuckets", "1024"})
                  .find("missing the queue's file name"),
              std::string::npos);
    EXPECT_NE(error_of({"--producer", "-u", "0", "q"}).find("only apply with --create"),
              std::string::npos);
    EXPECT_NE(error_of({"--setperm", "c", "--producer", "q"}).find("--setperm cannot"),
              std::string::npos);
    EXPECT_NE(error_of({"--setperm", "x", "q"}).find("'x' is not p, c, b or n"), std::string::npos);
    EXPECT_NE(error_of({"q"}).find("nothing to do"), std::string::npos);
    EXPECT_NE(error_of({"--bogus", "q"}).find("unrecognized option '--bogus'"), std::string::npos);
    EXPECT_NE(error_of({"--producer", "-N", "ten", "q"}).find("--nmessages"), std::string::npos);
    EXPECT_NE(error_of({"--producer", "q", "extra"}).find("unexpected argument 'extra'"),
              std::string::npos);
    EXPECT_NE(error_of({"--producer", "-N"}).find("needs a value"), std::string::npos);
}

}  // namespace
}  // namespace famfs::pcq
