// TCP's timers. One retransmission timer per connection does whichever job is due,
// as Linux's does: RTO (RFC 6298), tail loss probe (RFC 8985 §7), zero-window probe
// (RFC 9293 §3.8.6.1) and SYN/SYN-ACK retransmission. Besides it: the delayed ACK,
// keepalive (RFC 1122 §4.2.3.6), and a wait timer for TIME_WAIT, an orphan's
// FIN_WAIT_2 and RACK's reordering window.
#include <algorithm>

#include "joyride/core/tcp_layer.h"
#include "tcp_internal.h"

namespace joyride::core {

using base::Duration;
using base::Instant;
using tcp::RtxTimerMode;
using tcp::Tcb;
using wire::TcpFlags;

void TcpLayer::arm_timer(Tcb& t, RtxTimerMode mode, Instant deadline) {
  t.rtx_mode = mode;
  t.rtx_due = deadline;
  // Lazy re-arming: a timer already set no later than the new deadline stays where it
  // is; on_rtx_timer moves it on when it fires before rtx_due. Only an earlier
  // deadline needs the wheel now.
  if (t.rtx_timer.armed() && t.rtx_timer.deadline() <= deadline) return;
  timers_.arm(t.rtx_timer, deadline);
}

void TcpLayer::arm_rtx_timer(Tcb& t, Instant now) {
  if (t.rtx.empty()) {
    if (t.rtx_mode != RtxTimerMode::kZeroWindowProbe) stop_rtx_timer(t);
    return;
  }
  const Duration rto = t.rtt.rto();
  // TLP (RFC 8985 §7.2): with SACK, outside recovery, after an RTT sample, probe the
  // tail after 2·SRTT (plus the peer's worst-case delayed ACK when one segment is out).
  if (t.sack_ok && !t.in_recovery && !t.in_loss && t.rtt.has_sample() && t.rto_count == 0 &&
      !t.tlp_in_flight) {
    Duration pto = t.rtt.srtt() * 2;
    if (t.rtx.in_flight() <= t.mss) pto += config_.delayed_ack_max * 5;  // WCDelAckT = 200 ms
    pto = std::max(pto, Duration::millis(10));
    if (pto < rto) {
      arm_timer(t, RtxTimerMode::kTailLossProbe, now + pto);
      return;
    }
  }
  arm_timer(t, RtxTimerMode::kRetransmit, now + rto);
}

void TcpLayer::on_rtx_timer(Tcb& t, Instant now) {
  if (now < t.rtx_due && t.rtx_mode != RtxTimerMode::kNone) {
    // Fired at a deadline that ACKs have since moved on (arm_timer): nothing is due.
    timers_.arm(t.rtx_timer, t.rtx_due);
    return;
  }
  const RtxTimerMode mode = t.rtx_mode;
  t.rtx_mode = RtxTimerMode::kNone;
  switch (mode) {
    case RtxTimerMode::kNone: return;
    case RtxTimerMode::kTailLossProbe: on_tail_loss_probe(t, now); return;
    case RtxTimerMode::kZeroWindowProbe: on_zero_window_probe(t, now); return;
    case RtxTimerMode::kRetransmit:
    case RtxTimerMode::kSynAck: on_retransmit_timeout(t, now); return;
  }
}

namespace {
// Linux tcp_clamp_rto_to_user_timeout / tcp_clamp_probe0_to_user_timeout: with
// TCP_USER_TIMEOUT set, the next timer fires no later than when it expires, so the
// connection ends at the timeout and not at the next backed-off deadline.
Duration clamp_to_user_timeout(Duration next, Duration user_timeout, Duration elapsed) {
  if (user_timeout <= Duration::zero()) return next;
  const Duration left = user_timeout - elapsed;
  return std::min(next, std::max(left, Duration::millis(1)));
}
}  // namespace

uint32_t TcpLayer::orphan_retries(bool alive) const {
  // Linux tcp_orphan_retries: 0 configured means 8 while the backed-off RTO is still
  // below TCP_RTO_MAX ("alive"), and no retries once it has reached it.
  if (config_.orphan_retries == 0 && alive) return 8;
  return config_.orphan_retries;
}

bool TcpLayer::retries_exhausted(Tcb& t, Instant now) const {
  // Linux tcp_write_timeout: the first timeout always retransmits.
  if (t.rto_count == 0) return false;
  // TCP_USER_TIMEOUT replaces the retry count (Linux retransmits_timed_out): the time
  // since the original transmission of the oldest unacknowledged segment.
  if (t.user_timeout > Duration::zero()) return now - t.rtx.first()->first_sent_at >= t.user_timeout;
  // Otherwise tcp_retries2, or tcp_orphan_retries for a closed socket.
  const uint32_t limit = t.orphan ? orphan_retries(t.rtt.rto() < config_.max_rto) : config_.retries2;
  return t.rto_count >= limit;
}

void TcpLayer::on_retransmit_timeout(Tcb& t, Instant now) {
  if (t.state == TcpState::kSynSent || t.state == TcpState::kSynReceived || t.syn_unacked) {
    // After close() in SYN-RECEIVED (syn_unacked, FIN-WAIT-1) the limit is FIN-WAIT-1's
    // (Linux tcp_write_timeout counts SYN retries only in SYN_SENT/SYN_RECV).
    const uint32_t limit = t.state == TcpState::kSynSent ? config_.syn_retries : config_.synack_retries;
    // TCP_USER_TIMEOUT bounds the handshake too (Linux tcp_write_timeout: when the
    // SYN retries are not exhausted, retransmits_timed_out with icsk_user_timeout,
    // from the first SYN); the first timeout always retransmits.
    const bool user_expired = t.user_timeout > Duration::zero() && t.rto_count > 0 &&
                              now - t.handshake_started_at >= t.user_timeout;
    if (t.syn_unacked ? retries_exhausted(t, now) : (t.rto_count >= limit || user_expired)) {
      if (!t.syn_unacked) counters_.inc(TcpCounter::kAttemptFails);  // Linux tcp_done: SYN states only
      if (user_expired) counters_.inc(TcpCounter::kUserTimeouts);
      abort(t, timeout_error(t), false, now);
      return;
    }
    ++t.rto_count;
    t.rtt.backoff();
    counters_.inc(TcpCounter::kTimeouts);
    counters_.inc(TcpCounter::kRetransSegments);
    ++t.total_retrans;
    send_syn(t, now);
    // Linux resends only the head of its queue, the SYN-ACK, and marks the FIN behind
    // it lost (tcp_enter_loss): it goes again once the SYN is acknowledged
    // (segment_arrives -> output -> retransmit_lost).
    if (t.syn_unacked) t.rtx.mark_all_lost();
    // Linux tcp_clamp_rto_to_user_timeout: the next timeout comes no later than the
    // user timeout.
    const Duration next = t.syn_unacked ? t.rtt.rto()
                                        : clamp_to_user_timeout(t.rtt.rto(), t.user_timeout,
                                                                now - t.handshake_started_at);
    arm_timer(t, RtxTimerMode::kRetransmit, now + next);
    return;
  }
  if (t.rtx.empty()) return;
  if (retries_exhausted(t, now)) {
    counters_.inc(t.user_timeout > Duration::zero() ? TcpCounter::kUserTimeouts : TcpCounter::kTimeouts);
    abort(t, timeout_error(t), false, now);
    return;
  }
  counters_.inc(TcpCounter::kTimeouts);
  // RFC 6298 §5.5-5.7 and RFC 5681 §3.1: collapse the window, mark everything
  // outstanding lost (Linux tcp_enter_loss), back the timer off, resend the first.
  // A timeout out of the open state starts an undo episode; one during fast recovery
  // continues that recovery's (Linux tcp_enter_loss).
  if (!t.in_loss && !t.in_recovery) start_undo(t, now);
  if (!t.in_loss) t.cc->on_timeout(now, t.rtx.in_flight());
  t.rtx.mark_all_lost();
  t.in_loss = true;
  t.in_recovery = false;
  t.in_cwr = false;
  t.recovery_point = t.snd_max;
  t.dupacks = 0;
  t.tlp_in_flight = false;
  ++t.rto_count;
  t.rtt.backoff();
  retransmit_lost(t, now);
  const Duration elapsed = t.rtx.empty() ? Duration::zero() : now - t.rtx.first()->first_sent_at;
  arm_timer(t, RtxTimerMode::kRetransmit, now + clamp_to_user_timeout(t.rtt.rto(), t.user_timeout, elapsed));
}

void TcpLayer::revert_rto_backoff(Tcb& t, base::SeqNum seq, Instant now) {
  // RFC 6069 §4 as Linux's tcp_ld_RTO_revert: an ICMP net/host unreachable quoting
  // SND.UNA while the retransmission timer is backed off undoes one doubling, and the
  // timer is re-armed from the head's last transmission with the smaller RTO; if that
  // deadline has passed, the timeout happens now.
  if (seq != t.snd_una || t.rto_count == 0 || t.rtt.backoffs() == 0 || t.rtx_mode != RtxTimerMode::kRetransmit ||
      t.rtx.empty()) {
    return;
  }
  t.rtt.undo_backoff();
  const Duration elapsed = now - t.rtx.first()->sent_at;
  if (elapsed < t.rtt.rto()) {
    arm_timer(t, RtxTimerMode::kRetransmit, now + (t.rtt.rto() - elapsed));
  } else {
    t.rtx_mode = RtxTimerMode::kNone;
    on_retransmit_timeout(t, now);  // may end the connection: `t` is not used after
  }
}

void TcpLayer::on_tail_loss_probe(Tcb& t, Instant now) {
  if (t.rtx.empty()) return;
  // RFC 8985 §7.3: send new data if the window allows, else retransmit the last
  // segment; either way an ACK (or SACK) comes back that lets RACK see a lost tail.
  const uint32_t unsent = unsent_bytes(t);
  const uint32_t room = send_window_left(t);
  bool sent = false;
  t.tlp_retrans = false;
  if (unsent != 0 && room != 0) {
    const uint32_t len = std::min<uint32_t>({unsent, current_mss(t), room});
    if (send_segment(t, t.snd_nxt, len, TcpFlags::kAck | TcpFlags::kPsh, now)) {
      const base::SeqNum begin = t.snd_nxt;
      t.snd_nxt += len;
      t.snd_max = base::seq_max(t.snd_max, t.snd_nxt);
      t.rtx.on_send(begin, t.snd_nxt, now);
      sent = true;
    }
  }
  if (!sent) {
    if (const tcp::SentSegment* last = t.rtx.last()) {
      // The last segment may have been full-sized before SACK blocks took option
      // space: probe with as much of its head as fits.
      const base::SeqNum begin = last->begin;
      base::SeqNum end = last->end;
      bool fin = t.fin_sent && base::seq_in_window(t.fin_seq, begin, end);
      uint32_t data = static_cast<uint32_t>(end - begin) - (fin ? 1u : 0u);
      const uint32_t mss = current_mss(t);
      if (data > mss) {
        data = mss;
        fin = false;
        end = begin + data;
      }
      if (send_segment(t, begin, data, TcpFlags::kAck | (fin ? TcpFlags::kFin : 0), now, true)) {
        t.rtx.on_retransmit(begin, end, now);
        sent = true;
        t.tlp_retrans = true;
        t.tlp_probe_begin = begin;
        t.tlp_probe_end = end;
      }
    }
  }
  if (sent) counters_.inc(TcpCounter::kTlpProbes);
  // The episode (RFC 8985 §7.4.1): process_tlp_ack() decides how it ended.
  t.tlp_in_flight = true;
  t.tlp_high_seq = t.snd_max;
  arm_timer(t, RtxTimerMode::kRetransmit, now + t.rtt.rto());
}

void TcpLayer::on_zero_window_probe(Tcb& t, Instant now) {
  if (t.state != TcpState::kEstablished && t.state != TcpState::kCloseWait && t.state != TcpState::kFinWait1 &&
      t.state != TcpState::kClosing && t.state != TcpState::kLastAck) {
    return;
  }
  if (unsent_bytes(t) == 0 && !(t.fin_queued && !t.fin_sent)) {
    t.probes_started = Instant{};
    return;
  }
  // When to give up (Linux tcp_probe_timer). RFC 1122 §4.2.2.17: keep probing as long
  // as the peer answers. So only probes left unanswered tcp_retries2 times end the
  // connection; an orphan gets tcp_orphan_retries, and also gives up once the backoff
  // has reached TCP_RTO_MAX even if answered; TCP_USER_TIMEOUT counts from the first
  // probe. Like Linux (tcp_write_err), no RST is sent.
  if (t.probes_started == Instant{}) {
    t.probes_started = now;
  } else if (t.user_timeout > Duration::zero() && now - t.probes_started >= t.user_timeout) {
    counters_.inc(TcpCounter::kUserTimeouts);
    abort(t, timeout_error(t), false, now);
    return;
  }
  uint32_t max_probes = config_.retries2;
  bool give_up = false;
  if (t.orphan) {
    const bool alive = t.rtt.rto() < config_.max_rto;
    max_probes = orphan_retries(alive);
    give_up = !alive && t.rtt.backoffs() >= max_probes;
  }
  if (give_up || t.probes >= max_probes) {
    counters_.inc(TcpCounter::kProbeTimeouts);
    abort(t, timeout_error(t), false, now);
    return;
  }
  counters_.inc(TcpCounter::kZeroWindowProbes);
  ++t.probes;
  const uint32_t room = send_window_left(t);
  if (room != 0) {
    // The window opened but too little for SWS to allow a segment: send what fits
    // (Linux tcp_write_wakeup).
    const uint32_t len = std::min<uint32_t>({unsent_bytes(t), current_mss(t), room});
    if (send_segment(t, t.snd_nxt, len, TcpFlags::kAck | TcpFlags::kPsh, now)) {
      const base::SeqNum begin = t.snd_nxt;
      t.snd_nxt += len;
      t.snd_max = base::seq_max(t.snd_max, t.snd_nxt);
      t.rtx.on_send(begin, t.snd_nxt, now);
      t.probes_started = Instant{};  // data in flight: the RTO takes over
      arm_rtx_timer(t, now);
      return;
    }
  } else {
    // A segment below SND.UNA carries no data yet forces an ACK with the current
    // window (Linux tcp_xmit_probe_skb).
    send_segment(t, t.snd_una - 1, 0, TcpFlags::kAck, now);
  }
  t.rtt.backoff();
  const Duration next = clamp_to_user_timeout(t.rtt.rto(), t.user_timeout, now - t.probes_started);
  arm_timer(t, RtxTimerMode::kZeroWindowProbe, now + next);
}

void TcpLayer::on_delack_timer(Tcb& t, Instant now) {
  if (!t.delack_owed) return;  // acknowledged since it was armed
  if (now < t.delack_due) {
    // Armed for an ACK already sent; the one owed now is due later.
    timers_.arm(t.delack_timer, t.delack_due);
    return;
  }
  if (t.state == TcpState::kClosed || t.state == TcpState::kListen) return;
  counters_.inc(TcpCounter::kDelayedAcks);
  send_ack(t, now);
}

void TcpLayer::arm_keepalive(Tcb& t, Instant now) {
  if (!t.keepalive) return;
  if (t.last_rx == Instant{}) t.last_rx = now;
  timers_.arm(t.keepalive_timer, t.last_rx + t.keepalive_idle);
}

void TcpLayer::on_keepalive_timer(Tcb& t, Instant now) {
  if (!t.keepalive) return;
  if (t.state != TcpState::kEstablished && t.state != TcpState::kCloseWait && t.state != TcpState::kFinWait2) return;
  // Only an idle connection is probed: one with data outstanding has its RTO.
  const Duration idle = now - t.last_rx;
  if (!t.rtx.empty() || unsent_bytes(t) != 0) {
    timers_.arm(t.keepalive_timer, now + t.keepalive_idle);
    return;
  }
  if (t.probes == 0 && idle < t.keepalive_idle) {
    timers_.arm(t.keepalive_timer, t.last_rx + t.keepalive_idle);
    return;
  }
  if (t.probes >= t.keepalive_probes) {
    counters_.inc(TcpCounter::kKeepaliveTimeouts);
    abort(t, timeout_error(t), true, now);
    return;
  }
  ++t.probes;
  // RFC 1122 §4.2.3.6: SEG.SEQ = SND.NXT - 1, no data, so the peer must answer.
  send_segment(t, t.snd_nxt - 1, 0, TcpFlags::kAck, now);
  timers_.arm(t.keepalive_timer, now + t.keepalive_interval);
}

void TcpLayer::enter_time_wait(Tcb& t, Instant now) {
  set_state(t, TcpState::kTimeWait, now);
  t.time_wait_at = now;
  t.oow_acked = false;  // no rate-limited ACK sent yet (tw_last_oow_ack_time = 0)
  t.rtx_timer.cancel();
  t.rtx_mode = RtxTimerMode::kNone;
  t.delack_timer.cancel();
  t.delack_owed = false;
  t.keepalive_timer.cancel();
  t.rtx.clear();
  t.ooo.clear();
  if (t.ack_now) send_ack(t, now);
  // Buffers are of no more use: everything sent is acknowledged, so the send ring goes
  // back now; the receive ring too once no application can read it (closed already,
  // or when it closes: TcpLayer::close). A TIME-WAIT connection then holds no buffer
  // memory for its 60 s, as Linux's timewait socket holds none.
  release_ring(t.snd);
  if (t.orphan) release_ring(t.rcv);
  timers_.arm(t.wait_timer, now + config_.time_wait);
}

void TcpLayer::release_ring(base::ByteRing& ring) {
  // Without a receive ring an ACK announces the window last advertised
  // (receive_window(): rcv_adv - rcv_nxt), as Linux's timewait ACK sends tw_rcv_wnd.
  if (ring.storage().empty()) return;
  buffers_.release(ring.storage());
  ring = base::ByteRing();
}

void TcpLayer::on_wait_timer(Tcb& t, Instant now) {
  switch (t.state) {
    case TcpState::kTimeWait:
    case TcpState::kFinWait2:
      if (t.state == TcpState::kFinWait2 && !t.orphan) break;
      connection_done(t, now);
      return;
    default: break;
  }
  // RACK's reordering timer (RFC 8985 §6.3).
  if (t.rtx.empty() || !t.sack_ok) return;
  if (rack_detect(t, now) == 0) return;
  if (!t.in_recovery && !t.in_loss) enter_recovery(t, now);
  output(t, now);
  arm_rtx_timer(t, now);
}

}  // namespace joyride::core
