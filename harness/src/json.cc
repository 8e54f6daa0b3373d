#include "json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace lab {

Json Json::boolean(bool b) {
    Json j;
    j.kind_ = Kind::Bool;
    j.bool_ = b;
    return j;
}

Json Json::number(int64_t n) {
    Json j;
    j.kind_ = Kind::Number;
    j.int_ = n;
    j.real_ = static_cast<double>(n);
    return j;
}

Json Json::string(std::string s) {
    Json j;
    j.kind_ = Kind::String;
    j.str_ = std::move(s);
    return j;
}

Json Json::array() {
    Json j;
    j.kind_ = Kind::Array;
    return j;
}

Json Json::object() {
    Json j;
    j.kind_ = Kind::Object;
    return j;
}

const Json& Json::operator[](std::string_view key) const {
    static const Json null_value;
    if (kind_ != Kind::Object) return null_value;
    for (size_t i = 0; i < keys_.size(); ++i) {
        if (keys_[i] == key) return values_[i];
    }
    return null_value;
}

bool Json::has(std::string_view key) const {
    if (kind_ != Kind::Object) return false;
    for (const auto& k : keys_) {
        if (k == key) return true;
    }
    return false;
}

bool Json::as_bool(bool fallback) const {
    return kind_ == Kind::Bool ? bool_ : fallback;
}
int64_t Json::as_int(int64_t fallback) const {
    return kind_ == Kind::Number ? int_ : fallback;
}

const std::string& Json::as_string() const {
    static const std::string empty;
    return kind_ == Kind::String ? str_ : empty;
}

Json& Json::set(std::string key, Json value) {
    kind_ = Kind::Object;
    keys_.push_back(std::move(key));
    values_.push_back(std::move(value));
    return *this;
}

Json& Json::push(Json value) {
    kind_ = Kind::Array;
    values_.push_back(std::move(value));
    return *this;
}

std::string json_escape(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

std::string Json::dump() const {
    switch (kind_) {
        case Kind::Null:
            return "null";
        case Kind::Bool:
            return bool_ ? "true" : "false";
        case Kind::Number:
            if (real_ == static_cast<double>(int_)) return std::to_string(int_);
            return std::to_string(real_);
        case Kind::String:
            return json_escape(str_);
        case Kind::Array: {
            std::string out = "[";
            for (size_t i = 0; i < values_.size(); ++i) out += (i ? "," : "") + values_[i].dump();
            return out + "]";
        }
        case Kind::Object: {
            std::string out = "{";
            for (size_t i = 0; i < keys_.size(); ++i) {
                out += (i ? "," : "") + json_escape(keys_[i]) + ":" + values_[i].dump();
            }
            return out + "}";
        }
    }
    return "null";
}

// Recursive-descent parser over a string_view; positions are kept in pos_.
class JsonParser {
  public:
    explicit JsonParser(std::string_view text) : text_(text) {}

    Result<Json> parse_document() {
        auto v = parse_value(0);
        if (!v) return v;
        skip_space();
        if (pos_ != text_.size()) return error("trailing characters");
        return v;
    }

  private:
    static constexpr int kMaxDepth = 64;

    Error error(const char* what) const {
        return fail("JSON: " + std::string(what) + " at offset " + std::to_string(pos_));
    }

    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                       text_[pos_] == '\r' || text_[pos_] == '\t')) {
            ++pos_;
        }
    }

    bool consume(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    Result<Json> parse_value(int depth) {
        if (depth > kMaxDepth) return error("nesting too deep");
        skip_space();
        if (pos_ >= text_.size()) return error("unexpected end");
        char c = text_[pos_];
        if (c == '{') return parse_object(depth);
        if (c == '[') return parse_array(depth);
        if (c == '"') {
            auto s = parse_string();
            if (!s) return s.error();
            return Json::string(std::move(*s));
        }
        if (consume("true")) return Json::boolean(true);
        if (consume("false")) return Json::boolean(false);
        if (consume("null")) return Json();
        return parse_number();
    }

    Result<Json> parse_number() {
        size_t start = pos_;
        while (pos_ < text_.size() &&
               std::string_view("+-0123456789.eE").find(text_[pos_]) != std::string_view::npos) {
            ++pos_;
        }
        if (start == pos_) return error("unexpected character");
        std::string num(text_.substr(start, pos_ - start));
        Json j;
        j.kind_ = Json::Kind::Number;
        j.real_ = std::strtod(num.c_str(), nullptr);
        j.int_ = std::strtoll(num.c_str(), nullptr, 10);
        return j;
    }

    Result<Json> parse_array(int depth) {
        ++pos_;
        Json arr = Json::array();
        skip_space();
        if (consume("]")) return arr;
        while (true) {
            auto v = parse_value(depth + 1);
            if (!v) return v;
            arr.push(std::move(*v));
            skip_space();
            if (consume("]")) return arr;
            if (!consume(",")) return error("expected , or ]");
        }
    }

    Result<Json> parse_object(int depth) {
        ++pos_;
        Json obj = Json::object();
        skip_space();
        if (consume("}")) return obj;
        while (true) {
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != '"') return error("expected key");
            auto key = parse_string();
            if (!key) return key.error();
            skip_space();
            if (!consume(":")) return error("expected :");
            auto v = parse_value(depth + 1);
            if (!v) return v;
            obj.set(std::move(*key), std::move(*v));
            skip_space();
            if (consume("}")) return obj;
            if (!consume(",")) return error("expected , or }");
        }
    }

    static void append_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    Result<std::string> parse_string() {
        ++pos_;
        std::string out;
        while (pos_ < text_.size()) {
            char c = text_[pos_++];
            if (c == '"') return out;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= text_.size()) break;
            char e = text_[pos_++];
            switch (e) {
                case 'n':
                    out += '\n';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'u': {
                    if (pos_ + 4 > text_.size()) return error("short \\u escape");
                    std::string hex(text_.substr(pos_, 4));
                    pos_ += 4;
                    append_utf8(out, static_cast<unsigned>(std::strtoul(hex.c_str(), nullptr, 16)));
                    break;
                }
                default:
                    out += e;
            }
        }
        return error("unterminated string");
    }

    std::string_view text_;
    size_t pos_ = 0;
};

Result<Json> parse_json(std::string_view text) {
    return JsonParser(text).parse_document();
}

}  // namespace lab
