#include "joyride/base/time.h"

#include <gtest/gtest.h>

namespace joyride::base {
namespace {

TEST(DurationTest, UnitsConvert) {
  EXPECT_EQ(Duration::micros(3).as_nanos(), 3'000);
  EXPECT_EQ(Duration::millis(3).as_nanos(), 3'000'000);
  EXPECT_EQ(Duration::seconds(3).as_nanos(), 3'000'000'000);
  EXPECT_EQ(Duration::seconds(2).as_millis(), 2'000);
  EXPECT_EQ(Duration::millis(2).as_micros(), 2'000);
  EXPECT_EQ(Duration::nanos(1'999'999).as_millis(), 1);  // truncates
  EXPECT_DOUBLE_EQ(Duration::millis(1500).as_seconds(), 1.5);
  EXPECT_EQ(Duration::zero().as_nanos(), 0);
  EXPECT_EQ(Duration().as_nanos(), 0);
}

TEST(DurationTest, Arithmetic) {
  EXPECT_EQ(Duration::millis(1) + Duration::micros(500), Duration::micros(1500));
  EXPECT_EQ(Duration::millis(1) - Duration::millis(3), Duration::millis(-2));
  EXPECT_EQ(Duration::millis(3) * 4, Duration::millis(12));
  EXPECT_EQ(Duration::millis(12) / 4, Duration::millis(3));
  Duration d = Duration::seconds(1);
  d += Duration::millis(250);
  EXPECT_EQ(d, Duration::millis(1250));
  d -= Duration::millis(1250);
  EXPECT_EQ(d, Duration::zero());
  EXPECT_LT(Duration::micros(999), Duration::millis(1));
  EXPECT_GT(Duration::max(), Duration::seconds(86400LL * 365 * 100));
}

TEST(InstantTest, Arithmetic) {
  const Instant t = Instant::from_nanos(1'000);
  EXPECT_EQ((t + Duration::nanos(5)).as_nanos(), 1'005);
  EXPECT_EQ((t - Duration::nanos(5)).as_nanos(), 995);
  EXPECT_EQ((t + Duration::millis(2)) - t, Duration::millis(2));
  EXPECT_EQ(t - (t + Duration::millis(2)), Duration::millis(-2));
  Instant u = t;
  u += Duration::micros(1);
  EXPECT_EQ(u.as_nanos(), 2'000);
  EXPECT_LT(t, u);
  EXPECT_EQ(earliest(t, u), t);
  EXPECT_EQ(earliest(u, t), t);
  EXPECT_EQ(Instant().as_nanos(), 0);
}

TEST(InstantTest, NeverIsAbsorbingAndLatest) {
  const Instant never = Instant::never();
  EXPECT_TRUE(never.is_never());
  EXPECT_FALSE(Instant::from_nanos(0).is_never());
  EXPECT_EQ(never + Duration::seconds(10), never);  // no overflow
  Instant n = never;
  n += Duration::max();
  EXPECT_TRUE(n.is_never());
  EXPECT_GT(never, Instant::from_nanos(INT64_MAX - 1));
  EXPECT_EQ(earliest(never, Instant::from_nanos(7)), Instant::from_nanos(7));
  EXPECT_EQ(earliest(never, never), never);
}

TEST(InstantTest, NegativeInstantsOrder) {
  EXPECT_LT(Instant::from_nanos(-5), Instant::from_nanos(0));
  EXPECT_EQ(Instant::from_nanos(-5) - Instant::from_nanos(5), Duration::nanos(-10));
}

}  // namespace
}  // namespace joyride::base
