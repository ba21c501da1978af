// UDP sockets: binding rules, ephemeral ports, send/receive, demultiplexing,
// receive buffer limits, checksums, ICMP errors, fragmentation and loopback.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "joyride/base/bytes.h"
#include "joyride/core/icmpv4_layer.h"
#include "joyride/wire/checksum.h"
#include "stack_harness.h"

namespace joyride::core {
namespace {

using namespace joyride::core::testing;  // NOLINT
using base::Duration;
using wire::Icmpv4Type;
using wire::IpProtocol;
using wire::Ipv4Address;

constexpr Ipv4Address kSecondIp = Ipv4Address::from_octets(198, 18, 0, 10);

HarnessOptions two_addresses() {
  HarnessOptions o;
  o.configure = [](StackConfig& c) { c.interfaces[0].ipv4.push_back(wire::Ipv4Cidr(kSecondIp, 24)); };
  return o;
}

// ---- bind ---------------------------------------------------------------------------

struct BindCase {
  std::string name;
  Ipv4Address first_addr;
  bool first_reuse;
  Ipv4Address second_addr;
  bool second_reuse;
  std::optional<BindError> second_result;  // nullopt: success
};

class UdpBindTest : public ::testing::TestWithParam<BindCase> {};

TEST_P(UdpBindTest, SecondBindOnTheSamePort) {
  const BindCase& c = GetParam();
  StackHarness h(two_addresses());
  UdpLayer& udp = h.stack->udp();
  auto a = *udp.open();
  auto b = *udp.open();
  udp.set_reuse_addr(a, c.first_reuse);
  udp.set_reuse_addr(b, c.second_reuse);
  ASSERT_TRUE(udp.bind(a, Endpoint{c.first_addr, 5353}));
  auto r = udp.bind(b, Endpoint{c.second_addr, 5353});
  if (c.second_result) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), *c.second_result);
    EXPECT_FALSE(udp.local_endpoint(b));
  } else {
    EXPECT_TRUE(r);
    EXPECT_EQ(udp.local_endpoint(b), (Endpoint{c.second_addr, 5353}));
  }
}

const Ipv4Address kAny = Ipv4Address::any();

INSTANTIATE_TEST_SUITE_P(
    Rules, UdpBindTest,
    ::testing::Values(
        BindCase{"SameAddressInUse", kOurIp, false, kOurIp, false, BindError::kAddressInUse},
        BindCase{"WildcardTwiceInUse", kAny, false, kAny, false, BindError::kAddressInUse},
        BindCase{"BothReuseAddr", kOurIp, true, kOurIp, true, std::nullopt},
        BindCase{"BothReuseAddrWildcard", kAny, true, kAny, true, std::nullopt},
        BindCase{"OnlyFirstReuseAddr", kOurIp, true, kOurIp, false, BindError::kAddressInUse},
        BindCase{"OnlySecondReuseAddr", kOurIp, false, kOurIp, true, BindError::kAddressInUse},
        BindCase{"SpecificThenWildcard", kOurIp, false, kAny, false, BindError::kAddressInUse},
        BindCase{"WildcardThenSpecific", kAny, false, kOurIp, false, BindError::kAddressInUse},
        BindCase{"SpecificThenWildcardReuse", kOurIp, true, kAny, true, std::nullopt},
        BindCase{"TwoDifferentSpecific", kOurIp, false, kSecondIp, false, std::nullopt}),
    [](const auto& i) { return i.param.name; });

TEST(UdpBindTest, ForeignAddressIsNotAvailable) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  for (Ipv4Address a : {kPeerIp, kRemoteIp, kSubnetBroadcast, Ipv4Address::from_octets(127, 0, 0, 1)}) {
    auto s = *udp.open();
    auto r = udp.bind(s, Endpoint{a, 4000});
    ASSERT_FALSE(r) << a.to_string();
    EXPECT_EQ(r.error(), BindError::kAddressNotAvailable) << a.to_string();
  }
}

TEST(UdpBindTest, AlreadyBoundStaleAndFamily) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.bind(s, Endpoint{kOurIp, 4000}));
  EXPECT_EQ(udp.bind(s, Endpoint{kOurIp, 4001}).error(), BindError::kAlreadyBound);
  udp.close(s);
  EXPECT_EQ(udp.bind(s, Endpoint{kOurIp, 4000}).error(), BindError::kBadSocket);
  auto t = *udp.open();
  EXPECT_EQ(udp.bind(t, Endpoint{wire::Ipv6Address{}, 4000}).error(), BindError::kUnsupportedFamily);
  EXPECT_TRUE(udp.bind(t, Endpoint{kOurIp, 4000}));  // the port was freed by close
  EXPECT_EQ(udp.send_to(s, pattern(1), Endpoint{kPeerIp, 1}, h.now).error(), SendError::kBadSocket);
  uint8_t b[1];
  EXPECT_EQ(udp.recv_from(s, b).error(), RecvError::kBadSocket);
}

