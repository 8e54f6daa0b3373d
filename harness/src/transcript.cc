#include "transcript.h"

#include <cstdio>
#include <ctime>

#include "files.h"
#include "json.h"

namespace lab {

namespace {

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string indent(const std::string& label, const std::string& text) {
    if (text.empty()) return "";
    std::string out;
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        out += "    " + label + "| " + text.substr(start, nl - start) + "\n";
        start = nl + 1;
    }
    return out;
}

}  // namespace

void record_transcript(const RunDir& run, const TranscriptRecord& rec) {
    std::string when = utc_now();
    Json j = Json::object();
    j.set("time", Json::string(when));
    j.set("host", Json::string(rec.host));
    j.set("kind", Json::string(rec.kind));
    j.set("command", Json::string(rec.command));
    j.set("exit", Json::number(rec.exit_code));
    j.set("seconds", Json::number(static_cast<int64_t>(rec.seconds * 1000) / 1000));
    j.set("ms", Json::number(static_cast<int64_t>(rec.seconds * 1000)));
    j.set("stdout", Json::string(rec.out));
    j.set("stderr", Json::string(rec.err));
    (void)append_file(run.path("transcript.jsonl"), j.dump() + "\n");
    char head[128];
    std::snprintf(head, sizeof head, " exit=%d %.3fs\n", rec.exit_code, rec.seconds);
    (void)append_file(run.path("transcript.log"), when + " [" + rec.host + "] " + rec.kind + ": " +
                                                      rec.command + head + indent("out", rec.out) +
                                                      indent("err", rec.err));
}

}  // namespace lab
