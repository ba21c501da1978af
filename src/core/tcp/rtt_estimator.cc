#include "joyride/core/tcp/rtt_estimator.h"

#include <algorithm>

namespace joyride::core::tcp {

using base::Duration;
using base::Instant;

RttEstimator::RttEstimator(Duration initial_rto, Duration min_rto, Duration max_rto)
    : initial_rto_(initial_rto), min_rto_(min_rto), max_rto_(std::max(max_rto, min_rto)) {
  rto_ = compute_rto();
}

namespace {
// d / 2^k for a duration known not to be negative: the same value as the division,
// without the rounding fix-up a signed division by a constant needs (every ACK with an
// RTT sample runs four of these).
constexpr Duration divide_non_negative(Duration d, int k) { return Duration::nanos(d.as_nanos() >> k); }
}  // namespace

void RttEstimator::on_sample(Duration rtt, Instant now) {
  if (rtt < Duration::zero()) return;
  rtt = std::min(rtt, kMaxSample);
  latest_ = rtt;
  if (!has_sample_) {
    // RFC 6298 §2.2.
    srtt_ = rtt;
    rttvar_ = divide_non_negative(rtt, 1);
    has_sample_ = true;
  } else {
    // RFC 6298 §2.3: rttvar first, from the srtt before this sample.
    // rtt, srtt, rttvar and err are all >= 0 here.
    Duration err = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
    rttvar_ = rttvar_ - divide_non_negative(rttvar_, 2) + divide_non_negative(err, 2);
    srtt_ = srtt_ - divide_non_negative(srtt_, 3) + divide_non_negative(rtt, 3);
  }
  update_min_rtt(rtt, now);
  // Not backed off (every ACK that brings a sample has just reset the backoff):
  // compute_rto() would return base_rto(), which is within max_rto already.
  rto_ = backoffs_ == 0 ? base_rto() : compute_rto();
}

Duration RttEstimator::compute_rto() const {
  Duration rto = base_rto();
  // Double with saturation: no shift can overflow however many backoffs there were.
  for (uint32_t i = 0; i < backoffs_ && rto < max_rto_; ++i) {
    rto = rto > max_rto_ / 2 ? max_rto_ : rto * 2;
  }
  return std::min(rto, max_rto_);
}

void RttEstimator::backoff() {
  if (backoffs_ != UINT32_MAX) ++backoffs_;
  rto_ = compute_rto();
}

void RttEstimator::update_min_rtt(Duration rtt, Instant now) {
  const MinSample sample{now, rtt};
  // A new overall minimum, or nothing left from the window: start over from this sample.
  if (rtt <= min_[0].rtt || now - min_[2].at > kMinRttWindow) {
    min_[0] = min_[1] = min_[2] = sample;
    return;
  }
  if (rtt <= min_[1].rtt) {
    min_[1] = min_[2] = sample;
  } else if (rtt <= min_[2].rtt) {
    min_[2] = sample;
  }
  const Duration age = now - min_[0].at;
  if (age > kMinRttWindow) {
    // The best sample left the window: promote the fallbacks. The second one may be
    // out of the window as well, in which case promote once more.
    min_[0] = min_[1];
    min_[1] = min_[2];
    min_[2] = sample;
    if (now - min_[0].at > kMinRttWindow) {
      min_[0] = min_[1];
      min_[1] = min_[2];
    }
  } else if (min_[1].at == min_[0].at && age > kMinRttWindow / 4) {
    // A quarter of the window without a distinct fallback: take one now, so an expiry
    // of the best never falls back to a sample older than it.
    min_[1] = min_[2] = sample;
  } else if (min_[2].at == min_[1].at && age > kMinRttWindow / 2) {
    min_[2] = sample;
  }
}

}  // namespace joyride::core::tcp
