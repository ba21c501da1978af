// The Stack as a whole: deadlines, neighbour resolution on output, the TX queue,
// loopback, and counter enumeration.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "stack_harness.h"

namespace joyride::core {
namespace {

using namespace joyride::core::testing;  // NOLINT
using base::Duration;
using base::Instant;
using wire::Icmpv4Type;
using wire::Ipv4Address;

HarnessOptions unresolved() {
  HarnessOptions o;
  o.resolve_peer = false;
  return o;
}

TEST(StackTest, NextDeadlineIsNeverWhenIdle) {
  StackHarness h(unresolved());
  EXPECT_TRUE(h.stack->next_deadline().is_never());
  h.advance(Duration::seconds(5));
  EXPECT_TRUE(h.stack->next_deadline().is_never());
  EXPECT_FALSE(h.stack->has_tx());
  // Sockets alone arm nothing.
  auto s = *h.stack->udp().open();
  ASSERT_TRUE(h.stack->udp().bind(s, Endpoint{Ipv4Address::any(), 1000}));
  EXPECT_TRUE(h.stack->next_deadline().is_never());
}

TEST(StackTest, OutputToAnUnresolvedNeighbourQueuesThenResolves) {
  StackHarness h(unresolved());
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.bind(s, Endpoint{Ipv4Address::any(), 2000}));
  ASSERT_TRUE(udp.send_to(s, pattern(10), Endpoint{kPeerIp, 53}, h.now));
  ASSERT_TRUE(udp.send_to(s, pattern(11), Endpoint{kPeerIp, 53}, h.now));

  TxFrame req = h.expect_tx();
  ASSERT_TRUE(req.arp);
  EXPECT_EQ(req.eth.dst, wire::MacAddress::broadcast());
  EXPECT_EQ(req.arp->op, wire::ArpOp::kRequest);
  EXPECT_EQ(req.arp->sender_mac, kOurMac);
  EXPECT_EQ(req.arp->sender_ip, kOurIp);
  EXPECT_EQ(req.arp->target_ip, kPeerIp);
  h.expect_no_tx();  // the datagrams wait
  EXPECT_FALSE(h.stack->next_deadline().is_never());  // a retry is armed
  EXPECT_LE(h.stack->next_deadline(), h.now + Duration::seconds(1));

  h.inject_arp(wire::ArpRepr{wire::ArpOp::kReply, kPeerMac, kPeerIp, kOurMac, kOurIp}, kOurMac);
  for (size_t len : {10u, 11u}) {
    TxFrame f = h.expect_tx();
    ASSERT_TRUE(f.udp);
    EXPECT_EQ(f.eth.dst, kPeerMac);
    EXPECT_EQ(f.payload, pattern(len));
  }
  h.expect_no_tx();
  // Later sends go straight out.
  ASSERT_TRUE(udp.send_to(s, pattern(12), Endpoint{kPeerIp, 53}, h.now));
  EXPECT_TRUE(h.expect_tx().udp);
}

TEST(StackTest, UnansweredResolutionDropsTheQueuedDatagrams) {
  StackHarness h(unresolved());
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.send_to(s, pattern(10), Endpoint{kPeerIp, 53}, h.now));
  int requests = 0;
  // Drive the stack by its own deadlines, as a host loop would.
  for (int i = 0; i < 20 && !h.stack->next_deadline().is_never(); ++i) {
    for (auto& f : h.drain_tx()) {
      ASSERT_TRUE(f.arp);
      ++requests;
    }
    const Instant d = h.stack->next_deadline();
    ASSERT_GT(d, h.now - Duration::seconds(1));
    h.advance(d > h.now ? d - h.now : Duration::zero());
  }
  for (auto& f : h.drain_tx()) {
    ASSERT_TRUE(f.arp);
    ++requests;
  }
  EXPECT_EQ(requests, 3);
  EXPECT_EQ(h.counter("arp.drop_resolution_failed"), 1u);
  EXPECT_TRUE(h.stack->next_deadline().is_never());
}

TEST(StackTest, TxQueueFullIsCounted) {
  HarnessOptions o;
  o.configure = [](StackConfig& c) { c.tx_queue_frames = 4; };
  StackHarness h(o);
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  for (int i = 0; i < 10; ++i) (void)udp.send_to(s, pattern(10), Endpoint{kPeerIp, 53}, h.now);
  EXPECT_EQ(h.drain_tx().size(), 4u);
  EXPECT_EQ(h.counter("link.drop_tx_queue_full"), 6u);
  EXPECT_EQ(h.counter("link.tx_frames"), 4u + 1u);  // and the ARP reply of the setup
  const uint32_t held = h.pool.total_segments() - h.pool.available_segments();
  EXPECT_EQ(held, 0u) << "dropped frames went back to the pool";
}

TEST(StackTest, PingToOurselvesGoesThroughLoopback) {
  StackHarness h(unresolved());
  PingSockets& ping = h.stack->ping();
  auto s = *ping.open();
  ASSERT_TRUE(ping.bind(s, 99));
  ASSERT_TRUE(ping.send_echo(s, kOurIp, 1, pattern(32), h.now));
  h.expect_no_tx();
  int polls = 0;
  while (h.stack->next_deadline() <= h.now && polls < 10) {
    h.poll();
    ++polls;
  }
  EXPECT_EQ(polls, 2);  // the request, then the reply
  uint8_t buf[64];
  auto r = ping.recv(s, buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->from, kOurIp);
  EXPECT_EQ(r->seq_no, 1);
  EXPECT_EQ(Bytes(buf, buf + r->data_len), pattern(32));
  h.expect_no_tx();
  EXPECT_EQ(h.counter("icmp.tx_echo_replies"), 1u);
}

