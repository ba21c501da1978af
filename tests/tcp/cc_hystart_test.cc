// HyStart++ (RFC 9406) as wired into the congestion controllers. hystart_test.cc covers
// the HyStartPlusPlus class alone; these tests check what the owner does with it: that
// CUBIC (as created by name, the way a socket gets it) runs it in the initial slow start,
// that CSS growth is divided by CSS_GROWTH_DIVISOR in the window itself, that a spurious
// CSS goes back to full slow start, and that the end of CSS sets ssthresh = cwnd and hands
// over to congestion avoidance. NewReno runs it only when asked (Linux's reno has no
// HyStart).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "joyride/core/tcp/congestion_control.h"
#include "joyride/core/tcp/cubic.h"
#include "joyride/core/tcp/hystart.h"
#include "joyride/core/tcp/newreno.h"

namespace joyride::core::tcp {
namespace {

using base::Duration;
using base::Instant;
using base::SeqNum;
using Phase = HyStartPlusPlus::Phase;

constexpr uint32_t kMss = 1000;
constexpr Duration kBaseRtt = Duration::millis(100);
// RttThresh for a 100 ms path: 100/8 = 12.5 ms (within [4, 16] ms). 20 ms more is a rise.
constexpr Duration kRisenRtt = Duration::millis(120);

// A bulk sender over a controller: one ACK per MSS, and after each ACK the sender fills
// the window (SND.NXT = SND.UNA + cwnd), so a HyStart++ round (first ACK covering the
// SND.NXT of the round start) is one window of ACKs.
struct Sender {
  Sender(CongestionControl& c, const HyStartPlusPlus& h) : cc(c), hs(h) { cc.init(kMss, now); }