// ---- ephemeral ports ---------------------------------------------------------------

uint16_t first_ephemeral(uint64_t seed) {
  HarnessOptions o;
  o.resolve_peer = false;
  o.seed = seed;
  StackHarness h(o);
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  EXPECT_TRUE(udp.bind(s, Endpoint{kAny, 0}));
  return udp.local_endpoint(s)->port;
}

TEST(UdpEphemeralTest, WithinTheRangeAndDistinct) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  std::set<uint16_t> seen;
  for (int i = 0; i < 500; ++i) {
    auto s = *udp.open();
    ASSERT_TRUE(udp.bind(s, Endpoint{kAny, 0}));
    const uint16_t p = udp.local_endpoint(s)->port;
    EXPECT_GE(p, 32768);
    EXPECT_LE(p, 60999);
    EXPECT_TRUE(seen.insert(p).second) << "port " << p << " handed out twice";
  }
}

TEST(UdpEphemeralTest, RandomizedBySeed) {
  std::set<uint16_t> firsts;
  for (uint64_t seed = 1; seed <= 8; ++seed) firsts.insert(first_ephemeral(seed));
  EXPECT_GE(firsts.size(), 6u);  // 8 seeds over 28232 ports: collisions are rare
  EXPECT_EQ(first_ephemeral(42), first_ephemeral(42));  // and reproducible
}

TEST(UdpEphemeralTest, ExhaustionOfATinyRange) {
  StackHarness h(HarnessOptions{.configure = [](StackConfig& c) {
    c.udp.ephemeral_low = 40000;
    c.udp.ephemeral_high = 40003;
  }});
  UdpLayer& udp = h.stack->udp();
  std::set<uint16_t> seen;
  for (int i = 0; i < 4; ++i) {
    auto s = *udp.open();
    ASSERT_TRUE(udp.bind(s, Endpoint{kAny, 0}));
    seen.insert(udp.local_endpoint(s)->port);
  }
  EXPECT_EQ(seen, (std::set<uint16_t>{40000, 40001, 40002, 40003}));
  auto s = *udp.open();
  udp.set_reuse_addr(s, true);
  auto r = udp.bind(s, Endpoint{kAny, 0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), BindError::kNoEphemeralPorts);
  auto t = *udp.open();
  auto sent = udp.send_to(t, pattern(4), Endpoint{kPeerIp, 9}, h.now);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error(), SendError::kNoEphemeralPorts);
  auto c = udp.connect(t, Endpoint{kPeerIp, 9}, h.now);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), ConnectError::kNoEphemeralPorts);
  h.expect_no_tx();
}

// ---- send and receive -----------------------------------------------------------------

class UdpSendSizeTest : public ::testing::TestWithParam<size_t> {};

TEST_P(UdpSendSizeTest, SendToBuildsAValidDatagram) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.bind(s, Endpoint{kAny, 4444}));
  const Bytes data = pattern(GetParam(), 7);
  auto n = udp.send_to(s, data, Endpoint{kPeerIp, 53}, h.now);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, data.size());
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.udp) << "no parsable UDP (checksum verified by the parse)";
  EXPECT_EQ(f.eth.dst, kPeerMac);
  EXPECT_EQ(f.ip->src, kOurIp);
  EXPECT_EQ(f.ip->dst, kPeerIp);
  EXPECT_EQ(f.ip->ttl, 64);
  EXPECT_EQ(f.udp->src_port, 4444);
  EXPECT_EQ(f.udp->dst_port, 53);
  EXPECT_EQ(f.udp->payload_len, data.size());
  EXPECT_EQ(f.payload, data);
  EXPECT_NE(base::load_be<uint16_t>(f.ip_payload.data(), 6), 0) << "a checksum must be sent";
  h.expect_no_tx();
  EXPECT_EQ(h.counter("udp.tx_datagrams"), 1u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, UdpSendSizeTest, ::testing::Values(0, 1, 2, 3, 33, 512, 1471, 1472));

TEST(UdpTest, ReceiveReportsTheSourceEndpoint) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.bind(s, Endpoint{kAny, 7000}));
  h.inject_udp(12345, 7000, pattern(100));
  uint8_t buf[200];
  auto r = udp.recv_from(s, buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->from, (Endpoint{kPeerIp, 12345}));
  EXPECT_EQ(r->bytes, 100u);
  EXPECT_EQ(r->datagram, 100u);
  EXPECT_EQ(Bytes(buf, buf + 100), pattern(100));
  EXPECT_EQ(udp.recv_from(s, buf).error(), RecvError::kWouldBlock);
}

