#include "joyride/base/counters.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace joyride::base {
namespace {

enum class TestCounter : uint8_t { kRxPackets, kDropBadChecksum, kDropTooShort, kCount };

constexpr std::array<std::string_view, 3> counter_names(TestCounter) {
  return {"rx_packets", "drop_bad_checksum", "drop_too_short"};
}

static_assert(CounterEnum<TestCounter>);
static_assert(CounterSet<TestCounter>::kSize == 3);

TEST(CounterSetTest, StartsAtZeroAndIncrements) {
  CounterSet<TestCounter> c;
  EXPECT_EQ(c.get(TestCounter::kRxPackets), 0u);
  c.inc(TestCounter::kRxPackets);
  c.inc(TestCounter::kRxPackets);
  c.inc(TestCounter::kDropTooShort, 40);
  EXPECT_EQ(c.get(TestCounter::kRxPackets), 2u);
  EXPECT_EQ(c[TestCounter::kDropTooShort], 40u);
  EXPECT_EQ(c[TestCounter::kDropBadChecksum], 0u);
}

TEST(CounterSetTest, ForEachVisitsInEnumOrderWithNames) {
  CounterSet<TestCounter> c;
  c.inc(TestCounter::kDropBadChecksum, 7);
  std::vector<std::pair<std::string, uint64_t>> seen;
  c.for_each([&seen](std::string_view name, uint64_t v) { seen.emplace_back(std::string(name), v); });
  const std::vector<std::pair<std::string, uint64_t>> expected = {
      {"rx_packets", 0}, {"drop_bad_checksum", 7}, {"drop_too_short", 0}};
  EXPECT_EQ(seen, expected);
}

TEST(CounterSetTest, ResetClearsAll) {
  CounterSet<TestCounter> c;
  c.inc(TestCounter::kRxPackets, 3);
  c.inc(TestCounter::kDropTooShort);
  c.reset();
  c.for_each([](std::string_view, uint64_t v) { EXPECT_EQ(v, 0u); });
}

}  // namespace
}  // namespace joyride::base
