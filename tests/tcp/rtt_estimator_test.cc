#include "joyride/core/tcp/rtt_estimator.h"

#include <gtest/gtest.h>

namespace joyride::core::tcp {
namespace {

using base::Duration;
using base::Instant;

constexpr Instant kT0 = Instant::from_nanos(5'000'000'000);
Instant at_s(int64_t s) { return kT0 + Duration::seconds(s); }
Duration ms(int64_t n) { return Duration::millis(n); }
Duration us(int64_t n) { return Duration::micros(n); }

TEST(RttEstimatorTest, BeforeAnySampleUsesInitialRto) {
  RttEstimator e;
  EXPECT_FALSE(e.has_sample());
  EXPECT_EQ(e.rto(), Duration::seconds(1));
  EXPECT_EQ(e.base_rto(), Duration::seconds(1));
  EXPECT_EQ(e.min_rtt(), Duration::max());
  EXPECT_EQ(e.backoffs(), 0u);

  RttEstimator custom(Duration::seconds(3));
  EXPECT_EQ(custom.rto(), Duration::seconds(3));
}

TEST(RttEstimatorTest, FirstSampleSetsSrttAndHalfVariance) {
  // RFC 6298 §2.2: SRTT = R, RTTVAR = R/2; RTO = 100 + max(4*50, 200) = 300 ms.
  RttEstimator e;
  e.on_sample(ms(100), kT0);
  EXPECT_TRUE(e.has_sample());
  EXPECT_EQ(e.srtt(), ms(100));
  EXPECT_EQ(e.rttvar(), ms(50));
  EXPECT_EQ(e.latest_rtt(), ms(100));
  EXPECT_EQ(e.min_rtt(), ms(100));
  EXPECT_EQ(e.rto(), ms(300));
}

TEST(RttEstimatorTest, SubsequentSamplesSmoothWithAlphaAndBeta) {
  // RFC 6298 §2.3, rttvar computed from the old srtt:
  //   rttvar = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 ms
  //   srtt   = 7/8 * 100 + 1/8 * 200      = 112.5 ms
  //   rto    = 112.5 + max(250, 200)      = 362.5 ms
  RttEstimator e;
  e.on_sample(ms(100), kT0);
  e.on_sample(ms(200), kT0 + ms(100));
  EXPECT_EQ(e.rttvar(), us(62'500));
  EXPECT_EQ(e.srtt(), us(112'500));
  EXPECT_EQ(e.rto(), us(362'500));
  EXPECT_EQ(e.latest_rtt(), ms(200));
  EXPECT_EQ(e.min_rtt(), ms(100));

  // A sample equal to srtt shrinks only the variance.
  e.on_sample(us(112'500), kT0 + ms(200));
  EXPECT_EQ(e.srtt(), us(112'500));
  EXPECT_EQ(e.rttvar(), us(46'875));
}

TEST(RttEstimatorTest, VarianceTermFlooredAtMinRto) {
  struct Case {
    const char* name;
    Duration sample;
    Duration want_rto;
  };
  const Case cases[] = {
      // srtt + max(4*rttvar, 200 ms): on a LAN the floor dominates.
      {"lan", us(100), us(100) + ms(200)},
      {"zero", Duration::zero(), ms(200)},
      {"variance_just_above_floor", ms(101), ms(101) + ms(202)},
      // 100 s + 200 s is clamped at 120 s.
      {"huge", Duration::seconds(100), Duration::seconds(120)},
  };
  for (const Case& c : cases) {
    RttEstimator e;
    e.on_sample(c.sample, kT0);
    EXPECT_EQ(e.rto(), c.want_rto) << c.name;
  }

  // A steady path: rttvar decays towards zero, rto towards srtt + min_rto.
  RttEstimator e;
  for (int i = 0; i < 200; ++i) e.on_sample(ms(10), kT0 + ms(10 * i));
  EXPECT_EQ(e.srtt(), ms(10));
  EXPECT_LT(e.rttvar(), us(1));
  EXPECT_EQ(e.rto(), ms(210));
}

TEST(RttEstimatorTest, CustomBounds) {
  RttEstimator e(Duration::seconds(1), ms(5), Duration::seconds(2));
  e.on_sample(ms(1), kT0);
  EXPECT_EQ(e.rto(), ms(6));  // 1 + max(2, 5)
  e.on_sample(Duration::seconds(10), kT0 + ms(1));
  EXPECT_EQ(e.rto(), Duration::seconds(2));
}

TEST(RttEstimatorTest, NegativeSampleIgnored) {
  RttEstimator e;
  e.on_sample(ms(-5), kT0);
  EXPECT_FALSE(e.has_sample());
  e.on_sample(ms(40), kT0);
  e.on_sample(ms(-5), kT0);
  EXPECT_EQ(e.srtt(), ms(40));
  EXPECT_EQ(e.latest_rtt(), ms(40));
}

TEST(RttEstimatorTest, AbsurdSampleClampedNotOverflowed) {
  RttEstimator e;
  e.on_sample(Duration::max(), kT0);
  EXPECT_EQ(e.srtt(), RttEstimator::kMaxSample);
  EXPECT_EQ(e.rto(), Duration::seconds(120));
  e.on_sample(Duration::max(), kT0 + ms(1));
  EXPECT_EQ(e.rto(), Duration::seconds(120));
}

TEST(RttEstimatorTest, BackoffDoublesAndCapsAtMax) {
  RttEstimator e;
  e.on_sample(ms(100), kT0);  // base 300 ms
  const Duration want[] = {ms(600),  ms(1200),  ms(2400),  ms(4800),  ms(9600),
                           ms(19200), ms(38400), ms(76800), Duration::seconds(120),
                           Duration::seconds(120)};
  for (uint32_t i = 0; i < std::size(want); ++i) {
    e.backoff();
    EXPECT_EQ(e.backoffs(), i + 1);
    EXPECT_EQ(e.rto(), want[i]) << "after " << i + 1 << " backoffs";
    EXPECT_EQ(e.base_rto(), ms(300));
  }
  // Many more backoffs (retry counting) never overflow the timeout.
  for (int i = 0; i < 100; ++i) e.backoff();
  EXPECT_EQ(e.backoffs(), 110u);
  EXPECT_EQ(e.rto(), Duration::seconds(120));

  e.reset_backoff();
  EXPECT_EQ(e.backoffs(), 0u);
  EXPECT_EQ(e.rto(), ms(300));
}

TEST(RttEstimatorTest, BackoffBeforeFirstSampleDoublesInitialRto) {
  // RFC 6298 §5.5 applies to the SYN's timer too.
  RttEstimator e;
  e.backoff();
  e.backoff();
  EXPECT_EQ(e.rto(), Duration::seconds(4));
}

TEST(RttEstimatorTest, SampleKeepsBackoffUntilReset) {
  RttEstimator e;
  e.on_sample(ms(100), kT0);
  e.backoff();
  e.on_sample(ms(100), kT0 + ms(1));
  EXPECT_EQ(e.backoffs(), 1u);
  EXPECT_EQ(e.rto(), e.base_rto() * 2);
}

TEST(RttEstimatorTest, MinRttTakesLowerSampleAtOnce) {
  RttEstimator e;
  e.on_sample(ms(50), at_s(0));
  e.on_sample(ms(70), at_s(1));
  EXPECT_EQ(e.min_rtt(), ms(50));
  e.on_sample(ms(20), at_s(2));
  EXPECT_EQ(e.min_rtt(), ms(20));
  e.on_sample(ms(20), at_s(3));
  EXPECT_EQ(e.min_rtt(), ms(20));
}

TEST(RttEstimatorTest, MinRttExpiresAfterWindow) {
  // 10 ms once, then 50 ms every second: the 10 ms sample counts for 300 s, not longer.
  RttEstimator e;
  e.on_sample(ms(10), at_s(0));
  for (int s = 1; s <= 300; ++s) {
    e.on_sample(ms(50), at_s(s));
    ASSERT_EQ(e.min_rtt(), ms(10)) << "at " << s << " s";
  }
  e.on_sample(ms(50), at_s(301));
  EXPECT_EQ(e.min_rtt(), ms(50));
}

TEST(RttEstimatorTest, MinRttFallsBackToBestRecentSample) {
  // 10 ms at 0, 30 ms at 100 s, 20 ms at 200 s, 50 ms at 301 s: once the 10 ms sample
  // expires the minimum of the last 300 s is 20 ms.
  RttEstimator e;
  e.on_sample(ms(10), at_s(0));
  e.on_sample(ms(30), at_s(100));
  e.on_sample(ms(20), at_s(200));
  EXPECT_EQ(e.min_rtt(), ms(10));
  e.on_sample(ms(50), at_s(301));
  EXPECT_EQ(e.min_rtt(), ms(20));
  // ...and that one expires at 500 s, leaving the 50 ms sample.
  e.on_sample(ms(60), at_s(501));
  EXPECT_EQ(e.min_rtt(), ms(50));
}

TEST(RttEstimatorTest, MinRttRestartsAfterSilenceLongerThanWindow) {
  RttEstimator e;
  e.on_sample(ms(10), at_s(0));
  e.on_sample(ms(80), at_s(400));
  EXPECT_EQ(e.min_rtt(), ms(80));
}

// Linux lib/win_minmax.c, minmax_running_min / minmax_subwin_update with the 300 s
// window of tcp_update_rtt_min: a new minimum or an empty window resets all three
// choices; a choice expires only when strictly older than the window ("dt > win"); a
// quarter of the window without a distinct 2nd choice takes one, half a window without
// a distinct 3rd takes one; and on expiry "we may have to iterate this since our 2nd
// choice may also be outside the window". Each step's expected minimum is what that
// code gives for the same samples.
TEST(RttEstimatorTest, MinRttFollowsLinuxMinmaxOnExactSequences) {
  struct Step {
    int64_t at_s;
    int64_t rtt_ms;
    int64_t min_ms;
  };
  auto run = [](std::initializer_list<Step> steps) {
    RttEstimator e;
    for (const Step& st : steps) {
      e.on_sample(ms(st.rtt_ms), at_s(st.at_s));
      EXPECT_EQ(e.min_rtt(), ms(st.min_ms)) << "after the sample at " << st.at_s << " s";
    }
  };
  // The 2nd choice (40 ms, taken at 80 s by the quarter rule) and the best both leave
  // the window at 390 s: two promotions, to the 3rd choice (50 ms at 160 s, taken by
  // the half rule). At exactly 300 s the 10 ms sample still counts.
  run({{0, 10, 10}, {80, 40, 10}, {160, 50, 10}, {300, 70, 10}, {390, 60, 50}, {461, 55, 55}});
  // The best expires at 301 s while the quarter-window choice (40 ms at 80 s) is still
  // inside: it takes over, then expires at 381 s in favour of the 50 ms one.
  run({{0, 10, 10}, {80, 40, 10}, {160, 50, 10}, {300, 70, 10}, {301, 70, 40}, {381, 65, 50}, {461, 75, 65}});
}

TEST(RttEstimatorTest, MinRttNeverBelowTrueWindowedMinimum) {
  // Rising RTTs (a filling queue): whatever the filter keeps must be a sample taken in
  // the last 300 s, so never lower than the true windowed minimum.
  RttEstimator e;
  for (int s = 0; s < 2000; ++s) {
    const Duration rtt = ms(10 + (s % 700));  // rises for 700 s, then drops back
    e.on_sample(rtt, at_s(s));
    Duration true_min = Duration::max();
    for (int k = std::max(0, s - 300); k <= s; ++k) true_min = std::min(true_min, ms(10 + (k % 700)));
    ASSERT_GE(e.min_rtt(), true_min) << "at " << s << " s";
    ASSERT_LE(e.min_rtt(), rtt) << "at " << s << " s";
  }
}

}  // namespace
}  // namespace joyride::core::tcp
