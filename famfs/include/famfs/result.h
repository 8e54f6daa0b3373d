// Errors are values: every library path returns a Result carrying either a
// value or an Error (errno-style code + a message that names the object and
// the reason). The CLI turns Errors into the message and exit status.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace famfs {

struct Error {
    int code = EINVAL;  // positive errno value
    std::string message;
};

inline Error make_error(int code, std::string message) {
    return Error{code, std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}  // NOLINT

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }

  private:
    Error error_;
    bool ok_ = true;
};

using Status = Result<void>;

// Propagate an error from an expression returning Result<...>.
#define FAMFS_TRY(expr)                                           \
    do {                                                          \
        auto famfs_try_result_ = (expr);                          \
        if (!famfs_try_result_) return famfs_try_result_.error(); \
    } while (0)

}  // namespace famfs
