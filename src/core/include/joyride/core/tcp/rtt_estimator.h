// Round-trip time estimation and the retransmission timeout (RFC 6298), with the
// bounds Linux uses, plus the windowed minimum RTT that RACK (RFC 8985) and the
// congestion controllers read.
//
// Smoothing (RFC 6298 §2.2, §2.3; alpha = 1/8, beta = 1/4):
//   first sample R:   srtt = R, rttvar = R/2
//   later samples R': rttvar = 3/4 rttvar + 1/4 |srtt - R'|, then srtt = 7/8 srtt + 1/8 R'
//
// Timeout. RFC 6298 §2 says RTO = srtt + max(G, 4*rttvar) with a 1 s floor (§2.4).
// Linux instead floors the variance term at tcp_rto_min (its mdev_max never drops
// below rto_min), so
//   RTO = srtt + max(4*rttvar, min_rto),  clamped to [min_rto, max_rto].
// We follow Linux: a 1 s floor makes every loss on a LAN cost a second, and flooring
// the variance term (not the sum) still leaves room above srtt for delayed ACKs
// (200 ms by default on the peer) when the variance has collapsed on a steady path.
// Before any sample RTO is `initial_rto` (RFC 6298 §2.1, 1 s).
//
// Backoff (RFC 6298 §5.5, Karn's algorithm): every expiry doubles the timeout until
// the next reset_backoff() (the caller's choice: Linux resets when new data is
// acknowledged). backoffs() keeps counting past the point where rto() reaches
// max_rto, because the connection counts its retries with it (Linux icsk_backoff);
// rto() saturates at max_rto instead.
//
// Minimum RTT over a 300 s window (Linux tcp_min_rtt_wlen). Keeping every sample of
// five minutes would grow without bound, so this keeps the three-sample windowed
// minimum of Kathleen Nichols (the estimator Linux and BBR use): the best sample,
// and the best ones in the later quarter and half of the window as fallbacks, so that
// when the best expires a recent value takes over. The result can exceed the exact
// windowed minimum for a while after an expiry, never fall below it. The window
// advances with samples: min_rtt() is the value as of the latest sample.
#pragma once

#include <algorithm>
#include <cstdint>

#include "joyride/base/time.h"

namespace joyride::core::tcp {

class RttEstimator {
 public:
  static constexpr base::Duration kMinRttWindow = base::Duration::seconds(300);
  static constexpr base::Duration kMaxSample = base::Duration::seconds(3600);

  RttEstimator(base::Duration initial_rto = base::Duration::seconds(1),
               base::Duration min_rto = base::Duration::millis(200),
               base::Duration max_rto = base::Duration::seconds(120));

  // One RTT measurement taken at `now` (the caller applies Karn's rule). Negative
  // samples (a clock that went backwards, a bad echoed timestamp) are ignored; samples
  // above kMaxSample are taken as kMaxSample so the arithmetic cannot overflow.
  // Does not reset the backoff.
  void on_sample(base::Duration rtt, base::Instant now);

  // base_rto() doubled once per backoff, saturating at max_rto. Kept up to date by
  // every change (it is read on every segment sent and every ACK).
  base::Duration rto() const { return rto_; }
  // srtt + max(4*rttvar, min_rto) clamped to [min_rto, max_rto]; initial_rto before
  // the first sample.
  base::Duration base_rto() const {
    if (!has_sample_) return initial_rto_;
    const base::Duration rto = srtt_ + std::max(rttvar_ * 4, min_rto_);
    return std::clamp(rto, min_rto_, max_rto_);
  }
  void backoff();
  void reset_backoff() {
    if (backoffs_ == 0) return;
    backoffs_ = 0;
    rto_ = compute_rto();
  }
  // One doubling fewer (RFC 6069's revert, on an ICMP unreachable for the segment
  // being retransmitted); nothing when not backed off.
  void undo_backoff() {
    if (backoffs_ == 0) return;
    --backoffs_;
    rto_ = compute_rto();
  }
  uint32_t backoffs() const { return backoffs_; }

  bool has_sample() const { return has_sample_; }
  base::Duration srtt() const { return srtt_; }
  base::Duration rttvar() const { return rttvar_; }
  // Duration::max() before any sample.
  base::Duration min_rtt() const { return min_[0].rtt; }
  base::Duration latest_rtt() const { return latest_; }

 private:
  struct MinSample {
    base::Instant at;
    base::Duration rtt = base::Duration::max();
  };
  void update_min_rtt(base::Duration rtt, base::Instant now);
  base::Duration compute_rto() const;

  base::Duration initial_rto_;
  base::Duration min_rto_;
  base::Duration max_rto_;
  base::Duration rto_;
  base::Duration srtt_;
  base::Duration rttvar_;
  base::Duration latest_;
  bool has_sample_ = false;
  uint32_t backoffs_ = 0;
  // min_[0] is the windowed minimum; min_[1], min_[2] are the best samples taken
  // after it (in later sub-windows), ready to replace it when it expires.
  MinSample min_[3];
};

}  // namespace joyride::core::tcp