TEST(UdpTest, TruncatedReceiveReportsTheFullLength) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.bind(s, Endpoint{kAny, 7000}));
  h.inject_udp(1, 7000, pattern(300));
  uint8_t buf[10];
  auto r = udp.recv_from(s, buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bytes, 10u);
  EXPECT_EQ(r->datagram, 300u);
  EXPECT_EQ(Bytes(buf, buf + 10), pattern(10));
  EXPECT_EQ(udp.recv_from(s, buf).error(), RecvError::kWouldBlock);  // the rest is gone
}

TEST(UdpTest, ZeroChecksumAcceptedBadChecksumDropped) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.bind(s, Endpoint{kAny, 7000}));
  Bytes d = udp_datagram(1, 7000, pattern(20), kPeerIp, kOurIp);
  base::store_be<uint16_t>(d.data(), 6, 0);
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kUdp), d);
  uint8_t buf[64];
  ASSERT_TRUE(udp.recv_from(s, buf));

  Bytes bad = udp_datagram(1, 7000, pattern(20), kPeerIp, kOurIp);
  bad[10] ^= 0x01;
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kUdp), bad);
  EXPECT_EQ(udp.recv_from(s, buf).error(), RecvError::kWouldBlock);
  EXPECT_EQ(h.counter("udp.drop_bad_checksum"), 1u);
  h.expect_no_tx();  // no port unreachable for a corrupt datagram either
}

TEST(UdpTest, MalformedLengthsAreDropped) {
  StackHarness h;
  auto s = *h.stack->udp().open();
  ASSERT_TRUE(h.stack->udp().bind(s, Endpoint{kAny, 7000}));
  Bytes long_len = udp_datagram(1, 7000, pattern(20), kPeerIp, kOurIp);
  base::store_be<uint16_t>(long_len.data(), 4, 29);  // beyond the IP payload
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kUdp), long_len);
  Bytes short_len = udp_datagram(1, 7000, pattern(20), kPeerIp, kOurIp);
  base::store_be<uint16_t>(short_len.data(), 4, 7);
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kUdp), short_len);
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kUdp), Bytes{0, 1, 0x1b, 0x58});
  EXPECT_EQ(h.counter("udp.drop_malformed"), 3u);
  h.expect_no_tx();
}

// ---- demultiplexing ----------------------------------------------------------------

TEST(UdpDemuxTest, ConnectedBeatsSpecificBeatsWildcard) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto connected = *udp.open();
  auto specific = *udp.open();
  auto wildcard = *udp.open();
  for (auto s : {connected, specific, wildcard}) udp.set_reuse_addr(s, true);
  // Bound in the order least likely to win by accident: the connected one first.
  ASSERT_TRUE(udp.bind(connected, Endpoint{kAny, 9000}));
  ASSERT_TRUE(udp.connect(connected, Endpoint{kPeerIp, 1000}, h.now));
  ASSERT_TRUE(udp.bind(specific, Endpoint{kOurIp, 9000}));
  ASSERT_TRUE(udp.bind(wildcard, Endpoint{kAny, 9000}));
  uint8_t buf[16];

  h.inject_udp(1000, 9000, pattern(1));
  EXPECT_TRUE(udp.recv_from(connected, buf));
  EXPECT_FALSE(udp.recv_from(specific, buf));
  EXPECT_FALSE(udp.recv_from(wildcard, buf));

  h.inject_udp(1001, 9000, pattern(1));  // not from the connected peer
  EXPECT_FALSE(udp.recv_from(connected, buf));
  EXPECT_TRUE(udp.recv_from(specific, buf));
  EXPECT_FALSE(udp.recv_from(wildcard, buf));

  udp.close(specific);
  h.inject_udp(1001, 9000, pattern(1));
  EXPECT_FALSE(udp.recv_from(connected, buf));
  EXPECT_TRUE(udp.recv_from(wildcard, buf));
}

TEST(UdpDemuxTest, LaterBindWinsTies) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto first = *udp.open();
  auto second = *udp.open();
  udp.set_reuse_addr(first, true);
  udp.set_reuse_addr(second, true);
  ASSERT_TRUE(udp.bind(first, Endpoint{kAny, 9000}));
  ASSERT_TRUE(udp.bind(second, Endpoint{kAny, 9000}));
  h.inject_udp(1, 9000, pattern(1));
  uint8_t buf[4];
  EXPECT_TRUE(udp.recv_from(second, buf));
  EXPECT_FALSE(udp.recv_from(first, buf));
  udp.close(second);
  h.inject_udp(1, 9000, pattern(1));
  EXPECT_TRUE(udp.recv_from(first, buf));
}

