// A minimal JSON value, parser and writer: enough for QMP and the guest agent
// protocol (both exchange one small JSON object per message).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace lab {

class Json {
  public:
    enum class Kind { Null, Bool, Number, String, Array, Object };

    Json() = default;
    static Json boolean(bool b);
    static Json number(int64_t n);
    static Json string(std::string s);
    static Json array();
    static Json object();

    Kind kind() const { return kind_; }
    bool is_null() const { return kind_ == Kind::Null; }
    bool is_object() const { return kind_ == Kind::Object; }

    // Lookups return a shared null value when the key or type does not match,
    // so protocol code can probe optional fields without checks at each step.
    const Json& operator[](std::string_view key) const;
    bool has(std::string_view key) const;
    const std::vector<Json>& items() const { return values_; }
    const std::vector<std::string>& keys() const { return keys_; }

    bool as_bool(bool fallback = false) const;
    int64_t as_int(int64_t fallback = 0) const;
    const std::string& as_string() const;

    Json& set(std::string key, Json value);
    Json& push(Json value);

    std::string dump() const;

  private:
    friend class JsonParser;
    Kind kind_ = Kind::Null;
    bool bool_ = false;
    int64_t int_ = 0;
    double real_ = 0;
    std::string str_;
    std::vector<std::string> keys_;
    std::vector<Json> values_;
};

Result<Json> parse_json(std::string_view text);
std::string json_escape(std::string_view s);

}  // namespace lab
