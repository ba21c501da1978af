#include "joyride/core/tcp/hystart.h"

#include <algorithm>

namespace joyride::core::tcp {

void HyStartPlusPlus::reset() { *this = HyStartPlusPlus(); }

base::Duration HyStartPlusPlus::rtt_threshold(base::Duration last_round_min_rtt) {
  // RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR, MAX_RTT_THRESH)):
  // an eighth of the path's RTT, but at least 4 ms (jitter) and at most 16 ms (long paths
  // would otherwise wait for a huge queue).
  return std::max(kMinRttThresh, std::min(last_round_min_rtt / kMinRttDivisor, kMaxRttThresh));
}

uint32_t HyStartPlusPlus::growth(uint32_t bytes) {
  if (phase_ != Phase::kConservative) return bytes;
  // cwnd += min(N, L*SMSS) / CSS_GROWTH_DIVISOR. Carry the remainder so that small ACKs
  // (one byte, or an MSS not divisible by 4) still add up to a quarter of the bytes.
  const uint64_t total = uint64_t{bytes} + css_remainder_;
  css_remainder_ = static_cast<uint32_t>(total % kCssGrowthDivisor);
  return static_cast<uint32_t>(total / kCssGrowthDivisor);
}

HyStartPlusPlus::Event HyStartPlusPlus::on_ack(base::SeqNum ack, base::SeqNum snd_nxt,
                                               std::optional<base::Duration> rtt) {
  if (phase_ == Phase::kDone) return Event::kNone;
  if (!window_end_) window_end_ = snd_nxt;  // the first ACK starts round one

  Event event = Event::kNone;
  // An ACK without a sample (Karn's rule) still moves rounds but says nothing about delay.
  if (rtt) {
    current_round_min_rtt_ = std::min(current_round_min_rtt_, *rtt);
    ++rtt_sample_count_;
    event = check_rtt();
  }
  // The ACK that covers windowEnd acknowledges the last segment sent before this round
  // started, so its sample belongs to the round it closes; the next round starts now.
  if (ack >= *window_end_) {
    const Event round_event = end_round(snd_nxt);
    if (round_event != Event::kNone) event = round_event;
  }
  return event;
}

HyStartPlusPlus::Event HyStartPlusPlus::check_rtt() {
  if (rtt_sample_count_ < kNRttSample) return Event::kNone;
  if (phase_ == Phase::kSlowStart) {
    // Delay increase: this round's minimum is RttThresh above the last round's.
    if (current_round_min_rtt_ == kInfinity || last_round_min_rtt_ == kInfinity) return Event::kNone;
    if (current_round_min_rtt_ >= last_round_min_rtt_ + rtt_threshold(last_round_min_rtt_)) {
      css_baseline_min_rtt_ = current_round_min_rtt_;
      phase_ = Phase::kConservative;
      css_rounds_ = 0;
      css_remainder_ = 0;
      return Event::kEnterCss;
    }
    return Event::kNone;
  }
  // In CSS: an RTT below the baseline means the rise was jitter, not a queue.
  if (current_round_min_rtt_ < css_baseline_min_rtt_) {
    css_baseline_min_rtt_ = kInfinity;
    phase_ = Phase::kSlowStart;
    css_rounds_ = 0;
    css_remainder_ = 0;
    return Event::kResumeSlowStart;
  }
  return Event::kNone;
}

HyStartPlusPlus::Event HyStartPlusPlus::end_round(base::SeqNum snd_nxt) {
  ++rounds_completed_;
  last_round_min_rtt_ = current_round_min_rtt_;
  current_round_min_rtt_ = kInfinity;
  rtt_sample_count_ = 0;
  window_end_ = snd_nxt;
  if (phase_ == Phase::kConservative && ++css_rounds_ >= kCssRounds) {
    phase_ = Phase::kDone;
    return Event::kExitSlowStart;
  }
  return Event::kNone;
}

}  // namespace joyride::core::tcp