TEST(UdpDemuxTest, BroadcastGoesToEveryWildcardSocket) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  std::vector<SocketId> wild;
  for (int i = 0; i < 3; ++i) {
    auto s = *udp.open();
    udp.set_reuse_addr(s, true);
    ASSERT_TRUE(udp.bind(s, Endpoint{kAny, 67}));
    wild.push_back(s);
  }
  auto specific = *udp.open();
  udp.set_reuse_addr(specific, true);
  ASSERT_TRUE(udp.bind(specific, Endpoint{kOurIp, 67}));
  auto other_port = *udp.open();
  ASSERT_TRUE(udp.bind(other_port, Endpoint{kAny, 68}));

  uint8_t buf[64];
  for (Ipv4Address dst : {Ipv4Address::broadcast(), kSubnetBroadcast}) {
    h.inject_udp(5, 67, pattern(10, 1), kPeerIp, dst);
    for (auto s : wild) {
      auto r = udp.recv_from(s, buf);
      ASSERT_TRUE(r) << dst.to_string();
      EXPECT_EQ(Bytes(buf, buf + r->bytes), pattern(10, 1));
    }
    EXPECT_FALSE(udp.recv_from(specific, buf)) << dst.to_string();
    EXPECT_FALSE(udp.recv_from(other_port, buf));
  }
  h.expect_no_tx();
}

// ---- receive buffer and readiness -------------------------------------------------------

TEST(UdpTest, ReceiveBufferBoundDropsAndCounts) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.bind(s, Endpoint{kAny, 7000}));
  ASSERT_TRUE(udp.set_rcvbuf(s, 1000));  // doubled: 2000 bytes, 356 per 100-byte datagram
  SocketEvent ev[8];
  h.stack->take_events(ev);  // the open's writable event

  for (int i = 0; i < 8; ++i) h.inject_udp(1, 7000, pattern(100, static_cast<uint8_t>(i)));
  EXPECT_EQ(h.counter("udp.drop_rcvbuf_full"), 3u);
  ASSERT_EQ(h.stack->take_events(ev), 1u);  // one event, however many datagrams
  EXPECT_EQ(ev[0].socket, s);
  EXPECT_EQ(ev[0].readiness, kReadable | kWritable);

  uint8_t buf[200];
  for (int i = 0; i < 5; ++i) {
    auto r = udp.recv_from(s, buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(Bytes(buf, buf + r->bytes), pattern(100, static_cast<uint8_t>(i)));  // FIFO
  }
  EXPECT_EQ(udp.recv_from(s, buf).error(), RecvError::kWouldBlock);
  ASSERT_EQ(h.stack->take_events(ev), 1u);  // no longer readable
  EXPECT_EQ(ev[0].readiness, kWritable);
  // Room again.
  h.inject_udp(1, 7000, pattern(100));
  EXPECT_TRUE(udp.recv_from(s, buf));
}

TEST(UdpTest, ClosedSocketLeavesNoEvent) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.bind(s, Endpoint{kAny, 7000}));
  h.inject_udp(1, 7000, pattern(10));
  udp.close(s);
  SocketEvent ev[8];
  EXPECT_EQ(h.stack->take_events(ev), 0u);
  // The port is closed now: port unreachable.
  h.inject_udp(1, 7000, pattern(10));
  EXPECT_TRUE(h.expect_tx().icmp);
}

// ---- ICMP ----------------------------------------------------------------------------

TEST(UdpIcmpTest, ClosedPortAnswersPortUnreachableWithTheQuote) {
  StackHarness h;
  const Bytes data = pattern(30, 2);
  wire::Ipv4Repr hdr = ip_header(kPeerIp, kOurIp, IpProtocol::kUdp, 0x2222);
  const Bytes u = udp_datagram(3333, 4444, data, kPeerIp, kOurIp);
  const Bytes d = ipv4(hdr, u);
  h.inject_datagram(d);
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.ip->src, kOurIp);
  EXPECT_EQ(f.ip->dst, kPeerIp);
  EXPECT_EQ(f.icmp->type, Icmpv4Type::kDestUnreachable);
  EXPECT_EQ(f.icmp->code, wire::Icmpv4Unreachable::kPortUnreachable);
  EXPECT_EQ(f.payload, d) << "the quote is the whole original datagram (under 576 bytes)";
  EXPECT_EQ(h.counter("udp.drop_no_socket"), 1u);
}

TEST(UdpIcmpTest, LongDatagramQuoteStopsAt576Bytes) {
  StackHarness h;
  const Bytes u = udp_datagram(3333, 4444, pattern(1000), kPeerIp, kOurIp);
  const Bytes d = ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kUdp), u);
  h.inject_datagram(d);
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.ip->total_len(), 576u);
  EXPECT_TRUE(std::equal(f.payload.begin(), f.payload.end(), d.begin()));
}

