// Named counters. Every drop on the packet path bumps one (no logging there).
//
// A counter set is an enum whose last enumerator is kCount, plus a constexpr
// `counter_names(E)` found by argument-dependent lookup that returns the names in
// enum order:
//
//   enum class Ipv4Counter : uint8_t { kRxPackets, kDropBadChecksum, kCount };
//   constexpr std::array<std::string_view, 2> counter_names(Ipv4Counter) {
//     return {"rx_packets", "drop_bad_checksum"};
//   }
//   CounterSet<Ipv4Counter> c; c.inc(Ipv4Counter::kDropBadChecksum);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace joyride::base {

template <typename E>
concept CounterEnum = requires {
  E::kCount;
  counter_names(E{});
};

template <CounterEnum E>
class CounterSet {
 public:
  static constexpr size_t kSize = static_cast<size_t>(E::kCount);
  static_assert(counter_names(E{}).size() == kSize, "counter_names must name every counter");

  void inc(E e, uint64_t n = 1) { values_[static_cast<size_t>(e)] += n; }
  uint64_t get(E e) const { return values_[static_cast<size_t>(e)]; }
  uint64_t operator[](E e) const { return get(e); }
  void reset() { values_ = {}; }

  // f(std::string_view name, uint64_t value) for every counter, in enum order.
  template <typename F>
  void for_each(F&& f) const {
    constexpr auto names = counter_names(E{});
    for (size_t i = 0; i < kSize; ++i) f(names[i], values_[i]);
  }

 private:
  std::array<uint64_t, kSize> values_{};
};

}  // namespace joyride::base
