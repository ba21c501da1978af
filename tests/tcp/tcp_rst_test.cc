// Resets and the other checks of a synchronized connection (RFC 9293 §3.10.7.4
// first to fifth check) with RFC 5961's hardening against blind in-window attacks:
// only an RST at exactly RCV.NXT resets, any other in-window RST or any SYN draws a
// challenge ACK (rate-limited, §7), an ACK for data never sent is answered and
// dropped (§5.2), and segment acceptability in all four cases, zero window included.
#include <gtest/gtest.h>

#include "tcp_bare_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

constexpr uint32_t kPeerIss = kBarePeerIss;
constexpr uint32_t kPeer = kPeerIss + 1;
constexpr uint32_t kWnd = 65535;  // our advertised window (no window scaling)
constexpr uint8_t kAck = TcpFlags::kAck;
constexpr uint8_t kRst = TcpFlags::kRst;

class TcpRst : public BareConnTest {
 protected:
  void SetUp() override {
    BareConnTest::SetUp();
    ASSERT_EQ(h.tcp().state(s), TcpState::kEstablished);
  }
};

// RFC 5961 §3.2: exact match resets; in the window but not exact: challenge ACK
// <SEQ=SND.NXT><ACK=RCV.NXT>; outside the window: silently dropped.
TEST_F(TcpRst, OnlyAnExactSequenceRstResets) {
  struct Case {
    const char* name;
    uint32_t seq;
    bool challenge;
  };
  const Case cases[] = {
      {"RCV.NXT+1", kPeer + 1, true},
      {"last in window", kPeer + kWnd - 1, true},
      {"RCV.NXT+WND (outside)", kPeer + kWnd, false},
      {"far ahead", kPeer + 0x40000000, false},
      {"RCV.NXT-1 (old)", kPeer - 1, false},
  };
  uint64_t challenges = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    peer(kRst, c.seq, 0);
    if (c.challenge) {
      expect(kAck, us(1), kPeer);
      ++challenges;
    } else {
      h.expect_no_segment();
    }
    EXPECT_EQ(state(), TcpState::kEstablished);
    EXPECT_EQ(h.counter("tcp.challenge_acks"), challenges);
  }
  peer(kRst, kPeer, 0);
  h.expect_no_segment();  // an RST is never answered
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(h.counter("tcp.estab_resets"), 1u);
  std::array<uint8_t, 4> b{};
  auto r = h.tcp().recv(s, b, h.now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), RecvError::kConnectionReset);  // ECONNRESET
  EXPECT_TRUE(h.tcp().readiness(s) & kHangup);
}