TEST(UdpIcmpTest, PortUnreachableOnAConnectedSocketIsReported) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.connect(s, Endpoint{kPeerIp, 53}, h.now));
  ASSERT_TRUE(udp.send_to(s, pattern(20), std::nullopt, h.now));
  TxFrame sent = h.expect_tx();
  ASSERT_TRUE(sent.udp);
  SocketEvent ev[4];
  h.stack->take_events(ev);

  // The peer answers with port unreachable quoting what we sent.
  wire::Icmpv4Repr err;
  err.type = Icmpv4Type::kDestUnreachable;
  err.code = wire::Icmpv4Unreachable::kPortUnreachable;
  const size_t eth = wire::kEthernetHeaderLen;
  const Bytes quote(sent.bytes.begin() + eth, sent.bytes.begin() + eth + 28);
  err.data = quote;
  h.inject_icmp(err);
  ASSERT_EQ(h.stack->take_events(ev), 1u);
  EXPECT_TRUE(ev[0].readiness & kError);

  uint8_t buf[64];
  auto r = udp.recv_from(s, buf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), RecvError::kConnectionRefused);
  EXPECT_EQ(udp.recv_from(s, buf).error(), RecvError::kWouldBlock);  // reported once
  EXPECT_TRUE(udp.send_to(s, pattern(20), std::nullopt, h.now));
}

TEST(UdpIcmpTest, PortUnreachableIsNotReportedToUnconnectedSockets) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.bind(s, Endpoint{kAny, 5000}));
  ASSERT_TRUE(udp.send_to(s, pattern(20), Endpoint{kPeerIp, 53}, h.now));
  TxFrame sent = h.expect_tx();
  wire::Icmpv4Repr err;
  err.type = Icmpv4Type::kDestUnreachable;
  err.code = wire::Icmpv4Unreachable::kPortUnreachable;
  const Bytes quote(sent.bytes.begin() + 14, sent.bytes.begin() + 14 + 28);
  err.data = quote;
  h.inject_icmp(err);
  uint8_t buf[64];
  EXPECT_EQ(udp.recv_from(s, buf).error(), RecvError::kWouldBlock);
  EXPECT_FALSE(udp.readiness(s) & kError);
}

// ---- sizes, fragmentation, broadcast, loopback ---------------------------------------

TEST(UdpTest, LargestDatagramFragmentsAndReassemblesAtAPeerStack) {
  StackHarness h;
  // The peer: a second stack on the same wire (and pool).
  Stack peer(host_config(kPeerMac, kPeerIp, 1500), h.pool, h.random, h.now);
  auto ps = *peer.udp().open();
  ASSERT_TRUE(peer.udp().bind(ps, Endpoint{kPeerIp, 9999}));

  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.bind(s, Endpoint{kAny, 1234}));
  const Bytes data = pattern(UdpLayer::kMaxPayload, 11);
  ASSERT_EQ(data.size(), 65507u);
  auto n = udp.send_to(s, data, Endpoint{kPeerIp, 9999}, h.now);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 65507u);

  auto frames = h.take_raw_tx();
  EXPECT_EQ(frames.size(), (65515 + 1479) / 1480);
  for (auto& f : frames) {
    TxFrame parsed = parse_frame(f.ifindex, f.packet);
    ASSERT_TRUE(parsed.ip);
    EXPECT_LE(parsed.ip->total_len(), 1500u);
    peer.input(0, std::move(f.packet), h.now);
  }
  std::vector<uint8_t> buf(70000);
  auto r = peer.udp().recv_from(ps, buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->from, (Endpoint{kOurIp, 1234}));
  ASSERT_EQ(r->datagram, data.size());
  buf.resize(r->bytes);
  EXPECT_EQ(buf, data);
}

TEST(UdpTest, OverTheMaximumIsTooLong) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  const Bytes data(65508, 0);
  auto r = udp.send_to(s, data, Endpoint{kPeerIp, 9}, h.now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), SendError::kMessageTooLong);
  h.expect_no_tx();
}

TEST(UdpTest, BroadcastNeedsSoBroadcast) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  for (Ipv4Address dst : {Ipv4Address::broadcast(), kSubnetBroadcast}) {
    auto r = udp.send_to(s, pattern(4), Endpoint{dst, 67}, h.now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), SendError::kBroadcastDenied);
  }
  h.expect_no_tx();
  ASSERT_TRUE(udp.set_broadcast(s, true));
  for (Ipv4Address dst : {Ipv4Address::broadcast(), kSubnetBroadcast}) {
    ASSERT_TRUE(udp.send_to(s, pattern(4), Endpoint{dst, 67}, h.now));
    TxFrame f = h.expect_tx();
    ASSERT_TRUE(f.udp);
    EXPECT_EQ(f.eth.dst, wire::MacAddress::broadcast()) << dst.to_string();
    EXPECT_EQ(f.ip->dst, dst);
    EXPECT_EQ(f.ip->src, kOurIp);
  }
}

