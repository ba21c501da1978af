// CUBIC congestion control (RFC 9438), the default, with Linux's choices where the RFC
// leaves them open: beta = 0.7, C = 0.4, fast convergence on, Reno-friendly region on.
// Slow start uses HyStart++ (RFC 9406, hystart.h) where Linux uses the older HyStart.
//
// Windows are bytes (cwnd_ is the byte window); the RFC's formulas are in segments, so
// segment quantities below are bytes / SMSS. In congestion avoidance, with t the time
// since the epoch (the start of this avoidance stage, §4.2):
//   W_cubic(t) = C*(t - K)^3 + W_max            (segments; t, K in seconds)
//   K          = cbrt((W_max - cwnd_epoch) / C)
// is concave below W_max (fast approach, then a plateau around the last congestion
// point) and convex above it (probing). Per ACK of N bytes:
//   - Reno-friendly estimate (§4.3): W_est += alpha * N / cwnd (segments), with
//     alpha = 3(1-beta)/(1+beta) until W_est reaches cwnd_prior, then alpha = 1.
//     If W_cubic(t) < W_est (short RTTs, small windows), cwnd = W_est: never slower
//     than Reno.
//   - otherwise target = W_cubic(t + RTT) clamped to [cwnd, 1.5*cwnd] (§4.4, §4.5) and
//     cwnd += (target - cwnd) / cwnd per segment acked, i.e. N*(target-cwnd)/cwnd bytes.
//     RTT is the minimum RTT seen (as Linux's delay_min); 0 before any sample.
// Congestion event (§4.6, §4.7): W_max = cwnd, or cwnd*(1+beta)/2 when cwnd is below the
// previous W_max (fast convergence: release bandwidth to newer flows);
// cwnd_prior = cwnd; ssthresh = max(FlightSize*beta, 2*SMSS); the epoch restarts at the
// next avoidance ACK. Timeout (§4.8): same ssthresh, cwnd = 1 segment, and W_max is
// forgotten, so the next epoch starts with K = 0 from its own cwnd (convex growth);
// Linux does the same (bictcp_reset on CA_Loss). When W_max is unknown or not above the
// epoch's cwnd (HyStart++ exit without loss, §4.10), K = 0 and W_max = cwnd_epoch, as Linux.
//
// Application-limited ACKs never grow cwnd, and the time they cover is cut out of t
// (§5.8: "t MUST NOT include these periods"), so W_cubic does not jump when the sender
// starts filling its window again.
#pragma once

#include <optional>

#include "joyride/core/tcp/congestion_control.h"
#include "joyride/core/tcp/hystart.h"

namespace joyride::core::tcp {

class Cubic final : public CongestionControl {
 public:
  static constexpr double kC = 0.4;      // segments / s^3
  static constexpr double kBeta = 0.7;   // multiplicative decrease factor
  static constexpr double kAlphaCubic = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);  // ~0.529

  explicit Cubic(bool use_hystart = true) : use_hystart_(use_hystart) {}

  std::string_view name() const override { return "cubic"; }
  void init(uint32_t mss, base::Instant now) override;
  void set_mss(uint32_t mss) override;
  void on_ack(const AckSample& s) override;
  void on_loss(base::Instant now, uint32_t inflight) override;
  void on_recovery_end(base::Instant now) override;
  void on_timeout(base::Instant now, uint32_t inflight) override;
  void on_idle_restart(base::Instant now) override;

  // Diagnostics and tests; windows in bytes.
  double w_max() const { return w_max_; }  // 0: unknown
  double cwnd_prior() const { return cwnd_prior_; }
  double w_est() const { return w_est_; }
  bool epoch_started() const { return epoch_start_.has_value(); }
  double k_seconds() const { return k_; }
  // W_cubic(t) of the current epoch, in bytes, t seconds after its start.
  double w_cubic(double t) const;
  std::optional<base::Duration> min_rtt() const { return min_rtt_; }
  const HyStartPlusPlus& hystart() const { return hystart_; }

 private:
  void start_epoch(base::Instant now);
  void congestion_avoidance(base::Instant now, uint32_t acked);
  void set_ssthresh_from(uint32_t inflight);
  bool hystart_running() const { return use_hystart_ && hystart_.active() && ssthresh_ == UINT32_MAX; }

  bool use_hystart_;
  HyStartPlusPlus hystart_;
  std::optional<base::Duration> min_rtt_;
  std::optional<base::Instant> last_ack_;
  // Epoch state (bytes unless noted).
  std::optional<base::Instant> epoch_start_;
  double w_max_ = 0;         // window before the last reduction (fast convergence applied)
  double cwnd_prior_ = 0;    // cwnd before the last reduction
  double origin_ = 0;        // W_max used by this epoch's curve
  double k_ = 0;             // seconds
  double w_est_ = 0;         // Reno-friendly estimate
  double credit_ = 0;        // fractional bytes of growth not yet in cwnd_
};

}  // namespace joyride::core::tcp
