// Opening connections, segment by segment (RFC 9293 §3.5, RFC 7323, RFC 2018):
// what a SYN, SYN-ACK and the final ACK carry, simultaneous open, and the ways an
// opening fails.
#include <gtest/gtest.h>

#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

using base::Duration;
using base::SeqNum;

wire::TcpOptions linux_syn_options(uint32_t tsval = 1000) {
  wire::TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.timestamps = std::pair{tsval, 0u};
  o.window_scale = 7;
  return o;
}

TEST(TcpOpen, PassiveOpenAnswersWithTheOptionsThePeerOffered) {
  struct Case {
    const char* name;
    bool mss, sack, ts, ws;
  };
  const Case cases[] = {
      {"all", true, true, true, true},   {"none", false, false, false, false},
      {"mss only", true, false, false, false}, {"ts only", true, false, true, false},
      {"sack+ws", true, true, false, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TcpHarness h;
    h.listen(80);
    auto syn = h.peer_segment(TcpFlags::kSyn, 1000, 0);
    if (c.mss) syn.options.mss = 1400;
    syn.options.sack_permitted = c.sack;
    if (c.ts) syn.options.timestamps = std::pair{555u, 0u};
    if (c.ws) syn.options.window_scale = 2;
    h.inject(syn);
    Seg sa = h.expect_segment();
    EXPECT_EQ(sa.h.flags, TcpFlags::kSyn | TcpFlags::kAck);
    EXPECT_EQ(sa.ack(), SeqNum(1001));
    ASSERT_TRUE(sa.h.options.mss.has_value());
    EXPECT_EQ(*sa.h.options.mss, 1460);  // from our MTU, whatever the peer's
    EXPECT_EQ(sa.h.options.sack_permitted, c.sack);
    EXPECT_EQ(sa.h.options.timestamps.has_value(), c.ts);
    if (c.ts) {
      EXPECT_EQ(sa.h.options.timestamps->second, 555u);
    }
    EXPECT_EQ(sa.h.options.window_scale.has_value(), c.ws);
    if (c.ws) {
      EXPECT_EQ(*sa.h.options.window_scale, 7);  // covers the 6 MB maximum buffer
    }
    EXPECT_GT(sa.h.window, 0);
    h.expect_no_segment();
  }
}

TEST(TcpOpen, HandshakeCompletesIntoTheAcceptQueue) {
  TcpHarness h;
  SocketId l = h.listen(80);
  EXPECT_FALSE(h.tcp().accept(l).ok());
  auto [s, iss] = h.accept_connection(l, 5000, linux_syn_options());
  ASSERT_TRUE(s.valid());
  EXPECT_EQ(h.tcp().state(s), TcpState::kEstablished);
  auto info = h.tcp().info(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->sack);
  EXPECT_TRUE(info->timestamps);
  EXPECT_EQ(info->snd_wscale, 7);
  EXPECT_EQ(info->snd_mss, 1460u - 12u);  // timestamps take 12 bytes of every segment
  EXPECT_EQ(info->cwnd, 10u * (1460u - 12u));  // RFC 6928
  EXPECT_EQ(info->congestion_control, "cubic");
  EXPECT_EQ(h.tcp().remote_endpoint(s), (Endpoint{kPeerIp, TcpHarness::kPeerPort}));
  h.expect_no_segment();
}

TEST(TcpOpen, ActiveOpenSendsLinuxStyleSynAndCompletes) {
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
  EXPECT_EQ(h.tcp().state(*s), TcpState::kSynSent);
  Seg syn = h.expect_segment();
  EXPECT_EQ(syn.h.flags, TcpFlags::kSyn);
  EXPECT_EQ(syn.h.dst_port, 80);
  EXPECT_GE(syn.h.src_port, 32768);
  EXPECT_LE(syn.h.src_port, 60999);
  EXPECT_EQ(*syn.h.options.mss, 1460);
  EXPECT_TRUE(syn.h.options.sack_permitted);
  ASSERT_TRUE(syn.h.options.timestamps.has_value());
  EXPECT_EQ(*syn.h.options.window_scale, 7);
  // Linux's layout: MSS, SACK-permitted, timestamps, NOP, window scale = 20 bytes.
  EXPECT_EQ(syn.h.options_len(), 20u);
  EXPECT_FALSE(h.tcp().readiness(*s) & kWritable);

  auto sa = h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, 9000, syn.seq().value() + 1, syn.h.src_port);
  sa.dst_port = syn.h.src_port;
  sa.src_port = 80;
  sa.options = linux_syn_options(77);
  sa.options.timestamps = std::pair{77u, syn.h.options.timestamps->first};
  // Inject as from port 80.
  h.inject(sa);
  Seg ack = h.expect_segment();
  EXPECT_EQ(ack.h.flags, TcpFlags::kAck);
  EXPECT_EQ(ack.seq(), syn.seq() + 1);
  EXPECT_EQ(ack.ack(), SeqNum(9001));
  ASSERT_TRUE(ack.h.options.timestamps.has_value());
  EXPECT_EQ(ack.h.options.timestamps->second, 77u);
  EXPECT_EQ(h.tcp().state(*s), TcpState::kEstablished);
  EXPECT_TRUE(h.tcp().readiness(*s) & kWritable);
}