TEST(UdpTest, LimitedBroadcastWithADefaultRouteStaysOnTheLink) {
  // 255.255.255.255 is never sent to a gateway, whatever the routing table says.
  HarnessOptions o;
  o.default_route = true;
  StackHarness h(o);
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.set_broadcast(s, true));
  ASSERT_TRUE(udp.send_to(s, pattern(4), Endpoint{Ipv4Address::broadcast(), 67}, h.now));
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.udp);
  EXPECT_EQ(f.eth.dst, wire::MacAddress::broadcast());
  // An off-link unicast does go to the gateway.
  ASSERT_TRUE(udp.send_to(s, pattern(4), Endpoint{kRemoteIp, 53}, h.now));
  TxFrame g = h.expect_tx();
  ASSERT_TRUE(g.udp);
  EXPECT_EQ(g.eth.dst, kGatewayMac);
  EXPECT_EQ(g.ip->dst, kRemoteIp);
}

TEST(UdpTest, NoRouteWithoutADefault) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  auto r = udp.send_to(s, pattern(4), Endpoint{kRemoteIp, 53}, h.now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), SendError::kNoRoute);
  EXPECT_EQ(udp.connect(s, Endpoint{kRemoteIp, 53}, h.now).error(), ConnectError::kNoRoute);
  EXPECT_EQ(udp.send_to(s, pattern(4), std::nullopt, h.now).error(), SendError::kNotConnected);
  EXPECT_EQ(udp.send_to(s, pattern(4), Endpoint{kPeerIp, 0}, h.now).error(), SendError::kInvalid);
}

class UdpLoopbackTest : public ::testing::TestWithParam<size_t> {};

TEST_P(UdpLoopbackTest, DatagramsToOurOwnAddressAreDeliveredAfterPoll) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto rx = *udp.open();
  ASSERT_TRUE(udp.bind(rx, Endpoint{kAny, 8000}));
  auto tx = *udp.open();
  ASSERT_TRUE(udp.bind(tx, Endpoint{kOurIp, 8001}));
  const Bytes data = pattern(GetParam(), 4);
  ASSERT_TRUE(udp.send_to(tx, data, Endpoint{kOurIp, 8000}, h.now));
  h.expect_no_tx();  // nothing reaches the wire
  std::vector<uint8_t> buf(70000);
  EXPECT_EQ(udp.recv_from(rx, buf).error(), RecvError::kWouldBlock);  // not before poll
  EXPECT_LE(h.stack->next_deadline(), h.now);  // poll is due at once
  h.poll();
  auto r = udp.recv_from(rx, buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->from, (Endpoint{kOurIp, 8001}));
  ASSERT_EQ(r->datagram, data.size());
  EXPECT_TRUE(std::equal(data.begin(), data.end(), buf.begin()));
  EXPECT_TRUE(h.stack->next_deadline() > h.now);
  h.expect_no_tx();
}

INSTANTIATE_TEST_SUITE_P(Sizes, UdpLoopbackTest, ::testing::Values(0, 100, 1472, 3000, 65507));

TEST(UdpTest, LoopbackToAClosedPortAnswersLocally) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto tx = *udp.open();
  ASSERT_TRUE(udp.connect(tx, Endpoint{kOurIp, 8999}, h.now));
  ASSERT_TRUE(udp.send_to(tx, pattern(10), std::nullopt, h.now));
  h.poll();  // delivers the datagram: port unreachable is looped back too
  h.poll();  // delivers the error
  h.expect_no_tx();
  uint8_t buf[16];
  EXPECT_EQ(udp.recv_from(tx, buf).error(), RecvError::kConnectionRefused);
}

}  // namespace
}  // namespace joyride::core

namespace joyride::core {
namespace {

using namespace joyride::core::testing;  // NOLINT

// Port unreachable quoting `sent` (a frame we transmitted).
wire::Icmpv4Repr unreachable_about(const TxFrame& sent, uint8_t code, const Bytes& storage) {
  wire::Icmpv4Repr err;
  err.type = wire::Icmpv4Type::kDestUnreachable;
  err.code = code;
  err.data = storage;
  (void)sent;
  return err;
}

TEST(UdpIcmpTest, PendingErrorIsReportedBeforeQueuedDatagrams) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.connect(s, Endpoint{kPeerIp, 53}, h.now));
  const uint16_t port = udp.local_endpoint(s)->port;
  ASSERT_TRUE(udp.send_to(s, pattern(20), std::nullopt, h.now));
  TxFrame sent = h.expect_tx();
  h.inject_udp(53, port, pattern(5));  // a datagram is waiting
  const Bytes quote(sent.bytes.begin() + 14, sent.bytes.begin() + 14 + 28);
  h.inject_icmp(unreachable_about(sent, wire::Icmpv4Unreachable::kPortUnreachable, quote));
  EXPECT_TRUE(udp.readiness(s) & kError);
  uint8_t buf[64];
  auto first = udp.recv_from(s, buf);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error(), RecvError::kConnectionRefused);
  EXPECT_FALSE(udp.readiness(s) & kError);
  auto second = udp.recv_from(s, buf);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->datagram, 5u);
}

