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

// close() in an active open's SYN-RECEIVED (simultaneous open, nothing sent): the
// FIN waits until the connection is established, then goes at once. RFC 9293
// §3.10.4 and Linux (tcp_close_state: SYN_RECV -> FIN_WAIT1) send it without waiting;
// doing so here needs the SYN-ACK's retransmission to carry the FIN along, which is
// not done yet, so this pins the deferral: the FIN is not lost, only later.
TEST(TcpSockopt, CloseInSynReceivedSendsTheFinOnceEstablished) {
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, 80}).ok());
  ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, h.now).ok());
  Seg syn = h.expect_segment();
  h.inject(h.peer_segment(TcpFlags::kSyn, 7000, 0));
  ASSERT_EQ(h.tcp().state(*s), TcpState::kSynReceived);
  h.expect_segment();  // our SYN-ACK
  h.tcp().close(*s, h.now);
  EXPECT_EQ(h.tcp().state(*s), TcpState::kSynReceived);
  h.expect_no_segment();
  // The peer's SYN-ACK establishes; the FIN follows at once.
  h.inject(h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, 7000, syn.seq().value() + 1));
  Seg fin = h.expect_segment();
  EXPECT_EQ(fin.h.flags, TcpFlags::kFin | TcpFlags::kAck);
  EXPECT_EQ(fin.seq(), syn.seq() + 1);
  EXPECT_EQ(fin.ack(), SeqNum(7001));
  EXPECT_EQ(h.tcp().state(*s), TcpState::kFinWait1);
  h.inject(h.peer_segment(TcpFlags::kAck, 7001, syn.seq().value() + 2));
  EXPECT_EQ(h.tcp().state(*s), TcpState::kFinWait2);
}

}  // namespace
}  // namespace joyride::core::testing
