// Listeners (RFC 9293 §3.10.7.2 with Linux's queues): listen()'s backlog bounds (both
// queues hold one more than the backlog, as Linux's), the SYN queue and its SYN-ACK retransmission with exponential backoff (1 s initial RTO,
// tcp_synack_retries = 5), a full accept queue dropping the handshake's last ACK
// until a retransmitted SYN-ACK lets it complete, and SYN cookies when the SYN queue
// is full, with and without timestamps.
#include <gtest/gtest.h>

#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

constexpr uint8_t kSynAck = TcpFlags::kSyn | TcpFlags::kAck;
constexpr uint8_t kAck = TcpFlags::kAck;

// A SYN from peer port `port`, ISS `iss`.
wire::TcpRepr syn_from(const TcpHarness& h, uint16_t port, uint32_t iss) {
  auto t = h.peer_segment(TcpFlags::kSyn, iss, 0);
  t.src_port = port;
  return t;
}
wire::TcpRepr ack_from(const TcpHarness& h, uint16_t port, uint32_t seq, uint32_t ack) {
  auto t = h.peer_segment(kAck, seq, ack);
  t.src_port = port;
  return t;
}

// How many handshakes complete into the accept queue before SYNs start being dropped.
size_t accept_queue_room(TcpHarness& h, SocketId l) {
  size_t n = 0;
  for (uint16_t p = 1000; p < 1100; ++p) {
    h.inject(syn_from(h, p, 100));
    auto sa = h.pop_segment();
    if (!sa) break;  // dropped: the accept queue is full
    h.inject(ack_from(h, p, 101, sa->seq().value() + 1));
    ++n;
  }
  (void)l;
  return n;
}

// Linux: the accept queue is full when it holds MORE than the backlog
// (sk_acceptq_is_full), so listen(fd, N) lets N + 1 connections wait and listen(fd, 0)
// one; the backlog is capped at net.core.somaxconn, compared unsigned, so a negative
// one means somaxconn (__sys_listen).
TEST(TcpListen, BacklogBounds) {
  struct Case {
    const char* name;
    int backlog;
    size_t room;
  };
  const Case cases[] = {{"negative", -5, 5}, {"zero", 0, 1},           {"one", 1, 2},
                        {"three", 3, 4},     {"somaxconn", 4, 5},      {"above somaxconn", 100, 5}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HarnessOptions o;
    o.configure = [](StackConfig& sc) { sc.tcp.somaxconn = 4; };
    TcpHarness h(o);
    SocketId l = h.listen(80, c.backlog);
    EXPECT_EQ(accept_queue_room(h, l), c.room);
    EXPECT_EQ(h.counter("tcp.drop_listen_overflow"), 1u);  // the first SYN that did not fit
    // Accepting one makes room for one more.
    ASSERT_TRUE(h.tcp().accept(l).ok());
    h.inject(syn_from(h, 2000, 100));
    EXPECT_TRUE(h.expect_segment().has(kSynAck));
  }
}

// Each completed handshake is a readiness event for the listener, the second one too
// while the first still waits to be accepted (epoll EPOLLET reports each new
// connection, as Linux's sk_data_ready per child).
TEST(TcpListen, EveryNewConnectionIsAnEventForTheListener) {
  TcpHarness h;
  SocketId l = h.listen(80, 8);
  auto listener_events = [&] {
    size_t n = 0;
    SocketEvent ev[16];
    while (size_t k = h.stack->take_events(ev))
      for (size_t i = 0; i < k; ++i) n += ev[i].socket == l && (ev[i].readiness & kReadable) != 0;
    return n;
  };
  listener_events();
  for (uint16_t port : {1000, 1001}) {
    h.inject(syn_from(h, port, 100));
    auto sa = h.pop_segment();
    ASSERT_TRUE(sa.has_value());
    h.inject(ack_from(h, port, 101, sa->seq().value() + 1));
    EXPECT_EQ(listener_events(), 1u) << "connection from port " << port;
  }
  EXPECT_TRUE(h.tcp().accept(l).ok());
  EXPECT_TRUE(h.tcp().accept(l).ok());
}

// RFC 6298 §5.5 backoff on the SYN-ACK, Linux's 1 s initial timeout and 5 retries:
// sent at 0, 1, 3, 7, 15, 31 s; at 63 s the child is dropped without a reset.
TEST(TcpListen, SynAckRetransmitsWithBackoffThenGivesUp) {
  TcpHarness h;
  SocketId l = h.listen(80, 1);
  const size_t before = h.tcp().connections();
  h.inject(syn_from(h, 1000, 100));
  Seg first = h.expect_segment();
  ASSERT_EQ(first.h.flags, kSynAck);
  Duration rto = Duration::seconds(1);
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    h.advance(rto - Duration::millis(1));
    h.expect_no_segment();
    h.advance(Duration::millis(1));
    Seg again = h.expect_segment();
    EXPECT_EQ(again.h.flags, kSynAck);
    EXPECT_EQ(again.seq(), first.seq());
    EXPECT_EQ(again.ack().value(), 101u);
    EXPECT_EQ(again.h.options.mss, first.h.options.mss);
    rto = rto * 2;
  }
  EXPECT_EQ(h.tcp().connections(), before + 1);
  h.advance(rto - Duration::millis(1));
  EXPECT_EQ(h.tcp().connections(), before + 1);
  h.advance(Duration::millis(1));
  h.expect_no_segment();
  EXPECT_EQ(h.tcp().connections(), before);
  EXPECT_EQ(h.tcp().accept(l).error(), AcceptError::kWouldBlock);
  // Its SYN queue slot is free again: a new SYN gets state, not a cookie.
  h.inject(syn_from(h, 1001, 100));
  EXPECT_EQ(h.expect_segment().h.flags, kSynAck);
  EXPECT_EQ(h.counter("tcp.syncookies_sent"), 0u);
}