TEST(TcpOpen, SynRetransmitsWithBackoffThenTimesOut) {
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
  Seg first = h.expect_segment();
  // Linux: 1 s initial RTO doubling, tcp_syn_retries = 6 retransmissions.
  Duration rto = Duration::seconds(1);
  for (int i = 0; i < 6; ++i) {
    h.advance(rto - Duration::millis(1));
    h.expect_no_segment();
    h.advance(Duration::millis(1));
    Seg again = h.expect_segment();
    EXPECT_EQ(again.h.flags, TcpFlags::kSyn);
    EXPECT_EQ(again.seq(), first.seq());
    rto = rto * 2;
  }
  h.advance(rto);
  EXPECT_EQ(h.tcp().state(*s), TcpState::kClosed);
  std::array<uint8_t, 4> b{};
  auto r = h.tcp().recv(*s, b, h.now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), RecvError::kTimedOut);
}

// TCP_USER_TIMEOUT set before connect() bounds the handshake (Linux tcp_write_timeout
// -> retransmits_timed_out, tcp_clamp_rto_to_user_timeout): with 1.5 s the SYN goes at
// 0 and 1 s, the next timeout is clamped to 1.5 s, and connect() fails with
// ETIMEDOUT then, not after the six SYN retries (127 s).
TEST(TcpOpen, UserTimeoutBoundsTheHandshake) {
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(h.tcp().set_user_timeout(*s, Duration::millis(1500)));
  ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
  h.expect_segment();
  h.advance(Duration::seconds(1));
  EXPECT_EQ(h.expect_segment().h.flags, TcpFlags::kSyn);
  h.advance(Duration::millis(499));
  EXPECT_EQ(h.tcp().state(*s), TcpState::kSynSent);
  h.advance(Duration::millis(1));
  h.expect_no_segment();
  EXPECT_EQ(h.tcp().state(*s), TcpState::kClosed);
  std::array<uint8_t, 4> b{};
  auto r = h.tcp().recv(*s, b, h.now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), RecvError::kTimedOut);
  EXPECT_EQ(h.counter("tcp.user_timeouts"), 1u);
}

TEST(TcpOpen, RstInSynSentRefusesOnlyWithAnAcceptableAck) {
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
  Seg syn = h.expect_segment();
  auto from_peer = [&](uint8_t flags, uint32_t seq, uint32_t ack) {
    auto t = h.peer_segment(flags, seq, ack);
    t.src_port = 80;
    t.dst_port = syn.h.src_port;
    return t;
  };
  // RST without ACK: ignored. RST with a wrong ACK: ignored (RFC 9293 §3.10.7.3).
  h.inject(from_peer(TcpFlags::kRst, 0, 0));
  h.inject(from_peer(TcpFlags::kRst | TcpFlags::kAck, 0, syn.seq().value() + 5));
  EXPECT_EQ(h.tcp().state(*s), TcpState::kSynSent);
  h.expect_no_segment();
  // A bad ACK without RST is answered with a reset <SEQ=SEG.ACK>.
  h.inject(from_peer(TcpFlags::kAck, 0, syn.seq().value() + 5));
  Seg rst = h.expect_segment();
  EXPECT_EQ(rst.h.flags, TcpFlags::kRst);
  EXPECT_EQ(rst.seq(), syn.seq() + 5);
  h.inject(from_peer(TcpFlags::kRst | TcpFlags::kAck, 0, syn.seq().value() + 1));
  EXPECT_EQ(h.tcp().state(*s), TcpState::kClosed);
  std::array<uint8_t, 4> b{};
  auto r = h.tcp().recv(*s, b, h.now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), RecvError::kConnectionRefused);
}

