// CUBIC's window arithmetic (RFC 9438) driven directly, one ACK at a time, against
// values the test computes itself from the RFC's equations (in segments; the
// implementation keeps bytes). Before these tests only the exact-match netsim snapshot
// noticed a change to the curve, and it could not say which rule moved.
//
// Rounding. cwnd is a whole number of bytes: each ACK floors the new window and carries
// the fraction (< 1 byte) to the next ACK. An expected window computed in doubles is
// therefore matched to within 1 byte; quantities the implementation keeps in doubles
// (W_max, W_est, K) are matched to within floating-point noise.
#include "joyride/core/tcp/cubic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace joyride::core::tcp {
namespace {

using base::Duration;
using base::Instant;
using base::SeqNum;

constexpr uint32_t kMss = 1000;
constexpr double kC = 0.4;     // RFC 9438 §5.1
constexpr double kBeta = 0.7;  // RFC 9438 §4.6
constexpr Duration kRtt = Duration::millis(100);

// The expected-value side, straight from the RFC (segments, seconds).
double rfc_k(double w_max, double cwnd_epoch) { return std::cbrt((w_max - cwnd_epoch) / kC); }  // eq. 2
double rfc_w_cubic(double t, double k, double w_max) { return kC * std::pow(t - k, 3) + w_max; }  // eq. 1
constexpr double kAlphaCubic = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);                               // eq. 4

Instant at(double seconds) { return Instant::from_nanos(static_cast<int64_t>(seconds * 1e9)); }

class CubicTest : public ::testing::Test {
 protected:
  // An ACK of `bytes` with an RTT sample, `seconds` into the test.
  void ack(double seconds, uint32_t bytes, bool app_limited = false) {
    una_ += bytes;
    AckSample s;
    s.now = at(seconds);
    s.acked_bytes = bytes;
    s.rtt = kRtt;
    s.ack = una_;
    s.snd_nxt = una_ + cc_.cwnd();
    s.inflight = cc_.cwnd();
    s.app_limited = app_limited;
    cc_.on_ack(s);
  }

  // The state most tests start from: a loss at a window of `segments`, all in flight.
  void loss_at(uint32_t segments, double seconds = 0) {
    cc_.set_cwnd(segments * kMss);
    cc_.on_loss(at(seconds), segments * kMss);
  }

  double cwnd_segments() const { return static_cast<double>(cc_.cwnd()) / kMss; }

  Cubic cc_;
  SeqNum una_{5000};
  void SetUp() override { cc_.init(kMss, at(0)); }
};

TEST_F(CubicTest, LossMultipliesFlightSizeByBetaAndRemembersWmax) {
  loss_at(100);
  // §4.6: ssthresh = flight_size * beta, cwnd = ssthresh; W_max = cwnd before (§4.7,
  // no earlier W_max so no fast convergence).
  EXPECT_EQ(cc_.ssthresh(), static_cast<uint32_t>(100 * kBeta * kMss));
  EXPECT_EQ(cc_.cwnd(), cc_.ssthresh());
  EXPECT_DOUBLE_EQ(cc_.w_max(), 100.0 * kMss);
  EXPECT_DOUBLE_EQ(cc_.cwnd_prior(), 100.0 * kMss);
  // A loss also ends HyStart++ for good (RFC 9406 §4.2: initial slow start only).
  EXPECT_FALSE(cc_.hystart().active());
}

TEST_F(CubicTest, LossUsesFlightSizeNotCwndAndFloorsAtTwoSegments) {
  cc_.set_cwnd(100 * kMss);
  cc_.on_loss(at(0), 40 * kMss);  // application-limited: only 40 segments were out
  EXPECT_EQ(cc_.ssthresh(), static_cast<uint32_t>(40 * kBeta * kMss));
  // W_max is still the window, not the flight size (RFC 9438 §4.6 sets W_max = cwnd).
  EXPECT_DOUBLE_EQ(cc_.w_max(), 100.0 * kMss);

  cc_.set_cwnd(2 * kMss);
  cc_.on_loss(at(1), 2 * kMss);  // 2 * 0.7 = 1.4 segments: the 2-segment floor applies
  EXPECT_EQ(cc_.ssthresh(), 2 * kMss);
  EXPECT_EQ(cc_.cwnd(), 2 * kMss);
}