  void ack(std::optional<Duration> rtt) {
    now += Duration::millis(1);
    una += kMss;
    AckSample s;
    s.now = now;
    s.acked_bytes = kMss;
    s.rtt = rtt;
    s.ack = una;
    s.snd_nxt = una + cc.cwnd();
    s.inflight = cc.cwnd();
    cc.on_ack(s);
  }
  // ACKs until HyStart++ closes a round (or, once it is done, one window's worth).
  void round(Duration rtt) {
    const uint64_t start = hs.rounds_completed();
    const uint32_t window = cc.cwnd() / kMss;
    for (uint32_t i = 0; i < 100'000; ++i) {
      ack(rtt);
      if (hs.active() ? hs.rounds_completed() != start : i + 1 >= window) return;
    }
    ADD_FAILURE() << "round never ended";
  }
  // Base-RTT rounds until the window has grown past `segments` (at least one, so that
  // lastRoundMinRTT is the base RTT), then ACKs at the risen RTT until CSS starts, which
  // is mid-round (the 8th sample); returns false if it never does.
  bool enter_css(uint32_t segments) {
    do round(kBaseRtt);
    while (cc.cwnd() < segments * kMss);
    for (int i = 0; i < 10'000 && hs.phase() == Phase::kSlowStart; ++i) ack(kRisenRtt);
    return hs.phase() == Phase::kConservative;
  }

  CongestionControl& cc;
  const HyStartPlusPlus& hs;
  Instant now = Instant::from_nanos(1'000'000'000);
  SeqNum una{1'000};
};

std::unique_ptr<Cubic> cubic_by_name() {
  std::unique_ptr<CongestionControl> cc = make_congestion_control("cubic");
  auto* c = dynamic_cast<Cubic*>(cc.get());
  if (c == nullptr) return nullptr;
  cc.release();
  return std::unique_ptr<Cubic>(c);
}

TEST(CcHyStartTest, CubicEntersCssWhenRttRisesAndGrowsAQuarter) {
  auto cubic = cubic_by_name();
  ASSERT_NE(cubic, nullptr);
  Sender s(*cubic, cubic->hystart());
  ASSERT_TRUE(cubic->hystart().active()) << "CUBIC must run HyStart++ in its first slow start";

  // Flat RTT: plain slow start, one MSS per MSS acked (RFC 5681), no CSS.
  for (int i = 0; i < 3; ++i) s.round(kBaseRtt);
  EXPECT_EQ(cubic->hystart().phase(), Phase::kSlowStart);
  EXPECT_GT(cubic->cwnd(), 80 * kMss);  // more than doubled three times (round one is 11 ACKs)
  uint32_t before = cubic->cwnd();
  s.ack(kBaseRtt);
  EXPECT_EQ(cubic->cwnd(), before + kMss);

  ASSERT_TRUE(s.enter_css(0));
  EXPECT_EQ(cubic->ssthresh(), UINT32_MAX);  // CSS is still slow start (RFC 9406 §4.2)
  EXPECT_TRUE(cubic->in_slow_start());
  // §4.2: in CSS cwnd += acked / CSS_GROWTH_DIVISOR: 250 bytes per 1000-byte ACK.
  before = cubic->cwnd();
  for (int i = 0; i < 4; ++i) s.ack(kRisenRtt);
  EXPECT_EQ(cubic->cwnd(), before + 4 * kMss / HyStartPlusPlus::kCssGrowthDivisor);
}

TEST(CcHyStartTest, CubicLeavesCssForAvoidanceWithSsthreshAtCwnd) {
  auto cubic = cubic_by_name();
  ASSERT_NE(cubic, nullptr);
  Sender s(*cubic, cubic->hystart());
  ASSERT_TRUE(s.enter_css(40));
  // CSS_ROUNDS (5) round ends, the entry round's included: then congestion avoidance with
  // ssthresh = cwnd (§4.2), and HyStart++ is done.
  int rounds = 0;
  while (cubic->hystart().phase() == Phase::kConservative && rounds < 10) {
    s.round(kRisenRtt);
    ++rounds;
  }
  EXPECT_EQ(rounds, 5);
  EXPECT_EQ(cubic->hystart().phase(), Phase::kDone);
  EXPECT_NE(cubic->ssthresh(), UINT32_MAX);
  EXPECT_EQ(cubic->ssthresh(), cubic->cwnd());
  EXPECT_FALSE(cubic->in_slow_start());

  // Now CUBIC's avoidance: no W_max (no loss), so K = 0 from this window (RFC 9438
  // §4.10), and a 1-MSS ACK grows the window by far less than an MSS.
  const uint32_t exit_cwnd = cubic->cwnd();
  s.ack(kRisenRtt);
  EXPECT_TRUE(cubic->epoch_started());
  EXPECT_EQ(cubic->k_seconds(), 0);
  EXPECT_LT(cubic->cwnd() - exit_cwnd, kMss / 4);
  // And stays there even if the RTT falls back: HyStart++ is over.
  for (int i = 0; i < 3; ++i) s.round(kBaseRtt);
  EXPECT_FALSE(cubic->in_slow_start());
}

TEST(CcHyStartTest, CubicResumesSlowStartWhenTheRiseWasSpurious) {
  auto cubic = cubic_by_name();
  ASSERT_NE(cubic, nullptr);
  Sender s(*cubic, cubic->hystart());
  ASSERT_TRUE(s.enter_css(40));
  // A round whose minimum is below the CSS baseline (the RTT that triggered CSS): the
  // rise was jitter, back to slow start (§4.2).
  s.round(kBaseRtt);
  EXPECT_EQ(cubic->hystart().phase(), Phase::kSlowStart);
  EXPECT_EQ(cubic->ssthresh(), UINT32_MAX);
  // Full slow-start growth again: one MSS per MSS acked.
  const uint32_t before = cubic->cwnd();
  s.ack(kBaseRtt);
  EXPECT_EQ(cubic->cwnd(), before + kMss);
}

TEST(CcHyStartTest, CubicWithoutHyStartIgnoresRttRise) {
  // The switch the socket does not use, shown so that the tests above are about HyStart++:
  // without it the same RTT rise changes nothing.
  Cubic cubic(/*use_hystart=*/false);
  Sender s(cubic, cubic.hystart());
  EXPECT_FALSE(cubic.hystart().active());
  for (int i = 0; i < 3; ++i) s.round(kBaseRtt);
  for (int i = 0; i < 8; ++i) s.round(kRisenRtt);
  EXPECT_EQ(cubic.ssthresh(), UINT32_MAX);
  EXPECT_EQ(cubic.cwnd(), (10u << 11) * kMss);  // doubled every round
}

TEST(CcHyStartTest, NewRenoByNameDoesNotUseHyStart) {
  std::unique_ptr<CongestionControl> cc = make_congestion_control("newreno");
  auto* reno = dynamic_cast<NewReno*>(cc.get());
  ASSERT_NE(reno, nullptr);
  Sender s(*reno, reno->hystart());
  EXPECT_FALSE(reno->hystart().active());
  for (int i = 0; i < 3; ++i) s.round(kBaseRtt);
  for (int i = 0; i < 8; ++i) s.round(kRisenRtt);
  // Plain slow start until a loss: doubling every window regardless of delay.
  EXPECT_EQ(reno->ssthresh(), UINT32_MAX);
  EXPECT_EQ(reno->cwnd(), (10u << 11) * kMss);
}

TEST(CcHyStartTest, NewRenoWithHyStartExitsThroughCss) {
  NewReno reno(/*use_hystart=*/true);
  Sender s(reno, reno.hystart());
  ASSERT_TRUE(reno.hystart().active());
  ASSERT_TRUE(s.enter_css(40));
  uint32_t before = reno.cwnd();
  for (int i = 0; i < 4; ++i) s.ack(kRisenRtt);
  EXPECT_EQ(reno.cwnd(), before + kMss);  // 4 MSS acked / 4
  while (reno.hystart().phase() == Phase::kConservative) s.round(kRisenRtt);
  EXPECT_EQ(reno.ssthresh(), reno.cwnd());
  EXPECT_FALSE(reno.in_slow_start());
}

TEST(CcHyStartTest, HyStartOnlyInTheInitialSlowStart) {
  // After a loss ssthresh is finite: later slow starts (after a timeout) stop at it and
  // do not run HyStart++ again (RFC 9406 §4.2: initial slow start only).
  auto cubic = cubic_by_name();
  ASSERT_NE(cubic, nullptr);
  Sender s(*cubic, cubic->hystart());
  s.round(kBaseRtt);
  cubic->on_timeout(s.now, cubic->cwnd());
  EXPECT_FALSE(cubic->hystart().active());
  const uint32_t ssthresh = cubic->ssthresh();
  for (int i = 0; i < 10 && cubic->in_slow_start(); ++i) s.round(kRisenRtt);
  EXPECT_EQ(cubic->ssthresh(), ssthresh);
}

}  // namespace
}  // namespace joyride::core::tcp