// RFC 9293 §3.10.7.3, SYN-SENT: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
// (unless the RST bit is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>
// and discard the segment. Return." A SYN-ACK acknowledging ISS itself (not ISS+1) does
// not acknowledge our SYN: it is reset and the connection stays in SYN-SENT, and the
// right SYN-ACK still establishes it afterwards.
TEST(TcpOpen, SynAckWhoseAckEqualsIssIsResetAndLeavesSynSent) {
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
  Seg syn = h.expect_segment();
  auto synack = [&](uint32_t ack) {
    auto t = h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, 9000, ack);
    t.src_port = 80;
    t.dst_port = syn.h.src_port;
    return t;
  };
  h.inject(synack(syn.seq().value()));
  Seg rst = h.expect_segment();
  EXPECT_EQ(rst.h.flags, TcpFlags::kRst);
  EXPECT_EQ(rst.seq(), syn.seq());
  h.expect_no_segment();
  EXPECT_EQ(h.tcp().state(*s), TcpState::kSynSent);

  h.inject(synack(syn.seq().value() + 1));
  Seg ack = h.expect_segment();
  EXPECT_EQ(ack.h.flags, TcpFlags::kAck);
  EXPECT_EQ(ack.seq(), syn.seq() + 1);
  EXPECT_EQ(ack.ack(), SeqNum(9001));
  EXPECT_EQ(h.tcp().state(*s), TcpState::kEstablished);
}

// Simultaneous open, RFC 9293 figure 8: the SYNs cross, each end answers with a
// SYN-ACK, and the peer's SYN-ACK alone establishes. Its SYN is one below RCV.NXT;
// it must not be taken for an old duplicate (a challenge ACK, still SYN-RECEIVED).
// Linux (6.11+) sends nothing in reply: each end has the other's SYN-ACK.
TEST(TcpOpen, SimultaneousOpenGoesThroughSynReceived) {
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, 80}).ok());
  ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, h.now).ok());
  Seg syn = h.expect_segment();
  // The peer's SYN crosses ours; it offers window scaling.
  auto peer_syn = h.peer_segment(TcpFlags::kSyn, 7000, 0);
  peer_syn.options.mss = 1460;
  peer_syn.options.window_scale = 4;
  h.inject(peer_syn);
  EXPECT_EQ(h.tcp().state(*s), TcpState::kSynReceived);
  Seg sa = h.expect_segment();
  EXPECT_EQ(sa.h.flags, TcpFlags::kSyn | TcpFlags::kAck);
  EXPECT_EQ(sa.seq(), syn.seq());
  EXPECT_EQ(sa.ack(), SeqNum(7001));
  h.expect_no_segment();
  // Its SYN-ACK then acknowledges ours: ESTABLISHED on it, nothing sent back.
  auto peer_sa = h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, 7000, syn.seq().value() + 1, 80, 1000);
  peer_sa.options = peer_syn.options;
  h.inject(peer_sa);
  EXPECT_EQ(h.tcp().state(*s), TcpState::kEstablished);
  h.expect_no_segment();
  EXPECT_EQ(h.counter("tcp.challenge_acks"), 0u);
  EXPECT_TRUE(h.tcp().readiness(*s) & kWritable);
  // A SYN's window is never scaled (RFC 7323 §2.2): 1000 bytes, not 1000 << 4.
  EXPECT_EQ(h.tcp().info(*s)->snd_wnd, 1000u);
  // Data flows at once, from ISS+1, acknowledging the peer's SYN.
  Bytes b = pattern(100);
  ASSERT_EQ(*h.tcp().send(*s, b, h.now), 100u);
  Seg d = h.expect_segment();
  EXPECT_EQ(d.h.flags, TcpFlags::kAck | TcpFlags::kPsh);
  EXPECT_EQ(d.seq(), syn.seq() + 1);
  EXPECT_EQ(d.ack(), SeqNum(7001));
  EXPECT_EQ(d.payload.size(), 100u);
}

