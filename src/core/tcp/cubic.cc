#include "joyride/core/tcp/cubic.h"

#include <algorithm>
#include <cmath>

namespace joyride::core::tcp {

void Cubic::init(uint32_t mss, base::Instant) {
  reset_window(mss);
  hystart_.reset();
  if (!use_hystart_) hystart_.stop();
  min_rtt_.reset();
  last_ack_.reset();
  epoch_start_.reset();
  w_max_ = cwnd_prior_ = origin_ = k_ = w_est_ = credit_ = 0;
}

void Cubic::set_mss(uint32_t mss) {
  const double f = rescale_window(mss);
  // Segment counts stay the same, so K (seconds) does not change.
  w_max_ *= f;
  cwnd_prior_ *= f;
  origin_ *= f;
  w_est_ *= f;
  credit_ = 0;
}

double Cubic::w_cubic(double t) const {
  const double d = t - k_;
  return kC * d * d * d * mss_ + origin_;
}

void Cubic::on_ack(const AckSample& s) {
  if (s.rtt && (!min_rtt_ || *s.rtt < *min_rtt_)) min_rtt_ = *s.rtt;
  const std::optional<base::Instant> previous = last_ack_;
  last_ack_ = s.now;
  if (cwnd_ == 0 || s.acked_bytes == 0) return;
  if (s.app_limited) {
    // §5.8: the curve's clock stops while the application, not cwnd, limits sending.
    if (epoch_start_ && previous && s.now > *previous) *epoch_start_ += s.now - *previous;
    return;
  }
  uint32_t acked = s.acked_bytes;
  if (in_slow_start()) {
    HyStartPlusPlus* hs = hystart_running() ? &hystart_ : nullptr;
    acked = slow_start(acked, hs);
    if (hs != nullptr && hs->on_ack(s.ack, s.snd_nxt, s.rtt) == HyStartPlusPlus::Event::kExitSlowStart) {
      ssthresh_ = cwnd_;  // RFC 9406 §4.2: enter congestion avoidance at this cwnd
    }
    if (acked == 0) return;
  }
  congestion_avoidance(s.now, acked);
}

void Cubic::start_epoch(base::Instant now) {
  epoch_start_ = now;
  const double cwnd_epoch = cwnd_;
  if (w_max_ > cwnd_epoch) {
    k_ = std::cbrt((w_max_ - cwnd_epoch) / (kC * mss_));
    origin_ = w_max_;
  } else {
    k_ = 0;
    origin_ = cwnd_epoch;
  }
  w_est_ = cwnd_epoch;  // §4.3: W_est starts at cwnd_epoch
  credit_ = 0;
}

void Cubic::congestion_avoidance(base::Instant now, uint32_t acked) {
  if (!epoch_start_) start_epoch(now);
  const double cwnd = cwnd_;
  const double t = (now - *epoch_start_).as_seconds();
  const double rtt = min_rtt_ ? min_rtt_->as_seconds() : 0.0;

  // §4.3 Reno-friendly estimate, alpha = 1 once W_est has reached cwnd_prior.
  const double alpha = (cwnd_prior_ > 0 && w_est_ < cwnd_prior_) ? kAlphaCubic : 1.0;
  w_est_ += alpha * acked * mss_ / cwnd;

  double next;
  if (w_cubic(t) < w_est_) {
    next = std::max(cwnd, w_est_);  // Reno-friendly region: cwnd = W_est
    credit_ = 0;
  } else {
    // §4.4/§4.5: move toward W_cubic(t + RTT), at most 1.5x cwnd, never down.
    const double target = std::clamp(w_cubic(t + rtt), cwnd, 1.5 * cwnd);
    next = cwnd + credit_ + (target - cwnd) * acked / cwnd;
  }
  next = std::min(next, static_cast<double>(kMaxCwnd));
  const double whole = std::floor(next);
  credit_ = next - whole;
  cwnd_ = static_cast<uint32_t>(whole);
}

void Cubic::set_ssthresh_from(uint32_t inflight) {
  // §4.7 fast convergence: a window below the last W_max means a new flow is taking a
  // share; remember less than we had so that the plateau is lower and we yield sooner.
  const double cwnd = cwnd_;
  w_max_ = (cwnd < w_max_) ? cwnd * (1.0 + kBeta) / 2.0 : cwnd;
  cwnd_prior_ = cwnd;
  // §4.6: ssthresh = max(flight_size * beta, 2 segments).
  ssthresh_ = std::max(static_cast<uint32_t>(inflight * kBeta), 2 * mss_);
  epoch_start_.reset();
  credit_ = 0;
  hystart_.stop();
}

void Cubic::on_loss(base::Instant, uint32_t inflight) {
  set_ssthresh_from(inflight);
  cwnd_ = ssthresh_;
}

void Cubic::on_recovery_end(base::Instant) {
  if (ssthresh_ != UINT32_MAX) cwnd_ = ssthresh_;
}

void Cubic::on_timeout(base::Instant, uint32_t inflight) {
  set_ssthresh_from(inflight);
  cwnd_ = mss_;
  // §4.8: the first avoidance stage after a timeout uses K = 0 and W_max = the cwnd it
  // starts with, so forget W_max (start_epoch then takes that branch).
  w_max_ = 0;
}

void Cubic::on_idle_restart(base::Instant now) {
  restart_window();
  // The curve resumes from a fresh epoch; W_max is kept, so the window climbs back
  // toward the last congestion point on the concave side.
  epoch_start_.reset();
  credit_ = 0;
  last_ack_ = now;
  if (hystart_running()) hystart_.reset();
}

}  // namespace joyride::core::tcp
