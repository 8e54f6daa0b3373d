#include "guest_agent.h"

#include <algorithm>
#include <random>

#include "base64.h"

namespace lab {

Result<GuestAgent> GuestAgent::connect(const std::string& socket_path, Deadline deadline) {
    auto s = UnixSocket::connect(socket_path);
    if (!s) return s.error();
    GuestAgent ga(std::move(*s));
    if (auto st = ga.sync(deadline); !st) return st.error();
    return ga;
}

Status GuestAgent::sync_once(const std::string& prefix, Deadline deadline) {
    static std::mt19937_64 rng{std::random_device{}()};
    int64_t id = static_cast<int64_t>(rng() >> 2);
    std::string req = prefix + "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":" +
                      std::to_string(id) + "}}\n";
    if (auto st = sock_.send_all(req, deadline); !st) return st;
    while (true) {
        if (auto st = sock_.skip_past('\xff', deadline); !st) return st;
        auto line = sock_.read_line(deadline);
        if (!line) return line.error();
        auto msg = parse_json(*line);
        if (msg && (*msg)["return"].as_int(-1) == id) return ok();
    }
}

Status GuestAgent::sync(Deadline deadline) {
    // A plain sync answers in a few ms. Only when a client that died mid-
    // request left the agent's parser in a half-read message does it go
    // unanswered; a leading 0xFF then resets the parser (that costs ~60 ms,
    // so it is not sent every time).
    auto first_try = std::min(deadline, deadline_in(1.0));
    if (sync_once("", first_try)) return ok();
    return sync_once("\xff", deadline);
}

Result<Json> GuestAgent::read_reply(Deadline deadline) {
    while (true) {
        auto line = sock_.read_line(deadline);
        if (!line) return line.error();
        auto msg = parse_json(*line);
        if (!msg) continue;
        if (msg->has("error")) return fail("guest agent: " + (*msg)["error"]["desc"].as_string());
        if (msg->has("return")) return Json((*msg)["return"]);
    }
}

Result<Json> GuestAgent::call(const std::string& command, const Json& arguments,
                              Deadline deadline) {
    Json req = Json::object();
    req.set("execute", Json::string(command));
    if (!arguments.is_null()) req.set("arguments", arguments);
    if (auto st = sock_.send_all(req.dump() + "\n", deadline); !st) return st.error();
    return read_reply(deadline);
}

Result<int64_t> GuestAgent::start(const std::string& command, const std::string& input,
                                  Deadline deadline) {
    Json args = Json::object();
    args.set("path", Json::string("/bin/sh"));
    args.set("arg", Json::array().push(Json::string("-c")).push(Json::string(command)));
    if (!input.empty()) args.set("input-data", Json::string(base64_encode(input)));
    args.set("capture-output", Json::boolean(true));
    auto r = call("guest-exec", args, deadline);
    if (!r) return r.error();
    return (*r)["pid"].as_int(-1);
}

void GuestAgent::kill_guest_process(int64_t pid) {
    // Best effort: the agent may itself be stuck when the guest is.
    auto deadline = deadline_in(3);
    if (!sync(deadline)) return;
    auto killer = start("kill -9 " + std::to_string(pid), "", deadline);
    if (killer)
        (void)call("guest-exec-status", Json::object().set("pid", Json::number(*killer)), deadline);
}

Result<ExecResult> GuestAgent::exec(const std::string& command, const std::string& input,
                                    double timeout_s) {
    auto started = Clock::now();
    auto deadline = deadline_in(timeout_s);
    auto pid = start(command, input, deadline);
    if (!pid) return pid.error();
    int wait_ms = 1;
    while (true) {
        auto st =
            call("guest-exec-status", Json::object().set("pid", Json::number(*pid)), deadline);
        if (!st) {
            if (ms_left(deadline) > 0) return st.error();
            kill_guest_process(*pid);
            ExecResult r;
            r.exit_code = 124;
            r.timed_out = true;
            r.err = "harness: command timed out after " + std::to_string(timeout_s) + " s\n";
            r.seconds = seconds_since(started);
            return r;
        }
        if ((*st)["exited"].as_bool()) {
            ExecResult r;
            r.exit_code = st->has("signal") ? 128 + static_cast<int>((*st)["signal"].as_int())
                                            : static_cast<int>((*st)["exitcode"].as_int());
            r.out = base64_decode((*st)["out-data"].as_string());
            r.err = base64_decode((*st)["err-data"].as_string());
            r.seconds = seconds_since(started);
            return r;
        }
        sleep_ms(wait_ms);
        // Short commands are the common case: poll finely for two seconds.
        wait_ms = seconds_since(started) < 2 ? std::min(wait_ms * 2, 10) : 50;
    }
}

}  // namespace lab
