#include "joyride/base/random.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace joyride::base {
namespace {

TEST(SeededRandomTest, SameSeedSameSequence) {
  SeededRandom a(42);
  SeededRandom b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next_u64(), b.next_u64());
}

TEST(SeededRandomTest, DifferentSeedsDiffer) {
  SeededRandom a(1);
  SeededRandom b(2);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += a.next_u64() == b.next_u64();
  EXPECT_EQ(same, 0);
}

TEST(SeededRandomTest, ZeroSeedIsUsable) {
  SeededRandom r(0);
  uint64_t x = 0;
  for (int i = 0; i < 10; ++i) x |= r.next_u64();
  EXPECT_NE(x, 0u);
}

TEST(SeededRandomTest, UniformStaysInBounds) {
  SeededRandom r(7);
  for (uint32_t bound : {1u, 2u, 3u, 10u, 1000u, 0x8000'0001u, 0xFFFF'FFFFu}) {
    for (int i = 0; i < 2000; ++i) ASSERT_LT(r.uniform(bound), bound);
  }
  for (int i = 0; i < 100; ++i) EXPECT_EQ(r.uniform(1), 0u);
}

TEST(SeededRandomTest, UniformRoughlyFlat) {
  SeededRandom r(11);
  constexpr int kBuckets = 10;
  constexpr int kDraws = 100'000;
  std::array<int, kBuckets> counts{};
  for (int i = 0; i < kDraws; ++i) ++counts[r.uniform(kBuckets)];
  for (int c : counts) {
    // Expected 10'000 each; standard deviation about 95.
    EXPECT_GT(c, 9'500);
    EXPECT_LT(c, 10'500);
  }
}

TEST(SeededRandomTest, UniformCoversLargeBound) {
  // A bound that is not a power of two exercises the rejection step.
  SeededRandom r(5);
  const uint32_t bound = 3'000'000'000u;
  int high = 0;
  for (int i = 0; i < 10'000; ++i) high += r.uniform(bound) >= bound / 2;
  EXPECT_GT(high, 4'700);
  EXPECT_LT(high, 5'300);
}

TEST(SeededRandomTest, Chance) {
  SeededRandom r(3);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(r.chance(0.0));
    ASSERT_TRUE(r.chance(1.0));
    ASSERT_FALSE(r.chance(-1.0));
    ASSERT_TRUE(r.chance(2.0));
  }
  int hits = 0;
  for (int i = 0; i < 100'000; ++i) hits += r.chance(0.25);
  EXPECT_GT(hits, 24'000);
  EXPECT_LT(hits, 26'000);
}

TEST(SeededRandomTest, FillIsDeterministicAndCoversOddLengths) {
  SeededRandom a(9);
  SeededRandom b(9);
  std::vector<uint8_t> x(13);
  std::vector<uint8_t> y(13);
  a.fill(x);
  b.fill(y);
  EXPECT_EQ(x, y);
  int nonzero = 0;
  for (uint8_t v : x) nonzero += v != 0;
  EXPECT_GT(nonzero, 6);
  a.fill(std::span<uint8_t>());  // empty is fine
}

TEST(SeededRandomTest, NextU32IsHighHalf) {
  SeededRandom a(21);
  SeededRandom b(21);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u32(), static_cast<uint32_t>(b.next_u64() >> 32));
}

}  // namespace
}  // namespace joyride::base
