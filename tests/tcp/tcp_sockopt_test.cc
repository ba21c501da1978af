// Per-socket settings and what a new connection inherits: buffer sizes clamped to
// the configured bounds, congestion control chosen by name (and changed on a live
// connection as Linux does), the MSS of a new connection from a cached path MTU,
// and close() in an active open's SYN-RECEIVED.
#include <gtest/gtest.h>

#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;
using base::SeqNum;

// SO_RCVBUF/SO_SNDBUF: any value is taken, clamped to [min, max] of TcpConfig
// (Linux clamps to sysctl_rmem_max/wmem_max and SOCK_MIN_RCVBUF/SNDBUF).
TEST(TcpSockopt, BufferSizesAreClampedToTheConfiguredBounds) {
  struct Case {
    const char* name;
    size_t ask, rcv, snd;
  };
  const Case cases[] = {
      {"below min", 1, 8192, 16384}, {"above max", 1u << 30, 200000, 300000}, {"inside", 100000, 100000, 100000}};
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    ConnOptions o{.rcvbuf = k.ask, .sndbuf = k.ask};
    o.harness.configure = [](StackConfig& sc) {
      sc.tcp.rcvbuf_min = 8192;
      sc.tcp.rcvbuf_max = 200000;
      sc.tcp.sndbuf_min = 16384;
      sc.tcp.sndbuf_max = 300000;
    };
    Conn c(o);
    EXPECT_EQ(c.info().rcvbuf, k.rcv);
    EXPECT_EQ(c.info().sndbuf, k.snd);
  }
}

TEST(TcpSockopt, UnknownCongestionControlIsRefusedAndTheCurrentOneStays) {
  Conn c(ConnOptions{.cc = "newreno"});
  EXPECT_FALSE(c.h.tcp().set_congestion_control(c.s, "no-such-algorithm"));
  EXPECT_FALSE(c.h.tcp().set_congestion_control(c.s, ""));
  EXPECT_EQ(c.info().congestion_control, "newreno");
  // A socket not yet connected too.
  auto s = c.h.tcp().open();
  EXPECT_FALSE(c.h.tcp().set_congestion_control(*s, "bbr9"));
  EXPECT_EQ(c.h.tcp().info(*s)->congestion_control, "cubic");
}

// Linux tcp_reinit_congestion_control: the new module's init runs, snd_cwnd and
// snd_ssthresh are left as they were.
TEST(TcpSockopt, ChangingCongestionControlWhenEstablishedKeepsTheWindow) {
  Conn c(ConnOptions{.cc = "newreno"});
  // Grow cwnd past the initial window: a round of 10 segments, all acknowledged.
  c.send(10 * kMss);
  for (uint32_t i = 0; i < 10; ++i) c.expect_data(i * kMss, kMss);
  c.ack(10 * kMss);
  while (c.h.pop_segment()) {
  }
  const uint32_t cwnd = c.info().cwnd;
  ASSERT_GT(cwnd, 10 * kMss);
  // And a loss episode, so ssthresh is finite: three SACKed segments above a hole.
  c.send(4 * kMss);
  for (uint32_t i = 0; i < 4; ++i) c.expect_data((10 + i) * kMss, kMss);
  for (uint32_t i = 1; i <= 3; ++i) c.ack(10 * kMss, {{11 * kMss, (11 + i) * kMss}});
  while (c.h.pop_segment()) {
  }
  c.ack(14 * kMss);
  while (c.h.pop_segment()) {
  }
  const TcpInfo before = c.info();
  ASSERT_NE(before.ssthresh, UINT32_MAX);
  ASSERT_TRUE(c.h.tcp().set_congestion_control(c.s, "cubic"));
  const TcpInfo after = c.info();
  EXPECT_EQ(after.congestion_control, "cubic");
  EXPECT_EQ(after.cwnd, before.cwnd);
  EXPECT_EQ(after.ssthresh, before.ssthresh);
}

// RFC 1191 / Linux: a path MTU learnt from fragmentation needed is cached for the
// destination (ip_rt_mtu_expires), and a new connection there starts with it: our
// SYN's MSS option and our sending MSS both follow it.
TEST(TcpSockopt, NewConnectionTakesItsMssFromTheCachedPathMtu) {
  Conn c;
  c.send(kMss);
  auto f = c.h.pop_tx();
  ASSERT_TRUE(f.has_value());
  wire::Icmpv4Repr m;
  m.type = wire::Icmpv4Type::kDestUnreachable;
  m.code = wire::Icmpv4Unreachable::kFragmentationNeeded;
  m.next_hop_mtu = 1200;
  Bytes quoted(f->bytes.begin() + 14, f->bytes.begin() + 14 + 60);
  m.data = quoted;
  c.h.inject_icmp(m);
  ASSERT_EQ(c.info().snd_mss, 1160u);
  while (c.h.pop_segment()) {
  }
  // Active open to the same host.
  auto s = c.h.tcp().open();
  ASSERT_TRUE(c.h.tcp().connect(*s, Endpoint{kPeerIp, 81}, c.h.now).ok());
  Seg syn = c.h.expect_segment();
  ASSERT_TRUE(syn.h.options.mss.has_value());
  EXPECT_EQ(*syn.h.options.mss, 1160);
  auto sa = c.h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, 5000, syn.seq().value() + 1, syn.h.src_port);
  sa.src_port = 81;
  sa.options.mss = 1460;
  c.h.inject(sa);
  c.h.expect_segment();
  EXPECT_EQ(c.h.tcp().info(*s)->snd_mss, 1160u);
  // Passive open from it.
  auto syn2 = c.h.peer_segment(TcpFlags::kSyn, 7000, 0);
  syn2.src_port = 40001;
  syn2.options.mss = 1460;
  c.h.inject(syn2);
  Seg sa2 = c.h.expect_segment();
  ASSERT_TRUE(sa2.h.options.mss.has_value());
  EXPECT_EQ(*sa2.h.options.mss, 1160);
}

