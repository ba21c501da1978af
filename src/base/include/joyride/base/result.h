// Result<T, E>: a value or a small error enum, for operations on the packet path
// where exceptions are not used. (std::expected is C++23; this is the subset we need.)
#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace joyride::base {

template <typename E>
struct Err {
  E error;
};
template <typename E>
Err(E) -> Err<E>;

template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Err<E> e) : v_(std::in_place_index<1>, e.error) {}           // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return *std::get_if<0>(&v_); }
  const T& value() const& { assert(ok()); return *std::get_if<0>(&v_); }
  T&& value() && { assert(ok()); return std::move(*std::get_if<0>(&v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  E error() const { assert(!ok()); return *std::get_if<1>(&v_); }

 private:
  std::variant<T, E> v_;
};

// Result of an operation that yields nothing on success.
template <typename E>
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Err<E> e) : failed_(true), e_(e.error) {}  // NOLINT: implicit by design
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  E error() const { assert(failed_); return e_; }

 private:
  bool failed_ = false;
  E e_{};
};

}  // namespace joyride::base