TEST_F(CubicTest, FastConvergenceLowersWmaxWhenTheWindowShrank) {
  loss_at(100);
  // Second loss below the previous W_max (100): §4.7 W_max = cwnd * (1 + beta) / 2.
  loss_at(80, 1);
  EXPECT_DOUBLE_EQ(cc_.w_max(), 80.0 * (1.0 + kBeta) / 2.0 * kMss);
  EXPECT_DOUBLE_EQ(cc_.cwnd_prior(), 80.0 * kMss);
  EXPECT_EQ(cc_.ssthresh(), static_cast<uint32_t>(80 * kBeta * kMss));
  // A loss at or above the previous W_max keeps the window as W_max.
  loss_at(120, 2);
  EXPECT_DOUBLE_EQ(cc_.w_max(), 120.0 * kMss);
}

TEST_F(CubicTest, KAndTheCurveFollowEquationsOneAndTwo) {
  loss_at(100);
  ASSERT_FALSE(cc_.epoch_started());
  // The first avoidance ACK starts the epoch at cwnd_epoch = 70 segments; 1 byte keeps
  // its own growth negligible (< 1 byte).
  ack(0, 1);
  ASSERT_TRUE(cc_.epoch_started());
  const double w_max = 100, k = rfc_k(w_max, 70);
  // cwnd_epoch = beta * W_max, so eq. 2's K = cbrt(W_max (1 - beta) / C) = cbrt(75) s.
  EXPECT_NEAR(k, std::cbrt(w_max * (1 - kBeta) / kC), 1e-12);
  EXPECT_NEAR(cc_.k_seconds(), k, 1e-9);
  for (double t : {0.0, 1.0, 2.5, k, 6.0}) {
    EXPECT_NEAR(cc_.w_cubic(t) / kMss, rfc_w_cubic(t, k, w_max), 1e-9) << "t=" << t;
  }
  EXPECT_NEAR(cc_.w_cubic(k), w_max * kMss, 1e-6);  // the plateau is at W_max

  // An ACK for a whole window moves cwnd all the way to the target W_cubic(t + RTT)
  // (§4.4/§4.5: cwnd += (target - cwnd) / cwnd per segment, times cwnd segments). Sample
  // the concave side, the plateau and the convex side. One ACK per sample keeps W_est
  // near cwnd_epoch (+0.53 segment per ACK), far below the curve, so this is the
  // CUBIC region throughout.
  const double rtt = kRtt.as_seconds();
  for (double t : {1.0, 2.0, 3.0, 4.0, k, 5.0, 6.0, 6.5}) {
    const double before = cwnd_segments();
    const double target = std::clamp(rfc_w_cubic(t + rtt, k, w_max), before, 1.5 * before);
    ack(t, cc_.cwnd());
    EXPECT_NEAR(cwnd_segments(), target, 1.0 / kMss) << "t=" << t;
    EXPECT_LT(cc_.w_est(), cc_.w_cubic(t)) << "t=" << t;
  }
  // The last samples are above W_max: the convex (probing) side.
  EXPECT_GT(cwnd_segments(), w_max);
}

TEST_F(CubicTest, PerAckGrowthIsAFractionOfTheDistanceToTheTarget) {
  loss_at(100);
  ack(0, 1);
  const double k = rfc_k(100, 70);
  // One MSS acked at t = 1 s: cwnd grows by (target - cwnd) / cwnd segments (§4.4).
  const double before = cwnd_segments();
  const double target = rfc_w_cubic(1.0 + kRtt.as_seconds(), k, 100);
  ack(1.0, kMss);
  EXPECT_NEAR(cwnd_segments(), before + (target - before) / before, 1.0 / kMss);
}

TEST_F(CubicTest, TargetIsCappedAtOneAndAHalfWindows) {
  // Far past K the curve is way above 1.5 * cwnd: §4.5 caps the target there.
  loss_at(100);
  ack(0, 1);
  const double before = cwnd_segments();
  ASSERT_GT(rfc_w_cubic(20.0, rfc_k(100, 70), 100), 1.5 * before);
  ack(20.0, cc_.cwnd());
  EXPECT_NEAR(cwnd_segments(), 1.5 * before, 1.0 / kMss);
}

