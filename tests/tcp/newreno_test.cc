// NewReno's window arithmetic driven directly (RFC 5681 §3.1 with RFC 3465 byte
// counting). Slow start: cwnd += min(acked, 2*SMSS) per ACK, up to ssthresh.
// Congestion avoidance: one SMSS each time a cwnd's worth of bytes has been acked, which
// is Linux's tcp_cong_avoid_ai(w = cwnd) counted in bytes instead of ACKs.
#include "joyride/core/tcp/newreno.h"

#include <gtest/gtest.h>

namespace joyride::core::tcp {
namespace {

using base::Duration;
using base::Instant;
using base::SeqNum;

constexpr uint32_t kMss = 1000;

class NewRenoTest : public ::testing::Test {
 protected:
  void SetUp() override { cc_.init(kMss, now_); }

  void ack(uint32_t bytes, bool app_limited = false) {
    now_ += Duration::millis(1);
    una_ += bytes;
    AckSample s;
    s.now = now_;
    s.acked_bytes = bytes;
    s.rtt = Duration::millis(10);
    s.ack = una_;
    s.snd_nxt = una_ + cc_.cwnd();
    s.inflight = cc_.cwnd();
    s.app_limited = app_limited;
    cc_.on_ack(s);
  }
  // Into congestion avoidance at `segments`: a loss at twice that, then the end of
  // recovery (cwnd = ssthresh = FlightSize / 2).
  void avoidance_at(uint32_t segments) {
    cc_.set_cwnd(2 * segments * kMss);
    cc_.on_loss(now_, 2 * segments * kMss);
    cc_.on_recovery_end(now_);
    ASSERT_EQ(cc_.cwnd(), segments * kMss);
    ASSERT_FALSE(cc_.in_slow_start());
  }

  NewReno cc_;
  Instant now_ = Instant::from_nanos(1'000'000'000);
  SeqNum una_{77};
};

TEST_F(NewRenoTest, SlowStartGrowsByBytesAckedCappedAtTwoSegments) {
  EXPECT_EQ(cc_.cwnd(), 10 * kMss);  // IW 10 (RFC 6928, as Linux)
  EXPECT_TRUE(cc_.in_slow_start());
  ack(kMss);
  EXPECT_EQ(cc_.cwnd(), 11 * kMss);
  ack(300);  // byte counting: a partial segment grows the window by what it acked
  EXPECT_EQ(cc_.cwnd(), 11 * kMss + 300);
  ack(5 * kMss);  // a stretch ACK: at most L = 2 segments (RFC 3465 §2.2)
  EXPECT_EQ(cc_.cwnd(), 13 * kMss + 300);
  ack(kMss, /*app_limited=*/true);  // not cwnd-limited: no growth
  EXPECT_EQ(cc_.cwnd(), 13 * kMss + 300);
  // A window of 1-MSS ACKs doubles the window (one RTT of slow start).
  const uint32_t w = cc_.cwnd();
  for (uint32_t acked = 0; acked < w; acked += kMss) ack(kMss);
  EXPECT_GE(cc_.cwnd(), 2 * w - kMss);
  EXPECT_LE(cc_.cwnd(), 2 * w + kMss);
}

TEST_F(NewRenoTest, SlowStartStopsAtSsthreshAndTheRestCountsForAvoidance) {
  cc_.set_cwnd(20 * kMss);
  cc_.on_timeout(now_, 20 * kMss);  // ssthresh = 10 segments, cwnd = 1 (loss window)
  ASSERT_EQ(cc_.ssthresh(), 10 * kMss);
  ASSERT_EQ(cc_.cwnd(), kMss);
  for (int i = 0; i < 8; ++i) ack(kMss);
  ASSERT_EQ(cc_.cwnd(), 9 * kMss);
  ack(2 * kMss);  // one segment to reach ssthresh, one left over for avoidance
  EXPECT_EQ(cc_.cwnd(), 10 * kMss);
  EXPECT_EQ(cc_.bytes_acked(), kMss);
}

TEST_F(NewRenoTest, AvoidanceAddsOneSegmentPerWindowAcked) {
  avoidance_at(10);
  // RFC 5681 §3.1 / RFC 3465 §2.1: cwnd grows by one SMSS once cwnd bytes are acked.
  for (int i = 0; i < 9; ++i) ack(kMss);
  EXPECT_EQ(cc_.cwnd(), 10 * kMss) << "no growth before a whole window is acked";
  EXPECT_EQ(cc_.bytes_acked(), 9 * kMss);
  ack(kMss);
  EXPECT_EQ(cc_.cwnd(), 11 * kMss);
  EXPECT_EQ(cc_.bytes_acked(), 0u);
  // The next step takes 11 segments' worth, and so on: after N windows cwnd is
  // 10 + N segments (linear, one segment per RTT).
  for (int i = 0; i < 10; ++i) ack(kMss);
  EXPECT_EQ(cc_.cwnd(), 11 * kMss);
  ack(kMss);
  EXPECT_EQ(cc_.cwnd(), 12 * kMss);
  uint32_t acks = 0;
  while (cc_.cwnd() < 20 * kMss && acks < 1000) {
    ack(kMss);
    ++acks;
  }
  // From 12 to 20 segments: 12 + 13 + ... + 19 = 124 one-MSS ACKs.
  EXPECT_EQ(acks, 124u);
}

TEST_F(NewRenoTest, AvoidanceCountsBytesNotAcks) {
  avoidance_at(10);
  // Delayed ACKs (2 segments each) or small ACKs do not change the rate: growth follows
  // bytes (RFC 3465 §2.1), the remainder carried to the next step.
  for (int i = 0; i < 5; ++i) ack(2 * kMss);
  EXPECT_EQ(cc_.cwnd(), 11 * kMss);
  for (int i = 0; i < 110; ++i) ack(100);
  EXPECT_EQ(cc_.cwnd(), 12 * kMss);
  ack(1500);
  ack(1500);  // 3000 bytes into a 12000-byte step
  EXPECT_EQ(cc_.bytes_acked(), 3000u);
}

TEST_F(NewRenoTest, AStretchAckCoveringSeveralWindowsAddsOneSegment) {
  avoidance_at(10);
  // At most one SMSS per ACK (RFC 3465 §2.1 "by up to SMSS bytes"); the counter keeps
  // less than one window. Linux's tcp_cong_avoid_ai would add 3 here (delta = cnt / w).
  ack(35 * kMss);
  EXPECT_EQ(cc_.cwnd(), 11 * kMss);
  EXPECT_LE(cc_.bytes_acked(), 10 * kMss);
}

TEST_F(NewRenoTest, LossHalvesFlightSizeAndTimeoutGoesToOneSegment) {
  cc_.set_cwnd(40 * kMss);
  cc_.on_loss(now_, 30 * kMss);  // RFC 5681 eq. 4: FlightSize / 2
  EXPECT_EQ(cc_.ssthresh(), 15 * kMss);
  EXPECT_EQ(cc_.cwnd(), 15 * kMss);
  cc_.on_loss(now_, 3 * kMss);  // never below 2 segments
  EXPECT_EQ(cc_.ssthresh(), 2 * kMss);
  cc_.set_cwnd(40 * kMss);
  cc_.on_timeout(now_, 40 * kMss);
  EXPECT_EQ(cc_.ssthresh(), 20 * kMss);
  EXPECT_EQ(cc_.cwnd(), kMss);
}

}  // namespace
}  // namespace joyride::core::tcp
