// A segment's arrival at a connection (RFC 9293 §3.10.7.3-4) with RFC 5961's
// hardening, RFC 7323's PAWS, and the sender's half of ACK processing: RTT
// samples, the congestion window, and loss detection (dupacks/NewReno, SACK with
// RACK, RFC 6582/6675/8985).
#include <algorithm>

#include "joyride/core/tcp_layer.h"
#include "tcp_internal.h"

namespace joyride::core {

using base::Duration;
using base::Instant;
using base::SeqNum;
using tcp::Tcb;
using wire::TcpFlags;

namespace {
// RFC 7323 §5.5: a TS.Recent older than 24 days is invalid for PAWS.
constexpr Duration kPawsIdle = Duration::seconds(24 * 24 * 3600);
}  // namespace

void TcpLayer::apply_syn_options(Tcb& t, const Rx& rx) {
  const wire::TcpOptions& o = rx.h.options;
  t.peer_mss = o.mss ? std::max<uint16_t>(*o.mss, 64) : 536;  // RFC 9293 §3.7.1 default; Linux floors tiny MSS
  t.wscale_ok = config_.window_scaling && o.window_scale.has_value();
  // RFC 7323 §2.3: a shift above 14 is used as 14.
  t.snd_wscale = t.wscale_ok ? std::min<uint8_t>(*o.window_scale, tcp::kMaxWindowScale) : 0;
  if (!t.wscale_ok) t.rcv_wscale = 0;
  t.sack_ok = config_.sack && o.sack_permitted;
  t.ts_ok = config_.timestamps && o.timestamps.has_value();
  if (t.ts_ok) t.ts_recent = o.timestamps->first;
}

bool TcpLayer::acceptable(const Tcb& t, const Rx& rx) const {
  // RFC 9293 §3.10.7.4, first check (the four cases), with the window we advertised.
  const uint32_t wnd = static_cast<uint32_t>(std::max<int32_t>(0, t.rcv_adv - t.rcv_nxt));
  const uint32_t len = rx.seg_len();
  const SeqNum seq = rx.seq();
  if (len == 0) {
    if (wnd == 0) return seq == t.rcv_nxt;
    return base::seq_in_window(seq, t.rcv_nxt, t.rcv_nxt + wnd);
  }
  // A zero window still lets a segment at RCV.NXT through for its ACK, RST and URG
  // (its data is trimmed away later), as the RFC asks.
  if (wnd == 0) return seq == t.rcv_nxt;
  return base::seq_in_window(seq, t.rcv_nxt, t.rcv_nxt + wnd) ||
         base::seq_in_window(seq + len - 1, t.rcv_nxt, t.rcv_nxt + wnd);
}

bool TcpLayer::paws_reject(Tcb& t, const Rx& rx, Instant now) const {
  if (!t.ts_ok || !rx.h.options.timestamps || rx.has(TcpFlags::kRst)) return false;
  const uint32_t tsval = rx.h.options.timestamps->first;
  if (static_cast<int32_t>(tsval - t.ts_recent) >= 0) return false;
  if (now - t.ts_recent_at > kPawsIdle) return false;  // TS.Recent too old to trust
  return true;
}

void TcpLayer::challenge_ack(Tcb& t, Instant now) {
  // RFC 5961 §7: one budget per second for the whole instance.
  if (now - challenge_window_start_ >= Duration::seconds(1)) {
    challenge_window_start_ = now;
    challenge_acks_left_ = config_.challenge_ack_limit;
  }
  if (challenge_acks_left_ == 0) {
    counters_.inc(TcpCounter::kChallengeAcksLimited);
    return;
  }
  --challenge_acks_left_;
  counters_.inc(TcpCounter::kChallengeAcks);
  send_ack(t, now);
}

void TcpLayer::syn_sent_input(Tcb& t, const Rx& rx, buf::Packet& payload, Instant now) {
  // RFC 9293 §3.10.7.3.
  const bool has_ack = rx.has(TcpFlags::kAck);
  if (has_ack && (rx.ack() <= t.iss || rx.ack() > t.snd_max)) {
    if (!rx.has(TcpFlags::kRst)) send_reset_for(rx);
    return;
  }
  if (rx.has(TcpFlags::kRst)) {
    if (has_ack) {
      counters_.inc(TcpCounter::kAttemptFails);
      abort(t, RecvError::kConnectionRefused, false, now);
    }
    return;
  }
  if (!rx.has(TcpFlags::kSyn)) return;
  t.irs = rx.seq();
  t.rcv_nxt = t.irs + 1;
  t.rcv_adv = t.rcv_nxt;
  apply_syn_options(t, rx);
  if (t.ts_ok) t.ts_recent_at = now;
  // ECN: we never ask for it, so a SYN-ACK offering it is not taken up.
  t.ecn_ok = false;
  set_mss_from_route(t, now);
  if (has_ack) {
    t.snd_una = rx.ack();
    t.snd_wnd = rx.h.window;  // never scaled in a SYN (RFC 7323 §2.2)
    t.max_snd_wnd = t.snd_wnd;
    t.snd_wl1 = rx.seq();
    t.snd_wl2 = rx.ack();
    if (t.rto_count == 0) t.rtt.on_sample(now - t.syn_sent_at, now);
    t.rtt.reset_backoff();
    t.rto_count = 0;
    t.rtx_timer.cancel();
    t.rtx_mode = tcp::RtxTimerMode::kNone;
    t.cc->init(t.mss, now);
    t.rcv_space_at = now;
    set_state(t, TcpState::kEstablished, now);
    arm_keepalive(t, now);
    t.ack_now = true;
    if (rx.payload_len != 0 || rx.has(TcpFlags::kFin)) {
      Rx rest = rx;
      rest.h.seq = rx.seq() + 1;
      rest.h.flags &= static_cast<uint8_t>(~TcpFlags::kSyn);
      receive_data(t, rest, payload, now);
      if (rest.has(TcpFlags::kFin) && rest.seq() + rest.payload_len == t.rcv_nxt) receive_fin(t, now);
    }
    output(t, now);
    return;
  }
  // Simultaneous open (RFC 9293 §3.5, figure 8): SYN-RECEIVED, answer with SYN-ACK.
  t.state = TcpState::kSynReceived;
  send_syn(t, now);
  arm_timer(t, tcp::RtxTimerMode::kSynAck, now + t.rtt.rto());
}

void TcpLayer::time_wait_input(Tcb& t, const Rx& rx, buf::Packet& payload, Instant now) {
  // Linux tcp_timewait_state_process (with tcp_rfc1337 = 0), in its order.
  (void)payload;
  const bool rst = rx.has(TcpFlags::kRst);
  const bool paws = paws_reject(t, rx, now);
  const auto& ts = rx.h.options.timestamps;
  // In window: exactly at RCV.NXT and occupying no sequence space (a bare ACK), or an
  // RST there. The RST ends TIME_WAIT early; anything else restarts the 2MSL wait
  // and, with a timestamp, updates TS.Recent. Nothing is sent.
  if (!paws && rx.seq() == t.rcv_nxt && (rx.seg_len() == 0 || rst)) {
    if (rst) {
      connection_done(t, now);
      return;
    }
    timers_.arm(t.wait_timer, now + config_.time_wait);
    if (t.ts_ok && ts) {
      t.ts_recent = ts->first;
      t.ts_recent_at = now;
    }
    return;
  }
  if (rx.has(TcpFlags::kSyn) && !rst && !rx.has(TcpFlags::kAck) && !paws) {
    // A new SYN may reopen the pair when its sequence number is above what we
    // received, or its timestamp is newer; never one PAWS rejects (a timestamp older
    // than TS.Recent), whatever its sequence.
    const bool newer_seq = rx.seq() > t.rcv_nxt;
    const bool newer_ts = t.ts_ok && ts && static_cast<int32_t>(ts->first - t.ts_recent) > 0;
    if (newer_seq || newer_ts) {
      if (Tcb* listener = lookup_listener(rx.tuple.local, rx.tuple.local_port)) {
        // The new incarnation's ISN is the old SND.NXT + 65535 + 2, above every
        // sequence number the old one used (RFC 1122 §4.2.2.13's condition), not a
        // fresh RFC 6528 ISN.
        const uint32_t isn = tcp::isn_after_time_wait(t.snd_nxt.value());
        counters_.inc(TcpCounter::kTimeWaitRecycled);
        connection_done(t, now);  // frees it, or leaves a CLOSED socket the app still holds
        if (Tcb* still = lookup(rx.tuple)) hash_remove(*still);
        // The listener may be another instance's (an application listening on a port
        // where this one's old connection waits): the new connection is the listener's.
        listener->layer->syn_to_listener(*listener, rx, now, isn);
        return;
      }
      // No listener: answered with an ACK, as Linux's TCP_TW_SYN falls to
      // TCP_TW_ACK: past the rate limit, and not restarting the wait (an ACK-less
      // segment that is no PAWS reject).
      send_ack(t, now);
      return;
    }
  }
  if (paws) counters_.inc(TcpCounter::kDropPaws);
  // Any other RST is ignored.
  if (rst) return;
  // Everything else (out of window, data, a retransmitted FIN whose ACK was lost, an
  // old SYN) is answered with our last ACK. "In this case we must reset the TIMEWAIT
  // timer" when it is a PAWS reject or carries ACK; an ACK-less SYN may be an old
  // duplicate or a new SYN with a sequence number below RCV.NXT, and does not.
  if (paws || rx.has(TcpFlags::kAck)) timers_.arm(t.wait_timer, now + config_.time_wait);
  // Linux tcp_timewait_check_oow_rate_limit.
  if (!oow_ack_limited(t, rx, TcpCounter::kAckSkippedTimeWait, now)) send_ack(t, now);
}

bool TcpLayer::oow_ack_limited(Tcb& t, const Rx& rx, TcpCounter skipped, Instant now) {
  // Linux tcp_oow_rate_limited: one such ACK per tcp_invalid_ratelimit, so two ends
  // cannot keep each other in an ACK loop. A segment occupying sequence space without
  // SYN (data, a retransmitted FIN whose ACK was lost) is not part of a loop: always
  // answered, and it does not use the budget.
  if (rx.seg_len() != 0 && !rx.has(TcpFlags::kSyn)) return false;
  if (t.oow_acked && now - t.oow_ack_at < config_.invalid_ratelimit) {
    counters_.inc(skipped);
    return true;
  }
  t.oow_acked = true;
  t.oow_ack_at = now;
  return false;
}

void TcpLayer::reset_received(Tcb& t, Instant now) {
  // Linux tcp_reset picks the error as BSD does: ECONNREFUSED in SYN-SENT (see
  // syn_sent_input), EPIPE in CLOSE_WAIT, ECONNRESET in every other state. That
  // includes CLOSING and LAST_ACK (after shutdown(SHUT_WR) the application still
  // holds the socket) and a simultaneous open's SYN-RECEIVED, where RFC 9293
  // §3.10.7.4 would say "refused". In CLOSE_WAIT, LAST_ACK and CLOSING the peer's
  // FIN came first: recv() returns the data left and then end of stream (recv in
  // tcp_layer.cc), while send() and readiness report the error.
  if (t.state == TcpState::kSynReceived) counters_.inc(TcpCounter::kAttemptFails);  // Linux tcp_done
  abort(t, t.state == TcpState::kCloseWait ? RecvError::kBrokenPipe : RecvError::kConnectionReset, false, now);
}

void TcpLayer::segment_arrives(Tcb& t, const Rx& rx, buf::Packet& payload, Instant now) {
  // Handling the segment may end the connection and free `t`: check by handle.
  const SocketId id = t.id;
  t.last_rx = now;
  t.probes = 0;
  // A passive open not yet established is, in Linux, a request socket: tcp_check_req
  // rate-limits its answers on a counter of their own.
  const bool request = t.state == TcpState::kSynReceived && t.parent.valid();
  // PAWS (RFC 7323 §5.3) comes first: an old duplicate is answered with an ACK, at
  // most one per tcp_invalid_ratelimit (Linux tcp_validate_incoming), except that a
  // SYN on a synchronized connection gets a challenge ACK (RFC 5961 §4.2).
  if (paws_reject(t, rx, now)) {
    counters_.inc(TcpCounter::kDropPaws);
    if (rx.has(TcpFlags::kSyn) && !request) {
      challenge_ack(t, now);
    } else if (!oow_ack_limited(t, rx, request ? TcpCounter::kAckSkippedSynRecv : TcpCounter::kAckSkippedPaws, now)) {
      send_ack(t, now);
    }
    return;
  }
  // The peer retransmitted its SYN: our SYN-ACK was lost; send it again (Linux
  // tcp_check_req). It sits below RCV.NXT, so the window check would only ACK it.
  if (t.state == TcpState::kSynReceived && t.parent.valid() && rx.has(TcpFlags::kSyn) && !rx.has(TcpFlags::kAck) && !rx.has(TcpFlags::kRst) &&
      rx.seq() + 1 == t.rcv_nxt) {
    send_syn(t, now);
    return;
  }
  // Simultaneous open (RFC 9293 figure 8): in an active open's SYN-RECEIVED the
  // peer's SYN-ACK <SEQ=IRS><ACK=SND.NXT> carries the ACK of our SYN, so it
  // establishes the connection. Its SYN sits just below RCV.NXT, which the window
  // check and RFC 5961's SYN rule would answer with a challenge ACK and leave us in
  // SYN-RECEIVED until some later segment; Linux (tcp_validate_incoming, since 6.11)
  // lets exactly this segment through, and sends nothing in reply: both ends have
  // each other's SYN-ACK, there is nothing to acknowledge.
  const bool crossed_synack = t.state == TcpState::kSynReceived && !t.parent.valid() && rx.has(TcpFlags::kSyn) &&
                              rx.has(TcpFlags::kAck) && !rx.has(TcpFlags::kRst) && !rx.has(TcpFlags::kFin) &&
                              rx.payload_len == 0 && rx.seq() + 1 == t.rcv_nxt && rx.ack() == t.snd_nxt;
  // First check: sequence acceptability.
  if (!crossed_synack && !acceptable(t, rx)) {
    counters_.inc(TcpCounter::kDropNotAcceptable);
    // Linux tcp_reset_check: after the peer's FIN (CLOSE_WAIT, LAST_ACK, CLOSING) an
    // RST at RCV.NXT - 1, the FIN's own sequence number, also resets.
    if (rx.has(TcpFlags::kRst) && rx.seq() + 1 == t.rcv_nxt &&
        (t.state == TcpState::kCloseWait || t.state == TcpState::kLastAck || t.state == TcpState::kClosing)) {
      reset_received(t, now);
      return;
    }
    if (rx.has(TcpFlags::kRst)) return;
    // Linux tcp_validate_incoming: a SYN outside the window gets a challenge ACK
    // (RFC 5961 §4.2), anything else a duplicate ACK at most once per
    // tcp_invalid_ratelimit unless it carries data or FIN (oow_ack_limited).
    if (rx.has(TcpFlags::kSyn) && !request) {
      challenge_ack(t, now);
      return;
    }
    // A fully duplicate segment: tell the sender with a D-SACK (RFC 2883).
    if (t.sack_ok && rx.payload_len != 0 && rx.seq() + rx.payload_len <= t.rcv_nxt) {
      t.dsack_pending = true;
      t.dsack_block = wire::SackBlock{rx.seq(), rx.seq() + rx.payload_len};
    }
    if (!oow_ack_limited(t, rx, request ? TcpCounter::kAckSkippedSynRecv : TcpCounter::kAckSkippedSeq, now)) {
      send_ack(t, now);
    }
    return;
  }
  // A passive open not yet established is, in Linux, a request socket, which
  // tcp_check_req handles apart: any RST or new SYN inside the window ends it (back
  // to LISTEN, RFC 9293 §3.10.7.4), without RFC 5961's exact-match rule; the SYN is
  // also answered with an RST. A retransmitted SYN was answered above.
  if (request && rx.has(TcpFlags::kRst | TcpFlags::kSyn)) {
    counters_.inc(TcpCounter::kAttemptFails);
    if (!rx.has(TcpFlags::kRst)) send_reset_for(rx);
    connection_done(t, now);
    return;
  }
  // Second: RST (RFC 5961 §3.2): only an exact match resets, anything else in the
  // window gets a challenge ACK. Linux (tcp_validate_incoming) also takes the right
  // edge of the highest SACK block we send.
  if (rx.has(TcpFlags::kRst)) {
    const bool at_sack_edge = t.sack_ok && !t.ooo.empty() && t.ooo.highest_end() == rx.seq();
    if (rx.seq() != t.rcv_nxt && !at_sack_edge) {
      challenge_ack(t, now);
      return;
    }
    reset_received(t, now);
    return;
  }
  // Fourth: a SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
  if (rx.has(TcpFlags::kSyn) && !crossed_synack) {
    challenge_ack(t, now);
    return;
  }
  // Fifth: the ACK field.
  if (!rx.has(TcpFlags::kAck)) return;
  // After close() in an active SYN-RECEIVED (FIN-WAIT-1 with our SYN unacknowledged,
  // syn_unacked), the first ACK of our SYN does the same bookkeeping, without the move
  // to ESTABLISHED; FIN-WAIT-1's own processing follows (process_ack: an ACK of the
  // FIN too goes to FIN-WAIT-2; the peer's FIN to CLOSING or TIME-WAIT). Any other ACK
  // is FIN-WAIT-1's as in Linux, which has no SYN_RECV processing left for it (an
  // ACK beyond SND.MAX or too old is answered below, not with an RST). A crossing
  // SYN-ACK never gets here: in FIN-WAIT-1 its SYN gets a challenge ACK above, as in
  // Linux's tcp_validate_incoming (only SYN_RECV lets it through).
  const bool acks_syn_after_close = t.syn_unacked && t.snd_una < rx.ack() && rx.ack() <= t.snd_max;
  if (t.state == TcpState::kSynReceived || acks_syn_after_close) {
    if (!(t.snd_una < rx.ack() && rx.ack() <= t.snd_max)) {
      send_reset_for(rx);
      return;
    }
    if (t.parent.valid()) {
      Tcb* l = tcb(t.parent);
      if (l != nullptr && tcp::accept_queue_full(*l)) {
        // Linux: a full accept queue drops the handshake's last ACK; our SYN-ACK is
        // retransmitted and the client's next ACK may find room.
        counters_.inc(TcpCounter::kDropListenOverflow);
        return;
      }
    }
    t.snd_una = t.iss + 1;
    // A SYN's window is never scaled (RFC 7323 §2.2), the crossed SYN-ACK's included.
    t.snd_wnd = rx.has(TcpFlags::kSyn) ? rx.h.window : uint32_t{rx.h.window} << t.snd_wscale;
    t.max_snd_wnd = t.snd_wnd;
    t.snd_wl1 = rx.seq();
    t.snd_wl2 = rx.ack();
    t.rtx_timer.cancel();
    t.rtx_mode = tcp::RtxTimerMode::kNone;
    if (t.rto_count == 0) t.rtt.on_sample(now - t.syn_sent_at, now);
    t.rtt.reset_backoff();
    t.rto_count = 0;
    t.cc->init(t.mss, now);
    t.rcv_space_at = now;
    if (t.parent.valid()) {
      child_established(t, now);
      if (tcb(id) == nullptr) return;  // its listener had gone: reset and freed
      arm_keepalive(t, now);
    } else if (t.syn_unacked) {
      // The FIN is still outstanding unless this ACK covers it (process_ack then
      // stops the timer): its retransmission timer takes over from the SYN-ACK's.
      t.syn_unacked = false;
      arm_rtx_timer(t, now);
    } else {
      set_state(t, TcpState::kEstablished, now);
      arm_keepalive(t, now);
    }
  }
  // RFC 5961 §5.2: an ACK for data never sent is answered and dropped; one older than
  // the largest window the peer offered gets a challenge ACK.
  if (rx.ack() > t.snd_max) {
    send_ack(t, now);
    return;
  }
  if (rx.ack() < t.snd_una - std::max<uint32_t>(t.max_snd_wnd, 1)) {
    challenge_ack(t, now);
    return;
  }
  // Linux tcp_ack: an ACK not older than SND.UNA shows the path works, so an ICMP
  // soft error from before is forgotten (tcp_fast_path.cc does the same).
  if (rx.ack() >= t.snd_una) t.soft_error.reset();
  // RFC 7323 §4.3: remember the timestamp of a segment that covers Last.ACK.sent.
  if (t.ts_ok && rx.h.options.timestamps && rx.seq() <= t.last_ack_sent) {
    const uint32_t tsval = rx.h.options.timestamps->first;
    if (static_cast<int32_t>(tsval - t.ts_recent) >= 0 || now - t.ts_recent_at > kPawsIdle) {
      t.ts_recent = tsval;
      t.ts_recent_at = now;
    }
  }
  // ECN (RFC 3168 §6.1.3): a CE mark is echoed with ECE until the peer's CWR.
  if (t.ecn_ok) {
    if (rx.ce) {
      // Linux tcp_ecn_check_ce: the first CE mark is acknowledged at once, not after
      // the delayed-ACK timer, as the sender may have a small window.
      if (!t.ece_pending && rx.payload_len != 0) t.ack_now = true;
      t.ece_pending = true;
    }
    if (rx.has(TcpFlags::kCwr)) t.ece_pending = rx.ce;
  }
  process_ack(t, rx, now);
  if (tcb(id) == nullptr || t.state == TcpState::kClosed || t.state == TcpState::kTimeWait) return;
  // Sixth: URG. Urgent data is accepted in line, as data (the pointer is ignored):
  // RFC 6093 recommends applications not rely on it; nothing is lost.
  // Seventh: the segment text. New data for a connection closed for reading (close(),
  // or shutdown(SHUT_RD) after our FIN) resets it: RFC 1122 §4.2.2.13 ("MUST send a
  // reset"), as Linux's tcp_rcv_state_process (TCPAbortOnData); the application that
  // closed will never read it, and the sender learns so at once instead of filling
  // an orphan's window.
  if (rx.payload_len != 0 && (t.orphan || t.rd_shutdown) &&
      (t.state == TcpState::kFinWait1 || t.state == TcpState::kFinWait2) && rx.seq() + rx.payload_len > t.rcv_nxt) {
    counters_.inc(TcpCounter::kAbortOnData);
    abort(t, RecvError::kConnectionReset, true, now);
    return;
  }
  if (rx.payload_len != 0) receive_data(t, rx, payload, now);
  // Eighth: FIN, when it is in sequence (all data before it has arrived).
  if (rx.has(TcpFlags::kFin) && !t.fin_received) {
    if (rx.seq() + rx.payload_len == t.rcv_nxt) {
      receive_fin(t, now);
    } else if (rx.seq() + rx.payload_len > t.rcv_nxt) {
      t.ooo_fin = rx.seq() + rx.payload_len;  // handled when the gap below it fills
      t.ack_now = true;
    }
  }
  if (tcb(id) == nullptr || t.state == TcpState::kClosed) return;
  output(t, now);
}

void TcpLayer::update_window(Tcb& t, const Rx& rx) {
  // RFC 9293 §3.10.7.4: only a segment newer than the last window update may change it.
  if (t.snd_wl1 < rx.seq() || (t.snd_wl1 == rx.seq() && t.snd_wl2 <= rx.ack())) {
    const uint32_t old = t.snd_wnd;
    // RFC 7323 §2.2: never scaled in a SYN (Linux tcp_ack_update_window too).
    t.snd_wnd = rx.has(TcpFlags::kSyn) ? rx.h.window : uint32_t{rx.h.window} << t.snd_wscale;
    t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
    t.snd_wl1 = rx.seq();
    t.snd_wl2 = rx.ack();
    if (old == 0 && t.snd_wnd != 0 && t.rtx_mode == tcp::RtxTimerMode::kZeroWindowProbe) {
      t.rtx_timer.cancel();
      t.rtx_mode = tcp::RtxTimerMode::kNone;
      t.rtt.reset_backoff();
      t.probes = 0;
      t.probes_started = Instant{};
    }
  }
}

void TcpLayer::process_ack(Tcb& t, const Rx& rx, Instant now) {
  const SeqNum ack = rx.ack();
  const uint32_t old_wnd = t.snd_wnd;
  update_window(t, rx);
  const bool advanced = ack > t.snd_una;
  // RFC 5681 §2 duplicate ACK: nothing new acknowledged, no data, window unchanged,
  // data outstanding. SACK-bearing ACKs count too (RFC 6675).
  const bool pure = !advanced && ack == t.snd_una && rx.payload_len == 0 && !rx.has(TcpFlags::kFin) &&
                    t.snd_wnd == old_wnd;
  const bool dupack = pure && !t.rtx.empty();

  tcp::AckResult r;
  const uint32_t sacked_before = t.rtx.sacked_bytes();
  const uint64_t lost_before = t.rtx.total_lost_segments();
  const auto sacks = t.sack_ok ? rx.h.options.sacks() : std::span<const wire::SackBlock>{};
  const SeqNum prior_una = t.snd_una;
  // Asked before the ACK frees the records, and only of a block that may be a D-SACK
  // (small; an ordinary first block may span the whole window): was it retransmitted?
  const bool maybe_dsack = t.undo.active && !sacks.empty() &&
                           (sacks[0].left < ack || (sacks.size() > 1 && sacks[1].left <= sacks[0].left &&
                                                    sacks[0].right <= sacks[1].right));
  const bool first_block_retransmitted = maybe_dsack && t.rtx.ever_retransmitted(sacks[0].left, sacks[0].right);
  // With nothing outstanding only a D-SACK can still say something (a retransmission
  // was spurious: undo, the TLP episode); Linux reads it too (tcp_ack's no_queue).
  if (!t.rtx.empty() || (!sacks.empty() && t.rtx.snd_nxt() == t.snd_una)) {
    r = t.rtx.on_ack(ack, sacks, now, t.rtt.has_sample() ? t.rtt.min_rtt() : Duration::max());
  }
  if (r.dsack) {
    counters_.inc(TcpCounter::kDsackRecv);
    dsack_for_undo(t, *r.dsack, prior_una, first_block_retransmitted);
  }

  if (advanced) {
    advance_una(t, rx, r, now);
  } else if (dupack) {
    ++t.dupacks;
  }
  // Each byte is delivered once: when SACKed, or when cumulatively acked if it was
  // not SACKed before (Linux tp->delivered; the window grows by the same count).
  const int64_t newly = int64_t{advanced ? r.acked_bytes : 0} + t.rtx.sacked_bytes() - sacked_before;
  const uint32_t delivered = static_cast<uint32_t>(std::max<int64_t>(newly, 0));
  if (delivered != 0) t.delivered += (delivered + t.mss - 1) / t.mss;

  process_tlp_ack(t, rx, r, advanced, pure, now);
  // A reduction that proves spurious is undone before anything else looks at cwnd.
  try_undo(t, rx, r.dsack.has_value(), advanced);

  // ECN: ECE from the peer is a congestion signal once per window (RFC 3168 §6.1.2),
  // and for that window cwnd does not grow (Linux TCP_CA_CWR, ended by an ACK at or
  // beyond the window's end).
  if (t.in_cwr && ack >= t.ecn_recover) t.in_cwr = false;
  if (t.ecn_ok && rx.has(TcpFlags::kEce) && !t.in_recovery && !t.in_loss && ack > t.ecn_recover) {
    t.cc->on_loss(now, t.rtx.in_flight());
    t.ecn_recover = t.snd_max;
    t.cwr_pending = true;
    t.in_cwr = true;
    t.undo.active = false;  // a congestion signal, never undone (Linux tcp_enter_cwr)
  }

  // Recovery bookkeeping before growth: a full ACK ends the episode (RFC 6582 §3.2).
  if (t.in_recovery && ack >= t.recovery_point) {
    t.in_recovery = false;
    t.cc->on_recovery_end(now);
    t.rtx.on_recovery_end();
  } else if (t.in_recovery && advanced && !t.sack_ok) {
    // NewReno partial ACK (RFC 6582 §3.2 step 3): the next hole is lost too.
    t.rtx.mark_head_lost();
  }
  if (t.in_loss && ack >= t.recovery_point) t.in_loss = false;

  if (delivered != 0 && !t.in_recovery && !t.in_cwr) {
    tcp::AckSample s;
    s.now = now;
    s.acked_bytes = delivered;
    s.rtt = r.rtt;
    s.ack = ack;
    s.snd_nxt = t.snd_max;
    s.inflight = t.rtx.in_flight();
    // Application- or peer-window-limited: cwnd was not what held sending back, so it
    // does not grow (RFC 7661; Linux calls cong_avoid only if tcp_is_cwnd_limited).
    s.app_limited = !cwnd_is_limited(t);
    t.cc->on_ack(s);
  }

  // Our FIN acknowledged.
  if (t.fin_sent && ack > t.fin_seq) {
    switch (t.state) {
      case TcpState::kFinWait1:
        set_state(t, TcpState::kFinWait2, now);
        if (t.orphan) timers_.arm(t.wait_timer, now + config_.fin_timeout);
        break;
      case TcpState::kClosing:
        enter_time_wait(t, now);
        return;
      case TcpState::kLastAck:
        connection_done(t, now);
        return;
      default: break;
    }
  }

  detect_loss(t, now);
  // PRR paces what this ACK lets out during recovery (the entering ACK included).
  if (t.in_recovery) prr_on_ack(t, delivered, advanced, t.rtx.total_lost_segments() != lost_before);

  // RFC 6298 §5.2/5.3: all acknowledged stops the timer; new data acknowledged restarts it.
  if (t.rtx.empty()) {
    if (t.rtx_mode != tcp::RtxTimerMode::kZeroWindowProbe) stop_rtx_timer(t);
  } else if (advanced || t.rtx_mode == tcp::RtxTimerMode::kTailLossProbe) {
    arm_rtx_timer(t, now);
  }
  // Space freed: only news to a host that was told the socket was not writable.
  if (advanced && (t.reported & kWritable) == 0 && t.snd.free() >= t.snd.capacity() / 3) notify(t);
}

uint32_t TcpLayer::rack_detect(Tcb& t, Instant now) {
  // RACK (RFC 8985 §6.2): time-based detection from what the SACKs say was delivered;
  // the reordering timer (§6.3) covers segments not yet old enough to call lost.
  const Duration min_rtt = t.rtt.has_sample() ? t.rtt.min_rtt() : Duration::zero();
  const Duration reo = t.rtx.rack_reo_wnd(min_rtt, t.rtt.srtt(), t.in_recovery, t.snd_una, t.snd_max);
  Instant timeout = Instant::never();
  const uint32_t lost = t.rtx.rack_detect_loss(now, reo, &timeout);
  if (lost != 0) counters_.inc(TcpCounter::kRackLoss);
  if (!timeout.is_never()) timers_.arm(t.wait_timer, timeout);
  return lost;
}

void TcpLayer::detect_loss(Tcb& t, Instant now) {
  if (t.rtx.empty()) return;
  uint32_t lost = 0;
  if (t.sack_ok) {
    lost = rack_detect(t, now);
    // RFC 6675's DupThresh as a backstop when RACK has no usable time yet: three
    // segments' worth SACKed above an unacknowledged head.
    if (lost == 0 && !t.in_recovery && t.dupacks >= 3 && t.rtx.sacked_bytes() >= 3u * t.mss) {
      t.rtx.mark_head_lost();
      lost = 1;
    }
  } else if (!t.in_recovery && !t.in_loss && t.dupacks == 3) {
    // Fast retransmit (RFC 5681 §3.2) with NewReno's guard (RFC 6582 §3.2 step 1):
    // only when the ACK covers more than the last recovery point.
    if (t.snd_una > t.recovery_point || t.recovery_point == SeqNum{} || t.snd_una == t.recovery_point) {
      t.rtx.mark_head_lost();
      lost = 1;
    }
  }
  if (lost != 0 && !t.in_recovery && !t.in_loss) enter_recovery(t, now);
}

}  // namespace joyride::core
