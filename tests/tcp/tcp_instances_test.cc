// Stack instances on one host (stack_instance.h): an application's sockets live in
// its own instance, with its own timers and readiness events, while every instance
// shares the host's addresses and its one port table. A segment reaches the instance
// owning its connection or listener; binding across instances follows Linux's rules
// between processes; a segment no instance owns gets the host's RST; an ICMP error
// goes to the instance owning the quoted flow; removing an instance frees its ports.
#include <gtest/gtest.h>

#include <array>

#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

constexpr uint32_t kPeerIss = 1000;

size_t drain(StackInstance& instance) {
  std::array<SocketEvent, 64> ev;
  size_t total = 0;
  while (size_t n = instance.take_events(ev)) total += n;
  return total;
}

size_t drain(Stack& stack) {
  std::array<SocketEvent, 64> ev;
  size_t total = 0;
  while (size_t n = stack.take_events(ev)) total += n;
  return total;
}

SocketId listen_on(TcpLayer& tcp, uint16_t port, bool reuse = false) {
  auto s = tcp.open();
  EXPECT_TRUE(s.ok());
  if (reuse) tcp.set_reuse_addr(*s, true);
  EXPECT_TRUE(tcp.bind(*s, Endpoint{kOurIp, port}).ok());
  EXPECT_TRUE(tcp.listen(*s, 16).ok());
  return *s;
}

// The passive handshake from the peer to `port`; returns our ISS.
uint32_t handshake(TcpHarness& h, uint32_t peer_iss, uint16_t port = 80) {
  h.inject(h.peer_segment(TcpFlags::kSyn, peer_iss, 0, port));
  Seg sa = h.expect_segment();
  EXPECT_TRUE(sa.has(TcpFlags::kSyn | TcpFlags::kAck));
  h.inject(h.peer_segment(TcpFlags::kAck, peer_iss + 1, sa.seq().value() + 1, port));
  return sa.seq().value();
}

TEST(TcpInstances, AListenerInAnInstanceGetsItsConnectionsEventsAndCounts) {
  TcpHarness h;
  StackInstance& app = h.stack->add_instance(h.now);
  EXPECT_EQ(h.stack->instances(), 2u);
  const SocketId l = listen_on(app.tcp(), 80);
  drain(*h.stack);
  drain(app);
  const uint32_t iss = handshake(h, kPeerIss);
  auto child = app.tcp().accept(l);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(app.tcp().state(*child), TcpState::kEstablished);
  EXPECT_FALSE(h.tcp().accept(l).ok()) << "the host's instance has no such listener";
  const uint8_t data[] = {1, 2, 3, 4};
  h.inject(h.peer_segment(TcpFlags::kAck | TcpFlags::kPsh, kPeerIss + 1, iss + 1), data);
  uint8_t out[8];
  auto n = app.tcp().recv(*child, out, h.now);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  EXPECT_GT(drain(app), 0u);
  EXPECT_EQ(drain(*h.stack), 0u) << "events are the owning instance's";
  EXPECT_EQ(app.tcp().counters().get(TcpCounter::kRxSegments), 3u);
  EXPECT_EQ(h.tcp().counters().get(TcpCounter::kRxSegments), 0u);
}

TEST(TcpInstances, BindingAcrossInstancesFollowsLinuxRulesBetweenProcesses) {
  TcpHarness h;
  StackInstance& a = h.stack->add_instance(h.now);
  StackInstance& b = h.stack->add_instance(h.now);
  auto sa = a.tcp().open();
  auto sb = b.tcp().open();
  ASSERT_TRUE(sa.ok() && sb.ok());
  ASSERT_TRUE(a.tcp().bind(*sa, Endpoint{kOurIp, 8080}).ok());
  auto r = b.tcp().bind(*sb, Endpoint{wire::Ipv4Address::any(), 8080});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), BindError::kAddressInUse);
  // SO_REUSEADDR on both: the port is shared while neither listens.
  a.tcp().set_reuse_addr(*sa, true);
  b.tcp().set_reuse_addr(*sb, true);
  EXPECT_TRUE(b.tcp().bind(*sb, Endpoint{kOurIp, 8080}).ok());
  EXPECT_TRUE(a.tcp().listen(*sa, 4).ok());
  auto l = b.tcp().listen(*sb, 4);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error(), ListenError::kAddressInUse);
  // And a third party cannot bind a listening port at all, even with SO_REUSEADDR.
  auto sc = h.tcp().open();
  h.tcp().set_reuse_addr(*sc, true);
  auto rc = h.tcp().bind(*sc, Endpoint{kOurIp, 8080});
  ASSERT_FALSE(rc.ok());
  EXPECT_EQ(rc.error(), BindError::kAddressInUse);
}

TEST(TcpInstances, ASegmentNoInstanceOwnsGetsTheHostsReset) {
  TcpHarness h;
  StackInstance& app = h.stack->add_instance(h.now);
  listen_on(app.tcp(), 80);
  h.inject(h.peer_segment(TcpFlags::kSyn, kPeerIss, 0, 81));
  Seg rst = h.expect_segment();
  EXPECT_TRUE(rst.has(TcpFlags::kRst | TcpFlags::kAck));
  EXPECT_EQ(rst.ack().value(), kPeerIss + 1);
  EXPECT_EQ(h.tcp().counters().get(TcpCounter::kDropNoSocket), 1u);
  EXPECT_EQ(app.tcp().counters().get(TcpCounter::kDropNoSocket), 0u);
}