// close() in an active open's SYN-RECEIVED (simultaneous open: our SYN crossed the
// peer's, nothing sent since send() would block): RFC 9293 §3.10.4 and Linux
// (tcp_close_state: SYN_RECV -> FIN_WAIT1, tcp_send_fin) send the FIN at once, right
// after our still unacknowledged SYN. SimultaneousOpen leaves the socket there: our
// SYN's ISS is returned, the peer's ISS is 7000, and our SYN-ACK has been sent.
struct SimultaneousOpen {
  TcpHarness h;
  SocketId s;
  SeqNum iss;
  SimultaneousOpen() {
    auto o = h.tcp().open();
    EXPECT_TRUE(o.ok());
    s = *o;
    EXPECT_TRUE(h.tcp().bind(s, Endpoint{kOurIp, 80}).ok());
    EXPECT_TRUE(h.tcp().connect(s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, h.now).ok());
    iss = h.expect_segment().seq();
    h.inject(h.peer_segment(TcpFlags::kSyn, 7000, 0));
    EXPECT_EQ(h.tcp().state(s), TcpState::kSynReceived);
    Seg synack = h.expect_segment();
    EXPECT_EQ(synack.h.flags, TcpFlags::kSyn | TcpFlags::kAck);
  }
  // close(), and the FIN it sends: <SEQ=ISS+1><ACK=7001><CTL=FIN,ACK>, FIN-WAIT-1.
  void close_and_expect_fin() {
    h.tcp().close(s, h.now);
    Seg fin = h.expect_segment();
    EXPECT_EQ(fin.h.flags, TcpFlags::kFin | TcpFlags::kAck);
    EXPECT_EQ(fin.seq(), iss + 1);
    EXPECT_EQ(fin.ack(), SeqNum(7001));
    EXPECT_TRUE(fin.payload.empty());
    h.expect_no_segment();
    EXPECT_EQ(h.tcp().state(s), TcpState::kFinWait1);
  }
  uint32_t our(uint32_t off) const { return (iss + off).value(); }
  // The peer's FIN|ACK covering our FIN: TIME-WAIT, our ACK <SEQ=ISS+2><ACK=7002>,
  // and after TIME-WAIT the connection is gone.
  void peer_fin_ends_in_time_wait() {
    h.inject(h.peer_segment(TcpFlags::kFin | TcpFlags::kAck, 7001, our(2)));
    EXPECT_EQ(h.tcp().state(s), TcpState::kTimeWait);
    Seg ack = h.expect_segment();
    EXPECT_EQ(ack.h.flags, TcpFlags::kAck);
    EXPECT_EQ(ack.seq(), iss + 2);
    EXPECT_EQ(ack.ack(), SeqNum(7002));
    h.advance(Duration::seconds(61));
    EXPECT_EQ(h.tcp().state(s), std::nullopt);
  }
};

TEST(TcpSockopt, CloseInSynReceivedSendsTheFinAtOnce) {
  SimultaneousOpen o;
  o.close_and_expect_fin();
  // The peer's ACK of our SYN and FIN: FIN-WAIT-2, nothing to answer.
  o.h.inject(o.h.peer_segment(TcpFlags::kAck, 7001, o.our(2)));
  EXPECT_EQ(o.h.tcp().state(o.s), TcpState::kFinWait2);
  o.h.expect_no_segment();
  // Its FIN: TIME-WAIT, acknowledged; after TIME-WAIT the connection is gone.
  o.peer_fin_ends_in_time_wait();
}

// The peer's SYN-ACK crossing our FIN (it answers our SYN, sent before the close):
// in FIN-WAIT-1 Linux's tcp_validate_incoming gives any SYN a challenge ACK and drops
// the segment, ACK field unread (only SYN_RECV lets the crossed SYN-ACK through). The
// peer, still in SYN-RECEIVED, takes our FIN (its ACK completes the peer's
// handshake) and answers; the close ends cleanly. Whether its SYN-ACK acknowledges
// our SYN only or the FIN too makes no difference.
TEST(TcpSockopt, ASynAckCrossingTheFinGetsAChallengeAck) {
  for (uint32_t acked : {1u, 2u}) {
    SCOPED_TRACE(acked);
    SimultaneousOpen o;
    o.close_and_expect_fin();
    o.h.inject(o.h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, 7000, o.our(acked)));
    Seg challenge = o.h.expect_segment();
    EXPECT_EQ(challenge.h.flags, TcpFlags::kAck);
    EXPECT_EQ(challenge.seq(), o.iss + 2);
    EXPECT_EQ(challenge.ack(), SeqNum(7001));
    o.h.expect_no_segment();
    EXPECT_EQ(o.h.tcp().state(o.s), TcpState::kFinWait1);
    // The peer got our FIN: ACK and its own FIN in one segment -> TIME-WAIT.
    o.peer_fin_ends_in_time_wait();
  }
}

