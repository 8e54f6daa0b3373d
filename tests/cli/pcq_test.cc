// pcq end to end on a mounted famfs: queues are created on the master,
// messages go from a producer process to a consumer process through the
// device memory, and damage in that memory is caught.
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "cli_fixture.h"

namespace famfs::clitest {
namespace {

class PcqTest : public CliTest {
  protected:
    void SetUp() override {
        CliTest::SetUp();
        format("64m");
        mount();
        q_ = mnt_ + "/q";
        status_ = dir_ + "/status";
    }
    Outcome pcq(std::vector<std::string> args) {
        args.insert(args.begin(), PCQ_BIN);
        return run(args);
    }
    std::string status_value() const {
        std::ifstream in(status_);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    void create(const std::string& bsize, const std::string& nbuckets) {
        Outcome r = pcq({"--create", "--bsize", bsize, "--nbuckets", nbuckets, q_});
        ASSERT_EQ(r.status, 0) << r.err;
    }
    static int wait_exit(pid_t pid) {
        int ws = 0;
        if (waitpid(pid, &ws, 0) != pid) return -1;
        return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    }
    std::string q_, status_;
};

TEST_F(PcqTest, CreateMakesBothFilesOnTheMount) {
    Outcome r = pcq({"--create", "-v", "--bsize", "1K", "--nbuckets", "64", q_});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "created queue " + q_ +
                                    ": 64 buckets of 1024 bytes (payload "
                                    "1008 bytes)"))
        << r.out;
    struct stat st {};
    ASSERT_EQ(::stat(q_.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, (2 << 20) + 64 * 1024);
    EXPECT_EQ(st.st_uid, geteuid());
    ASSERT_EQ(::stat((q_ + ".consumer").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 2 << 20);
    // The reference's structs, at the start of each file.
    const auto p = read_file("q");
    EXPECT_EQ(p[0], 0xE3);
    EXPECT_EQ(p[3], 0x0B);
    EXPECT_EQ(p[8], 64);
    const auto c = read_file("q.consumer");
    EXPECT_EQ(c[0], 0xE4);
    r = pcq({"--info", "--statusfile", status_, q_});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "queue " + q_ + " contains 0 messages p next_seq 0 c next_seq 0"))
        << r.out;
    EXPECT_EQ(status_value(), "0");
}

TEST_F(PcqTest, CreateRefusesWhatExistsAndBadGeometryChangingNothing) {
    create("64", "16");
    const auto before = snapshot();
    Outcome r = pcq({"--create", "--bsize", "64", "--nbuckets", "16", q_});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "something with that name already exists")) << r.err;
    r = pcq({"--create", "--bsize", "1000", "--nbuckets", "16", mnt_ + "/other"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, mnt_ + "/other: bucket size 1000 must be a power of 2")) << r.err;
    r = pcq({"--create", "--bsize", "1M", "--nbuckets", "1K", mnt_ + "/huge"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "huge")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
    r = pcq({"--info", q_ + "-missing"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "pcq files not found")) << r.err;
}

TEST_F(PcqTest, OnlyTheMasterCreates) {
    become_other_host();
    const auto before = snapshot();
    Outcome r = pcq({"--create", "--bsize", "64", "--nbuckets", "16", q_});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "master")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(PcqTest, ProduceConsumeDrainWithStatusFiles) {
    create("1K", "64");
    Outcome r = pcq({"--producer", "-N", "40", "--seed", "5", "--statusfile", status_, q_});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(status_value(), "40");
    EXPECT_TRUE(contains(r.out, "pcq producer: nsent=40 nerrors=0 nfull=0")) << r.out;
    r = pcq({"--info", "--statusfile", status_, q_});
    EXPECT_TRUE(contains(r.out, "contains 40 messages p next_seq 40 c next_seq 0")) << r.out;
    EXPECT_EQ(status_value(), "40");

    r = pcq({"--consumer", "-N", "30", "--seed", "5", "-v", "--statusfile", status_, q_});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(status_value(), "30");
    EXPECT_TRUE(contains(r.out, "pcq consumer: bucket=29 seq=29")) << r.out;
    EXPECT_TRUE(contains(r.out, "pcq consumer: nreceived=30 nerrors=0")) << r.out;

    r = pcq({"--drain", "--statusfile", status_, q_});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(status_value(), "10");
    EXPECT_TRUE(contains(r.out, "pcq drain: nreceived=10 nerrors=0 nempty=1 retries=0")) << r.out;
    r = pcq({"--drain", "--statusfile", status_, q_});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(status_value(), "0");
    r = pcq({"--info", q_});
    EXPECT_TRUE(contains(r.out, "contains 0 messages p next_seq 40 c next_seq 40")) << r.out;
}

