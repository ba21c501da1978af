#include "joyride/core/tcp/isn.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>

#include "joyride/base/random.h"
#include "joyride/base/seq.h"

namespace joyride::core::tcp {
namespace {

using base::Duration;
using base::Instant;
using wire::Ipv4Address;

constexpr FourTuple kTuple{Ipv4Address::from_octets(10, 0, 0, 1), Ipv4Address::from_octets(10, 0, 0, 2),
                           40000, 80};
constexpr Instant kT0 = Instant::from_nanos(1'000'000'000'000);  // a multiple of 4 µs

TEST(IsnGeneratorTest, AdvancesOncePerFourMicroseconds) {
  base::SeededRandom random(1);
  const IsnGenerator gen(random);
  const uint32_t base_isn = gen.isn(kTuple, kT0);
  struct Case {
    Duration after;
    uint32_t ticks;
  };
  const Case cases[] = {
      {Duration::zero(), 0},
      {Duration::nanos(3'999), 0},  // still inside the first tick
      {Duration::micros(4), 1},
      {Duration::nanos(7'999), 1},
      {Duration::micros(8), 2},
      {Duration::millis(1), 250},
      {Duration::seconds(1), 250'000},
      {Duration::seconds(3600), 900'000'000},
      // 2^32 ticks: the clock has wrapped exactly once.
      {Duration::micros(4) * (int64_t{1} << 32), 0},
      {Duration::micros(4) * ((int64_t{1} << 32) + 5), 5},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(gen.isn(kTuple, kT0 + c.after) - base_isn, c.ticks) << c.after.as_nanos() << " ns";
  }
  EXPECT_EQ(IsnGenerator::kTick, Duration::micros(4));
}

TEST(IsnGeneratorTest, MonotonicForOneTupleAcrossASecond) {
  base::SeededRandom random(2);
  const IsnGenerator gen(random);
  base::SeqNum prev(gen.isn(kTuple, kT0));
  for (int i = 1; i <= 1000; ++i) {
    const base::SeqNum next(gen.isn(kTuple, kT0 + Duration::millis(i)));
    ASSERT_EQ(next - prev, 250) << i;  // one ms = 250 ticks
    prev = next;
  }
}

TEST(IsnGeneratorTest, TicksStayEvenBeforeTheEpoch) {
  base::SeededRandom random(3);
  const IsnGenerator gen(random);
  const Instant zero = Instant::from_nanos(0);
  const uint32_t at_zero = gen.isn(kTuple, zero);
  EXPECT_EQ(at_zero - gen.isn(kTuple, zero - Duration::nanos(1)), 1u);
  EXPECT_EQ(at_zero - gen.isn(kTuple, zero - Duration::micros(4)), 1u);
  EXPECT_EQ(at_zero - gen.isn(kTuple, zero - Duration::nanos(4'001)), 2u);
}

TEST(IsnGeneratorTest, EveryTupleFieldChangesTheIsn) {
  base::SeededRandom random(4);
  const IsnGenerator gen(random);
  FourTuple variants[6] = {kTuple, kTuple, kTuple, kTuple, kTuple, kTuple};
  variants[0].local = Ipv4Address::from_octets(10, 0, 0, 3);
  variants[1].remote = Ipv4Address::from_octets(10, 0, 0, 3);
  variants[2].local_port = 40001;
  variants[3].remote_port = 81;
  variants[4] = FourTuple{kTuple.remote, kTuple.local, kTuple.remote_port, kTuple.local_port};  // reversed
  variants[5] = FourTuple{kTuple.local, kTuple.remote, kTuple.remote_port, kTuple.local_port};  // ports swapped
  const uint32_t base_isn = gen.isn(kTuple, kT0);
  std::set<uint32_t> seen = {base_isn};
  for (const FourTuple& v : variants) seen.insert(gen.isn(v, kT0));
  EXPECT_EQ(seen.size(), 7u);
}

TEST(IsnGeneratorTest, IsnsOfManyTuplesSpreadOverTheSpace) {
  base::SeededRandom random(5);
  const IsnGenerator gen(random);
  std::set<uint32_t> seen;
  std::array<int, 16> top_nibble{};
  for (uint16_t port = 1; port <= 4096; ++port) {
    FourTuple t = kTuple;
    t.local_port = port;
    const uint32_t isn = gen.isn(t, kT0);
    seen.insert(isn);
    ++top_nibble[isn >> 28];
  }
  EXPECT_EQ(seen.size(), 4096u);
  // 256 expected per bucket; a 32-bit F that ignored the port, or a weak mix, would not.
  for (int n : top_nibble) {
    EXPECT_GT(n, 180);
    EXPECT_LT(n, 340);
  }
}

TEST(IsnGeneratorTest, KeyComesFromTheRandomSource) {
  base::SeededRandom r1(100);
  base::SeededRandom r1_again(100);
  base::SeededRandom r2(200);
  const IsnGenerator a(r1);
  const IsnGenerator a_again(r1_again);
  const IsnGenerator b(r2);
  EXPECT_EQ(a.isn(kTuple, kT0), a_again.isn(kTuple, kT0));  // a seeded run replays
  EXPECT_NE(a.isn(kTuple, kT0), b.isn(kTuple, kT0));
  EXPECT_NE(a.ts_offset(kTuple), b.ts_offset(kTuple));
  // The difference between two keys is not a constant shift.
  FourTuple other = kTuple;
  other.remote_port = 443;
  EXPECT_NE(a.isn(kTuple, kT0) - b.isn(kTuple, kT0), a.isn(other, kT0) - b.isn(other, kT0));
}

TEST(IsnGeneratorTest, TsOffsetIsPerFourTuple) {
  // RFC 7323 §7.1: one offset per connection, stable for its 4-tuple (PAWS across a
  // TIME-WAIT reuse), different for every other tuple, ports included.
  base::SeededRandom random(6);
  const IsnGenerator gen(random);
  const Ipv4Address a = Ipv4Address::from_octets(192, 0, 2, 1);
  const Ipv4Address b = Ipv4Address::from_octets(192, 0, 2, 2);
  const Ipv4Address c = Ipv4Address::from_octets(198, 51, 100, 7);
  const FourTuple ab{a, b, 5000, 80};
  const uint32_t offset = gen.ts_offset(ab);
  EXPECT_EQ(gen.ts_offset(ab), offset);
  std::set<uint32_t> seen = {offset,
                             gen.ts_offset(FourTuple{a, b, 5001, 80}),
                             gen.ts_offset(FourTuple{a, b, 5000, 81}),
                             gen.ts_offset(FourTuple{b, a, 80, 5000}),
                             gen.ts_offset(FourTuple{a, c, 5000, 80}),
                             gen.ts_offset(FourTuple{c, b, 5000, 80})};
  EXPECT_EQ(seen.size(), 6u);
}

}  // namespace
}  // namespace joyride::core::tcp
