// The receiver: data into the receive ring in order, out-of-order data held as
// packets until the gap fills, the FIN, the advertised window with receiver-side
// silly window avoidance (RFC 9293 §3.8.6.2.2), delayed ACKs (RFC 1122 §4.2.3.2,
// Linux's 40 ms and every second full segment), and receive-buffer auto-tuning.
#include <algorithm>
#include <cassert>
#include <cstring>

#include "joyride/core/tcp_layer.h"
#include "tcp_internal.h"

namespace joyride::core {

using base::Duration;
using base::Instant;
using base::SeqNum;
using tcp::Tcb;
using wire::TcpFlags;

namespace {
// copy_into for a packet of several buffers: one walk over the packet's segments and
// the ring's (at most two) free spans together: a segment of one buffer lands in one
// span but for the wrap.
size_t copy_chain_into(base::ByteRing& ring, const buf::Packet& p) {
  const size_t want = std::min(p.len(), ring.free());
  const auto spans = ring.writable();
  uint8_t* to = spans[0].data();
  size_t room = spans[0].size();
  size_t copied = 0;
  for (const buf::Segment* s = p.head(); s != nullptr && copied < want; s = s->next) {
    const uint8_t* from = s->data();
    size_t left = std::min<size_t>(s->data_len, want - copied);
    while (left != 0) {
      if (room == 0) {  // the wrap: the second span (want <= free() keeps us inside it)
        to = spans[1].data();
        room = spans[1].size();
      }
      const size_t n = std::min(left, room);
      std::memcpy(to, from, n);
      to += n;
      room -= n;
      from += n;
      left -= n;
      copied += n;
    }
  }
  ring.commit(copied);
  return copied;
}

// Copies a packet's bytes into the ring; returns how many fit. A packet of one buffer
// (nearly every received segment) is one ByteRing::write, inline when it ends before
// the end of the ring's storage (forced inline: gcc keeps a two-caller function out
// of line, a call per segment).
[[gnu::always_inline]] inline size_t copy_into(base::ByteRing& ring, const buf::Packet& p) {
  const buf::Segment* s = p.head();
  if (s != nullptr && s->next == nullptr) return ring.write(std::span<const uint8_t>(s->data(), s->data_len));
  return copy_chain_into(ring, p);
}
}  // namespace

// Inline into receive_in_order, its one caller (a call per received segment otherwise).
[[gnu::always_inline]] inline void TcpLayer::schedule_ack(Tcb& t, bool full_segment, Instant now) {
  if (t.ack_now) return;
  if (full_segment) ++t.unacked_full_segments;
  // Every second full-sized segment is acknowledged at once (RFC 5681 §4.2).
  if (t.unacked_full_segments >= 2) {
    t.ack_now = true;
    return;
  }
  if (!t.delack_owed) {
    t.delack_owed = true;
    t.delack_due = now + config_.delayed_ack_max;
    // A timer still armed from an ACK owed before is due no later: it moves itself on.
    if (!t.delack_timer.armed()) timers_.arm(t.delack_timer, t.delack_due);
  }
}

void TcpLayer::receive_data(Tcb& t, const Rx& rx, buf::Packet& payload, Instant now) {
  if (t.state != TcpState::kEstablished && t.state != TcpState::kFinWait1 && t.state != TcpState::kFinWait2) {
    return;  // RFC 9293: text after the peer's FIN is ignored
  }
  SeqNum seq = rx.seq();
  uint32_t len = static_cast<uint32_t>(payload.len());
  if (len == 0) return;
  if (len > t.rcv_mss) t.rcv_mss = static_cast<uint16_t>(std::min<uint32_t>(len, t.adv_mss));
  // Trim what we already have.
  if (seq < t.rcv_nxt) {
    const uint32_t dup = static_cast<uint32_t>(t.rcv_nxt - seq);
    if (dup >= len) {
      if (t.sack_ok) {
        t.dsack_pending = true;
        t.dsack_block = wire::SackBlock{seq, seq + len};
      }
      t.ack_now = true;
      return;
    }
    if (t.sack_ok) {
      t.dsack_pending = true;
      t.dsack_block = wire::SackBlock{seq, t.rcv_nxt};
    }
    payload.trim_front(dup);
    seq = t.rcv_nxt;
    len -= dup;
  }
  // Trim what does not fit: beyond the ring's free space (which covers the window
  // we advertised, so only a peer overrunning it loses bytes here).
  const SeqNum limit = t.rcv_nxt + static_cast<uint32_t>(t.rcv.free());
  if (seq >= limit) {
    counters_.inc(TcpCounter::kDropRcvbufFull);
    t.ack_now = true;
    return;
  }
  if (seq + len > limit) {
    counters_.inc(TcpCounter::kDropRcvbufFull);
    const uint32_t keep = static_cast<uint32_t>(limit - seq);
    payload.trim_back(len - keep);
    len = keep;
  }
  if (t.rd_shutdown) {
    // SHUT_RD: Linux keeps acknowledging but the data is discarded.
    if (seq == t.rcv_nxt) t.rcv_nxt += len;
    t.ack_now = true;
    return;
  }
  if (seq == t.rcv_nxt) {
    receive_in_order(t, payload, now);
    return;
  }
  // Out of order: hold it, and acknowledge at once so the sender sees the hole.
  const tcp::OooInsertResult r = t.ooo.insert(seq, std::move(payload));
  if (r.dropped) counters_.inc(TcpCounter::kDropOooFull);
  if (r.duplicate && t.sack_ok) {
    t.dsack_pending = true;
    t.dsack_block = *r.duplicate;
  }
  t.ack_now = true;
}

// Bytes at RCV.NXT that fit in the receive ring (the caller trimmed them): into the
// ring, then whatever the out-of-order queue now continues, then the ACK decision.
void TcpLayer::receive_in_order(Tcb& t, buf::Packet& payload, Instant now) {
  const size_t len = payload.len();
  // Data added to data the application has not read yet changes no readiness bit.
  const bool was_empty = t.rcv.empty();
  const size_t n = copy_into(t.rcv, payload);
  assert(n == len);
  t.rcv_nxt += static_cast<uint32_t>(n);
  t.bytes_received += n;
  if (!t.ooo.empty()) {
    const SeqNum before = t.rcv_nxt;
    t.rcv_nxt = t.ooo.drain(t.rcv_nxt, [&](buf::Packet p) {
      const size_t m = copy_into(t.rcv, p);
      assert(m == p.len());
      (void)m;
    });
    t.bytes_received += static_cast<uint32_t>(t.rcv_nxt - before);
    // Filling a gap is acknowledged at once (RFC 5681 §4.2).
    t.ack_now = true;
  }
  if (t.ooo_fin && *t.ooo_fin == t.rcv_nxt) {
    t.ooo_fin.reset();
    receive_fin(t, now);
  }
  schedule_ack(t, len >= t.rcv_mss, now);
  if (was_empty) notify(t);
}

void TcpLayer::receive_fin(Tcb& t, Instant now) {
  t.rcv_nxt += 1;
  t.fin_received = true;
  t.ack_now = true;
  switch (t.state) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished: set_state(t, TcpState::kCloseWait, now); break;
    case TcpState::kFinWait1:
      if (t.fin_sent && t.snd_una > t.fin_seq) {
        enter_time_wait(t, now);
      } else {
        set_state(t, TcpState::kClosing, now);
      }
      break;
    case TcpState::kFinWait2: enter_time_wait(t, now); break;
    default: break;
  }
  notify(t);
}