TEST_F(PcqTest, ProducerAndConsumerProcessesShareTheDeviceMemory) {
    create("256", "16");  // wraps around the ring hundreds of times
    const std::string pstatus = dir_ + "/pstatus";
    pid_t consumer =
        spawn({PCQ_BIN, "--consumer", "-N", "5000", "--seed", "77", "--statusfile", status_, q_});
    pid_t producer =
        spawn({PCQ_BIN, "--producer", "-N", "5000", "--seed", "77", "--statusfile", pstatus, q_});
    EXPECT_EQ(wait_exit(producer), 0);
    EXPECT_EQ(wait_exit(consumer), 0);
    EXPECT_EQ(status_value(), "5000");
    std::ifstream in(pstatus);
    std::string sent;
    in >> sent;
    EXPECT_EQ(sent, "5000");
    Outcome r = pcq({"--info", q_});
    EXPECT_TRUE(contains(r.out, "contains 0 messages p next_seq 5000 c next_seq 5000")) << r.out;
}

TEST_F(PcqTest, ConsumerWithAnotherSeedCountsEveryPayloadAsAnError) {
    create("128", "16");
    ASSERT_EQ(pcq({"--producer", "-N", "3", "--seed", "1", q_}).status, 0);
    Outcome r = pcq({"--consumer", "-N", "3", "--seed", "2", "--statusfile", status_, q_});
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_EQ(status_value(), "-3");
    EXPECT_TRUE(contains(r.err, q_ + ": message seq 0 (bucket 0): payload differs from the test "
                                     "pattern of seed 2 at offset 0"))
        << r.err;
}

TEST_F(PcqTest, BothSidesInOneProcessForATimeWithStatusLines) {
    create("64", "32");
    Outcome r = pcq({"-pc", "--seed", "3", "-s", "1", "--time", "2", q_});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "pcq=" + q_ + " prod(nsent=")) << r.out;
    EXPECT_TRUE(contains(r.out, "cons(nrcvd=")) << r.out;
    EXPECT_TRUE(contains(r.out, "pcq consumer: nreceived=")) << r.out;
    // The timed run may leave messages of seed 3 in the queue: drain them
    // before messages of another seed go through.
    r = pcq({"--drain", "--seed", "3", q_});
    ASSERT_EQ(r.status, 0) << r.err;
    r = pcq({"-pc", "--seed", "43", "-N", "1000", "--statusfile", status_, q_});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(status_value(), "2000");
}

TEST_F(PcqTest, ACorruptBucketInDeviceMemoryIsCaughtAndNotConsumed) {
    create("64", "16");
    ASSERT_EQ(pcq({"--producer", "-N", "2", q_}).status, 0);
    // The first bucket: 2 MiB into the producer file.
    auto vol = open_volume();
    auto st = vol->load();
    ASSERT_TRUE(st);
    const Node* node = st->ns.lookup("q");
    ASSERT_NE(node, nullptr);
    const uint64_t bucket0 = node->file.extents.at(0).offset + (2 << 20);
    vol.reset();
    poke(bucket0 + 3, {0x77});
    Outcome r = pcq({"--consumer", "-N", "2", q_});
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains(r.err, q_ + ": bucket 0 (message seq 0): bad CRC after 2 retries"))
        << r.err;
    r = pcq({"--info", q_});
    EXPECT_TRUE(contains(r.out, "contains 2 messages")) << r.out;
}

TEST_F(PcqTest, HelpAndBadCommandLines) {
    Outcome r = pcq({"-?"});
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(contains(r.out, "--producer")) << r.out;
    EXPECT_EQ(pcq({"--version"}).status, 0);
    r = pcq({"--info", "--create", q_});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "pcq --help")) << r.err;
    EXPECT_EQ(pcq({"--drain", "--producer", q_}).status, 1);
    EXPECT_EQ(pcq({"--time", "10", "--nmessages", "100"}).status, 1);
}

}  // namespace
}  // namespace famfs::clitest
