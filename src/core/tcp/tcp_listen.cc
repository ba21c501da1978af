// Listeners: a SYN becomes a child connection in SYN-RECEIVED (counted against the
// SYN queue, whose limit is the backlog as in Linux); when that queue is full the
// SYN-ACK carries a SYN cookie instead and no state is kept. Established children wait
// in the accept queue, bounded by the backlog.
//
// Both bounds are Linux's: a queue is full when it holds more than the backlog
// (sk_acceptq_is_full: ack_backlog > max_ack_backlog; inet_csk_reqsk_queue_is_full
// the same since Linux commit 3479c7549fb1, 6.13 and stable, "allow a connection when
// sk_max_ack_backlog is zero"). So listen(fd, N) lets N + 1 connections wait in each.
#include <algorithm>

#include "joyride/core/tcp_layer.h"
#include "tcp_internal.h"

namespace joyride::core {

using base::Instant;
using base::SeqNum;
using tcp::Tcb;
using wire::TcpFlags;

// A child takes its listener's socket options, as an accepted socket does in Linux.
void TcpLayer::inherit_from_listener(Tcb& c, const Tcb& l, const tcp::FourTuple& tuple) {
  c.parent = l.id;
  c.user_visible = false;
  c.tuple = tuple;
  c.nodelay = l.nodelay;
  c.keepalive = l.keepalive;
  c.keepalive_idle = l.keepalive_idle;
  c.keepalive_interval = l.keepalive_interval;
  c.keepalive_probes = l.keepalive_probes;
  c.user_timeout = l.user_timeout;
  c.rcvbuf_limit = l.rcvbuf_limit;
  c.sndbuf_limit = l.sndbuf_limit;
  c.linger = l.linger;
  c.linger_time = l.linger_time;
  if (l.cc) c.cc = tcp::make_congestion_control(l.cc->name());
}

void TcpLayer::listen_input(Tcb& l, const Rx& rx, buf::Packet& payload, Instant now) {
  // RFC 9293 §3.10.7.2.
  if (rx.has(TcpFlags::kRst)) return;
  if (rx.has(TcpFlags::kAck)) {
    if (!rx.has(TcpFlags::kSyn) && config_.syncookies) {
      cookie_ack(l, rx, payload, now);
      return;
    }
    send_reset_for(rx);
    return;
  }
  if (rx.has(TcpFlags::kSyn)) syn_to_listener(l, rx, now);
}

void TcpLayer::syn_to_listener(Tcb& l, const Rx& rx, Instant now, std::optional<uint32_t> tw_isn) {
  if (tcp::accept_queue_full(l)) {
    // Linux drops SYNs while the accept queue is full: the client retries.
    counters_.inc(TcpCounter::kDropListenOverflow);
    return;
  }
  const uint8_t our_ws = tcp::window_scale_for(l.rcvbuf_limit ? l.rcvbuf_limit : config_.rcvbuf_max);
  // Linux tcp_conn_request: a SYN that reopens a TIME_WAIT connection is taken
  // whatever the SYN queue holds (the peer is evidently real). Otherwise, past the
  // backlog a SYN cookie answers, or without cookies the SYN is dropped; and without
  // cookies the last quarter of tcp_max_syn_backlog is also kept for peers Linux has
  // seen before (tcp_peer_is_proven, a metrics cache we do not keep: none is).
  const bool syn_queue_full = l.syn_queue > l.backlog;
  const bool syn_backlog_reserved =
      !config_.syncookies && config_.max_syn_backlog - std::min(l.syn_queue, config_.max_syn_backlog) <
                                 (config_.max_syn_backlog >> 2);
  if (!tw_isn && (syn_queue_full || syn_backlog_reserved)) {
    if (!config_.syncookies) {
      counters_.inc(TcpCounter::kDropListenOverflow);
      return;
    }
    // A SYN cookie: the ISN encodes the tuple, a minute counter and the MSS; the
    // timestamp carries window scale, SACK and ECN (Linux cookie_init_timestamp).
    const wire::TcpOptions& o = rx.h.options;
    const uint16_t peer_mss = o.mss ? *o.mss : 536;
    auto route = ip_.route(rx.tuple.remote, now);
    const uint16_t our_mss = static_cast<uint16_t>((route ? route->mtu : 576) - tcp::kIpTcpHeaders);
    const uint32_t isn = table_.cookies.make_isn(rx.tuple, rx.seq().value(), std::min(peer_mss, our_mss), now);
    wire::TcpOptions reply;
    reply.mss = our_mss;
    const bool ts = config_.timestamps && o.timestamps.has_value();
    if (ts) {
      tcp::SynCookieOptions co;
      co.wscale = (config_.window_scaling && o.window_scale) ? std::optional<uint8_t>(*o.window_scale) : std::nullopt;
      co.sack = config_.sack && o.sack_permitted;
      co.ecn = false;
      const uint32_t base_ts = static_cast<uint32_t>(now.as_nanos() / 1'000'000) + table_.isn.ts_offset(rx.tuple);
      reply.timestamps = std::pair{tcp::SynCookies::encode_ts(base_ts, co), o.timestamps->first};
      reply.sack_permitted = co.sack;
      if (co.wscale) reply.window_scale = our_ws;
    }
    counters_.inc(TcpCounter::kSynCookiesSent);
    send_raw(rx.tuple, SeqNum(isn), rx.seq() + 1, TcpFlags::kSyn | TcpFlags::kAck,
             static_cast<uint16_t>(std::min<size_t>(65535, config_.rcvbuf_default)), reply);
    return;
  }
  auto id = new_tcb();
  if (!id) {
    counters_.inc(TcpCounter::kDropListenOverflow);
    return;
  }
  Tcb& c = *tcb(*id);
  inherit_from_listener(c, l, rx.tuple);
  ++l.syn_queue;
  // No buffers from the host: the SYN is dropped, counted, and the peer's SYN
  // retransmission may find some (Linux drops a SYN it cannot allocate for).
  if (!init_buffers(c)) {
    counters_.inc(TcpCounter::kDropNoBuffers);
    free_tcb(c);  // takes it off the SYN queue again
    return;
  }
  c.state = TcpState::kSynReceived;
  c.irs = rx.seq();
  c.rcv_nxt = c.irs + 1;
  c.rcv_adv = c.rcv_nxt;
  c.rcv_wscale = our_ws;
  apply_syn_options(c, rx);
  if (c.ts_ok) c.ts_recent_at = now;
  // RFC 3168 §6.1.1: a SYN with ECE and CWR asks for ECN; we accept (tcp_ecn = 2).
  c.ecn_ok = config_.ecn && rx.has(TcpFlags::kEce) && rx.has(TcpFlags::kCwr);
  c.iss = SeqNum(tw_isn ? *tw_isn : table_.isn.isn(c.tuple, now));
  c.ts_offset = table_.isn.ts_offset(c.tuple);
  c.snd_una = c.snd_nxt = c.snd_max = c.iss;
  c.snd_buf_seq = c.iss + 1;
  c.ecn_recover = c.iss;  // no ECE has been answered yet: any ACK of data is beyond it
  c.snd_wnd = rx.h.window;
  set_mss_from_route(c, now);
  hash_insert(c);
  c.syn_sent_at = now;
  c.handshake_started_at = now;
  send_syn(c, now);
  arm_timer(c, tcp::RtxTimerMode::kSynAck, now + config_.initial_rto);
}

void TcpLayer::cookie_ack(Tcb& l, const Rx& rx, buf::Packet& payload, Instant now) {
  const uint32_t peer_isn = (rx.seq() - 1).value();
  const uint32_t our_isn = (rx.ack() - 1).value();
  const auto mss = table_.cookies.check_isn(rx.tuple, peer_isn, our_isn, now);
  std::optional<tcp::SynCookieOptions> opts;
  if (mss && rx.h.options.timestamps) {
    opts = tcp::SynCookies::decode_ts(rx.h.options.timestamps->second);
    if (!opts) {
      counters_.inc(TcpCounter::kSynCookiesFailed);
      send_reset_for(rx);
      return;
    }
  }
  if (!mss) {
    counters_.inc(TcpCounter::kSynCookiesFailed);
    send_reset_for(rx);
    return;
  }
  if (tcp::accept_queue_full(l)) {
    counters_.inc(TcpCounter::kDropListenOverflow);
    return;
  }
  auto id = new_tcb();
  if (!id) return;
  counters_.inc(TcpCounter::kSynCookiesRecv);
  Tcb& c = *tcb(*id);
  inherit_from_listener(c, l, rx.tuple);
  ++l.syn_queue;  // child_established moves it to the accept queue
  // As for a SYN: no buffers, no connection. The ACK is dropped; the peer's
  // retransmission carries the same cookie, valid for a while yet.
  if (!init_buffers(c)) {
    counters_.inc(TcpCounter::kDropNoBuffers);
    free_tcb(c);
    return;
  }
  c.state = TcpState::kSynReceived;
  c.iss = SeqNum(our_isn);
  c.irs = SeqNum(peer_isn);
  c.rcv_nxt = rx.seq();
  c.rcv_adv = c.rcv_nxt;
  c.snd_una = c.snd_nxt = c.snd_max = c.iss + 1;
  c.snd_buf_seq = c.iss + 1;
  c.peer_mss = *mss;
  if (opts) {
    c.ts_ok = true;
    c.ts_recent = rx.h.options.timestamps->first;
    c.ts_recent_at = now;
    c.sack_ok = opts->sack;
    c.wscale_ok = opts->wscale.has_value();
    c.snd_wscale = opts->wscale.value_or(0);
    c.rcv_wscale = c.wscale_ok ? tcp::window_scale_for(l.rcvbuf_limit ? l.rcvbuf_limit : config_.rcvbuf_max) : 0;
  }
  c.ts_offset = table_.isn.ts_offset(c.tuple);
  set_mss_from_route(c, now);
  hash_insert(c);
  // The window the cookie SYN-ACK advertised (unscaled) bounds what the peer may send.
  c.rcv_adv = c.rcv_nxt + static_cast<uint32_t>(std::min<size_t>(65535, config_.rcvbuf_default));
  c.snd_wnd = uint32_t{rx.h.window} << c.snd_wscale;
  c.max_snd_wnd = c.snd_wnd;
  c.snd_wl1 = rx.seq();
  c.snd_wl2 = rx.ack();
  c.cc->init(c.mss, now);
  c.rcv_space_at = now;
  child_established(c, now);
  arm_keepalive(c, now);
  if (rx.payload_len != 0 || rx.has(TcpFlags::kFin)) segment_arrives(c, rx, payload, now);
}

void TcpLayer::child_established(Tcb& c, Instant now) {
  counters_.inc(TcpCounter::kPassiveOpens);
  c.state = TcpState::kEstablished;
  Tcb* l = tcb(c.parent);
  if (l == nullptr || l->state != TcpState::kListen) {
    // The listener went away meanwhile: nobody will accept this connection.
    c.parent = SocketId{};
    abort(c, std::nullopt, true, now);
    return;
  }
  if (l->syn_queue > 0) --l->syn_queue;
  l->accept_queue.push_back(c.id);
  // Every connection joining the queue is an event, even when the listener was
  // readable already: an edge-triggered waiter (epoll EPOLLET) is told of each new
  // connection, as Linux calls sk_data_ready per child.
  notify(*l, true);
}

void TcpLayer::child_gone(Tcb& c) {
  Tcb* l = tcb(c.parent);
  c.parent = SocketId{};
  if (l == nullptr) return;
  auto it = std::find(l->accept_queue.begin(), l->accept_queue.end(), c.id);
  if (it != l->accept_queue.end()) {
    l->accept_queue.erase(it);
  } else if (l->syn_queue > 0) {
    --l->syn_queue;
  }
}

}  // namespace joyride::core
