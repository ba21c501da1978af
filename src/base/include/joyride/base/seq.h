// 32-bit sequence numbers compared modulo 2^32 (RFC 9293 §3.4, RFC 1982): `a < b`
// means b is ahead of a by less than 2^31. The order is not transitive across more
// than half the space, which is why this is its own type and not a uint32_t.
#pragma once

#include <cstdint>

namespace joyride::base {

class SeqNum {
 public:
  constexpr SeqNum() = default;
  constexpr explicit SeqNum(uint32_t v) : v_(v) {}
  constexpr uint32_t value() const { return v_; }

  constexpr SeqNum operator+(uint32_t n) const { return SeqNum(v_ + n); }
  constexpr SeqNum operator-(uint32_t n) const { return SeqNum(v_ - n); }
  constexpr SeqNum& operator+=(uint32_t n) { v_ += n; return *this; }
  // Signed distance from `o` to this; meaningful when |distance| < 2^31.
  constexpr int32_t operator-(SeqNum o) const { return static_cast<int32_t>(v_ - o.v_); }

  constexpr bool operator==(const SeqNum&) const = default;
  constexpr bool operator<(SeqNum o) const { return (*this - o) < 0; }
  constexpr bool operator<=(SeqNum o) const { return (*this - o) <= 0; }
  constexpr bool operator>(SeqNum o) const { return (*this - o) > 0; }
  constexpr bool operator>=(SeqNum o) const { return (*this - o) >= 0; }

 private:
  uint32_t v_ = 0;
};

constexpr SeqNum seq_max(SeqNum a, SeqNum b) { return a > b ? a : b; }
constexpr SeqNum seq_min(SeqNum a, SeqNum b) { return a < b ? a : b; }
// True when lo <= s < hi in sequence space.
constexpr bool seq_in_window(SeqNum s, SeqNum lo, SeqNum hi) { return lo <= s && s < hi; }

}  // namespace joyride::base
