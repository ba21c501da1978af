#include "joyride/core/tcp/congestion_control.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "joyride/core/tcp/cubic.h"
#include "joyride/core/tcp/hystart.h"
#include "joyride/core/tcp/newreno.h"

namespace joyride::core::tcp {

void CongestionControl::reset_window(uint32_t mss) {
  mss_ = std::max<uint32_t>(mss, 1);
  cwnd_ = std::min(initial_window(), kMaxCwnd);
  ssthresh_ = UINT32_MAX;
}

double CongestionControl::rescale_window(uint32_t mss) {
  if (mss == 0 || mss == mss_) return 1.0;
  const uint32_t old = mss_;
  mss_ = mss;
  // Round to nearest so that a whole number of segments stays whole.
  auto scale = [&](uint32_t bytes) {
    const uint64_t v = (uint64_t{bytes} * mss + old / 2) / old;
    return static_cast<uint32_t>(std::min<uint64_t>(v, kMaxCwnd));
  };
  cwnd_ = scale(cwnd_);
  if (ssthresh_ != UINT32_MAX) ssthresh_ = scale(ssthresh_);
  return static_cast<double>(mss) / old;
}

uint32_t CongestionControl::slow_start(uint32_t acked_bytes, HyStartPlusPlus* hystart) {
  const uint32_t capped = std::min(acked_bytes, kAbcLimitSegments * mss_);
  const uint32_t grow = hystart != nullptr ? hystart->growth(capped) : capped;
  const uint32_t limit = std::min(ssthresh_, kMaxCwnd);
  if (cwnd_ >= limit) return acked_bytes;
  if (grow < limit - cwnd_) {
    cwnd_ += grow;
    return 0;
  }
  // Slow start reaches ssthresh on this ACK: the bytes beyond what it took to get there
  // go to congestion avoidance. (In CSS ssthresh is infinite, so grow == used here.)
  const uint32_t used = limit - cwnd_;
  cwnd_ = limit;
  return acked_bytes - std::min(acked_bytes, used);
}

void CongestionControl::undo(uint32_t prior_cwnd, uint32_t prior_ssthresh) {
  cwnd_ = std::min(std::max(cwnd_, prior_cwnd), kMaxCwnd);
  ssthresh_ = std::max(ssthresh_, prior_ssthresh);
}

void CongestionControl::restart_window() {
  ssthresh_ = std::max(ssthresh_, cwnd_ / 2 + cwnd_ / 4);
  cwnd_ = std::min(cwnd_, initial_window());
}

namespace {
constexpr std::array<std::string_view, 2> kNames = {"cubic", "newreno"};
}  // namespace

std::unique_ptr<CongestionControl> make_congestion_control(std::string_view name) {
  if (name == "cubic") return std::make_unique<Cubic>();
  if (name == "newreno" || name == "reno") return std::make_unique<NewReno>();
  return nullptr;
}

std::span<const std::string_view> congestion_control_names() { return kNames; }

}  // namespace joyride::core::tcp
