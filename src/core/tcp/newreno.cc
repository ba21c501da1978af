#include "joyride/core/tcp/newreno.h"

#include <algorithm>

namespace joyride::core::tcp {

void NewReno::init(uint32_t mss, base::Instant) {
  reset_window(mss);
  hystart_.reset();
  if (!use_hystart_) hystart_.stop();
  bytes_acked_ = 0;
}

void NewReno::set_mss(uint32_t mss) {
  const double factor = rescale_window(mss);
  bytes_acked_ = static_cast<uint32_t>(std::min<double>(bytes_acked_ * factor, cwnd_));
}

void NewReno::on_ack(const AckSample& s) {
  if (cwnd_ == 0 || s.acked_bytes == 0 || s.app_limited) return;
  uint32_t acked = s.acked_bytes;
  if (in_slow_start()) {
    HyStartPlusPlus* hs = hystart_running() ? &hystart_ : nullptr;
    acked = slow_start(acked, hs);
    if (hs != nullptr && hs->on_ack(s.ack, s.snd_nxt, s.rtt) == HyStartPlusPlus::Event::kExitSlowStart) {
      ssthresh_ = cwnd_;
    }
    if (acked == 0) return;
  }
  // RFC 3465 §2.1. One increment per ACK even if a huge stretch ACK covers several
  // windows (RFC 5681: at most one SMSS per RTT); the counter stays below cwnd.
  bytes_acked_ += acked;
  if (bytes_acked_ >= cwnd_) {
    bytes_acked_ = std::min(bytes_acked_ - cwnd_, cwnd_);
    cwnd_ = std::min(cwnd_ + mss_, kMaxCwnd);
  }
}

void NewReno::reduce(uint32_t inflight) {
  // RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS).
  ssthresh_ = std::max(inflight / 2, 2 * mss_);
  bytes_acked_ = 0;
  hystart_.stop();
}

void NewReno::on_loss(base::Instant, uint32_t inflight) {
  reduce(inflight);
  cwnd_ = ssthresh_;
}

void NewReno::on_recovery_end(base::Instant) {
  // RFC 6582 §3.2 step 3 allows cwnd = ssthresh or min(ssthresh, FlightSize + SMSS);
  // Linux (tcp_end_cwnd_reduction) uses ssthresh, so do we.
  if (ssthresh_ != UINT32_MAX) cwnd_ = ssthresh_;
}

void NewReno::on_timeout(base::Instant, uint32_t inflight) {
  reduce(inflight);
  cwnd_ = mss_;  // loss window: one segment
}

void NewReno::on_idle_restart(base::Instant) {
  restart_window();
  bytes_acked_ = 0;
  if (hystart_running()) hystart_.reset();
}

}  // namespace joyride::core::tcp
