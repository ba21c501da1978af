// HyStart++ (RFC 9406): leave slow start when the RTT starts to rise, before the queue
// overflows, instead of doubling until a burst of losses.
//
// Rounds. A round is one RTT: it starts with windowEnd = SND.NXT and ends with the first
// ACK that covers windowEnd (§4.2). The first round starts at the first ACK seen. Per round
// we keep the minimum RTT; at each round start lastRoundMinRTT = currentRoundMinRTT.
//
// Phases.
//   slow start  --(round min RTT >= last round's + RttThresh, >= N_RTT_SAMPLE samples)-->
//   conservative slow start (CSS): growth divided by CSS_GROWTH_DIVISOR
//   CSS  --(round min RTT < the baseline that triggered CSS: a spurious exit)--> slow start
//   CSS  --(CSS_ROUNDS round ends, the partial entry round included)--> done: the owner
//        sets ssthresh = cwnd and goes to congestion avoidance.
// RttThresh = clamp(lastRoundMinRTT / MIN_RTT_DIVISOR, MIN_RTT_THRESH, MAX_RTT_THRESH).
//
// This class only watches RTTs and rounds and says which phase the sender is in; the
// congestion controller owns cwnd (congestion_control.h, slow_start()). Per §4.2 it is
// used for the initial slow start only (while ssthresh is still infinite): after a loss
// the owner calls stop() and later slow starts use the ssthresh they found.
//
// Per-ACK growth limit L. The RFC recommends L = infinity when paced and L = 8 when not.
// We do not pace, and the owner already caps slow-start growth at 2 segments per ACK
// (appropriate byte counting, RFC 3465), which is stricter than L = 8, so no separate L.
//
// ACKs from an application-limited sender are not fed in (the owner skips them): they
// neither count toward CSS_ROUNDS nor supply samples, so a request/response connection
// with jittery RTTs cannot be pinned to a small ssthresh while it is not using its window.
#pragma once

#include <cstdint>
#include <optional>

#include "joyride/base/seq.h"
#include "joyride/base/time.h"

namespace joyride::core::tcp {

class HyStartPlusPlus {
 public:
  // §4.3 recommended constants.
  static constexpr base::Duration kMinRttThresh = base::Duration::millis(4);
  static constexpr base::Duration kMaxRttThresh = base::Duration::millis(16);
  static constexpr int64_t kMinRttDivisor = 8;
  static constexpr uint32_t kNRttSample = 8;
  static constexpr uint32_t kCssGrowthDivisor = 4;
  static constexpr uint32_t kCssRounds = 5;

  enum class Phase : uint8_t { kSlowStart, kConservative, kDone };
  enum class Event : uint8_t {
    kNone,
    kEnterCss,         // RTT rose: growth is now divided by kCssGrowthDivisor
    kResumeSlowStart,  // RTT fell below the CSS baseline: the exit was spurious
    kExitSlowStart,    // CSS_ROUNDS rounds in CSS: owner sets ssthresh = cwnd
  };

  // Starts (or restarts) HyStart++ for a slow start from scratch.
  void reset();
  // Stops watching (a congestion event, or slow start ended otherwise).
  void stop() { phase_ = Phase::kDone; }

  // One ACK in slow start, after the owner has grown cwnd for it. `ack` is the
  // cumulative ACK after it, `snd_nxt` the highest sequence sent + 1.
  Event on_ack(base::SeqNum ack, base::SeqNum snd_nxt, std::optional<base::Duration> rtt);

  // Slow-start growth for `bytes` already capped by the per-ACK limit: all of it in slow
  // start, 1/kCssGrowthDivisor of it in CSS (the remainder is carried, not lost).
  uint32_t growth(uint32_t bytes);

  Phase phase() const { return phase_; }
  bool active() const { return phase_ != Phase::kDone; }
  // Diagnostics and tests. Duration::max() stands for "infinity" (no sample).
  base::Duration last_round_min_rtt() const { return last_round_min_rtt_; }
  base::Duration current_round_min_rtt() const { return current_round_min_rtt_; }
  base::Duration css_baseline_min_rtt() const { return css_baseline_min_rtt_; }
  uint32_t rtt_sample_count() const { return rtt_sample_count_; }
  uint32_t css_rounds() const { return css_rounds_; }
  uint64_t rounds_completed() const { return rounds_completed_; }
  // Rtt threshold for the delay-increase test given the last round's minimum.
  static base::Duration rtt_threshold(base::Duration last_round_min_rtt);

 private:
  static constexpr base::Duration kInfinity = base::Duration::max();

  Event check_rtt();
  Event end_round(base::SeqNum snd_nxt);

  Phase phase_ = Phase::kSlowStart;
  std::optional<base::SeqNum> window_end_;  // unset until the first ACK starts round one
  base::Duration last_round_min_rtt_ = kInfinity;
  base::Duration current_round_min_rtt_ = kInfinity;
  base::Duration css_baseline_min_rtt_ = kInfinity;
  uint32_t rtt_sample_count_ = 0;
  uint32_t css_rounds_ = 0;      // round ends seen in CSS, the entry round included
  uint32_t css_remainder_ = 0;   // bytes of CSS growth not yet divided into cwnd
  uint64_t rounds_completed_ = 0;
};

}  // namespace joyride::core::tcp
