#include "run.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "layout.h"
#include "payload.h"
#include "queue_files.h"
#include "status_file.h"

namespace famfs::pcq {
namespace {

const CacheOps& cache_for(const Options& o) {
    return o.dont_flush ? no_cache_maintenance() : cpu_cache();
}

int fail(const Error& e) {
    std::fprintf(stderr, "pcq: %s\n", e.message.c_str());
    return 1;
}

// The reference's exit status for a run with errors: their number, capped.
int errors_status(uint64_t errors) {
    return static_cast<int>(std::min<uint64_t>(errors, 127));
}

std::string octal(mode_t mode) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0%o", static_cast<unsigned>(mode));
    return buf;
}

unsigned long long ull(uint64_t v) {
    return v;
}

// One side of the queue, run on its own thread.
struct SideRun {
    explicit SideRun(Side s) : side(s) {}
    Side side;
    Counters counters;
    std::atomic<bool> stop{false};
    std::optional<Error> failure;
};

// Messages each side handles before it stops (without --time): the
// reference stops once it has handled --nmessages, so 0 means one.
uint64_t message_limit(const Options& o) {
    return std::max<uint64_t>(o.nmessages, 1);
}

bool done(const Options& o, const SideRun& s, uint64_t handled) {
    if (s.stop.load()) return true;
    return o.runtime_s == 0 && handled >= message_limit(o);
}

void produce(const Options& o, SideRun& s) {
    auto q = OpenQueue::open(o.queue, Side::kProducer, cache_for(o));
    if (!q) {
        s.failure = q.error();
        return;
    }
    Queue& queue = (*q)->queue();
    std::vector<uint8_t> entry(queue.bucket_size());
    // Every message carries the same payload; only its seq and CRC change.
    fill_payload(o.seed, std::span(entry).first(queue.payload_size()));
    const WaitPolicy wait{true, &s.stop};
    for (;;) {
        uint64_t index = 0;
        auto r = queue.put(entry, wait, s.counters, &index);
        if (!r) {
            s.failure = r.error();
            return;
        }
        if (*r == Queue::Put::kStopped) return;
        if (o.verbose)
            std::printf("pcq producer: put bucket=%llu seq=%llu\n", ull(index),
                        ull(stored_seq(entry)));
        if (done(o, s, s.counters.sent.load())) return;
    }
}

// Checks a message's payload against the test pattern; a mismatch is
// counted and reported, and the consumer goes on.
void check_payload(const Options& o, const Queue& queue, std::span<const uint8_t> entry,
                   uint64_t seq, uint64_t index, Counters& counters) {
    const auto bad = payload_mismatch(o.seed, entry.first(queue.payload_size()));
    if (!bad) return;
    counters.errors.fetch_add(1);
    std::fprintf(stderr,
                 "pcq: %s: message seq %llu (bucket %llu): payload differs from the test "
                 "pattern of seed %llu at offset %zu\n",
                 queue.name().c_str(), ull(seq), ull(index), ull(o.seed), *bad);
}

void consume(const Options& o, SideRun& s, bool drain) {
    auto q = OpenQueue::open(o.queue, Side::kConsumer, cache_for(o));
    if (!q) {
        s.failure = q.error();
        return;
    }
    Queue& queue = (*q)->queue();
    std::vector<uint8_t> entry(queue.bucket_size());
    const WaitPolicy wait{!drain, &s.stop};
    for (;;) {
        uint64_t seq = 0, index = 0;
        auto r = queue.get(entry, &seq, wait, s.counters, &index);
        if (!r) {
            s.failure = r.error();
            return;
        }
        if (*r != Queue::Get::kMessage) return;  // empty (drain) or stopped
        check_payload(o, queue, entry, seq, index, s.counters);
        if (o.verbose) std::printf("pcq consumer: bucket=%llu seq=%llu\n", ull(index), ull(seq));
        if (!drain && done(o, s, s.counters.received.load())) return;
    }
}

std::string now_stamp() {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[32];
    std::strftime(buf, sizeof buf, "%m-%d %H:%M:%S", &local);
    return buf;
}

void print_status(const std::string& queue, const Counters& p, const Counters& c) {
    std::printf(
        "%s pcq=%s prod(nsent=%llu nfull=%llu) cons(nrcvd=%llu nempty=%llu nretries= %llu "
        "nerrors=%llu)\n",
        now_stamp().c_str(), queue.c_str(), ull(p.sent), ull(p.full), ull(c.received), ull(c.empty),
        ull(c.retries), ull(p.errors + c.errors));
    std::fflush(stdout);
}

// Runs fn on a thread; `finished` is told when it ends, and a failure
// stops every side (a producer must not wait forever for a dead consumer).
class Sides {
  public:
    void start(SideRun& s, std::function<void(SideRun&)> fn) {
        all_.push_back(&s);
        {
            std::lock_guard lock(mu_);
            ++running_;
        }
        threads_.emplace_back([this, &s, fn = std::move(fn)] {
            fn(s);
            std::lock_guard lock(mu_);
            --running_;
            if (s.failure)
                for (SideRun* other : all_) other->stop = true;
            cv_.notify_all();
        });
    }
    // Until every side is done, or `limit` has passed (then they are told to stop).
    void wait(std::optional<std::chrono::seconds> limit) {
        if (limit) {
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, *limit, [this] { return running_ == 0; });
            for (SideRun* s : all_) s->stop = true;
        }
        for (auto& t : threads_) t.join();
        threads_.clear();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    int running_ = 0;
    std::vector<SideRun*> all_;
    std::vector<std::thread> threads_;
};

class StatusPrinter {
  public:
    StatusPrinter(uint64_t interval_s, const std::string& queue, const Counters& p,
                  const Counters& c) {
        if (!interval_s) return;
        thread_ = std::thread([=, this, &queue, &p, &c] {
            std::unique_lock lock(mu_);
            while (!cv_.wait_for(lock, std::chrono::seconds(interval_s), [this] { return stop_; }))
                print_status(queue, p, c);
        });
    }
    ~StatusPrinter() {
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace

int run_create(const Options& o) {
    CreateRequest req;
    req.queue = o.queue;
    req.nbuckets = o.nbuckets;
    req.bucket_size = o.bucket_size;
    req.uid = o.uid.value_or(geteuid());
    req.gid = o.gid.value_or(getegid());
    if (auto s = create_queue(req, cache_for(o)); !s) return fail(s.error());
    if (o.verbose)
        std::printf("pcq: files %s and %s\n", o.queue.c_str(), consumer_file_name(o.queue).c_str());
    std::printf("pcq: created queue %s: %llu buckets of %llu bytes (payload %llu bytes)\n",
                o.queue.c_str(), ull(o.nbuckets), ull(o.bucket_size),
                ull(payload_size(o.bucket_size)));
    return 0;
}

int run_info(const Options& o) {
    auto sf = StatusFile::open(o.status_file);
    if (!sf) return fail(sf.error());
    auto q = OpenQueue::open(o.queue, Side::kObserver, cache_for(o));
    if (!q) {
        (void)sf->write(-1);
        return fail(q.error());
    }
    const Queue& queue = (*q)->queue();
    const uint64_t n = queue.messages();
    if (o.verbose)
        std::printf(
            "pcq: %s: %llu buckets of %llu bytes (payload %llu), producer index %llu, "
            "consumer index %llu\n",
            o.queue.c_str(), ull(queue.nbuckets()), ull(queue.bucket_size()),
            ull(queue.payload_size()), ull(queue.producer_index()), ull(queue.consumer_index()));
    std::printf("pcq: queue %s contains %llu messages p next_seq %llu c next_seq %llu\n",
                o.queue.c_str(), ull(n), ull(queue.producer_next_seq()),
                ull(queue.consumer_next_seq()));
    if (auto s = sf->write(static_cast<int64_t>(n)); !s) return fail(s.error());
    return 0;
}

int run_setperm(const Options& o) {
    struct Modes {
        mode_t producer, consumer;
    };
    Modes m{0444, 0444};
    switch (*o.setperm) {
        case Perm::kProducer:
            m = {0644, 0444};
            break;
        case Perm::kConsumer:
            m = {0444, 0644};
            break;
        case Perm::kBoth:
            m = {0644, 0644};
            break;
        case Perm::kNeither:
            m = {0444, 0444};
            break;
    }
    struct stat st {};
    if (stat(o.queue.c_str(), &st) != 0)
        return fail(
            make_error(errno, o.queue + ": queue file not found (" + std::strerror(errno) + ")"));
    const std::string consumer = consumer_file_name(o.queue);
    for (const auto& [path, mode] : {std::pair{o.queue, m.producer}, {consumer, m.consumer}})
        if (chmod(path.c_str(), mode) != 0)
            return fail(
                make_error(errno, path + ": chmod " + octal(mode) + ": " + std::strerror(errno)));
    return 0;
}

int run_drain(const Options& o) {
    auto sf = StatusFile::open(o.status_file);
    if (!sf) return fail(sf.error());
    SideRun s(Side::kConsumer);
    std::printf("pcq:    %s\n", o.queue.c_str());
    consume(o, s, true);
    std::printf("pcq drain: nreceived=%llu nerrors=%llu nempty=%llu retries=%llu\n",
                ull(s.counters.received), ull(s.counters.errors), ull(s.counters.empty),
                ull(s.counters.retries));
    if (s.failure) std::fprintf(stderr, "pcq: %s\n", s.failure->message.c_str());
    if (const uint64_t errors = s.counters.errors) {
        (void)sf->write(-static_cast<int64_t>(errors));
        return errors_status(errors);
    }
    if (s.failure) return 1;
    std::printf("pcq: drained %llu messages from queue %s, with no errors\n",
                ull(s.counters.received), o.queue.c_str());
    if (auto st = sf->write(static_cast<int64_t>(s.counters.received)); !st)
        return fail(st.error());
    return 0;
}

int run_sides(const Options& o) {
    auto sf = StatusFile::open(o.status_file);
    if (!sf) return fail(sf.error());
    SideRun prod(Side::kProducer), cons(Side::kConsumer);
    {
        StatusPrinter status(o.status_interval_s, o.queue, prod.counters, cons.counters);
        Sides sides;
        if (o.producer) sides.start(prod, [&](SideRun& s) { produce(o, s); });
        if (o.consumer) sides.start(cons, [&](SideRun& s) { consume(o, s, false); });
        std::optional<std::chrono::seconds> limit;
        if (o.runtime_s) limit = std::chrono::seconds(o.runtime_s);
        sides.wait(limit);
    }
    for (const SideRun* s : {&prod, &cons})
        if (s->failure) std::fprintf(stderr, "pcq: %s\n", s->failure->message.c_str());
    std::printf("pcq:    %s\n", o.queue.c_str());
    std::printf("pcq producer: nsent=%llu nerrors=%llu nfull=%llu\n", ull(prod.counters.sent),
                ull(prod.counters.errors), ull(prod.counters.full));
    std::printf("pcq consumer: nreceived=%llu nerrors=%llu nempty=%llu retries=%llu\n",
                ull(cons.counters.received), ull(cons.counters.errors), ull(cons.counters.empty),
                ull(cons.counters.retries));
    if (const uint64_t errors = prod.counters.errors + cons.counters.errors) {
        (void)sf->write(-static_cast<int64_t>(errors));
        return errors_status(errors);
    }
    if (prod.failure || cons.failure) return 1;
    if (auto st = sf->write(static_cast<int64_t>(prod.counters.sent + cons.counters.received)); !st)
        return fail(st.error());
    return 0;
}

}  // namespace famfs::pcq