TEST(StackTest, CountersEnumerateWithNames) {
  StackHarness h;
  std::set<std::string> modules;
  std::set<std::string> names;
  size_t n = 0;
  h.stack->for_each_counter([&](std::string_view module, std::string_view name, uint64_t) {
    EXPECT_FALSE(module.empty());
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(name.find(' '), std::string_view::npos);
    EXPECT_TRUE(names.insert(std::string(module) + "." + std::string(name)).second)
        << "duplicate counter " << module << "." << name;
    modules.insert(std::string(module));
    ++n;
  });
  EXPECT_EQ(modules, (std::set<std::string>{"link", "arp", "ipv4", "reassembly", "icmp", "udp", "tcp"}));
  EXPECT_EQ(n, static_cast<size_t>(LinkCounter::kCount) + static_cast<size_t>(ArpCounter::kCount) +
                   static_cast<size_t>(Ipv4Counter::kCount) + static_cast<size_t>(ReassemblyCounter::kCount) +
                   static_cast<size_t>(IcmpCounter::kCount) + static_cast<size_t>(UdpCounter::kCount) +
                   static_cast<size_t>(TcpCounter::kCount));
  // And they count: the setup received two ARP frames and answered one.
  EXPECT_EQ(h.counter("link.rx_frames"), 2u);
  EXPECT_EQ(h.counter("arp.tx_replies"), 1u);
}

TEST(StackTest, ErrorEnumsHaveNames) {
  for (auto e : {SendError::kBadSocket, SendError::kNotConnected, SendError::kNoRoute, SendError::kMessageTooLong,
                 SendError::kNoBuffers, SendError::kBroadcastDenied, SendError::kNoEphemeralPorts,
                 SendError::kUnsupportedFamily, SendError::kConnectionRefused, SendError::kInvalid}) {
    EXPECT_NE(to_string(e), "?");
  }
  for (auto e : {BindError::kBadSocket, BindError::kAlreadyBound, BindError::kAddressInUse,
                 BindError::kAddressNotAvailable, BindError::kNoEphemeralPorts, BindError::kUnsupportedFamily}) {
    EXPECT_NE(to_string(e), "?");
  }
  for (auto e : {RecvError::kBadSocket, RecvError::kWouldBlock, RecvError::kConnectionRefused}) {
    EXPECT_NE(to_string(e), "?");
  }
  // A TCP connection's pending errors (tcp_reset, icmp_err_convert) and the SendError
  // send() reports each as: the same errno.
  struct Pending {
    RecvError recv;
    SendError send;
  };
  const Pending pending[] = {
      {RecvError::kConnectionRefused, SendError::kConnectionRefused},
      {RecvError::kConnectionReset, SendError::kConnectionReset},
      {RecvError::kTimedOut, SendError::kTimedOut},
      {RecvError::kBrokenPipe, SendError::kBrokenPipe},
      {RecvError::kNoRoute, SendError::kNoRoute},
      {RecvError::kHostUnreachable, SendError::kHostUnreachable},
      {RecvError::kProtocolUnavailable, SendError::kProtocolUnavailable},
      {RecvError::kNotSupported, SendError::kNotSupported},
      {RecvError::kHostDown, SendError::kHostDown},
      {RecvError::kNoNetwork, SendError::kNoNetwork},
      {RecvError::kProtocolError, SendError::kProtocolError},
  };
  for (const Pending& p : pending) {
    SCOPED_TRACE(to_string(p.recv));
    EXPECT_NE(to_string(p.recv), "?");
    EXPECT_NE(to_string(p.send), "?");
    EXPECT_EQ(to_string(p.recv), to_string(p.send));
    EXPECT_EQ(send_error_for(p.recv), p.send);
    // The connect() after a failed non-blocking one reports it with the same errno.
    EXPECT_EQ(to_string(connect_error_for(p.recv)), to_string(p.recv));
  }
  EXPECT_EQ(connect_error_for(RecvError::kNoRoute), ConnectError::kNoRoute);
  EXPECT_EQ(connect_error_for(RecvError::kProtocolError), ConnectError::kProtocolError);
  EXPECT_NE(to_string(ConnectError::kConnectionAborted), "?");
  EXPECT_NE(to_string(OpenError::kTooManySockets), "?");
  EXPECT_NE(to_string(ConnectError::kInvalid), "?");
}

TEST(StackTest, ReadinessEventsForOpenAndReceive) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  SocketEvent ev[4];
  ASSERT_EQ(h.stack->take_events(ev), 1u);
  EXPECT_EQ(ev[0].socket, s);
  EXPECT_EQ(ev[0].readiness, kWritable);
  ASSERT_TRUE(udp.bind(s, Endpoint{Ipv4Address::any(), 3000}));
  EXPECT_EQ(h.stack->take_events(ev), 0u);
  h.inject_udp(1, 3000, pattern(1));
  ASSERT_EQ(h.stack->take_events(ev), 1u);
  EXPECT_EQ(ev[0].readiness, kReadable | kWritable);
}

}  // namespace
}  // namespace joyride::core
