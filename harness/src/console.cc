#include "console.h"

#include <poll.h>
#include <unistd.h>
#include <cstdio>
#include <random>

#include "signals.h"
#include "text_util.h"
#include "transcript.h"
#include "unix_socket.h"

namespace lab {

namespace {

std::string random_marker() {
    static std::mt19937_64 rng{std::random_device{}()};
    return "LAB" + std::to_string(rng() % 1000000000ull) + "END";
}

// The stream holds the echoed command line, its output, then "MARKER STATUS".
Result<int> parse_marked(const std::string& text, const std::string& marker, std::string& body) {
    auto done = text.find(marker + " ");
    if (done == std::string::npos) return fail("no end marker");
    auto end_of_status = text.find('\n', done);
    auto status = parse_uint(
        trim(text.substr(done + marker.size() + 1, end_of_status - done - marker.size() - 1)));
    auto first_nl = text.find('\n');
    auto marker_line = text.rfind('\n', done);
    if (first_nl != std::string::npos && marker_line != std::string::npos && marker_line > first_nl)
        body = text.substr(first_nl + 1, marker_line - first_nl);
    return static_cast<int>(status.value_or(255));
}

}  // namespace

Result<int> console_run(const RunDir& run, const std::string& host, const std::string& line,
                        double timeout_s) {
    auto start = Clock::now();
    auto sock = UnixSocket::connect(run.host_file(host, "serial.sock"));
    if (!sock) return sock.error();
    std::string marker = random_marker();
    // The marker is split in the command so the echoed input never matches.
    std::string half = marker.substr(0, 4);
    std::string cmd = line + "; echo \"" + half + "\"'" + marker.substr(4) + " '$?\n";
    auto deadline = deadline_in(timeout_s);
    if (auto st = sock->send_all(cmd, deadline); !st) return st.error();
    std::string seen;
    auto complete = [&] {
        auto at = seen.find(marker + " ");
        return at != std::string::npos && seen.find('\n', at) != std::string::npos;
    };
    while (!complete()) {
        if (ms_left(deadline) == 0 || interrupted()) return fail("console: no answer in time");
        // QEMU 7.2 TCG can sit on serial input until more arrives: poke it.
        auto chunk = sock->read_some(deadline_in(0.05));
        if (chunk) {
            seen += *chunk;
        } else {
            (void)sock->send_all("\n", deadline);
        }
    }
    std::string body;
    auto status = parse_marked(seen, marker, body);
    if (!status) return status.error();
    std::fputs(body.c_str(), stdout);
    record_transcript(
        run, TranscriptRecord{host, "console", line, *status, body, "", seconds_since(start)});
    return status;
}

Status console_attach(const RunDir& run, const std::string& host) {
    auto sock = UnixSocket::connect(run.host_file(host, "serial.sock"));
    if (!sock) return sock.error();
    std::fprintf(stderr, "harness: attached to %s's serial console; end with Ctrl-D\n",
                 host.c_str());
    (void)sock->send_all("\n", deadline_in(1));
    while (!interrupted()) {
        pollfd in{0, POLLIN, 0};
        if (::poll(&in, 1, 50) > 0) {
            char buf[4096];
            ssize_t n = ::read(0, buf, sizeof buf);
            if (n <= 0) break;
            if (auto st = sock->send_all(std::string(buf, static_cast<size_t>(n)), deadline_in(5));
                !st)
                return st;
        }
        auto out = sock->read_some(deadline_in(0.01));
        if (out) std::fputs(out->c_str(), stdout);
        std::fflush(stdout);
    }
    return ok();
}

}  // namespace lab