// Only the SYN-ACK that matches exactly establishes: one acknowledging something
// other than our SYN, or with a different sequence number, still gets RFC 5961's
// challenge ACK and leaves the connection in SYN-RECEIVED.
TEST(TcpOpen, SimultaneousOpenIgnoresAMismatchedSynAck) {
  struct Case {
    const char* name;
    uint32_t seq_off;  // from the peer's ISS
    uint32_t ack_off;  // from our ISS + 1
  };
  const Case cases[] = {{"wrong ack", 0, 5}, {"seq in window", 10, 0}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TcpHarness h;
    auto s = h.tcp().open();
    ASSERT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, 80}).ok());
    ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, h.now).ok());
    Seg syn = h.expect_segment();
    h.inject(h.peer_segment(TcpFlags::kSyn, 7000, 0));
    h.expect_segment();
    h.inject(h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, 7000 + c.seq_off, syn.seq().value() + 1 + c.ack_off));
    EXPECT_EQ(h.tcp().state(*s), TcpState::kSynReceived);
    Seg ch = h.expect_segment();
    EXPECT_EQ(ch.h.flags, TcpFlags::kAck);
    EXPECT_EQ(ch.ack(), SeqNum(7001));
    EXPECT_EQ(h.counter("tcp.challenge_acks"), 1u);
  }
}

// An RST in SYN-RECEIVED, as Linux handles it. An active (simultaneous) open has a
// full socket: RFC 5961's exact match applies and the error is ECONNRESET
// (tcp_reset's default; RFC 9293 would say "refused"). A passive open is a request
// socket (tcp_check_req): any RST or new SYN inside the window drops it, the SYN
// answered with an RST; nothing is reported, nobody has accepted it.
TEST(TcpOpen, RstInSynReceived) {
  struct Case {
    const char* name;
    bool passive;
    uint8_t flags;
    uint32_t offset;  // from RCV.NXT
    bool ends;
    uint8_t answer;  // flags of what we send back; 0: nothing
  };
  constexpr uint8_t kRst = TcpFlags::kRst;
  const Case cases[] = {
      {"active, exact RST", false, kRst, 0, true, 0},
      {"active, RST in window", false, kRst, 100, false, TcpFlags::kAck},  // challenge ACK
      {"passive, exact RST", true, kRst, 0, true, 0},
      {"passive, RST in window", true, kRst, 100, true, 0},
      {"passive, new SYN in window", true, TcpFlags::kSyn, 100, true, kRst | TcpFlags::kAck},
      {"passive, RST out of window", true, kRst, 100000, false, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TcpHarness h;
    constexpr uint32_t kPeerIss = 7000;
    std::optional<SocketId> s;
    std::optional<SocketId> l;
    if (c.passive) {
      l = h.listen(80);
      h.inject(h.peer_segment(TcpFlags::kSyn, kPeerIss, 0));
      ASSERT_EQ(h.expect_segment().h.flags, TcpFlags::kSyn | TcpFlags::kAck);
    } else {
      s = *h.tcp().open();
      ASSERT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, 80}).ok());
      ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, h.now).ok());
      h.expect_segment();
      h.inject(h.peer_segment(TcpFlags::kSyn, kPeerIss, 0));
      ASSERT_EQ(h.tcp().state(*s), TcpState::kSynReceived);
      h.expect_segment();
    }
    const size_t conns = h.tcp().connections();
    h.inject(h.peer_segment(c.flags, kPeerIss + 1 + c.offset, 0));
    if (c.answer == 0) {
      h.expect_no_segment();
    } else {
      EXPECT_EQ(h.expect_segment().h.flags, c.answer);
    }
    EXPECT_EQ(h.counter("tcp.attempt_fails"), c.ends ? 1u : 0u);
    if (c.passive) {
      EXPECT_EQ(h.tcp().connections(), c.ends ? conns - 1 : conns);
      EXPECT_EQ(h.tcp().accept(*l).error(), AcceptError::kWouldBlock);
      continue;
    }
    EXPECT_EQ(h.tcp().state(*s), c.ends ? TcpState::kClosed : TcpState::kSynReceived);
    if (c.ends) {
      std::array<uint8_t, 4> b{};
      auto r = h.tcp().recv(*s, b, h.now);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error(), RecvError::kConnectionReset);
    }
  }
}