// Linux tcp_reset: EPIPE in CLOSE_WAIT, ECONNRESET in the other states past the
// handshake, CLOSING and LAST_ACK included (an application that only shut down its
// side still holds the socket). Once the peer's FIN has arrived recv() reads end of
// stream before the error (tcp_recvmsg checks SOCK_DONE first); send() then reports
// the error once, and EPIPE after. Without the FIN recv() reports the error.
TEST(TcpRstStates, ExactRstResetsInEveryLaterState) {
  struct Case {
    const char* name;
    TcpState st;
    RecvError error;
    bool fin_received;
  };
  const Case cases[] = {
      {"FIN_WAIT_1", TcpState::kFinWait1, RecvError::kConnectionReset, false},
      {"FIN_WAIT_2", TcpState::kFinWait2, RecvError::kConnectionReset, false},
      {"CLOSE_WAIT", TcpState::kCloseWait, RecvError::kBrokenPipe, true},
      {"CLOSING", TcpState::kClosing, RecvError::kConnectionReset, true},
      {"LAST_ACK", TcpState::kLastAck, RecvError::kConnectionReset, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TcpHarness h2;
    SocketId l = h2.listen(80);
    auto [c2, iss2] = h2.accept_connection(l, kPeerIss, wire::TcpOptions{});
    uint32_t rcv_nxt = kPeer;
    auto in = [&](uint8_t f, uint32_t seq, uint32_t ack) { h2.inject(h2.peer_segment(f, seq, ack)); };
    switch (c.st) {
      case TcpState::kFinWait1: h2.tcp().shutdown(c2, false, true, h2.now); break;
      case TcpState::kFinWait2:
        h2.tcp().shutdown(c2, false, true, h2.now);
        in(kAck, kPeer, iss2 + 2);
        break;
      case TcpState::kCloseWait: in(kAck | TcpFlags::kFin, kPeer, iss2 + 1); rcv_nxt++; break;
      case TcpState::kClosing:
        h2.tcp().shutdown(c2, false, true, h2.now);
        in(kAck | TcpFlags::kFin, kPeer, iss2 + 1);
        rcv_nxt++;
        break;
      case TcpState::kLastAck:
        in(kAck | TcpFlags::kFin, kPeer, iss2 + 1);
        h2.tcp().shutdown(c2, false, true, h2.now);
        rcv_nxt++;
        break;
      default: break;
    }
    ASSERT_EQ(h2.tcp().state(c2), c.st);
    while (h2.pop_segment()) {
    }
    in(kRst, rcv_nxt, 0);
    h2.expect_no_segment();
    EXPECT_EQ(h2.tcp().state(c2), TcpState::kClosed);
    ASSERT_TRUE(h2.tcp().tcb(c2)->pending_error.has_value());
    EXPECT_EQ(*h2.tcp().tcb(c2)->pending_error, c.error);
    EXPECT_TRUE(h2.tcp().readiness(c2) & kError);
    std::array<uint8_t, 4> b{};
    const std::array<uint8_t, 1> one{1};
    auto r = h2.tcp().recv(c2, b, h2.now);
    if (c.fin_received) {
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(*r, 0u);
      auto w = h2.tcp().send(c2, one, h2.now);
      ASSERT_FALSE(w.ok());
      EXPECT_EQ(w.error(), send_error_for(c.error));
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error(), c.error);
    }
    // The error is reported once; then the closed socket says EPIPE.
    auto w = h2.tcp().send(c2, one, h2.now);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error(), SendError::kBrokenPipe);
    EXPECT_FALSE(h2.tcp().readiness(c2) & kError);
  }
}

// The case the rule is for: the peer sent data and its FIN, then reset (an
// application closing with unread data, say). recv() still returns the data, then
// end of stream, never ECONNRESET; send() fails with EPIPE (Linux tcp_reset).
TEST(TcpRstStates, RstInCloseWaitLeavesTheDataThenEofAndSendSaysBrokenPipe) {
  TcpHarness h2;
  SocketId l = h2.listen(80);
  auto [c2, iss2] = h2.accept_connection(l, kPeerIss, wire::TcpOptions{});
  auto data = h2.peer_segment(kAck | TcpFlags::kPsh | TcpFlags::kFin, kPeer, iss2 + 1);
  const Bytes payload{1, 2, 3, 4, 5};
  h2.inject(data, payload);
  ASSERT_EQ(h2.tcp().state(c2), TcpState::kCloseWait);
  while (h2.pop_segment()) {
  }
  h2.inject(h2.peer_segment(kRst, kPeer + 6, 0));
  EXPECT_EQ(h2.tcp().state(c2), TcpState::kClosed);
  EXPECT_EQ(h2.counter("tcp.estab_resets"), 1u);
  std::array<uint8_t, 16> b{};
  auto r = h2.tcp().recv(c2, b, h2.now);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5u);
  r = h2.tcp().recv(c2, b, h2.now);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);  // EOF, not ECONNRESET
  r = h2.tcp().recv(c2, b, h2.now);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  const std::array<uint8_t, 1> one{1};
  auto w = h2.tcp().send(c2, one, h2.now);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error(), SendError::kBrokenPipe);
}

