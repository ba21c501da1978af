// Monotonic time as plain values. Nothing in base/, wire/, buf/ or core/ reads a
// clock: the host (service, simulator, test) passes `now` in. Both types count
// nanoseconds in a signed 64-bit integer (292 years either way).
#pragma once

#include <compare>
#include <cstdint>
#include <limits>

namespace joyride::base {

class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration nanos(int64_t n) { return Duration(n); }
  static constexpr Duration micros(int64_t n) { return Duration(n * 1'000); }
  static constexpr Duration millis(int64_t n) { return Duration(n * 1'000'000); }
  static constexpr Duration seconds(int64_t n) { return Duration(n * 1'000'000'000); }
  static constexpr Duration zero() { return Duration(0); }
  static constexpr Duration max() { return Duration(std::numeric_limits<int64_t>::max()); }

  constexpr int64_t as_nanos() const { return ns_; }
  constexpr int64_t as_micros() const { return ns_ / 1'000; }
  constexpr int64_t as_millis() const { return ns_ / 1'000'000; }
  constexpr double as_seconds() const { return static_cast<double>(ns_) / 1e9; }

  constexpr Duration operator+(Duration o) const { return Duration(ns_ + o.ns_); }
  constexpr Duration operator-(Duration o) const { return Duration(ns_ - o.ns_); }
  constexpr Duration operator*(int64_t k) const { return Duration(ns_ * k); }
  constexpr Duration operator/(int64_t k) const { return Duration(ns_ / k); }
  constexpr Duration& operator+=(Duration o) { ns_ += o.ns_; return *this; }
  constexpr Duration& operator-=(Duration o) { ns_ -= o.ns_; return *this; }
  constexpr auto operator<=>(const Duration&) const = default;

 private:
  constexpr explicit Duration(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

class Instant {
 public:
  constexpr Instant() = default;
  static constexpr Instant from_nanos(int64_t n) { return Instant(n); }
  // A deadline that never comes: what next_deadline() returns when nothing is pending.
  static constexpr Instant never() { return Instant(std::numeric_limits<int64_t>::max()); }

  constexpr int64_t as_nanos() const { return ns_; }
  constexpr bool is_never() const { return ns_ == std::numeric_limits<int64_t>::max(); }

  constexpr Instant operator+(Duration d) const {
    if (is_never()) return *this;
    return Instant(ns_ + d.as_nanos());
  }
  constexpr Instant operator-(Duration d) const { return Instant(ns_ - d.as_nanos()); }
  constexpr Duration operator-(Instant o) const { return Duration::nanos(ns_ - o.ns_); }
  constexpr Instant& operator+=(Duration d) { *this = *this + d; return *this; }
  constexpr auto operator<=>(const Instant&) const = default;

 private:
  constexpr explicit Instant(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

constexpr Instant earliest(Instant a, Instant b) { return a < b ? a : b; }

}  // namespace joyride::base