void TcpLayer::maybe_window_update(Tcb& t, Instant now) {
  // Linux tcp_cleanup_rbuf: after the application reads, announce the window if it has
  // at least doubled and grown by a full segment or more.
  const uint32_t old_wnd = static_cast<uint32_t>(std::max<int32_t>(0, t.rcv_adv - t.rcv_nxt));
  // receive_window() is at most max(old_wnd, free space): when the free space cannot
  // double the window (every read of a bulk transfer) there is nothing to announce.
  if (old_wnd != 0 && t.rcv.free() < 2 * size_t{old_wnd}) return;
  const uint32_t new_wnd = receive_window(t);
  if (new_wnd > old_wnd && new_wnd >= 2 * old_wnd && new_wnd - old_wnd >= t.adv_mss) {
    t.ack_now = true;
    output(t, now);
  }
}

void TcpLayer::autotune_rcvbuf(Tcb& t, Instant now) {
  // Dynamic right-sizing (Linux tcp_rcv_space_adjust): once per RTT, if the
  // application drained more than half the buffer, double it (within the bounds) so
  // the window is not what limits the connection.
  if (t.rcvbuf_limit != 0 || !t.rtt.has_sample()) return;
  const Duration rtt = std::max(t.rtt.min_rtt(), Duration::millis(1));
  if (now - t.rcv_space_at < rtt) return;
  const uint64_t copied = t.rcv_space_copied;
  t.rcv_space_copied = 0;
  t.rcv_space_at = now;
  if (copied * 2 <= t.rcv.capacity() || t.rcv.capacity() >= config_.rcvbuf_max) return;
  const size_t want = std::min(config_.rcvbuf_max, std::max<size_t>(t.rcv.capacity() * 2, copied * 4));
  auto storage = buffers_.allocate(want);
  if (!storage.empty()) buffers_.release(t.rcv.migrate(storage));
}

}  // namespace joyride::core
