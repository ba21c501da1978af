// Congestion control for one TCP connection: the window arithmetic only. Loss detection
// (dupacks, SACK, RACK), the recovery state machine and PRR (RFC 6937) live in the
// connection; it tells the algorithm what happened through the calls below and reads
// cwnd()/ssthresh() back. The algorithm is chosen per socket by name, as Linux's
// TCP_CONGESTION socket option does: "cubic" (RFC 9438, the default, as in Linux) or
// "newreno" (RFC 5681 + RFC 6582; alias "reno").
//
// Units. cwnd and ssthresh count bytes, not segments (RFC 5681 §3.1), and growth uses
// appropriate byte counting (RFC 3465): an ACK grows the window by the bytes it newly
// delivered, not by one segment per ACK, so stretch ACKs and delayed ACKs do not change
// the growth rate and ACK splitting by a receiver cannot inflate it.
//
// Initial window. 10 segments, as Linux (TCP_INIT_CWND); RFC 6928 caps it at 14600
// bytes for large MSS, which Linux does not do and neither do we.
//
// Nothing here reads a clock or allocates: `now` comes in with each call and all state
// is a few integers and doubles inside the object.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "joyride/base/seq.h"
#include "joyride/base/time.h"

namespace joyride::core::tcp {

class HyStartPlusPlus;

struct AckSample {
  base::Instant now;
  uint32_t acked_bytes = 0;           // bytes newly delivered by this ACK (cumulative + newly SACKed)
  std::optional<base::Duration> rtt;  // RTT sample from this ACK (none under Karn's rule)
  base::SeqNum ack;                   // the cumulative ACK after this ACK
  base::SeqNum snd_nxt;               // highest sequence number sent + 1 (HyStart++ round ends)
  uint32_t inflight = 0;              // bytes in flight after processing the ACK
  bool app_limited = false;           // the sender did not fill cwnd before this ACK: no growth
};

class CongestionControl {
 public:
  static constexpr uint32_t kInitialWindowSegments = 10;  // RFC 6928
  // Appropriate byte counting limit in slow start: at most L = 2 segments of growth per
  // ACK (RFC 3465 §2.2), so one ACK covering a large burst cannot double the window.
  static constexpr uint32_t kAbcLimitSegments = 2;
  // Upper bound on cwnd, far above any useful window, so sums never overflow uint32_t.
  static constexpr uint32_t kMaxCwnd = 1u << 30;

  virtual ~CongestionControl() = default;
  virtual std::string_view name() const = 0;
  // Once the MSS is known (connection established): cwnd = 10*mss, ssthresh = "infinite".
  virtual void init(uint32_t mss, base::Instant now) = 0;
  // Path MTU or MSS changed: keep cwnd in segments (rescale).
  virtual void set_mss(uint32_t mss) = 0;
  // An ACK that delivered data while NOT in loss recovery: slow start / avoidance growth.
  virtual void on_ack(const AckSample& s) = 0;
  // Loss detected (fast retransmit, SACK or RACK) at the start of a recovery episode:
  // multiplicative decrease; sets ssthresh and cwnd = ssthresh. inflight = bytes in flight
  // when the loss was detected (RFC 5681 eq. 4 uses FlightSize).
  virtual void on_loss(base::Instant now, uint32_t inflight) = 0;
  // Recovery ended (a full ACK, RFC 6582): cwnd = ssthresh (or algorithm's choice).
  virtual void on_recovery_end(base::Instant now) = 0;
  // Retransmission timeout: ssthresh from inflight as on_loss, cwnd = 1 segment (RFC 5681).
  // Call it for the first timeout of a backoff series only (as Linux does): a repeated
  // timeout would compute ssthresh from an inflight that is already one segment.
  virtual void on_timeout(base::Instant now, uint32_t inflight) = 0;
  // Idle restart (RFC 5681 §4.1 / RFC 7661): called when sending after idle > RTO.
  virtual void on_idle_restart(base::Instant now) = 0;
  // The reduction of a loss episode proved spurious (D-SACK, Eifel): put back what it
  // took, as Linux's tcp_undo_cwnd_reduction with tcp_reno_undo_cwnd (CUBIC uses the
  // same): cwnd = max(cwnd, prior_cwnd), ssthresh = max(ssthresh, prior_ssthresh).
  virtual void undo(uint32_t prior_cwnd, uint32_t prior_ssthresh);

  uint32_t cwnd() const { return cwnd_; }
  uint32_t ssthresh() const { return ssthresh_; }
  uint32_t mss() const { return mss_; }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }
  // For PRR (RFC 6937) in the connection during recovery.
  void set_cwnd(uint32_t bytes) { cwnd_ = bytes; }
  // Taking over a live connection from another algorithm (after init): the window it
  // had stays, as Linux's tcp_reinit_congestion_control keeps snd_cwnd/snd_ssthresh.
  void adopt_window(uint32_t cwnd, uint32_t ssthresh) {
    cwnd_ = cwnd;
    ssthresh_ = ssthresh;
  }

  uint32_t initial_window() const { return kInitialWindowSegments * mss_; }

 protected:
  // Shared pieces of the algorithms; each is one RFC rule.

  // cwnd = IW, ssthresh = infinite.
  void reset_window(uint32_t mss);
  // Rescales cwnd and a finite ssthresh from mss_ to `mss` (same number of segments,
  // rounded to the nearest byte) and sets mss_. Returns the factor new/old, for the
  // algorithm's own byte-valued state; 1.0 when nothing changed.
  double rescale_window(uint32_t mss);
  // RFC 5681 §3.1 slow start with RFC 3465 byte counting: cwnd += min(acked, L*SMSS),
  // divided by CSS_GROWTH_DIVISOR while HyStart++ is in conservative slow start, never
  // past ssthresh. Returns the acked bytes not used because cwnd reached ssthresh: the
  // caller continues with congestion avoidance on them (as Linux's tcp_slow_start).
  uint32_t slow_start(uint32_t acked_bytes, HyStartPlusPlus* hystart);
  // Restart after idle (RFC 5681 §4.1): cwnd = min(cwnd, IW). Like Linux
  // (tcp_cwnd_restart), ssthresh first remembers 3/4 of the old cwnd so slow start climbs
  // back quickly to where the connection was.
  void restart_window();

  uint32_t cwnd_ = 0;
  uint32_t ssthresh_ = UINT32_MAX;
  uint32_t mss_ = 536;
};

// "cubic" (default), "newreno" (alias "reno"). nullptr for an unknown name.
std::unique_ptr<CongestionControl> make_congestion_control(std::string_view name);
// The canonical names make_congestion_control() accepts (aliases not listed).
std::span<const std::string_view> congestion_control_names();
inline constexpr std::string_view kDefaultCongestionControl = "cubic";

}  // namespace joyride::core::tcp