// Linux tcp_reset_check: after the peer's FIN an RST carrying the FIN's own sequence
// number (RCV.NXT - 1) resets too; in ESTABLISHED or the FIN_WAITs it is old and is
// dropped (RFC 5961 §3.2).
TEST(TcpRstStates, RstAtTheFinSequenceResetsOnlyAfterTheFin) {
  struct Case {
    const char* name;
    TcpState st;
    bool resets;
  };
  const Case cases[] = {
      {"ESTABLISHED", TcpState::kEstablished, false},
      {"FIN_WAIT_1", TcpState::kFinWait1, false},
      {"CLOSE_WAIT", TcpState::kCloseWait, true},
      {"LAST_ACK", TcpState::kLastAck, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TcpHarness h2;
    SocketId l = h2.listen(80);
    auto [c2, iss2] = h2.accept_connection(l, kPeerIss, wire::TcpOptions{});
    uint32_t rcv_nxt = kPeer;
    auto in = [&](uint8_t f, uint32_t seq, uint32_t ack) { h2.inject(h2.peer_segment(f, seq, ack)); };
    if (c.st == TcpState::kFinWait1) h2.tcp().shutdown(c2, false, true, h2.now);
    if (c.st == TcpState::kCloseWait || c.st == TcpState::kLastAck) {
      in(kAck | TcpFlags::kFin, kPeer, iss2 + 1);
      rcv_nxt++;
    }
    if (c.st == TcpState::kLastAck) h2.tcp().shutdown(c2, false, true, h2.now);
    ASSERT_EQ(h2.tcp().state(c2), c.st);
    while (h2.pop_segment()) {
    }
    in(kRst, rcv_nxt - 1, 0);
    h2.expect_no_segment();
    EXPECT_EQ(h2.tcp().state(c2), c.resets ? TcpState::kClosed : c.st);
  }
}

// Linux tcp_validate_incoming: the right edge of the highest SACK block we report is
// also an exact match for an RST (with SACK; without it, a challenge ACK).
TEST(TcpRstStates, RstAtTheHighestSackEdgeResets) {
  for (bool sack : {true, false}) {
    SCOPED_TRACE(sack ? "SACK" : "no SACK");
    TcpHarness h2;
    SocketId l = h2.listen(80);
    wire::TcpOptions o;
    o.sack_permitted = sack;
    auto [c2, iss2] = h2.accept_connection(l, kPeerIss, o);
    // Two out-of-order pieces: [kPeer+100, +110) and [kPeer+200, +210).
    const Bytes ten(10, 7);
    h2.inject(h2.peer_segment(kAck, kPeer + 100, iss2 + 1), ten);
    h2.inject(h2.peer_segment(kAck, kPeer + 200, iss2 + 1), ten);
    while (h2.pop_segment()) {
    }
    h2.inject(h2.peer_segment(kRst, kPeer + 110, 0));  // a lower block's edge: challenge
    EXPECT_EQ(h2.expect_segment().h.flags, kAck);
    EXPECT_EQ(h2.tcp().state(c2), TcpState::kEstablished);
    h2.inject(h2.peer_segment(kRst, kPeer + 210, 0));
    if (sack) {
      h2.expect_no_segment();
      EXPECT_EQ(h2.tcp().state(c2), TcpState::kClosed);
    } else {
      EXPECT_EQ(h2.expect_segment().h.flags, kAck);
      EXPECT_EQ(h2.tcp().state(c2), TcpState::kEstablished);
    }
  }
}

// RFC 5961 §4.2: a SYN in a synchronized state, wherever its sequence number, gets a
// challenge ACK and is dropped; the connection goes on. Linux (tcp_validate_incoming)
// challenges one outside the window too, rather than sending the rate-limited
// duplicate ACK other out-of-window segments get.
TEST_F(TcpRst, SynInEstablishedDrawsAChallengeAck) {
  peer(TcpFlags::kSyn, kPeer + 100, 0);
  expect(kAck, us(1), kPeer);
  EXPECT_EQ(h.counter("tcp.challenge_acks"), 1u);
  peer(TcpFlags::kSyn, kPeerIss, 0);  // the original SYN again: out of window
  expect(kAck, us(1), kPeer);
  EXPECT_EQ(h.counter("tcp.challenge_acks"), 2u);
  peer(TcpFlags::kSyn | kAck, kPeer, us(1));
  expect(kAck, us(1), kPeer);
  EXPECT_EQ(h.counter("tcp.challenge_acks"), 3u);
  EXPECT_EQ(state(), TcpState::kEstablished);
}

// RFC 5961 §7 with Linux's tcp_challenge_ack_limit: at most 1000 challenge ACKs per
// second for the whole stack, counted when suppressed.
TEST_F(TcpRst, ChallengeAcksAreLimitedTo1000PerSecond) {
  for (int i = 0; i < 1000; ++i) {
    peer(kRst, kPeer + 1 + static_cast<uint32_t>(i), 0);
    expect(kAck, us(1), kPeer);
  }
  peer(kRst, kPeer + 5000, 0);
  h.expect_no_segment();
  peer(TcpFlags::kSyn, kPeer + 5000, 0);
  h.expect_no_segment();
  EXPECT_EQ(h.counter("tcp.challenge_acks"), 1000u);
  EXPECT_EQ(h.counter("tcp.challenge_acks_limited"), 2u);
  h.advance(Duration::seconds(1));
  peer(kRst, kPeer + 5000, 0);
  expect(kAck, us(1), kPeer);
  EXPECT_EQ(h.counter("tcp.challenge_acks"), 1001u);
  EXPECT_EQ(state(), TcpState::kEstablished);
}

// RFC 5961 §5.2 / RFC 9293 §3.10.7.4: SEG.ACK > SND.NXT acknowledges something not
// yet sent: send an ACK, drop the segment (its data too).
TEST_F(TcpRst, AckForUnsentDataIsAnsweredAndDropped) {
  peer(kAck | TcpFlags::kPsh, kPeer, us(1000), pattern(10));
  expect(kAck, us(1), kPeer);
  std::array<uint8_t, 16> b{};
  EXPECT_EQ(h.tcp().recv(s, b, h.now).error(), RecvError::kWouldBlock);
  EXPECT_EQ(h.tcp().info(s)->bytes_received, 0u);
  EXPECT_EQ(h.counter("tcp.challenge_acks"), 0u);
  EXPECT_EQ(state(), TcpState::kEstablished);
}

// RFC 5961 §5.2: an ACK is acceptable from SND.UNA - MAX.SND.WND to SND.NXT; older
// ones draw a challenge ACK and are dropped.
TEST_F(TcpRst, AckOlderThanTheLargestWindowDrawsAChallengeAck) {
  struct Case {
    const char* name;
    uint32_t back;  // SND.UNA - SEG.ACK
    bool challenge;
  };
  const Case cases[] = {
      {"SND.UNA", 0, false},
      {"SND.UNA - 1", 1, false},
      {"SND.UNA - MAX.SND.WND", 65535, false},
      {"SND.UNA - MAX.SND.WND - 1", 65536, true},
      {"far back", 0x10000000, true},
  };
  uint64_t challenges = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    peer(kAck | TcpFlags::kPsh, kPeer + h.tcp().info(s)->bytes_received, us(1) - c.back, pattern(1));
    if (c.challenge) {
      ++challenges;
      expect(kAck, us(1), kPeer + h.tcp().info(s)->bytes_received);
    }
    EXPECT_EQ(h.counter("tcp.challenge_acks"), challenges);
  }
  // The three acceptable ones delivered their byte; the challenged ones did not.
  EXPECT_EQ(h.tcp().info(s)->bytes_received, 3u);
}