// A retransmission timeout before anything from the peer resends what Linux's queue
// has at its head, the SYN-ACK, alone (SYN segments are never collapsed with what
// follows); the FIN, marked lost, goes again as soon as the SYN is acknowledged.
TEST(TcpSockopt, TimeoutInFinWait1BeforeTheSynIsAckedResendsTheSynAckThenTheFin) {
  SimultaneousOpen o;
  o.close_and_expect_fin();
  o.h.advance(Duration::millis(999));
  o.h.expect_no_segment();
  o.h.advance(Duration::millis(1));
  Seg synack = o.h.expect_segment();
  EXPECT_EQ(synack.h.flags, TcpFlags::kSyn | TcpFlags::kAck);
  EXPECT_EQ(synack.seq(), o.iss);
  EXPECT_EQ(synack.ack(), SeqNum(7001));
  o.h.expect_no_segment();
  EXPECT_EQ(o.h.tcp().state(o.s), TcpState::kFinWait1);
  // The peer acknowledges the SYN only (it lost our FIN): the FIN goes again at once.
  o.h.inject(o.h.peer_segment(TcpFlags::kAck, 7001, o.our(1)));
  Seg fin = o.h.expect_segment();
  EXPECT_EQ(fin.h.flags, TcpFlags::kFin | TcpFlags::kAck);
  EXPECT_EQ(fin.seq(), o.iss + 1);
  EXPECT_EQ(fin.ack(), SeqNum(7001));
  o.h.expect_no_segment();
  EXPECT_EQ(o.h.tcp().state(o.s), TcpState::kFinWait1);
  o.h.inject(o.h.peer_segment(TcpFlags::kAck, 7001, o.our(2)));
  EXPECT_EQ(o.h.tcp().state(o.s), TcpState::kFinWait2);
}

// The peer acknowledges our SYN but not the FIN: the handshake's bookkeeping is done
// (the FIN is what is outstanding now) and the FIN has its own retransmission timer.
// The peer's FIN then crosses ours: CLOSING, then TIME-WAIT when ours is acked.
TEST(TcpSockopt, AnAckOfTheSynAloneLeavesTheFinOnItsRetransmissionTimer) {
  SimultaneousOpen o;
  o.close_and_expect_fin();
  o.h.inject(o.h.peer_segment(TcpFlags::kAck, 7001, o.our(1)));
  o.h.expect_no_segment();
  EXPECT_EQ(o.h.tcp().state(o.s), TcpState::kFinWait1);
  o.h.advance(Duration::seconds(5));
  Seg fin = o.h.expect_segment();
  EXPECT_EQ(fin.h.flags, TcpFlags::kFin | TcpFlags::kAck);
  EXPECT_EQ(fin.seq(), o.iss + 1);
  EXPECT_EQ(fin.ack(), SeqNum(7001));
  o.h.expect_no_segment();
  o.h.inject(o.h.peer_segment(TcpFlags::kFin | TcpFlags::kAck, 7001, o.our(1)));
  EXPECT_EQ(o.h.tcp().state(o.s), TcpState::kClosing);
  Seg ack = o.h.expect_segment();
  EXPECT_EQ(ack.h.flags, TcpFlags::kAck);
  EXPECT_EQ(ack.seq(), o.iss + 2);
  EXPECT_EQ(ack.ack(), SeqNum(7002));
  o.h.inject(o.h.peer_segment(TcpFlags::kAck, 7002, o.our(2)));
  EXPECT_EQ(o.h.tcp().state(o.s), TcpState::kTimeWait);
}

// Both ends close in SYN-RECEIVED: the peer's FIN acknowledges our SYN only (it was
// sent before our FIN arrived). CLOSING, then TIME-WAIT.
TEST(TcpSockopt, BothEndsCloseInSynReceived) {
  SimultaneousOpen o;
  o.close_and_expect_fin();
  o.h.inject(o.h.peer_segment(TcpFlags::kFin | TcpFlags::kAck, 7001, o.our(1)));
  EXPECT_EQ(o.h.tcp().state(o.s), TcpState::kClosing);
  Seg ack = o.h.expect_segment();
  EXPECT_EQ(ack.h.flags, TcpFlags::kAck);
  EXPECT_EQ(ack.ack(), SeqNum(7002));
  o.h.inject(o.h.peer_segment(TcpFlags::kAck, 7002, o.our(2)));
  EXPECT_EQ(o.h.tcp().state(o.s), TcpState::kTimeWait);
}

}  // namespace
}  // namespace joyride::core::testing
