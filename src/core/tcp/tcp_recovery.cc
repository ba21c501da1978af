// The congestion window around a loss episode, once loss detection (tcp_input.cc) and
// the timers (tcp_timers.cc) have said one began:
//   - entering fast recovery, and Proportional Rate Reduction while in it (RFC 6937,
//     PRR-SSRB with Linux's tcp_cwnd_reduction details), so the window comes down to
//     ssthresh smoothly instead of in one step and recovery ends with cwnd = ssthresh;
//   - undoing a reduction that proves spurious (Linux tcp_try_undo_*): every
//     retransmission of the episode D-SACKed (RFC 2883 §4.1, RFC 3708), or an ACK whose
//     echoed timestamp predates the first retransmission (Eifel, RFC 3522);
//   - the tail loss probe's episode (RFC 8985 §7.4): a probe that repaired a loss gets
//     one window reduction, a spurious one none.
#include <algorithm>

#include "joyride/core/tcp_layer.h"
#include "tcp_internal.h"

namespace joyride::core {

using base::Instant;
using base::SeqNum;
using tcp::Tcb;

void TcpLayer::enter_recovery(Tcb& t, Instant now) {
  counters_.inc(TcpCounter::kFastRetrans);
  // Every recovery may be undone, except one that starts while an ECN reduction is
  // still running (Linux tcp_enter_recovery: no prior_ssthresh then).
  if (!t.in_cwr) start_undo(t, now);
  else t.undo.active = false;
  t.in_recovery = true;
  t.in_cwr = false;
  t.recovery_point = t.snd_max;
  // The recovery's reduction covers a tail loss probe that was out (Linux
  // tcp_init_cwnd_reduction clears tlp_high_seq).
  t.tlp_in_flight = false;
  // FlightSize = snd.nxt - snd.una (RFC 6937's RecoverFS): FlightSize as RFC 5681/6675 count it,
  // SACKed bytes included (the pipe would halve a window that SACKs already shrank).
  t.recover_fs = static_cast<uint32_t>(t.snd_max - t.snd_una);
  t.prr_delivered = 0;
  t.prr_sent_base = t.bytes_sent;
  t.cc->on_loss(now, t.recover_fs);
  if (t.ecn_ok) t.cwr_pending = true;
}

void TcpLayer::prr_on_ack(Tcb& t, uint32_t delivered, bool advanced, bool newly_lost) {
  // RFC 6937 §3 on every ACK in recovery, in bytes. Linux's choices: the reduction
  // bound is PRR-SSRB, its extra segment only when the ACK advanced snd_una without
  // revealing a new loss, and the first retransmission always goes.
  if (delivered == 0 || t.recover_fs == 0) return;
  t.prr_delivered += delivered;
  const int64_t pipe = t.rtx.in_flight();
  const int64_t ssthresh = t.cc->ssthresh();
  const int64_t prr_out = static_cast<int64_t>(t.bytes_sent - t.prr_sent_base);
  const int64_t mss = t.mss;
  int64_t sndcnt;
  if (pipe > ssthresh) {
    // Proportional: ssthresh / RecoverFS of what was delivered, less what was sent.
    const int64_t allowed = (int64_t{t.prr_delivered} * ssthresh + t.recover_fs - 1) / t.recover_fs;
    sndcnt = allowed - prr_out;
  } else {
    // Slow-start reduction bound: catch up to ssthresh, at most as fast as slow start.
    int64_t limit = std::max<int64_t>(int64_t{t.prr_delivered} - prr_out, delivered);
    if (advanced && !newly_lost) limit += mss;
    sndcnt = std::min(ssthresh - pipe, limit);
  }
  sndcnt = std::max<int64_t>(sndcnt, prr_out == 0 ? mss : 0);
  t.cc->set_cwnd(static_cast<uint32_t>(pipe + sndcnt));
}

// ---- undo ---------------------------------------------------------------------------

void TcpLayer::start_undo(Tcb& t, Instant now) {
  // Linux tcp_init_undo and prior_cwnd/prior_ssthresh (tcp_current_ssthresh: at least
  // 3/4 of cwnd when no reduction is running). Retransmissions already in flight
  // belong to the episode: their D-SACKs count too.
  tcp::Tcb::Undo& u = t.undo;
  u.active = true;
  u.marker = t.snd_una;
  const uint64_t in_flight = (t.rtx.retrans_bytes() + t.mss - 1) / t.mss;
  u.retrans_base = t.total_retrans - std::min<uint64_t>(t.total_retrans, in_flight);
  u.dsacked = 0;
  const uint32_t cwnd = t.cc->cwnd();
  u.prior_cwnd = cwnd;
  u.prior_ssthresh = std::max(t.cc->ssthresh(), cwnd / 2 + cwnd / 4);
  // The episode's first retransmission goes out now (the RTO's, or fast recovery's
  // at this ACK's output).
  u.first_retrans_at = now;
}

void TcpLayer::dsack_for_undo(Tcb& t, const wire::SackBlock& dsack, SeqNum prior_una, bool retransmitted) {
  // Linux tcp_check_dsack/tcp_sacktag_one: a D-SACK for data of the episode says one
  // of its retransmissions was not needed: for data still queued, when that data was
  // retransmitted; for data acknowledged before this ACK, counted without looking.
  if (!t.undo.active || !(t.undo.marker < dsack.right)) return;
  if (prior_una < dsack.right && !retransmitted) return;
  const uint32_t len = static_cast<uint32_t>(dsack.right - dsack.left);
  t.undo.dsacked += (len + t.mss - 1) / t.mss;
}

bool TcpLayer::ack_predates_retransmit(const Tcb& t, const Rx& rx) const {
  // Eifel (RFC 3522 §3.2, Linux tcp_packet_delayed): the ACK echoes a TSval older than
  // the first retransmission, so it was sent for an original transmission.
  if (!t.ts_ok || !rx.h.options.timestamps) return false;
  const uint32_t ecr = rx.h.options.timestamps->second;
  return ecr != 0 && static_cast<int32_t>(ecr - tsval(t, t.undo.first_retrans_at)) < 0;
}

bool TcpLayer::try_undo(Tcb& t, const Rx& rx, bool dsack, bool advanced) {
  if (!t.undo.active) return false;
  const uint64_t retransmitted = t.total_retrans - t.undo.retrans_base;
  TcpCounter why;
  if (dsack && retransmitted != 0 && t.undo.dsacked >= retransmitted) {
    // Linux tcp_try_undo_dsack: in any state, also after the episode ended.
    why = TcpCounter::kUndoDsack;
  } else if ((t.in_recovery || t.in_loss) && advanced && ack_predates_retransmit(t, rx)) {
    // Linux tcp_try_undo_recovery/partial/loss: an ACK moving snd_una during the episode.
    why = TcpCounter::kUndoTimestamp;
  } else {
    return false;
  }
  counters_.inc(why);
  t.cc->undo(t.undo.prior_cwnd, t.undo.prior_ssthresh);
  t.undo.active = false;
  if (t.in_recovery || t.in_loss) {
    // Nothing was lost: leave the episode and stop repairing (Linux unmarks the loss
    // and returns to the open state).
    t.in_recovery = false;
    t.in_loss = false;
    t.dupacks = 0;
    t.rtx.clear_lost();
    t.rtx.on_recovery_end();
  }
  return true;
}

// ---- TLP episode ----------------------------------------------------------------------

void TcpLayer::process_tlp_ack(Tcb& t, const Rx& rx, const tcp::AckResult& r, bool advanced, bool pure_dupack,
                               Instant now) {
  // RFC 8985 §7.4.2 (Linux tcp_process_tlp_ack), once the ACK reaches TLP.end_seq.
  if (!t.tlp_in_flight || rx.ack() < t.tlp_high_seq) return;
  if (!t.tlp_retrans) {
    t.tlp_in_flight = false;  // a probe of new data was delivered: nothing to learn
    return;
  }
  if (r.dsack && r.dsack->left < t.tlp_probe_end && t.tlp_probe_begin < r.dsack->right) {
    t.tlp_in_flight = false;  // the original and the probe both arrived: no loss
    return;
  }
  if (rx.ack() > t.tlp_high_seq) {
    // Acknowledged beyond the probe without a D-SACK for it: the probe repaired a
    // loss. One reduction, completed at once (Linux enters and ends CWR here); the
    // flight has drained by now, so ssthresh comes from cwnd as Linux's does.
    t.tlp_in_flight = false;
    counters_.inc(TcpCounter::kTlpRecoveries);
    t.cc->on_loss(now, t.cc->cwnd());
    if (t.ecn_ok) t.cwr_pending = true;
    return;
  }
  // SEG.ACK == TLP.end_seq: a duplicate ACK without SACK information means the probe
  // was a second copy; an advancing one may have been the repair, so wait.
  if (!advanced && pure_dupack && r.newly_sacked_bytes == 0) t.tlp_in_flight = false;
}

}  // namespace joyride::core
