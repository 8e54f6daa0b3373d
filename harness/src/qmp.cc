#include "qmp.h"

namespace lab {

Result<Qmp> Qmp::connect(const std::string& socket_path, Deadline deadline) {
    auto s = UnixSocket::connect(socket_path);
    if (!s) return s.error();
    Qmp q(std::move(*s));
    auto greeting = q.sock_.read_line(deadline);
    if (!greeting) return fail("QMP greeting: " + greeting.error().message);
    auto caps = q.execute("qmp_capabilities", Json(), deadline);
    if (!caps) return caps.error();
    return q;
}

Result<Json> Qmp::read_reply(Deadline deadline) {
    while (true) {
        auto line = sock_.read_line(deadline);
        if (!line) return line.error();
        auto msg = parse_json(*line);
        if (!msg) continue;  // a partial line from an earlier client; skip it
        if (msg->has("event")) {
            events_.push_back(std::move(*msg));
            continue;
        }
        if (msg->has("error")) {
            const Json& e = (*msg)["error"];
            return fail(e["class"].as_string() + ": " + e["desc"].as_string());
        }
        if (msg->has("return")) return Json((*msg)["return"]);
    }
}

Result<Json> Qmp::execute(const std::string& command, const Json& arguments, Deadline deadline) {
    Json req = Json::object();
    req.set("execute", Json::string(command));
    if (!arguments.is_null()) req.set("arguments", arguments);
    if (auto st = sock_.send_all(req.dump() + "\n", deadline); !st) return st.error();
    return read_reply(deadline);
}

Status Qmp::execute_final(const std::string& command, Deadline deadline) {
    auto r = execute(command, Json(), deadline);
    if (!r && r.error().message != "connection closed by QEMU") return r.error();
    return ok();
}

}  // namespace lab
