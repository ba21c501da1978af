#include "joyride/core/tcp/hystart.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>

namespace joyride::core::tcp {
namespace {

using base::Duration;
using base::SeqNum;
using Event = HyStartPlusPlus::Event;
using Phase = HyStartPlusPlus::Phase;

constexpr uint32_t kMss = 1000;

Duration ms(int64_t n) { return Duration::millis(n); }
Duration us(int64_t n) { return Duration::micros(n); }

// A sender keeping `window` segments in flight, one ACK per segment: after each ACK
// SND.NXT = SND.UNA + window. The first ACK opens round one (window + 1 ACKs long, since
// it starts one segment in); every later round is `window` ACKs.
struct Driver {
  explicit Driver(uint32_t window_segments, SeqNum start = SeqNum(1'000'000))
      : window(window_segments), una(start) {}

  Event ack(std::optional<Duration> rtt) {
    una += kMss;
    return h.on_ack(una, una + window * kMss, rtt);
  }

  // ACKs until the current round ends; rtt_of(i) gives the i-th ACK's sample. Returns the
  // last event other than kNone seen in the round.
  Event round(const std::function<std::optional<Duration>(int)>& rtt_of) {
    const uint64_t start = h.rounds_completed();
    Event last = Event::kNone;
    for (int i = 0; h.rounds_completed() == start; ++i) {
      const Event e = ack(rtt_of(i));
      if (e != Event::kNone) last = e;
      if (i > 100'000) {
        ADD_FAILURE() << "round never ended";
        break;
      }
    }
    return last;
  }
  Event round(Duration rtt) {
    return round([rtt](int) { return std::optional<Duration>(rtt); });
  }