TEST(TcpListen, RetransmittedSynIsAnsweredWithTheSameSynAck) {
  TcpHarness h;
  h.listen(80);
  h.inject(syn_from(h, 1000, 100));
  Seg first = h.expect_segment();
  h.inject(syn_from(h, 1000, 100));  // our SYN-ACK was lost
  Seg again = h.expect_segment();
  EXPECT_EQ(again.h.flags, kSynAck);
  EXPECT_EQ(again.seq(), first.seq());
  EXPECT_EQ(again.ack(), first.ack());
  h.expect_no_segment();
}

// Linux (tcp_abort_on_overflow = 0): when the accept queue is full the final ACK is
// dropped, the child stays in SYN-RECEIVED, and the ACK answering the retransmitted
// SYN-ACK completes the handshake once there is room.
TEST(TcpListen, FullAcceptQueueDropsTheFinalAckUntilTheRetransmission) {
  TcpHarness h;
  SocketId l = h.listen(80, 1);  // room for two (Linux sk_acceptq_is_full)
  // A and B complete; C's SYN arrives while B is still in SYN-RECEIVED.
  h.inject(syn_from(h, 1, 100));
  Seg sa_a = h.expect_segment();
  h.inject(syn_from(h, 2, 200));
  Seg sa_b = h.expect_segment();
  h.inject(ack_from(h, 1, 101, sa_a.seq().value() + 1));
  h.inject(syn_from(h, 3, 300));
  Seg sa_c = h.expect_segment();
  ASSERT_EQ(sa_c.h.flags, kSynAck);
  h.inject(ack_from(h, 2, 201, sa_b.seq().value() + 1));
  // The accept queue (backlog 1, two connections) is full: C's ACK is dropped, without a reset.
  h.inject(ack_from(h, 3, 301, sa_c.seq().value() + 1));
  h.expect_no_segment();
  EXPECT_EQ(h.counter("tcp.drop_listen_overflow"), 1u);
  ASSERT_TRUE(h.tcp().accept(l).ok());
  ASSERT_TRUE(h.tcp().accept(l).ok());
  EXPECT_EQ(h.tcp().accept(l).error(), AcceptError::kWouldBlock);
  // C's SYN-ACK timer fires; the peer's ACK to it now finds room.
  h.advance(Duration::seconds(1));
  Seg again = h.expect_segment();
  EXPECT_EQ(again.h.flags, kSynAck);
  EXPECT_EQ(again.seq(), sa_c.seq());
  h.inject(ack_from(h, 3, 301, sa_c.seq().value() + 1));
  Endpoint peer;
  auto c = h.tcp().accept(l, &peer);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(peer.port, 3);
  EXPECT_EQ(h.tcp().state(*c), TcpState::kEstablished);
  h.advance(Duration::seconds(10));
  h.expect_no_segment();  // no more SYN-ACKs for an established child
}

