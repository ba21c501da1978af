// Header prediction (Van Jacobson's, as Linux's tcp_rcv_established): most segments
// of an ESTABLISHED connection are the next one expected, carry only ACK (+PSH) and
// the timestamp option, and change nothing but the sequence numbers. For those the
// outcome of RFC 9293 §3.10.7.4's eight steps is known in advance, so this file
// applies it directly and skips the general acceptability checks, RST/SYN handling,
// the ACK range checks and the state dispatch of segment_arrives (tcp_input.cc).
//
// Two kinds are predicted:
//   - a pure ACK that moves SND.UNA forward (SND.UNA < SEG.ACK <= SND.MAX): the
//     sender's half. When no loss episode, undo, TLP, CWR or FIN is open and the
//     scoreboard holds nothing SACKed, lost or retransmitted (plain_ack), fast_ack
//     does what process_ack would, without the parts those rule out; otherwise
//     process_ack runs in full, so loss detection, undo, RTT and the congestion
//     window see it as before;
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

using base::Duration;
using base::Instant;
using base::SeqNum;
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
    if (plain_ack(t)) {
      fast_ack(t, rx, now);
    } else {
      process_ack(t, rx, now);
    }
    // An ACK in ESTABLISHED cannot end the connection (only one for our FIN could).
    // With nothing lost, unsent or owed, output() would only look at the send buffer's
    // size (an application-limited sender's every ACK).
    if (t.rtx.lost_bytes() == 0 && unsent_bytes(t) == 0 && !t.fin_queued && !t.ack_now) {
      expand_sndbuf(t);
      return true;
    }
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
    // Nothing is in flight (checked above): with nothing unsent and no FIN queued,
    // output() would only send the ACK owed, if one is, and look at the send buffer's
    // size (a receiver's every segment).
    if (unsent_bytes(t) == 0 && !t.fin_queued) {
      if (t.ack_now) send_ack(t, now);
      expand_sndbuf(t);
      return true;
    }
  }
  output(t, now);
  return true;
}

// process_ack for a predicted pure ACK that advances SND.UNA (fast_path checked: flags
// ACK or ACK|PSH, no SACK option, window unchanged, SND.UNA < SEG.ACK <= SND.MAX) on
// a connection plain_ack() accepts. What is left of RFC 9293 §3.10.7.4's ACK step and
// of the sender's bookkeeping, in process_ack's order: the window update's sequence
// numbers, the scoreboard, SND.UNA and the send buffer, the RTT sample, the congestion
// window, RACK, the retransmission timer, writability. Every part skipped is one
// whose condition plain_ack() rules out: no D-SACK can come without a SACK option, no
// TLP episode, undo, CWR, recovery or FIN is open, and a pure advancing ACK is no
// duplicate.
void TcpLayer::fast_ack(Tcb& t, const Rx& rx, Instant now) {
  const SeqNum ack = rx.ack();
  if (t.snd_wl1 < rx.seq() || (t.snd_wl1 == rx.seq() && t.snd_wl2 <= ack)) {
    t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
    t.snd_wl1 = rx.seq();
    t.snd_wl2 = ack;
  }
  // plain_ack() checked on_plain_ack's conditions (and the ACK carries no SACK option).
  const tcp::AckResult r = t.rtx.on_plain_ack(ack, now, t.rtt.has_sample() ? t.rtt.min_rtt() : Duration::max());
  advance_una(t, rx, r, now);
  // Nothing was SACKed before or by this ACK: every byte it acknowledges is delivered now.
  const uint32_t delivered = r.acked_bytes;
  if (delivered != 0) {
    t.delivered += (delivered + t.mss - 1) / t.mss;
    tcp::AckSample s;
    s.now = now;
    s.acked_bytes = delivered;
    s.rtt = r.rtt;
    s.ack = ack;
    s.snd_nxt = t.snd_max;
    s.inflight = t.rtx.in_flight();
    s.app_limited = !cwnd_is_limited(t);  // as process_ack: RFC 7661
    t.cc->on_ack(s);
  }
  if (!t.rtx.empty()) detect_loss(t, now);
  if (t.rtx.empty()) {
    if (t.rtx_mode != tcp::RtxTimerMode::kZeroWindowProbe) stop_rtx_timer(t);
  } else {
    arm_rtx_timer(t, now);
  }
  if ((t.reported & kWritable) == 0 && t.snd.free() >= t.snd.capacity() / 3) notify(t);
}

}  // namespace joyride::core