  HyStartPlusPlus h;
  uint32_t window;
  SeqNum una;
};

TEST(HyStartTest, Rfc9406Constants) {
  EXPECT_EQ(HyStartPlusPlus::kMinRttThresh, ms(4));
  EXPECT_EQ(HyStartPlusPlus::kMaxRttThresh, ms(16));
  EXPECT_EQ(HyStartPlusPlus::kMinRttDivisor, 8);
  EXPECT_EQ(HyStartPlusPlus::kNRttSample, 8u);
  EXPECT_EQ(HyStartPlusPlus::kCssGrowthDivisor, 4u);
  EXPECT_EQ(HyStartPlusPlus::kCssRounds, 5u);
}

TEST(HyStartTest, RttThresholdIsAnEighthClampedTo4And16Ms) {
  struct Case {
    Duration last_min;
    Duration want;
  };
  const Case cases[] = {
      {ms(1), ms(4)},     {ms(10), ms(4)},   {ms(32), ms(4)},   {ms(40), ms(5)},
      {ms(64), ms(8)},    {ms(100), us(12'500)}, {ms(128), ms(16)}, {ms(500), ms(16)},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(HyStartPlusPlus::rtt_threshold(c.last_min), c.want) << c.last_min.as_micros() << " us";
  }
}

TEST(HyStartTest, RoundsFollowSndNxt) {
  Driver d(10);
  EXPECT_EQ(d.h.phase(), Phase::kSlowStart);
  // Round one: 11 ACKs (it starts at the first ACK, one segment into the window).
  for (int i = 0; i < 10; ++i) d.ack(ms(50));
  EXPECT_EQ(d.h.rounds_completed(), 0u);
  EXPECT_EQ(d.h.rtt_sample_count(), 10u);
  d.ack(ms(50));
  EXPECT_EQ(d.h.rounds_completed(), 1u);
  EXPECT_EQ(d.h.last_round_min_rtt(), ms(50));
  EXPECT_EQ(d.h.rtt_sample_count(), 0u);
  // Later rounds: exactly one window of ACKs.
  for (int i = 0; i < 9; ++i) d.ack(ms(60));
  EXPECT_EQ(d.h.rounds_completed(), 1u);
  EXPECT_EQ(d.h.current_round_min_rtt(), ms(60));
  d.ack(ms(60));
  EXPECT_EQ(d.h.rounds_completed(), 2u);
  EXPECT_EQ(d.h.last_round_min_rtt(), ms(60));
}

TEST(HyStartTest, FlatRttNeverLeavesSlowStart) {
  Driver d(20);
  for (int r = 0; r < 50; ++r) EXPECT_EQ(d.round(ms(50)), Event::kNone);
  EXPECT_EQ(d.h.phase(), Phase::kSlowStart);
  EXPECT_EQ(d.h.rounds_completed(), 50u);
}

TEST(HyStartTest, JitterBelowThresholdNeverLeavesSlowStart) {
  // Threshold at 50 ms is 6.25 ms; round minima alternating 50 and 56 ms stay under it.
  Driver d(20);
  for (int r = 0; r < 40; ++r) EXPECT_EQ(d.round(ms(r % 2 == 0 ? 50 : 56)), Event::kNone);
  EXPECT_EQ(d.h.phase(), Phase::kSlowStart);
}

TEST(HyStartTest, EntersCssExactlyAtTheThreshold) {
  // last round min 40 ms -> RttThresh = 5 ms; a round min of 45 ms is ">=" and enters CSS,
  // 44.999 ms does not.
  struct Case {
    Duration rtt;
    bool enters;
  };
  for (const Case& c : {Case{ms(45), true}, Case{us(44'999), false}, Case{ms(80), true}}) {
    Driver d(20);
    d.round(ms(40));
    d.round(ms(40));
    EXPECT_EQ(d.round(c.rtt), c.enters ? Event::kEnterCss : Event::kNone) << c.rtt.as_micros();
    EXPECT_EQ(d.h.phase(), c.enters ? Phase::kConservative : Phase::kSlowStart);
    if (c.enters) {
      EXPECT_EQ(d.h.css_baseline_min_rtt(), c.rtt);
    }
  }
}

TEST(HyStartTest, RttRiseEntersCssOnTheEighthSample) {
  Driver d(20);
  d.round(ms(40));
  d.round(ms(40));
  for (uint32_t i = 1; i < HyStartPlusPlus::kNRttSample; ++i) {
    EXPECT_EQ(d.ack(ms(50)), Event::kNone) << i;
  }
  EXPECT_EQ(d.ack(ms(50)), Event::kEnterCss);
  EXPECT_EQ(d.h.phase(), Phase::kConservative);
  EXPECT_EQ(d.h.css_baseline_min_rtt(), ms(50));
}

TEST(HyStartTest, DecisionUsesTheRoundMinimumNotTheLatestSample) {
  Driver d(20);
  d.round(ms(40));
  d.round(ms(40));
  // One 41 ms sample among 60 ms ones: the round's minimum did not rise enough.
  EXPECT_EQ(d.round([](int i) { return std::optional<Duration>(i == 3 ? ms(41) : ms(60)); }), Event::kNone);
  EXPECT_EQ(d.h.phase(), Phase::kSlowStart);
}

TEST(HyStartTest, FewerThanNRttSamplesPerRoundNeverExits) {
  // 7 segments per round: a round never reaches N_RTT_SAMPLE = 8 samples after round one.
  Driver d(7);
  d.round(ms(40));
  for (int r = 0; r < 20; ++r) EXPECT_EQ(d.round(ms(40 + 20 * (r + 1))), Event::kNone);
  EXPECT_EQ(d.h.phase(), Phase::kSlowStart);
}

TEST(HyStartTest, AcksWithoutRttSampleEndRoundsButDoNotCount) {
  Driver d(20);
  d.round(ms(40));
  d.round(ms(40));
  // Karn's rule: every other ACK has no sample, so only 10 samples in this round.
  EXPECT_EQ(d.round([](int i) { return i % 2 ? std::optional<Duration>() : std::optional<Duration>(ms(60)); }),
            Event::kEnterCss);
  EXPECT_EQ(d.h.rounds_completed(), 3u);
  // A round with no samples at all: last round min becomes "infinity", so the next round
  // cannot compare and never enters anything.
  Driver e(20);
  e.round(ms(40));
  e.round([](int) { return std::optional<Duration>(); });
  EXPECT_EQ(e.h.last_round_min_rtt(), Duration::max());
  EXPECT_EQ(e.round(ms(200)), Event::kNone);
  EXPECT_EQ(e.h.phase(), Phase::kSlowStart);
}

TEST(HyStartTest, RttFallBelowBaselineResumesSlowStart) {
  Driver d(20);
  d.round(ms(40));
  EXPECT_EQ(d.round(ms(50)), Event::kEnterCss);
  // Next round at 50 ms again: not below the baseline, stay in CSS.
  EXPECT_EQ(d.round(ms(50)), Event::kNone);
  EXPECT_EQ(d.h.phase(), Phase::kConservative);
  // Back to 45 ms: below the 50 ms baseline once 8 samples are in.
  for (uint32_t i = 1; i < HyStartPlusPlus::kNRttSample; ++i) EXPECT_EQ(d.ack(ms(45)), Event::kNone);
  EXPECT_EQ(d.ack(ms(45)), Event::kResumeSlowStart);
  EXPECT_EQ(d.h.phase(), Phase::kSlowStart);
  EXPECT_EQ(d.h.css_baseline_min_rtt(), Duration::max());
  d.round(ms(45));  // finish that round
  // Slow start "including HyStart++": a later rise enters CSS again.
  EXPECT_EQ(d.round(ms(45)), Event::kNone);
  EXPECT_EQ(d.round(ms(55)), Event::kEnterCss);
  EXPECT_EQ(d.h.css_rounds(), 1u);  // entered mid-round; that round's end counts
}

TEST(HyStartTest, ExitsToCongestionAvoidanceAfterFiveCssRounds) {
  Driver d(20);
  d.round(ms(40));
  // Enters CSS in the middle of this round: the partial round counts (§4.2).
  EXPECT_EQ(d.round(ms(50)), Event::kEnterCss);
  EXPECT_EQ(d.h.css_rounds(), 1u);
  for (uint32_t r = 2; r < HyStartPlusPlus::kCssRounds; ++r) {
    EXPECT_EQ(d.round(ms(52)), Event::kNone) << r;
    EXPECT_EQ(d.h.phase(), Phase::kConservative);
    EXPECT_EQ(d.h.css_rounds(), r);
  }
  EXPECT_EQ(d.round(ms(52)), Event::kExitSlowStart);
  EXPECT_EQ(d.h.phase(), Phase::kDone);
  EXPECT_FALSE(d.h.active());
  // Done: further ACKs do nothing, not even count rounds.
  const uint64_t rounds = d.h.rounds_completed();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(d.ack(ms(10)), Event::kNone);
  EXPECT_EQ(d.h.phase(), Phase::kDone);
  EXPECT_EQ(d.h.rounds_completed(), rounds);
}

TEST(HyStartTest, CssGrowthIsAQuarterWithRemainderCarried) {
  HyStartPlusPlus h;
  EXPECT_EQ(h.growth(2 * kMss), 2 * kMss);  // slow start: all of it
  Driver d(20);
  d.round(ms(40));
  ASSERT_EQ(d.round(ms(50)), Event::kEnterCss);
  EXPECT_EQ(d.h.growth(1000), 250u);
  EXPECT_EQ(d.h.growth(1460), 365u);
  // Single bytes add up: 4 ACKs of 1 byte grow by 1 byte in total.
  uint32_t sum = 0;
  for (int i = 0; i < 4; ++i) sum += d.h.growth(1);
  EXPECT_EQ(sum, 1u);
  uint32_t odd = 0;
  for (int i = 0; i < 4; ++i) odd += d.h.growth(3);
  EXPECT_EQ(odd, 3u);
}

TEST(HyStartTest, StopAndReset) {
  Driver d(20);
  d.round(ms(40));
  d.h.stop();
  EXPECT_EQ(d.h.phase(), Phase::kDone);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(d.ack(ms(100)), Event::kNone);
  d.h.reset();
  EXPECT_EQ(d.h.phase(), Phase::kSlowStart);
  EXPECT_EQ(d.h.rounds_completed(), 0u);
  EXPECT_EQ(d.h.last_round_min_rtt(), Duration::max());
}

TEST(HyStartTest, RoundsAcrossSequenceWrap) {
  Driver d(20, SeqNum(0xFFFF'FFFFu - 15 * kMss));
  d.round(ms(40));
  d.round(ms(40));  // crosses 2^32
  EXPECT_EQ(d.h.rounds_completed(), 2u);
  EXPECT_EQ(d.round(ms(50)), Event::kEnterCss);
  for (int r = 0; r < 3; ++r) d.round(ms(50));
  EXPECT_EQ(d.round(ms(50)), Event::kExitSlowStart);
}

}  // namespace
}  // namespace joyride::core::tcp
