// NewReno window arithmetic (RFC 5681 §3.1, RFC 6582 for the end of recovery), with
// appropriate byte counting (RFC 3465):
//   slow start           cwnd += min(acked, 2*SMSS) per ACK, up to ssthresh
//   congestion avoidance bytes_acked += acked; once bytes_acked >= cwnd:
//                        bytes_acked -= cwnd, cwnd += SMSS — one segment per RTT
//                        however the receiver ACKs (RFC 3465 §2.1)
//   loss                 ssthresh = max(FlightSize/2, 2*SMSS) (RFC 5681 eq. 4),
//                        cwnd = ssthresh (no dupack inflation: the connection's PRR
//                        or RFC 6675 pipe accounting decides what to send in recovery)
//   timeout              same ssthresh, cwnd = 1 segment (loss window, RFC 5681 §3.1)
// Recovery and loss detection are the connection's; see congestion_control.h.
//
// HyStart++ (RFC 9406) is optional here (off by default, as Linux's reno has no
// HyStart); CUBIC always uses it.
#pragma once

#include "joyride/core/tcp/congestion_control.h"
#include "joyride/core/tcp/hystart.h"

namespace joyride::core::tcp {

class NewReno final : public CongestionControl {
 public:
  explicit NewReno(bool use_hystart = false) : use_hystart_(use_hystart) {}

  std::string_view name() const override { return "newreno"; }
  void init(uint32_t mss, base::Instant now) override;
  void set_mss(uint32_t mss) override;
  void on_ack(const AckSample& s) override;
  void on_loss(base::Instant now, uint32_t inflight) override;
  void on_recovery_end(base::Instant now) override;
  void on_timeout(base::Instant now, uint32_t inflight) override;
  void on_idle_restart(base::Instant now) override;

  const HyStartPlusPlus& hystart() const { return hystart_; }
  // Congestion-avoidance byte counter (RFC 3465 bytes_acked).
  uint32_t bytes_acked() const { return bytes_acked_; }

 private:
  void reduce(uint32_t inflight);
  bool hystart_running() const { return use_hystart_ && hystart_.active() && ssthresh_ == UINT32_MAX; }

  bool use_hystart_;
  HyStartPlusPlus hystart_;
  uint32_t bytes_acked_ = 0;
};

}  // namespace joyride::core::tcp