// RFC 9293 §3.10.7.4 (RFC 5961 §3.2 for SYN-RECEIVED): a passive open reset by the
// peer returns to LISTEN, i.e. the child goes, and nobody is told.
TEST(TcpRstSynReceived, RstFreesTheChildSilently) {
  TcpHarness h;
  SocketId l = h.listen(80, 1);
  const size_t before = h.tcp().connections();
  h.inject(h.peer_segment(TcpFlags::kSyn, kPeerIss, 0));
  Seg sa = h.expect_segment();
  ASSERT_TRUE(sa.has(TcpFlags::kSyn | TcpFlags::kAck));
  EXPECT_EQ(h.tcp().connections(), before + 1);
  h.inject(h.peer_segment(kRst, kPeer, 0));
  h.expect_no_segment();
  EXPECT_EQ(h.tcp().connections(), before);
  EXPECT_EQ(h.tcp().accept(l).error(), AcceptError::kWouldBlock);
  EXPECT_EQ(h.counter("tcp.estab_resets"), 0u);
  // No SYN-ACK retransmission follows.
  h.advance(Duration::seconds(2));
  h.expect_no_segment();
  // The SYN queue slot came back: the next SYN gets a real SYN-ACK, not a cookie.
  auto syn = h.peer_segment(TcpFlags::kSyn, 7000, 0);
  syn.src_port = 40001;
  h.inject(syn);
  EXPECT_TRUE(h.expect_segment().has(TcpFlags::kSyn | TcpFlags::kAck));
  EXPECT_EQ(h.counter("tcp.syncookies_sent"), 0u);
}

