// Header prediction (Van Jacobson's, as Linux's tcp_rcv_established): most segments
// of an ESTABLISHED connection are the next one expected, carry only ACK (+PSH) and
// the timestamp option, and change nothing but the sequence numbers. For those the
// outcome of RFC 9293 §3.10.7.4's eight steps is known in advance, so this file
// applies it directly and skips the general acceptability checks, RST/SYN handling,
// the ACK range checks and the state dispatch of segment_arrives (tcp_input.cc).
//
// Two kinds are predicted:
//   - a pure ACK that moves SND.UNA forward (SND.UNA < SEG.ACK <= SND.MAX): the
//     sender's half; ACK processing itself (process_ack) runs in full, so loss
//     detection, undo, RTT and the congestion window see it as before;
//   - a data segment at RCV.NXT with SEG.ACK == SND.UNA, when we have nothing in
//     flight and no loss episode is open: then process_ack would only record the
//     window update's sequence numbers, which is done here, and the data goes
//     straight into the receive ring (receive_in_order).
// Common conditions: ESTABLISHED; flags exactly ACK or ACK|PSH; options none or the
// aligned timestamp alone (Rx::predicted_options), present exactly when timestamps
// were negotiated, and SEG.TSval not older than TS.Recent (so PAWS passes); the
// window field unchanged; no CE mark on an ECN connection; SEG.SEQ == RCV.NXT.
// Anything else returns false and segment_arrives handles the segment: the result is
// the same either way (tests/tcp/tcp_fast_path_test.cc checks both paths), only
// cheaper here.
#include <algorithm>

#include "joyride/core/tcp_layer.h"
#include "tcp_internal.h"

namespace joyride::core {

using base::Instant;
using tcp::Tcb;
using wire::TcpFlags;

bool TcpLayer::fast_path(Tcb& t, const Rx& rx, buf::Packet& payload, Instant now) {
  if ((rx.h.flags & ~TcpFlags::kPsh) != TcpFlags::kAck) return false;
  if (rx.seq() != t.rcv_nxt) return false;
  const auto& ts = rx.h.options.timestamps;
  if (ts.has_value() != t.ts_ok) return false;
  if (ts && static_cast<int32_t>(ts->first - t.ts_recent) < 0) return false;
  if ((uint32_t{rx.h.window} << t.snd_wscale) != t.snd_wnd) return false;
  if (rx.ce && t.ecn_ok) return false;
  const uint32_t len = rx.payload_len;
  if (len == 0) {
    if (!(t.snd_una < rx.ack() && rx.ack() <= t.snd_max)) return false;
  } else {
    if (rx.ack() != t.snd_una || !t.rtx.empty()) return false;
    if (t.in_recovery || t.in_loss || t.in_cwr || t.tlp_in_flight) return false;
    if (!t.ooo.empty() || t.ooo_fin || t.rd_shutdown || len > t.rcv.free()) return false;
  }
  counters_.inc(TcpCounter::kRxFastPath);
  t.last_rx = now;
  t.probes = 0;
  t.soft_error.reset();  // Linux tcp_ack: the path works (as in segment_arrives)
  // RFC 7323 §4.3: TS.Recent from a segment covering Last.ACK.sent (PAWS passed above).
  if (ts && rx.seq() <= t.last_ack_sent) {
    t.ts_recent = ts->first;
    t.ts_recent_at = now;
  }
  if (len == 0) {
    process_ack(t, rx, now);
    // An ACK in ESTABLISHED cannot end the connection (only one for our FIN could).
  } else {
    // process_ack's whole effect for this segment: the window update's bookkeeping
    // (the window itself is unchanged) and, with nothing in flight, a stopped timer.
    if (t.snd_wl1 < rx.seq() || (t.snd_wl1 == rx.seq() && t.snd_wl2 <= rx.ack())) {
      t.snd_wl1 = rx.seq();
      t.snd_wl2 = rx.ack();
    }
    if (t.rtx_mode != tcp::RtxTimerMode::kZeroWindowProbe) stop_rtx_timer(t);
    if (len > t.rcv_mss) t.rcv_mss = static_cast<uint16_t>(std::min<uint32_t>(len, t.adv_mss));
    receive_in_order(t, payload, now);
  }
  output(t, now);
  return true;
}

}  // namespace joyride::core