TEST(TcpOpen, SegmentToAClosedPortIsReset) {
  TcpHarness h;
  // RFC 9293 §3.10.7.1: no ACK -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><RST,ACK>.
  h.inject(h.peer_segment(TcpFlags::kSyn, 100, 0, 81));
  Seg r1 = h.expect_segment();
  EXPECT_EQ(r1.h.flags, TcpFlags::kRst | TcpFlags::kAck);
  EXPECT_EQ(r1.seq(), SeqNum(0));
  EXPECT_EQ(r1.ack(), SeqNum(101));
  // With ACK -> <SEQ=SEG.ACK><RST>.
  h.inject(h.peer_segment(TcpFlags::kAck, 100, 4444, 81));
  Seg r2 = h.expect_segment();
  EXPECT_EQ(r2.h.flags, TcpFlags::kRst);
  EXPECT_EQ(r2.seq(), SeqNum(4444));
  // An RST is never answered.
  h.inject(h.peer_segment(TcpFlags::kRst, 100, 0, 81));
  h.expect_no_segment();
}

TEST(TcpOpen, FullSynQueueAnswersWithCookiesThatCompleteTheHandshake) {
  TcpHarness h;
  SocketId l = h.listen(80, 2);  // the SYN queue holds one more than the backlog (Linux)
  for (uint16_t p = 1; p <= 3; ++p) {
    auto syn = h.peer_segment(TcpFlags::kSyn, 100, 0);
    syn.src_port = p;
    h.inject(syn);
    h.expect_segment();
  }
  auto syn = h.peer_segment(TcpFlags::kSyn, 5000, 0);
  syn.options = linux_syn_options(900);
  h.inject(syn);
  Seg sa = h.expect_segment();
  EXPECT_EQ(h.counter("tcp.syncookies_sent"), 1u);
  EXPECT_EQ(sa.h.flags, TcpFlags::kSyn | TcpFlags::kAck);
  ASSERT_TRUE(sa.h.options.timestamps.has_value());
  EXPECT_EQ(*sa.h.options.mss, 1460);
  auto ack = h.peer_segment(TcpFlags::kAck, 5001, sa.seq().value() + 1);
  ack.options.timestamps = std::pair{901u, sa.h.options.timestamps->first};
  h.inject(ack);
  EXPECT_EQ(h.counter("tcp.syncookies_recv"), 1u);
  auto child = h.tcp().accept(l);
  ASSERT_TRUE(child.ok());
  auto info = h.tcp().info(*child);
  EXPECT_TRUE(info->sack);
  EXPECT_EQ(info->snd_wscale, 7);
  EXPECT_TRUE(info->timestamps);
  // A forged ACK (wrong cookie) is reset.
  auto forged = h.peer_segment(TcpFlags::kAck, 6001, sa.seq().value() + 77);
  forged.src_port = 999;
  h.inject(forged);
  Seg rst = h.expect_segment();
  EXPECT_EQ(rst.h.flags, TcpFlags::kRst);
  EXPECT_EQ(h.counter("tcp.syncookies_failed"), 1u);
}

TEST(TcpOpen, HandshakeCompletingAfterTheListenerClosedIsReset) {
  TcpHarness h;
  SocketId l = h.listen(80);
  h.inject(h.peer_segment(TcpFlags::kSyn, 100, 0));
  Seg sa = h.expect_segment();
  h.tcp().close(l, h.now);
  h.inject(h.peer_segment(TcpFlags::kAck, 101, sa.seq().value() + 1));
  Seg rst = h.expect_segment();
  EXPECT_TRUE(rst.has(TcpFlags::kRst));
  EXPECT_EQ(h.tcp().connections(), 0u);
}

}  // namespace
}  // namespace joyride::core::testing