// Linux tcp_syncookies = 1: with the SYN queue (bounded by the backlog) full, the
// SYN-ACK carries a cookie. Without timestamps there is nowhere to keep window scale
// and SACK, so the cookie SYN-ACK offers neither and the connection has only the MSS.
TEST(TcpListen, CookiesWhenTheSynQueueIsFull) {
  struct Case {
    const char* name;
    bool ts;
  };
  for (const Case& c : {Case{"with timestamps", true}, Case{"without timestamps", false}}) {
    SCOPED_TRACE(c.name);
    TcpHarness h;
    SocketId l = h.listen(80, 0);
    h.inject(syn_from(h, 1, 100));
    ASSERT_EQ(h.expect_segment().h.flags, kSynAck);  // SYN queue full: 1 > backlog 0
    const size_t before = h.tcp().connections();
    auto syn = syn_from(h, 2, 5000);
    syn.options.mss = 1400;
    syn.options.sack_permitted = true;
    syn.options.window_scale = 7;
    if (c.ts) syn.options.timestamps = std::pair{900u, 0u};
    h.inject(syn);
    Seg sa = h.expect_segment();
    EXPECT_EQ(sa.h.flags, kSynAck);
    EXPECT_EQ(sa.ack().value(), 5001u);
    EXPECT_EQ(h.counter("tcp.syncookies_sent"), 1u);
    EXPECT_EQ(h.tcp().connections(), before);  // no state kept
    EXPECT_EQ(*sa.h.options.mss, 1460);
    EXPECT_EQ(sa.h.options.timestamps.has_value(), c.ts);
    EXPECT_EQ(sa.h.options.sack_permitted, c.ts);
    EXPECT_EQ(sa.h.options.window_scale.has_value(), c.ts);
    // A cookie SYN-ACK is never retransmitted.
    h.advance(Duration::millis(999));
    h.expect_no_segment();
    auto ack = ack_from(h, 2, 5001, sa.seq().value() + 1);
    if (c.ts) ack.options.timestamps = std::pair{901u, sa.h.options.timestamps->first};
    h.inject(ack);
    h.expect_no_segment();
    EXPECT_EQ(h.counter("tcp.syncookies_recv"), 1u);
    auto first = h.tcp().accept(l);  // the stateful child is still in SYN-RECEIVED
    ASSERT_TRUE(first.ok());
    auto info = h.tcp().info(*first);
    EXPECT_EQ(h.tcp().remote_endpoint(*first)->port, 2);
    EXPECT_EQ(info->state, TcpState::kEstablished);
    EXPECT_EQ(info->timestamps, c.ts);
    EXPECT_EQ(info->sack, c.ts);
    EXPECT_EQ(info->snd_wscale, c.ts ? 7 : 0);
    // The MSS comes back from the cookie's table: the largest entry <= 1400.
    EXPECT_LE(info->snd_mss + (c.ts ? 12u : 0u), 1400u);
    EXPECT_GE(info->snd_mss + (c.ts ? 12u : 0u), 1300u);
  }
}

TEST(TcpListen, CookieAckIsDroppedWhenTheAcceptQueueIsFull) {
  TcpHarness h;
  SocketId l = h.listen(80, 0);  // each queue holds one
  h.inject(syn_from(h, 1, 100));
  Seg sa1 = h.expect_segment();
  h.inject(syn_from(h, 2, 200));  // SYN queue full: cookie
  Seg sa2 = h.expect_segment();
  ASSERT_EQ(h.counter("tcp.syncookies_sent"), 1u);
  h.inject(ack_from(h, 1, 101, sa1.seq().value() + 1));  // accept queue now full
  h.inject(ack_from(h, 2, 201, sa2.seq().value() + 1));
  h.expect_no_segment();  // dropped, not reset: the peer will retry
  EXPECT_EQ(h.counter("tcp.drop_listen_overflow"), 1u);
  EXPECT_EQ(h.counter("tcp.syncookies_recv"), 0u);
  ASSERT_TRUE(h.tcp().accept(l).ok());
  // The peer's retransmitted ACK (same cookie) now completes.
  h.inject(ack_from(h, 2, 201, sa2.seq().value() + 1));
  EXPECT_EQ(h.counter("tcp.syncookies_recv"), 1u);
  ASSERT_TRUE(h.tcp().accept(l).ok());
}

// The SYN queue as Linux's tcp_conn_request bounds it: full when it holds more than
// the backlog (inet_csk_reqsk_queue_is_full, ">" since Linux 6.13), then a cookie, or
// with tcp_syncookies = 0 a drop; without cookies the last quarter of
// tcp_max_syn_backlog is also kept for peers proven alive (none here).
TEST(TcpListen, SynQueueBound) {
  struct Case {
    const char* name;
    bool syncookies;
    uint32_t max_syn_backlog;
    int backlog;
    size_t held;  // children in SYN-RECEIVED before the first SYN without state
  };
  const Case cases[] = {
      {"cookies, backlog 0", true, 4096, 0, 1},
      {"cookies, backlog 3", true, 4096, 3, 4},
      {"cookies, small max_syn_backlog ignored", true, 4, 3, 4},
      {"no cookies, backlog 0", false, 4096, 0, 1},
      {"no cookies, backlog 3", false, 4096, 3, 4},
      {"no cookies, max_syn_backlog 8: 3/4 of it", false, 8, 100, 7},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HarnessOptions o;
    o.configure = [&](StackConfig& sc) {
      sc.tcp.syncookies = c.syncookies;
      sc.tcp.max_syn_backlog = c.max_syn_backlog;
    };
    TcpHarness h(o);
    h.listen(80, c.backlog);
    const size_t base = h.tcp().connections();
    size_t held = 0;
    for (uint16_t p = 1000; p < 1200; ++p) {
      h.inject(syn_from(h, p, 100));
      auto sa = h.pop_segment();
      if (!sa || h.tcp().connections() == base + held) break;  // dropped, or a cookie
      ++held;
    }
    EXPECT_EQ(held, c.held);
    EXPECT_EQ(h.counter("tcp.syncookies_sent"), c.syncookies ? 1u : 0u);
    EXPECT_EQ(h.counter("tcp.drop_listen_overflow"), c.syncookies ? 0u : 1u);
  }
}

}  // namespace
}  // namespace joyride::core::testing