TEST(UdpIcmpTest, SoftErrorsAreNotReported) {
  // Time exceeded and host unreachable are soft errors: Linux does not report them
  // on a UDP socket without IP_RECVERR.
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  ASSERT_TRUE(udp.connect(s, Endpoint{kPeerIp, 53}, h.now));
  ASSERT_TRUE(udp.send_to(s, pattern(20), std::nullopt, h.now));
  TxFrame sent = h.expect_tx();
  const Bytes quote(sent.bytes.begin() + 14, sent.bytes.begin() + 14 + 28);
  wire::Icmpv4Repr te;
  te.type = wire::Icmpv4Type::kTimeExceeded;
  te.code = wire::Icmpv4TimeExceeded::kTtlExceeded;
  te.data = quote;
  h.inject_icmp(te);
  h.inject_icmp(unreachable_about(sent, wire::Icmpv4Unreachable::kHostUnreachable, quote));
  uint8_t buf[8];
  EXPECT_EQ(udp.recv_from(s, buf).error(), RecvError::kWouldBlock);
  EXPECT_FALSE(udp.readiness(s) & kError);
  EXPECT_EQ(h.counter("icmp.rx_time_exceeded"), 1u);
  EXPECT_EQ(h.counter("icmp.rx_dest_unreachable"), 1u);
}

// Linux __udp4_lib_err without IP_RECVERR: a connected socket hears of hard errors
// only, as icmp_err_convert's errno (parameter problem: EPROTO); soft ones (time
// exceeded, net/host unreachable and their TOS forms, source route failed) and
// fragmentation needed (our datagrams go without DF: IP_PMTUDISC_DONT) are dropped.
struct UdpIcmpCase {
  const char* name;
  uint8_t type;
  uint8_t code;
  std::optional<RecvError> error;
};

// The error message about `sent`: type, code, 4 bytes (pointer or unused), quote.
void inject_icmp_about(StackHarness& h, const TxFrame& sent, uint8_t type, uint8_t code) {
  const Bytes quote(sent.bytes.begin() + 14, sent.bytes.begin() + 14 + 28);
  Bytes m(8 + quote.size(), 0);
  m[0] = type;
  m[1] = code;
  if (type == kIcmpv4ParameterProblem) m[4] = 9;  // the pointer: the protocol field
  std::copy(quote.begin(), quote.end(), m.begin() + 8);
  base::store_be<uint16_t>(m.data(), 2, wire::internet_checksum(m));
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp), m);
}

TEST(UdpIcmpTest, HardErrorsAsLinuxConvertsThemSoftOnesDropped) {
  constexpr uint8_t kUnreach = 3, kTimeExceeded = 11;
  const UdpIcmpCase cases[] = {
      {"parameter problem", kIcmpv4ParameterProblem, 0, RecvError::kProtocolError},
      {"parameter problem, missing option", kIcmpv4ParameterProblem, 1, RecvError::kProtocolError},
      {"net unreachable", kUnreach, 0, std::nullopt},
      {"host unreachable", kUnreach, 1, std::nullopt},
      {"protocol unreachable", kUnreach, 2, RecvError::kProtocolUnavailable},
      {"port unreachable", kUnreach, 3, RecvError::kConnectionRefused},
      {"fragmentation needed, no MTU", kUnreach, 4, std::nullopt},
      {"source route failed", kUnreach, 5, std::nullopt},
      {"net unknown", kUnreach, 6, RecvError::kNoRoute},
      {"host unknown", kUnreach, 7, RecvError::kHostDown},
      {"source host isolated", kUnreach, 8, RecvError::kNoNetwork},
      {"net prohibited", kUnreach, 9, RecvError::kNoRoute},
      {"host prohibited", kUnreach, 10, RecvError::kHostUnreachable},
      {"net unreachable for TOS", kUnreach, 11, std::nullopt},
      {"host unreachable for TOS", kUnreach, 12, std::nullopt},
      {"communication prohibited", kUnreach, 13, RecvError::kHostUnreachable},
      {"host precedence violation", kUnreach, 14, RecvError::kHostUnreachable},
      {"precedence cutoff", kUnreach, 15, RecvError::kHostUnreachable},
      {"unknown code", kUnreach, 16, std::nullopt},
      {"TTL exceeded", kTimeExceeded, 0, std::nullopt},
      {"reassembly time exceeded", kTimeExceeded, 1, std::nullopt},
  };
  for (const UdpIcmpCase& c : cases) {
    SCOPED_TRACE(c.name);
    StackHarness h;
    UdpLayer& udp = h.stack->udp();
    auto s = *udp.open();
    ASSERT_TRUE(udp.connect(s, Endpoint{kPeerIp, 53}, h.now));
    ASSERT_TRUE(udp.send_to(s, pattern(20), std::nullopt, h.now));
    TxFrame sent = h.expect_tx();
    inject_icmp_about(h, sent, c.type, c.code);
    EXPECT_EQ(static_cast<bool>(udp.readiness(s) & kError), c.error.has_value());
    EXPECT_EQ(udp.take_error(s), c.error);
    EXPECT_EQ(udp.take_error(s), std::nullopt);  // SO_ERROR clears it
    EXPECT_FALSE(udp.readiness(s) & kError);
  }
}