TEST_F(CubicTest, RenoFriendlyRegionFollowsEquationFour) {
  // A small window: W_cubic rises slowly, so the Reno estimate leads and sets cwnd.
  loss_at(10);  // W_max = cwnd_prior = 10, cwnd = 7 segments
  ack(0, 1);
  double w_est = 7.0 + kAlphaCubic * 1.0 / kMss / 7.0;
  EXPECT_NEAR(cc_.w_est() / kMss, w_est, 1e-9);
  // §4.3: W_est += alpha_cubic * segments_acked / cwnd while W_est < cwnd_prior; when
  // it is above W_cubic(t), cwnd = W_est. ACKs of one MSS, 1 ms apart: after 0.3 s
  // W_cubic(0.3) ~ 8.2 segments while W_est climbs about one segment per 13 ACKs.
  double t = 0;
  int acks = 0;
  while (w_est < 10.0) {
    t += 0.001;
    const double cwnd = cwnd_segments();
    w_est += kAlphaCubic * 1.0 / cwnd;
    ack(t, kMss);
    ++acks;
    ASSERT_NEAR(cc_.w_est() / kMss, w_est, 1e-9) << "ack " << acks;
    if (cc_.w_cubic(t) < cc_.w_est()) {
      ASSERT_NEAR(cwnd_segments(), w_est, 1.0 / kMss) << "ack " << acks;
    }
    ASSERT_LT(acks, 1000);
  }
  // From 7 to 10 segments at alpha per window: sum over the ACKs of alpha/cwnd ~ 3, so
  // about (10^2 - 7^2) / (2 * alpha) ~ 48 ACKs (W dW = alpha dS), not 3 windows' worth.
  EXPECT_NEAR(acks, (10.0 * 10.0 - 7.0 * 7.0) / (2 * kAlphaCubic), 3);
  EXPECT_GT(cwnd_segments(), cc_.w_cubic(t) / kMss);

  // Past cwnd_prior, alpha = 1 (Reno's own rate).
  const double cwnd = cwnd_segments();
  ack(t + 0.001, kMss);
  EXPECT_NEAR(cc_.w_est() / kMss, w_est + 1.0 / cwnd, 1e-9);
}

TEST_F(CubicTest, TimeoutGoesToOneSegmentAndForgetsWmax) {
  loss_at(50);
  cc_.set_cwnd(100 * kMss);
  cc_.on_timeout(at(1), 100 * kMss);
  // §4.8: ssthresh as for a loss (from flight size), cwnd = 1 segment (RFC 5681 loss
  // window); W_max forgotten so the next epoch starts with K = 0 from its own window.
  EXPECT_EQ(cc_.ssthresh(), static_cast<uint32_t>(100 * kBeta * kMss));
  EXPECT_EQ(cc_.cwnd(), kMss);
  EXPECT_EQ(cc_.w_max(), 0);
  EXPECT_FALSE(cc_.hystart().active());

  // Slow start back to ssthresh, one MSS per ACK: 69 ACKs land exactly on it, so no
  // acked bytes spill over into avoidance before the epoch-starting ACK below.
  double t = 1;
  while (cc_.in_slow_start()) ack(t += 0.001, kMss);
  EXPECT_EQ(cc_.cwnd(), cc_.ssthresh());
  ack(t += 0.001, 1);  // starts the epoch
  EXPECT_EQ(cc_.k_seconds(), 0);
  EXPECT_NEAR(cc_.w_cubic(0), cc_.ssthresh(), 1.0);
  // Convex from the start: W_cubic(1 s) = cwnd_epoch + C segments.
  EXPECT_NEAR(cc_.w_cubic(1.0) - cc_.w_cubic(0), kC * kMss, 1e-6);
}

TEST_F(CubicTest, RecoveryEndSetsCwndToSsthresh) {
  loss_at(100);
  cc_.set_cwnd(30 * kMss);  // PRR took the window down during recovery
  cc_.on_recovery_end(at(1));
  EXPECT_EQ(cc_.cwnd(), static_cast<uint32_t>(100 * kBeta * kMss));
}

TEST_F(CubicTest, AppLimitedTimeIsCutFromTheEpoch) {
  loss_at(100);
  ack(0, 1);
  const double k = rfc_k(100, 70);
  ack(0.5, cc_.cwnd());  // a normal ACK at 0.5 s: t = 0.5
  const uint32_t before = cc_.cwnd();
  // Application-limited from 0.5 s to 2.5 s: no growth, and §5.8 "t MUST NOT include
  // these periods".
  ack(1.5, kMss, /*app_limited=*/true);
  ack(2.5, kMss, /*app_limited=*/true);
  EXPECT_EQ(cc_.cwnd(), before);
  // The next window-sized ACK at 3.0 s sees t = 3.0 - 2.0 = 1.0 s, not 3.0 s.
  const double target = rfc_w_cubic(1.0 + kRtt.as_seconds(), k, 100);
  ASSERT_GT(std::abs(rfc_w_cubic(3.0 + kRtt.as_seconds(), k, 100) - target), 5.0);
  ack(3.0, cc_.cwnd());
  EXPECT_NEAR(cwnd_segments(), target, 1.0 / kMss);
}

}  // namespace
}  // namespace joyride::core::tcp
