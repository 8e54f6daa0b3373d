// The shadow YAML codec: what we write must be read by the reference's
// reader (libyaml events in a fixed nesting, extent lists last), and what
// the reference writes (libyaml's layout, its number formats) must read
// back here as the same log entry.
#include "famfs/shadow_yaml.h"

#include <gtest/gtest.h>
#include <yaml.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace famfs {
namespace {

omf::FileEntry simple_file() {
    omf::FileEntry f;
    f.relpath = "dir1/file0";
    f.size = 3 * omf::kMiB + 5;
    f.flags = omf::kFileFlagsAllRW;
    f.mode = 0644;
    f.uid = 1000;
    f.gid = 100;
    f.extents = {{.devindex = 0, .offset = 0xa00000, .len = 0x200000},
                 {.devindex = 0, .offset = 0x1000000, .len = 0x200000}};
    return f;
}

omf::FileEntry striped_file() {
    omf::FileEntry f;
    f.relpath = "stripes/s0";
    f.size = 64 * omf::kMiB;
    f.mode = 0600;
    f.ext_type = omf::ExtentType::kInterleaved;
    f.interleave.nstrips = 3;
    f.interleave.chunk_size = 2 * omf::kMiB;
    for (uint64_t i = 0; i < 3; ++i)
        f.interleave.strips.push_back({.offset = (10 + 12 * i) * omf::kMiB, .len = 24 * omf::kMiB});
    return f;
}

std::string yaml_of(const omf::FileEntry& f) {
    auto y = shadow::to_yaml(f);
    EXPECT_TRUE(y.ok()) << y.error().message;
    return y ? *y : std::string();
}

omf::FileEntry parsed(const std::string& text) {
    auto f = shadow::from_yaml(text, "shadow.yaml");
    EXPECT_TRUE(f.ok()) << (f ? "" : f.error().message) << "\n" << text;
    return f ? *f : omf::FileEntry{};
}

std::string parse_error(const std::string& text) {
    auto f = shadow::from_yaml(text, "/shadow/root/bad");
    EXPECT_FALSE(f.ok()) << text;
    return f ? std::string() : f.error().message;
}

// The events libyaml's parser produces, as the reference's reader sees them.
std::vector<std::string> libyaml_events(const std::string& text) {
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    std::vector<std::string> out;
    for (bool done = false; !done;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            out.push_back(std::string("ERROR ") + (parser.problem ? parser.problem : ""));
            break;
        }
        switch (ev.type) {
            case YAML_STREAM_START_EVENT:
                out.push_back("stream{");
                break;
            case YAML_STREAM_END_EVENT:
                out.push_back("}stream");
                done = true;
                break;
            case YAML_DOCUMENT_START_EVENT:
                out.push_back("doc{");
                break;
            case YAML_DOCUMENT_END_EVENT:
                out.push_back("}doc");
                break;
            case YAML_MAPPING_START_EVENT:
                out.push_back("map{");
                break;
            case YAML_MAPPING_END_EVENT:
                out.push_back("}map");
                break;
            case YAML_SEQUENCE_START_EVENT:
                out.push_back("seq{");
                break;
            case YAML_SEQUENCE_END_EVENT:
                out.push_back("}seq");
                break;
            case YAML_SCALAR_EVENT:
                out.push_back(reinterpret_cast<const char*>(ev.data.scalar.value));
                break;
            default:
                out.push_back("other");
                break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return out;
}

std::vector<std::string> concat(std::vector<std::vector<std::string>> parts) {
    std::vector<std::string> out;
    for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

TEST(ShadowYaml, SimpleFileInTheReferencesFieldOrderAndFormats) {
    EXPECT_EQ(yaml_of(simple_file()),
              "---\n"
              "file:\n"
              "  path: dir1/file0\n"
              "  size: 3145733\n"
              "  flags: 2\n"
              "  mode: 0644\n"
              "  uid: 1000\n"
              "  gid: 100\n"
              "  nextents: 2\n"
              "  simple_ext_list:\n"
              "    - devindex: 0\n"
              "      offset: 0xa00000\n"
              "      length: 0x200000\n"
              "    - devindex: 0\n"
              "      offset: 0x1000000\n"
              "      length: 0x200000\n"
              "...\n");
}

TEST(ShadowYaml, ReferenceReaderSeesItsEventSequenceForASimpleFile) {
    // The reference's reader walks exactly these events: stream, document,
    // a map whose only key is "file", the fields, then the extent list,
    // whose end is followed at once by the end of the file's map.
    const auto head = std::vector<std::string>{"stream{", "doc{", "map{", "file", "map{"};
    const auto fields = std::vector<std::string>{
        "path", "dir1/file0", "size", "3145733", "flags", "2",        "mode",
        "0644", "uid",        "1000", "gid",     "100",   "nextents", "2"};
    const auto list = std::vector<std::string>{
        "simple_ext_list", "seq{",     "map{",     "devindex", "0",        "offset", "0xa00000",
        "length",          "0x200000", "}map",     "map{",     "devindex", "0",      "offset",
        "0x1000000",       "length",   "0x200000", "}map",     "}seq"};
    const auto tail = std::vector<std::string>{"}map", "}map", "}doc", "}stream"};
    EXPECT_EQ(libyaml_events(yaml_of(simple_file())), concat({head, fields, list, tail}));
}

TEST(ShadowYaml, ReferenceReaderSeesItsEventSequenceForAStripedFile) {
    const auto events = libyaml_events(yaml_of(striped_file()));
    const auto expected = concat({
        {"stream{", "doc{", "map{", "file", "map{"},
        {"path", "stripes/s0", "size", "67108864", "flags", "2", "mode", "0600", "uid", "0", "gid",
         "0", "nextents", "1"},
        {"striped_ext_list", "seq{", "map{", "nstrips", "3", "chunk_size", "0x200000",
         "simple_ext_list", "seq{"},
        {"map{", "devindex", "0", "offset", "0xa00000", "length", "0x1800000", "}map"},
        {"map{", "devindex", "0", "offset", "0x1600000", "length", "0x1800000", "}map"},
        {"map{", "devindex", "0", "offset", "0x2200000", "length", "0x1800000", "}map"},
        {"}seq", "}map", "}seq", "}map", "}map", "}doc", "}stream"},
    });
    EXPECT_EQ(events, expected);
}

TEST(ShadowYaml, RoundTripsSimpleAndStripedFiles) {
    for (const auto& f : {simple_file(), striped_file()}) {
        const omf::FileEntry back = parsed(yaml_of(f));
        EXPECT_EQ(back, f) << yaml_of(f);
        EXPECT_TRUE(shadow::differences(f, back).empty());
    }
}

TEST(ShadowYaml, RoundTripsValuesThatPrintSignedOrNeedQuoting) {
    omf::FileEntry f = simple_file();
    f.uid = 4294967295u;  // the reference prints it with %d: -1
    f.gid = 2147483648u;
    f.size = uint64_t{1} << 63;  // %lld: negative
    f.mode = 0100644;            // reference images log S_IFREG with copied files
    f.flags = 0;
    f.extents[0].devindex = 3;
    for (const char* path : {"a: b", "123", "true", "- dash", "#hash", "x'y\"z", "0x10", "[a]"}) {
        f.relpath = path;
        const std::string text = yaml_of(f);
        EXPECT_EQ(parsed(text), f) << text;
    }
    f.relpath = "plain";
    const std::string text = yaml_of(f);
    EXPECT_NE(text.find("  uid: -1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  gid: -2147483648\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  size: -9223372036854775808\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  mode: 0100644\n"), std::string::npos) << text;
}

// What the reference's writer (libyaml's emitter) produces: sequences in a
// map are not indented, and the document ends with "...".
TEST(ShadowYaml, ReadsTheReferencesLayout) {
    const std::string reference =
        "---\n"
        "file:\n"
        "  path: dir1/file0\n"
        "  size: 3145733\n"
        "  flags: 2\n"
        "  mode: 0644\n"
        "  uid: 1000\n"
        "  gid: 100\n"
        "  nextents: 2\n"
        "  simple_ext_list:\n"
        "  - devindex: 0\n"
        "    offset: 0xa00000\n"
        "    length: 0x200000\n"
        "  - devindex: 0\n"
        "    offset: 0x1000000\n"
        "    length: 0x200000\n"
        "...\n";
    EXPECT_EQ(parsed(reference), simple_file());
    EXPECT_EQ(libyaml_events(reference), libyaml_events(yaml_of(simple_file())))
        << "our layout differs from the reference's only in whitespace";

    const std::string striped =
        "---\n"
        "file:\n"
        "  path: stripes/s0\n"
        "  size: 67108864\n"
        "  flags: 2\n"
        "  mode: 0600\n"
        "  uid: 0\n"
        "  gid: 0\n"
        "  nextents: 1\n"
        "  striped_ext_list:\n"
        "  - nstrips: 3\n"
        "    chunk_size: 0x200000\n"
        "    simple_ext_list:\n"
        "    - devindex: 0\n"
        "      offset: 0xa00000\n"
        "      length: 0x1800000\n"
        "    - devindex: 0\n"
        "      offset: 0x1600000\n"
        "      length: 0x1800000\n"
        "    - devindex: 0\n"
        "      offset: 0x2200000\n"
        "      length: 0x1800000\n"
        "...\n";
    EXPECT_EQ(parsed(striped), striped_file());
}

TEST(ShadowYaml, AcceptsWhatTheReferencesReaderAccepts) {
    // No document markers, decimal offsets, octal-free mode given in
    // decimal, devindex left out, an unknown key inside an extent, and
    // fields left out (read as 0).
    const omf::FileEntry f = parsed(
        "file:\n"
        "  path: f\n"
        "  size: 0x1000\n"
        "  mode: 420\n"
        "  nextents: 1\n"
        "  simple_ext_list:\n"
        "    - offset: 10485760\n"
        "      length: 2097152\n"
        "      note: ignored\n");
    EXPECT_EQ(f.relpath, "f");
    EXPECT_EQ(f.size, 0x1000u);
    EXPECT_EQ(f.mode, 0644u);
    EXPECT_EQ(f.flags, 0u);
    EXPECT_EQ(f.uid, 0u);
    EXPECT_EQ(f.gid, 0u);
    ASSERT_EQ(f.extents.size(), 1u);
    EXPECT_EQ(f.extents[0], (omf::Extent{.devindex = 0, .offset = 0xa00000, .len = 0x200000}));
}

TEST(ShadowYaml, SyntaxErrorsNameTheFileTheLineAndTheReason) {
    EXPECT_EQ(parse_error("file:\n  path: [a, b\n  size: 1\n"),
              "/shadow/root/bad: line 3, column 7: end of sequence flow not found");
    EXPECT_EQ(parse_error("file:\n  path: a\n bad: x\n"),
              "/shadow/root/bad: line 3, column 2: end of map not found");
}

TEST(ShadowYaml, StructuralErrorsNameTheFileAndTheReason) {
    const std::string good = yaml_of(simple_file());
    const auto replaced = [&](const std::string& from, const std::string& to) {
        std::string s = good;
        const size_t at = s.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        return s.replace(at, from.size(), to);
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "empty: no YAML document"},
        {"- a\n- b\n", "a shadow file holds one map with the single key 'file'"},
        {"other:\n  path: x\n", "a shadow file holds one map with the single key 'file'"},
        {good + "---\nfile: {}\n", "2 YAML documents; a shadow file holds one"},
        {"file: 3\n", "'file' must be a map of the file's fields"},
        {replaced("  uid: 1000\n", "  owner: 1000\n"), "unknown key 'owner' in the file section"},
        {replaced("  size: 3145733\n", "  size: 3M\n"),
         "'size' is '3M', not a 64-bit number (decimal, 0x hex or 0 octal)"},
        {replaced("  uid: 1000\n", "  uid: 4294967296\n"),
         "'uid' is '4294967296', not a 32-bit number"},
        {replaced("  mode: 0644\n", "  mode: [1, 2]\n"), "'mode' must be a single value"},
        {replaced("  nextents: 2\n", "  nextents: 3\n"), "nextents is 3 but 2 extents are listed"},
        {replaced("      length: 0x200000\n    - devindex", "    - devindex"),
         "simple_ext_list item 0 lacks its offset or length"},
        {replaced("      offset: 0xa00000\n", "      offset: zero\n"), "'offset' is 'zero'"},
        {"file:\n  path: f\n  nextents: 0\n  simple_ext_list: []\n",
         "simple_ext_list must be a non-empty list of extents"},
        {"file:\n  path: f\n  size: 1\n", "no simple_ext_list or striped_ext_list"},
        {"file:\n  path: " + std::string(80, 'p') +
             "\n  nextents: 1\n  simple_ext_list:\n    - {offset: 1, length: 1}\n",
         "path is 80 bytes; famfs logs at most 79"},
    };
    for (const auto& [text, why] : cases) {
        const std::string e = parse_error(text);
        EXPECT_EQ(e.rfind("/shadow/root/bad: ", 0), 0u) << e;
        EXPECT_NE(e.find(why), std::string::npos) << "got: " << e << "\nfor:\n" << text;
    }
}

TEST(ShadowYaml, StripedErrorsNameTheReason) {
    const std::string good = yaml_of(striped_file());
    const auto replaced = [&](const std::string& from, const std::string& to) {
        std::string s = good;
        const size_t at = s.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        return s.replace(at, from.size(), to);
    };
    EXPECT_NE(parse_error(replaced("nstrips: 3", "nstrips: 4"))
                  .find("nstrips is 4 but 3 strips are listed"),
              std::string::npos);
    EXPECT_NE(parse_error(replaced("  striped_ext_list:\n", "  striped_ext_list: []\n  x:\n"))
                  .find("striped_ext_list must hold exactly one striped extent"),
              std::string::npos);
    std::string many = "file:\n  path: f\n  nextents: 17\n  simple_ext_list:\n";
    for (int i = 0; i < 17; ++i) many += "    - {offset: 0x200000, length: 0x200000}\n";
    EXPECT_NE(parse_error(many).find("has 17 extents; famfs logs at most 16"), std::string::npos);
}

TEST(ShadowYaml, DifferencesNameEachField) {
    const omf::FileEntry a = simple_file();
    omf::FileEntry b = a;
    b.size += 1;
    b.mode = 0600;
    b.extents[1].offset = 0x1200000;
    const auto d = shadow::differences(a, b);
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(d[0], "size: 3145733 in the log, 3145734 in the file");
    EXPECT_EQ(d[1], "mode: 0644 in the log, 0600 in the file");
    EXPECT_EQ(d[2], "extent 1 offset: 0x1000000 in the log, 0x1200000 in the file");
    const auto kinds = shadow::differences(a, striped_file());
    EXPECT_NE(std::find(kinds.begin(), kinds.end(),
                        "extent type: simple in the log, striped in the file"),
              kinds.end());
}

}  // namespace
}  // namespace famfs
