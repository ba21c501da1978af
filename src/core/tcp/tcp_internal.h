// Shared by TCP's files only: a received segment as they pass it around (the parsed
// header, the 4-tuple seen from our side, the ECN bits of the IP header), segment
// size constants, the step every advancing ACK takes, and the timer trampolines.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "joyride/core/tcp_layer.h"
#include "joyride/wire/tcp.h"

namespace joyride::core {

struct TcpLayer::Rx {
  wire::TcpRepr h;
  tcp::FourTuple tuple;  // local = the segment's destination
  uint32_t payload_len = 0;
  bool ce = false;       // IP ECN field said Congestion Experienced
  // The options were none, or exactly NOP NOP TS (parsed without TcpOptions::parse):
  // the only layouts header prediction accepts.
  bool predicted_options = false;

  base::SeqNum seq() const { return h.seq; }
  base::SeqNum ack() const { return h.ack; }
  uint32_t seg_len() const { return payload_len + (h.syn() ? 1u : 0u) + (h.fin() ? 1u : 0u); }
  bool has(uint8_t flag) const { return (h.flags & flag) != 0; }
};

namespace tcp {
// Segment sizes: IPv4 header and TCP header without options.
inline constexpr uint32_t kIpTcpHeaders = 40;
inline constexpr uint32_t kTimestampOptionLen = 12;  // NOP NOP TS(10), as Linux aligns it
inline constexpr uint32_t kMaxWindowScale = 14;      // RFC 7323 §2.3
// Linux tcp_min_snd_mss: whatever the path or the peer says, no segment carries less
// than 48 bytes (a tiny MSS multiplies the work per byte: CVE-2019-11479).
inline constexpr uint16_t kMinSndMss = 48;

// The sending MSS along a path of `mtu` bytes to a peer that announced `peer_mss`:
// the MTU less IPv4 and TCP headers (and the timestamp option when in use), floored
// at kMinSndMss (Linux tcp_mtu_to_mss, tcp_current_mss).
inline uint16_t mss_for_mtu(uint16_t mtu, uint16_t peer_mss, bool timestamps) {
  int mss = std::min(int{mtu} - static_cast<int>(kIpTcpHeaders), int{peer_mss});
  if (timestamps) mss -= static_cast<int>(kTimestampOptionLen);
  return static_cast<uint16_t>(std::max(mss, int{kMinSndMss}));
}
// The TCP header length of a segment without SACK blocks (TcpLayer::send_frame_cached's).
inline uint32_t plain_header_len(const Tcb& t) { return wire::kTcpHeaderLen + (t.ts_ok ? kTimestampOptionLen : 0); }

// The window scale we offer for a receive buffer that may grow to `space` bytes
// (Linux tcp_select_initial_window): the smallest shift that lets 16 bits cover it.
inline uint8_t window_scale_for(size_t space) {
  uint8_t ws = 0;
  while (ws < kMaxWindowScale && (size_t{65535} << ws) < space) ++ws;
  return ws;
}

// Linux sk_acceptq_is_full: full when it holds MORE than the backlog, so listen(fd, N)
// lets N + 1 established connections wait for accept() (and listen(fd, 0) one).
inline bool accept_queue_full(const Tcb& listener) { return listener.accept_queue.size() > listener.backlog; }
}  // namespace tcp

// Inline: it runs on every advancing ACK, on the fast path too.
inline void TcpLayer::advance_una(Tcb& t, const Rx& rx, const tcp::AckResult& r, base::Instant now) {
  const base::SeqNum ack = rx.ack();
  const uint32_t acked = static_cast<uint32_t>(ack - t.snd_una);
  t.snd_una = ack;
  t.bytes_acked += acked;
  const int32_t data_acked = ack - t.snd_buf_seq;
  if (data_acked > 0) {
    const size_t n = std::min<size_t>(static_cast<size_t>(data_acked), t.snd.size());
    t.snd.consume(n);
    t.snd_buf_seq += static_cast<uint32_t>(n);
  }
  if (t.snd_nxt < t.snd_una) t.snd_nxt = t.snd_una;
  t.dupacks = 0;
  t.rto_count = 0;
  t.rtt.reset_backoff();
  // RTT: the scoreboard's Karn-safe sample, else the echoed timestamp (RFC 7323 §4).
  // Not the scoreboard's when the ACK also covers retransmitted data: it filled a
  // hole, and the never-retransmitted segments it acknowledges past the hole sat in
  // the receiver's out-of-order queue all through the recovery (without SACK nothing
  // acknowledged them earlier), so their "RTT" is the recovery's length and would
  // inflate srtt and the RTO (Linux tcp_clean_rtx_queue: no seq_rtt when
  // FLAG_RETRANS_DATA_ACKED).
  std::optional<base::Duration> sample = r.acked_retransmitted ? std::nullopt : r.rtt;
  if (!sample && t.ts_ok && rx.h.options.timestamps && rx.h.options.timestamps->second != 0 &&
      !r.acked_retransmitted) {
    const int32_t ms = static_cast<int32_t>(tsval(t, now) - rx.h.options.timestamps->second);
    if (ms >= 0) sample = base::Duration::millis(std::max(ms, 1));
  }
  if (sample) t.rtt.on_sample(*sample, now);
}

// Timer callbacks reach TcpLayer's private handlers through this friend.
struct TcpTimers {
  static void rtx(tcp::Tcb& t, base::Instant now) { t.layer->on_rtx_timer(t, now); }
  static void delack(tcp::Tcb& t, base::Instant now) { t.layer->on_delack_timer(t, now); }
  static void keepalive(tcp::Tcb& t, base::Instant now) { t.layer->on_keepalive_timer(t, now); }
  static void wait(tcp::Tcb& t, base::Instant now) { t.layer->on_wait_timer(t, now); }
};

}  // namespace joyride::core