// RFC 9293 §3.10.7.4, first check: the four cases of segment length x window.
TEST_F(TcpRst, SegmentAcceptabilityTable) {
  struct Case {
    const char* name;
    uint32_t seq;
    size_t len;
    bool acceptable;
  };
  const Case cases[] = {
      {"len 0 at RCV.NXT", kPeer, 0, true},
      {"len 0 at the window's last byte", kPeer + kWnd - 1, 0, true},
      {"len 0 at RCV.NXT+RCV.WND", kPeer + kWnd, 0, false},
      {"len 0 at RCV.NXT-1", kPeer - 1, 0, false},
      {"len>0 ending in the window", kPeer - 5, 10, true},
      {"len>0 starting at the window's last byte", kPeer + kWnd - 1, 10, true},
      {"len>0 entirely old", kPeer - 10, 10, false},
      {"len>0 beyond the window", kPeer + kWnd, 10, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const uint64_t drops = h.counter("tcp.drop_not_acceptable");
    peer(kAck, c.seq, us(1), pattern(c.len));
    EXPECT_EQ(h.counter("tcp.drop_not_acceptable"), drops + (c.acceptable ? 0 : 1));
    while (h.pop_segment()) {
    }
  }
}

TEST(TcpRstZeroWindow, OnlyRcvNxtIsAcceptableAndItsAckIsProcessed) {
  // Every unacceptable segment is answered here: the rate limit on those answers
  // (tcp_invalid_ratelimit) has tests of its own (tcp_oow_ack_test.cc).
  TcpHarness h(HarnessOptions{.configure = [](StackConfig& c) { c.tcp.invalid_ratelimit = base::Duration::zero(); }});
  auto l = h.tcp().open();
  ASSERT_TRUE(h.tcp().set_rcvbuf(*l, 4096));
  ASSERT_TRUE(h.tcp().bind(*l, Endpoint{kOurIp, 80}).ok());
  ASSERT_TRUE(h.tcp().listen(*l, 8).ok());
  auto [s, iss] = h.accept_connection(*l, kPeerIss, wire::TcpOptions{});
  ASSERT_EQ(h.tcp().info(s)->rcv_wnd, 4096u);
  // Fill the window, and have 10 bytes of ours in flight.
  uint32_t seq = kPeer;
  for (uint32_t n : {1460u, 1460u, 1176u}) {
    h.inject(h.peer_segment(kAck, seq, iss + 1), pattern(n));
    seq += n;
  }
  ASSERT_EQ(*h.tcp().send(s, pattern(10), h.now), 10u);
  while (h.pop_segment()) {
  }
  ASSERT_EQ(h.tcp().info(s)->rcv_wnd, 0u);
  struct Case {
    const char* name;
    uint32_t seq;
    size_t len;
    bool acceptable;
  };
  const Case cases[] = {
      {"len 0 at RCV.NXT", seq, 0, true},
      {"len 0 at RCV.NXT+1", seq + 1, 0, false},
      {"len 0 at RCV.NXT-1", seq - 1, 0, false},
      {"len>0 at RCV.NXT+1", seq + 1, 5, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const uint64_t drops = h.counter("tcp.drop_not_acceptable");
    h.inject(h.peer_segment(kAck, c.seq, iss + 1), pattern(c.len));
    EXPECT_EQ(h.counter("tcp.drop_not_acceptable"), drops + (c.acceptable ? 0 : 1));
    if (!c.acceptable) {
      Seg a = h.expect_segment();
      EXPECT_EQ(a.h.flags, kAck);
      EXPECT_EQ(a.ack().value(), seq);
      EXPECT_EQ(a.h.window, 0);
    }
    h.expect_no_segment();
  }
  // RFC 9293: with a zero window "special allowance should be made to accept valid
  // ACKs": a data segment at RCV.NXT acknowledging our 10 bytes has its ACK taken,
  // its data refused, and is answered with the zero window.
  h.inject(h.peer_segment(kAck, seq, iss + 11), pattern(5));
  Seg a = h.expect_segment();
  EXPECT_EQ(a.h.flags, kAck);
  EXPECT_EQ(a.ack().value(), seq);
  EXPECT_EQ(a.h.window, 0);
  EXPECT_EQ(h.tcp().info(s)->unacked, 0u);
  EXPECT_EQ(h.tcp().info(s)->bytes_received, 4096u);
}

}  // namespace
}  // namespace joyride::core::testing