TEST(TcpInstances, AnActiveOpenRetransmitsOnItsInstancesTimersAndTakesItsIcmpError) {
  TcpHarness h;
  StackInstance& app = h.stack->add_instance(h.now);
  auto s = app.tcp().open();
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(app.tcp().connect(*s, Endpoint{kPeerIp, 5201}, h.now).ok());
  Seg syn = h.expect_segment();
  ASSERT_TRUE(syn.has(TcpFlags::kSyn));
  EXPECT_NE(h.stack->next_deadline(), base::Instant::never()) << "the host sees the instance's timer";
  h.now = h.now + Duration::seconds(1) + Duration::millis(10);
  h.stack->poll(h.now);
  TxFrame again = h.expect_tx();
  ASSERT_TRUE(again.ip.has_value());
  EXPECT_EQ(again.ip->protocol, wire::IpProtocol::kTcp);
  EXPECT_EQ(app.tcp().counters().get(TcpCounter::kRetransSegments), 1u);

  // Port unreachable quoting the SYN: the connection fails with ECONNREFUSED, in its
  // instance (the host's TCP only looked it up).
  const size_t eth = 14;
  Bytes quoted(again.bytes.begin() + eth, again.bytes.begin() + eth + 28);
  wire::Icmpv4Repr m;
  m.type = wire::Icmpv4Type::kDestUnreachable;
  m.code = 3;
  m.data = quoted;
  drain(app);
  h.inject_icmp(m);
  EXPECT_EQ(app.tcp().state(*s), TcpState::kClosed);
  EXPECT_EQ(app.tcp().take_error(*s), RecvError::kConnectionRefused);
  EXPECT_GT(drain(app), 0u);
}

TEST(TcpInstances, ASynReopeningTheHostsTimeWaitPairGoesToAnotherInstancesListener) {
  TcpHarness h;
  // The host instance's connection on port 80, closed by us first: TIME-WAIT.
  const SocketId hl = h.listen(80);
  auto [c, iss] = h.accept_connection(hl, kPeerIss, wire::TcpOptions{});
  h.tcp().close(c, h.now);
  h.expect_segment();  // our FIN
  h.inject(h.peer_segment(TcpFlags::kFin | TcpFlags::kAck, kPeerIss + 1, iss + 2));
  h.expect_segment();  // its ACK
  ASSERT_EQ(h.tcp().state(c), TcpState::kTimeWait);
  h.tcp().close(hl, h.now);
  // An application now listens on the port (SO_REUSEADDR: TIME-WAIT does not block it).
  StackInstance& app = h.stack->add_instance(h.now);
  const SocketId l = listen_on(app.tcp(), 80, true);
  // A new SYN above RCV.NXT reopens the pair, through the listener that now has the port.
  h.inject(h.peer_segment(TcpFlags::kSyn, kPeerIss + 100000, 0));
  Seg sa = h.expect_segment();
  ASSERT_TRUE(sa.has(TcpFlags::kSyn | TcpFlags::kAck));
  h.inject(h.peer_segment(TcpFlags::kAck, kPeerIss + 100001, sa.seq().value() + 1));
  auto child = app.tcp().accept(l);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(app.tcp().state(*child), TcpState::kEstablished);
  EXPECT_EQ(app.tcp().connections(), 2u);  // the listener and its child
}

TEST(TcpInstances, RemovingAnInstanceFreesItsPortsAndTuples) {
  TcpHarness h;
  StackInstance& app = h.stack->add_instance(h.now);
  const SocketId l = listen_on(app.tcp(), 80);
  handshake(h, kPeerIss);
  ASSERT_TRUE(app.tcp().accept(l).ok());
  h.stack->remove_instance(app);
  EXPECT_EQ(h.stack->instances(), 1u);
  // The port is free for another; the old connection's segments find nothing (RST).
  const SocketId hl = h.listen(80);
  h.inject(h.peer_segment(TcpFlags::kAck, kPeerIss + 1, 12345));
  Seg rst = h.expect_segment();
  EXPECT_TRUE(rst.has(TcpFlags::kRst));
  handshake(h, kPeerIss + 50000);
  EXPECT_TRUE(h.tcp().accept(hl).ok());
}

TEST(TcpInstances, UdpPortsAndDatagramsFollowTheOwningInstance) {
  TcpHarness h;
  StackInstance& a = h.stack->add_instance(h.now);
  StackInstance& b = h.stack->add_instance(h.now);
  auto ua = a.udp().open();
  auto ub = b.udp().open();
  ASSERT_TRUE(ua.ok() && ub.ok());
  ASSERT_TRUE(a.udp().bind(*ua, Endpoint{kOurIp, 5000}).ok());
  auto r = b.udp().bind(*ub, Endpoint{wire::Ipv4Address::any(), 5000});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), BindError::kAddressInUse);
  ASSERT_TRUE(b.udp().bind(*ub, Endpoint{kOurIp, 5001}).ok());
  drain(a);
  drain(b);
  const uint8_t data[] = {9, 8, 7};
  h.inject_udp(4000, 5001, data);
  uint8_t out[16];
  EXPECT_FALSE(a.udp().recv_from(*ua, out).ok());
  auto got = b.udp().recv_from(*ub, out);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->bytes, 3u);
  EXPECT_EQ(drain(a), 0u);
  // After b goes, its port is nobody's: port unreachable from the host.
  h.stack->remove_instance(b);
  h.inject_udp(4000, 5001, data);
  auto f = h.expect_tx();
  ASSERT_TRUE(f.ip.has_value());
  EXPECT_EQ(f.ip->protocol, wire::IpProtocol::kIcmp);
  EXPECT_EQ(h.stack->udp().counters().get(UdpCounter::kDropNoSocket), 1u);
}

}  // namespace
}  // namespace joyride::core::testing