// The pending error goes to whichever call comes first, once: recv, send (as the
// SendError of the same errno) or SO_ERROR.
TEST(UdpIcmpTest, ParameterProblemIsReportedOnceByTheFirstCall) {
  enum class Taker { kRecv, kSend, kTakeError };
  for (Taker taker : {Taker::kRecv, Taker::kSend, Taker::kTakeError}) {
    SCOPED_TRACE(static_cast<int>(taker));
    StackHarness h;
    UdpLayer& udp = h.stack->udp();
    auto s = *udp.open();
    ASSERT_TRUE(udp.connect(s, Endpoint{kPeerIp, 53}, h.now));
    ASSERT_TRUE(udp.send_to(s, pattern(20), std::nullopt, h.now));
    TxFrame sent = h.expect_tx();
    SocketEvent ev[4];
    h.stack->take_events(ev);
    inject_icmp_about(h, sent, kIcmpv4ParameterProblem, 0);
    ASSERT_EQ(h.stack->take_events(ev), 1u);
    EXPECT_TRUE(ev[0].readiness & kError);
    uint8_t buf[8];
    switch (taker) {
      case Taker::kRecv: EXPECT_EQ(udp.recv_from(s, buf).error(), RecvError::kProtocolError); break;
      case Taker::kSend:
        EXPECT_EQ(udp.send_to(s, pattern(4), std::nullopt, h.now).error(), SendError::kProtocolError);
        break;
      case Taker::kTakeError: EXPECT_EQ(udp.take_error(s), RecvError::kProtocolError); break;
    }
    EXPECT_EQ(udp.recv_from(s, buf).error(), RecvError::kWouldBlock);
    EXPECT_TRUE(udp.send_to(s, pattern(4), std::nullopt, h.now));
  }
}

// Unconnected: nothing, however hard the error (Linux: sk_state != TCP_ESTABLISHED).
// The socket a reply would reach is the one asked: with a connected and an
// unconnected socket sharing the port, an error about the connected one's peer
// reaches it, an error about another destination reaches (and is dropped by) the
// unconnected one.
TEST(UdpIcmpTest, HardErrorsReachOnlyTheConnectedSocketAReplyWouldReach) {
  StackHarness h;
  UdpLayer& udp = h.stack->udp();
  auto wild = *udp.open();
  auto conn = *udp.open();
  ASSERT_TRUE(udp.set_reuse_addr(wild, true));
  ASSERT_TRUE(udp.set_reuse_addr(conn, true));
  ASSERT_TRUE(udp.bind(wild, Endpoint{kAny, 5000}));
  ASSERT_TRUE(udp.bind(conn, Endpoint{kAny, 5000}));
  ASSERT_TRUE(udp.connect(conn, Endpoint{kPeerIp, 53}, h.now));
  ASSERT_TRUE(udp.send_to(wild, pattern(20), Endpoint{kPeerIp, 54}, h.now));
  TxFrame to_other = h.expect_tx();
  ASSERT_TRUE(udp.send_to(conn, pattern(20), std::nullopt, h.now));
  TxFrame to_peer = h.expect_tx();
  inject_icmp_about(h, to_other, kIcmpv4ParameterProblem, 0);
  EXPECT_EQ(udp.take_error(wild), std::nullopt);
  EXPECT_EQ(udp.take_error(conn), std::nullopt);
  inject_icmp_about(h, to_peer, kIcmpv4ParameterProblem, 0);
  EXPECT_EQ(udp.take_error(wild), std::nullopt);
  EXPECT_EQ(udp.take_error(conn), RecvError::kProtocolError);
  EXPECT_EQ(udp.take_error(SocketId{}), RecvError::kBadSocket);
}

}  // namespace
}  // namespace joyride::core
