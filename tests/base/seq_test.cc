#include "joyride/base/seq.h"

#include <gtest/gtest.h>

namespace joyride::base {
namespace {

TEST(SeqNumTest, OrdinaryComparisons) {
  const SeqNum a(100);
  const SeqNum b(200);
  EXPECT_LT(a, b);
  EXPECT_LE(a, b);
  EXPECT_GT(b, a);
  EXPECT_GE(b, a);
  EXPECT_LE(a, a);
  EXPECT_GE(a, a);
  EXPECT_FALSE(a < a);
  EXPECT_EQ(a, SeqNum(100));
  EXPECT_NE(a, b);
  EXPECT_EQ(b - a, 100);
  EXPECT_EQ(a - b, -100);
}

TEST(SeqNumTest, Wraparound) {
  const SeqNum near_end(0xFFFF'FFF0u);
  const SeqNum wrapped = near_end + 0x20;
  EXPECT_EQ(wrapped.value(), 0x10u);
  EXPECT_LT(near_end, wrapped);
  EXPECT_GT(wrapped, near_end);
  EXPECT_EQ(wrapped - near_end, 0x20);
  EXPECT_EQ(near_end - wrapped, -0x20);
  EXPECT_EQ((wrapped - 0x20u), near_end);
  EXPECT_EQ(SeqNum(0) - 1u, SeqNum(0xFFFF'FFFFu));
  EXPECT_LT(SeqNum(0xFFFF'FFFFu), SeqNum(0));
}

TEST(SeqNumTest, HalfSpaceBoundary) {
  const SeqNum a(0);
  // Less than 2^31 ahead: later.
  EXPECT_LT(a, SeqNum(0x7FFF'FFFFu));
  // More than 2^31 ahead reads as behind.
  EXPECT_GT(a, SeqNum(0x8000'0001u));
  EXPECT_EQ(SeqNum(0x8000'0001u) - a, -0x7FFF'FFFF);
}

TEST(SeqNumTest, CompoundAddAndMinMax) {
  SeqNum s(0xFFFF'FFFEu);
  s += 5;
  EXPECT_EQ(s.value(), 3u);
  EXPECT_EQ(seq_max(SeqNum(0xFFFF'FFFEu), SeqNum(3)), SeqNum(3));
  EXPECT_EQ(seq_min(SeqNum(0xFFFF'FFFEu), SeqNum(3)), SeqNum(0xFFFF'FFFEu));
}

TEST(SeqNumTest, WindowAcrossWrap) {
  const SeqNum lo(0xFFFF'FF00u);
  const SeqNum hi = lo + 0x200;  // wraps
  EXPECT_TRUE(seq_in_window(lo, lo, hi));
  EXPECT_TRUE(seq_in_window(SeqNum(0), lo, hi));
  EXPECT_TRUE(seq_in_window(hi - 1u, lo, hi));
  EXPECT_FALSE(seq_in_window(hi, lo, hi));
  EXPECT_FALSE(seq_in_window(lo - 1u, lo, hi));
  EXPECT_FALSE(seq_in_window(lo, lo, lo));  // empty window
}

static_assert(SeqNum(1) < SeqNum(2));
static_assert(SeqNum(0xFFFF'FFFFu) < SeqNum(0));

}  // namespace
}  // namespace joyride::base
