// ICMPv4: echo, ping sockets, error generation (rate limit, RFC 1122 §3.2.2
// exclusions) and path MTU discovery.
#include <gtest/gtest.h>

#include <algorithm>

#include "joyride/base/bytes.h"
#include "stack_harness.h"

namespace joyride::core {
namespace {

using namespace joyride::core::testing;  // NOLINT
using base::Duration;
using wire::Icmpv4Repr;
using wire::Icmpv4Type;
using wire::IpProtocol;
using wire::Ipv4Address;

class EchoSizeTest : public ::testing::TestWithParam<size_t> {};

TEST_P(EchoSizeTest, EchoRequestIsAnsweredWithIdenticalIdentSeqAndData) {
  StackHarness h;
  const Bytes data = pattern(GetParam(), 3);
  wire::Ipv4Repr hdr = ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp);
  hdr.dscp_ecn = 0xb8;  // EF: the reply keeps the DSCP (ECN bits cleared)
  h.inject_ipv4(hdr, icmp_echo(Icmpv4Type::kEchoRequest, 0xabcd, 0x0102, data));
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp) << "no parsable ICMP reply (checksums verified by the parse)";
  EXPECT_EQ(f.eth.dst, kPeerMac);
  EXPECT_EQ(f.eth.src, kOurMac);
  EXPECT_EQ(f.ip->src, kOurIp);
  EXPECT_EQ(f.ip->dst, kPeerIp);
  EXPECT_EQ(f.ip->dscp_ecn, 0xb8);
  EXPECT_FALSE(f.ip->is_fragment());
  EXPECT_EQ(f.icmp->type, Icmpv4Type::kEchoReply);
  EXPECT_EQ(f.icmp->code, 0);
  EXPECT_EQ(f.icmp->ident, 0xabcd);
  EXPECT_EQ(f.icmp->seq_no, 0x0102);
  EXPECT_EQ(f.payload, data);
  EXPECT_TRUE(wire::checksum_verify(f.ip_payload));
  h.expect_no_tx();
  EXPECT_EQ(h.counter("icmp.tx_echo_replies"), 1u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, EchoSizeTest, ::testing::Values(0, 1, 7, 56, 1000, 1472));

TEST(IcmpTest, EchoToBroadcastIsIgnored) {
  StackHarness h;
  h.inject_echo_request(1, 1, pattern(8), Ipv4Address::broadcast());
  h.inject_echo_request(1, 2, pattern(8), kSubnetBroadcast);
  h.expect_no_tx();
  EXPECT_EQ(h.counter("icmp.drop_broadcast_echo"), 2u);
}

TEST(IcmpTest, EchoToBroadcastAnsweredWhenAllowed) {
  StackHarness h(HarnessOptions{.configure = [](StackConfig& c) { c.icmp.echo_ignore_broadcasts = false; }});
  h.inject_echo_request(1, 2, pattern(8), kSubnetBroadcast);
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.ip->src, kOurIp);  // never a broadcast source
  EXPECT_EQ(f.ip->dst, kPeerIp);
}

TEST(IcmpTest, BadChecksumIsDroppedAndCounted) {
  StackHarness h;
  Bytes m = icmp_echo(Icmpv4Type::kEchoRequest, 1, 1, pattern(20));
  m[12] ^= 0x20;  // a data byte
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp), m);
  h.expect_no_tx();
  EXPECT_EQ(h.counter("icmp.drop_bad_checksum"), 1u);
  EXPECT_EQ(h.counter("icmp.rx_echo_requests"), 0u);
}

TEST(IcmpTest, TruncatedAndUnsupportedMessagesAreCounted) {
  StackHarness h;
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp), Bytes{8, 0, 0, 0});
  EXPECT_EQ(h.counter("icmp.drop_malformed"), 1u);
  Bytes ts(20, 0);  // timestamp request (type 13), valid checksum
  ts[0] = 13;
  base::store_be<uint16_t>(ts.data(), 2, wire::internet_checksum(ts));
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp), ts);
  EXPECT_EQ(h.counter("icmp.drop_unsupported_type"), 1u);
  h.expect_no_tx();
}

TEST(IcmpTest, LargePingIsReassembledAndTheReplyFragmented) {
  StackHarness h;
  const Bytes data = pattern(60000 - 8, 17);  // a 60,000-byte ICMP message
  const Bytes request = icmp_echo(Icmpv4Type::kEchoRequest, 0x4242, 9, data);
  ASSERT_EQ(request.size(), 60000u);
  h.inject_fragments(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp, 0x7777), request, 1480);
  EXPECT_EQ(h.counter("reassembly.datagrams_reassembled"), 1u);

  std::vector<TxFrame> frags = h.drain_tx();
  ASSERT_EQ(frags.size(), (60000 + 1479) / 1480);
  for (size_t i = 0; i < frags.size(); ++i) {
    const TxFrame& f = frags[i];
    ASSERT_TRUE(f.ip) << i;
    EXPECT_EQ(f.eth.dst, kPeerMac);
    EXPECT_LE(f.ip->total_len(), 1500u) << i;
    EXPECT_EQ(f.ip->src, kOurIp);
    EXPECT_EQ(f.ip->dst, kPeerIp);
    EXPECT_EQ(f.ip->protocol, IpProtocol::kIcmp);
    EXPECT_EQ(f.ip->ident, frags[0].ip->ident);
    EXPECT_FALSE(f.ip->dont_fragment);
    EXPECT_EQ(f.ip->more_fragments, i + 1 < frags.size()) << i;
    EXPECT_EQ(f.ip->frag_offset % 8, 0) << i;
    if (f.ip->more_fragments) {
      EXPECT_EQ(f.ip_payload.size() % 8, 0u) << i;
    }
  }
  auto reply = reassemble(frags);
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->size(), request.size());
  auto parsed = Icmpv4Repr::parse(*reply);  // verifies the checksum over 60,000 bytes
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->type, Icmpv4Type::kEchoReply);
  EXPECT_EQ(parsed->ident, 0x4242);
  EXPECT_EQ(parsed->seq_no, 9);
  EXPECT_TRUE(std::equal(reply->begin() + 8, reply->end(), request.begin() + 8));
  EXPECT_EQ(h.counter("ipv4.tx_fragments"), frags.size());
}

TEST(IcmpTest, LargePingOutOfOrderFragments) {
  StackHarness h;
  const Bytes request = icmp_echo(Icmpv4Type::kEchoRequest, 1, 2, pattern(5000));
  auto frags = StackHarness::fragment(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp, 9), request, 1480);
  std::reverse(frags.begin(), frags.end());
  for (const auto& d : frags) h.inject_datagram(d);
  auto reply = reassemble(h.drain_tx());
  ASSERT_TRUE(reply);
  auto parsed = Icmpv4Repr::parse(*reply);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(std::equal(reply->begin() + 8, reply->end(), request.begin() + 8));
}

// ---- ping sockets --------------------------------------------------------------------

TEST(PingSocketTest, SendEchoEmitsAValidRequestAndReceivesTheReply) {
  StackHarness h;
  PingSockets& ping = h.stack->ping();
  auto s = ping.open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(ping.bind(*s, 0x5151));
  const Bytes data = pattern(56, 1);
  ASSERT_TRUE(ping.send_echo(*s, kPeerIp, 3, data, h.now));
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.ip->src, kOurIp);
  EXPECT_EQ(f.ip->dst, kPeerIp);
  EXPECT_EQ(f.icmp->type, Icmpv4Type::kEchoRequest);
  EXPECT_EQ(f.icmp->ident, 0x5151);
  EXPECT_EQ(f.icmp->seq_no, 3);
  EXPECT_EQ(f.payload, data);

  uint8_t buf[128];
  auto none = ping.recv(*s, buf);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), RecvError::kWouldBlock);
  SocketEvent drain[8];
  h.stack->take_events(drain);

  // The peer answers.
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp),
                icmp_echo(Icmpv4Type::kEchoReply, 0x5151, 3, data));
  SocketEvent ev[8];
  const size_t n = h.stack->take_events(ev);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(ev[0].socket, *s);
  EXPECT_TRUE(ev[0].readiness & kReadable);
  EXPECT_TRUE(ping.readiness(*s) & kReadable);

  auto r = ping.recv(*s, buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->from, kPeerIp);
  EXPECT_EQ(r->seq_no, 3);
  EXPECT_EQ(r->data_len, data.size());
  EXPECT_EQ(Bytes(buf, buf + data.size()), data);
  EXPECT_FALSE(ping.readiness(*s) & kReadable);
  // Draining the queue is a readiness change too.
  ASSERT_EQ(h.stack->take_events(ev), 1u);
  EXPECT_EQ(ev[0].socket, *s);
  EXPECT_FALSE(ev[0].readiness & kReadable);
  h.expect_no_tx();
}

TEST(PingSocketTest, RepliesForOtherIdentsAreNotDelivered) {
  StackHarness h;
  PingSockets& ping = h.stack->ping();
  auto s = *ping.open();
  ASSERT_TRUE(ping.bind(s, 10));
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp), icmp_echo(Icmpv4Type::kEchoReply, 11, 1, pattern(4)));
  uint8_t buf[16];
  EXPECT_FALSE(ping.recv(s, buf));
  EXPECT_EQ(ping.dropped_replies(), 1u);
}

TEST(PingSocketTest, BindRulesAndStaleHandles) {
  StackHarness h;
  PingSockets& ping = h.stack->ping();
  auto a = *ping.open();
  auto b = *ping.open();
  ASSERT_TRUE(ping.bind(a, 77));
  auto dup = ping.bind(b, 77);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error(), BindError::kAddressInUse);
  auto again = ping.bind(a, 78);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), BindError::kAlreadyBound);
  ping.close(a);
  EXPECT_TRUE(ping.bind(b, 77));  // free again
  uint8_t buf[4];
  auto stale = ping.recv(a, buf);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error(), RecvError::kBadSocket);
  auto stale_send = ping.send_echo(a, kPeerIp, 1, {}, h.now);
  ASSERT_FALSE(stale_send);
  EXPECT_EQ(stale_send.error(), SendError::kBadSocket);
}

TEST(PingSocketTest, UnboundSocketGetsAnIdentOnSend) {
  StackHarness h;
  PingSockets& ping = h.stack->ping();
  auto s = *ping.open();
  ASSERT_TRUE(ping.send_echo(s, kPeerIp, 1, pattern(8), h.now));
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_NE(f.icmp->ident, 0);
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp),
                icmp_echo(Icmpv4Type::kEchoReply, f.icmp->ident, 1, pattern(8)));
  uint8_t buf[16];
  EXPECT_TRUE(ping.recv(s, buf));
}

TEST(PingSocketTest, BroadcastEchoNeedsSoBroadcast) {
  StackHarness h;
  PingSockets& ping = h.stack->ping();
  auto s = *ping.open();
  for (Ipv4Address dst : {Ipv4Address::broadcast(), kSubnetBroadcast}) {
    auto r = ping.send_echo(s, dst, 1, pattern(8), h.now);
    ASSERT_FALSE(r) << dst.to_string();
    EXPECT_EQ(r.error(), SendError::kBroadcastDenied);
  }
  h.expect_no_tx();
  ASSERT_TRUE(ping.set_broadcast(s, true));
  ASSERT_TRUE(ping.send_echo(s, kSubnetBroadcast, 2, pattern(8), h.now));
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.eth.dst, wire::MacAddress::broadcast());
  auto none = ping.send_echo(s, kRemoteIp, 3, pattern(8), h.now);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), SendError::kNoRoute);
}

TEST(IcmpTest, EchoFromUnspecifiedSourceIsMartian) {
  StackHarness h;
  h.inject_ipv4(ip_header(Ipv4Address::any(), kOurIp, IpProtocol::kIcmp),
                icmp_echo(Icmpv4Type::kEchoRequest, 1, 1, pattern(8)));
  h.expect_no_tx();
  EXPECT_EQ(h.counter("ipv4.drop_martian_source"), 1u);
  EXPECT_EQ(h.counter("icmp.drop_no_buffers"), 0u);
}

// ---- errors ------------------------------------------------------------------------

TEST(IcmpErrorTest, PortUnreachableIsRateLimitedAndRefills) {
  StackHarness h;
  // At one instant: the burst (50) goes out, the rest is limited.
  for (int i = 0; i < 60; ++i) h.inject_udp(1000, 9, pattern(4));
  auto sent = h.drain_tx();
  EXPECT_EQ(sent.size(), 50u);
  for (const auto& f : sent) {
    ASSERT_TRUE(f.icmp);
    EXPECT_EQ(f.icmp->type, Icmpv4Type::kDestUnreachable);
    EXPECT_EQ(f.icmp->code, wire::Icmpv4Unreachable::kPortUnreachable);
  }
  EXPECT_EQ(h.counter("icmp.drop_rate_limited"), 10u);
  EXPECT_EQ(h.counter("udp.drop_no_socket"), 60u);

  // 1000/s: 5 ms brings 5 tokens.
  h.advance(Duration::millis(5));
  for (int i = 0; i < 10; ++i) h.inject_udp(1000, 9, pattern(4));
  EXPECT_EQ(h.drain_tx().size(), 5u);
  EXPECT_EQ(h.counter("icmp.drop_rate_limited"), 15u);

  // A long quiet spell refills the bucket to the burst, no further.
  h.advance(Duration::seconds(10));
  for (int i = 0; i < 60; ++i) h.inject_udp(1000, 9, pattern(4));
  EXPECT_EQ(h.drain_tx().size(), 50u);
}

TEST(IcmpErrorTest, EchoRepliesAreNotRateLimited) {
  StackHarness h;
  for (int i = 0; i < 50; ++i) h.inject_udp(1000, 9, pattern(4));  // use up the bucket
  EXPECT_EQ(h.drain_tx().size(), 50u);
  for (uint16_t i = 0; i < 80; ++i) h.inject_echo_request(1, i, pattern(4));
  EXPECT_EQ(h.drain_tx().size(), 80u);
}

TEST(IcmpErrorTest, NoErrorAboutBroadcasts) {
  StackHarness h;
  h.inject_udp(1000, 9, pattern(4), kPeerIp, Ipv4Address::broadcast());
  h.inject_udp(1000, 9, pattern(4), kPeerIp, kSubnetBroadcast);
  h.expect_no_tx();
  EXPECT_EQ(h.counter("udp.drop_no_socket"), 2u);
}

TEST(IcmpErrorTest, NoErrorAboutAnUnspecifiedSource) {
  StackHarness h;
  h.inject_udp(68, 9, pattern(4), Ipv4Address::any(), kOurIp);
  h.expect_no_tx();
}

TEST(IcmpErrorTest, ReassemblyTimeoutSendsTimeExceededQuotingTheFirstFragment) {
  StackHarness h;
  const Bytes request = icmp_echo(Icmpv4Type::kEchoRequest, 1, 1, pattern(3000));
  auto frags = StackHarness::fragment(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp, 0x5555), request, 1480);
  ASSERT_EQ(frags.size(), 3u);
  h.inject_datagram(frags[0]);  // the first fragment only
  h.expect_no_tx();
  h.advance(Duration::seconds(31));
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.icmp->type, Icmpv4Type::kTimeExceeded);
  EXPECT_EQ(f.icmp->code, wire::Icmpv4TimeExceeded::kReassemblyExceeded);
  EXPECT_EQ(f.ip->dst, kPeerIp);
  ASSERT_GE(f.payload.size(), 28u);
  EXPECT_EQ(Bytes(f.payload.begin(), f.payload.begin() + 20), Bytes(frags[0].begin(), frags[0].begin() + 20));
  EXPECT_TRUE(std::equal(f.payload.begin() + 20, f.payload.end(), frags[0].begin() + 20));
  EXPECT_LE(f.ip->total_len(), 576u);
  EXPECT_EQ(h.counter("icmp.tx_time_exceeded"), 1u);
}

TEST(IcmpErrorTest, NoErrorAboutANonFirstFragment) {
  StackHarness h;
  const Bytes request = icmp_echo(Icmpv4Type::kEchoRequest, 1, 1, pattern(3000));
  auto frags = StackHarness::fragment(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp, 0x5556), request, 1480);
  h.inject_datagram(frags[1]);
  h.inject_datagram(frags[2]);
  h.advance(Duration::seconds(31));
  h.expect_no_tx();
  EXPECT_EQ(h.counter("reassembly.drop_timeout"), 1u);
}

// RFC 1122 §3.2.2: "An ICMP error message MUST NOT be sent as the result of receiving
// ... a datagram fragment other than the first fragment" (Linux __icmp_send: "Only
// reply to fragment 0"). Asked directly, the ICMP layer's error paths (destination
// unreachable and the reassembly timeout's time exceeded) send nothing about a
// fragment with a non-zero offset, with or without MF; the same datagram at offset 0
// is answered, so the silence is the offset's doing.
TEST(IcmpErrorTest, NoErrorAboutANonInitialFragmentFromAnyErrorPath) {
  StackHarness h;
  const Bytes udp = udp_datagram(1000, 9, pattern(8), kPeerIp, kOurIp);
  buf::Packet payload = h.pool.alloc(kPacketHeadroom);
  ASSERT_TRUE(payload.append_bytes(udp, h.pool));
  wire::Ipv4Repr first = ip_header(kPeerIp, kOurIp, IpProtocol::kUdp, 0x4242);
  first.header_len = 20;
  first.payload_len = static_cast<uint16_t>(udp.size());
  for (const bool mf : {false, true}) {
    wire::Ipv4Repr later = first;
    later.frag_offset = 1480;
    later.more_fragments = mf;
    h.stack->icmp().send_dest_unreachable(wire::Icmpv4Unreachable::kPortUnreachable, later, payload, h.now);
    buf::Packet datagram = h.pool.alloc(kPacketHeadroom);
    ASSERT_TRUE(datagram.append_bytes(ipv4(later, udp), h.pool));
    h.stack->icmp().on_reassembly_timeout(later, datagram, h.now);
    h.expect_no_tx();
  }
  EXPECT_EQ(h.counter("icmp.tx_dest_unreachable"), 0u);
  EXPECT_EQ(h.counter("icmp.tx_time_exceeded"), 0u);

  h.stack->icmp().send_dest_unreachable(wire::Icmpv4Unreachable::kPortUnreachable, first, payload, h.now);
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.icmp->type, Icmpv4Type::kDestUnreachable);
  EXPECT_EQ(f.ip->dst, kPeerIp);
}

TEST(IcmpErrorTest, NoErrorAboutAnIcmpError) {
  StackHarness h;
  // A (large) destination unreachable message arrives fragmented, and only its
  // first fragment: the timeout must not produce an error about an error.
  Icmpv4Repr err;
  err.type = Icmpv4Type::kDestUnreachable;
  err.code = wire::Icmpv4Unreachable::kHostUnreachable;
  const Bytes quote = ipv4(ip_header(kOurIp, kRemoteIp, IpProtocol::kUdp), pattern(2000));
  err.data = quote;
  const Bytes m = icmp_message(err);
  auto frags = StackHarness::fragment(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp, 0x5557), m, 1480);
  h.inject_datagram(frags[0]);
  h.advance(Duration::seconds(31));
  h.expect_no_tx();
  EXPECT_EQ(h.counter("reassembly.drop_timeout"), 1u);
}

// ---- path MTU ----------------------------------------------------------------------

Icmpv4Repr frag_needed(uint16_t mtu, const Bytes& quote) {
  Icmpv4Repr m;
  m.type = Icmpv4Type::kDestUnreachable;
  m.code = wire::Icmpv4Unreachable::kFragmentationNeeded;
  m.next_hop_mtu = mtu;
  m.data = quote;
  return m;
}

TEST(PathMtuTest, FragNeededLowersThePathMtu) {
  StackHarness h;
  // The quoted datagram: one of ours to the peer, header + 8 bytes.
  Bytes quote = ipv4(ip_header(kOurIp, kPeerIp, IpProtocol::kUdp), pattern(1400));
  quote.resize(28);
  h.inject_icmp(frag_needed(1000, quote));
  h.expect_no_tx();
  auto r = h.stack->ipv4().route(kPeerIp, h.now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->mtu, 1000);

  // A later large UDP send fragments at the new MTU.
  UdpLayer& udp = h.stack->udp();
  auto s = *udp.open();
  const Bytes data = pattern(3000, 5);
  ASSERT_TRUE(udp.send_to(s, data, Endpoint{kPeerIp, 9}, h.now));
  auto frags = h.drain_tx();
  ASSERT_EQ(frags.size(), 4u);  // 3008 bytes at 976 per fragment
  for (const auto& f : frags) {
    ASSERT_TRUE(f.ip);
    EXPECT_LE(f.ip->total_len(), 1000u);
    if (f.ip->more_fragments) {
      EXPECT_EQ(f.ip_payload.size(), 976u);
    }
  }
  auto whole = reassemble(frags);
  ASSERT_TRUE(whole);
  EXPECT_TRUE(std::equal(whole->begin() + 8, whole->end(), data.begin(), data.end()));
  auto u = wire::UdpRepr::parse(*whole, kOurIp, kPeerIp);
  ASSERT_TRUE(u);

  // Don't-fragment over the path MTU fails with EMSGSIZE, nothing sent.
  buf::Packet p = h.pool.alloc(kPacketHeadroom);
  ASSERT_TRUE(p.append(1200));
  Ipv4SendParams params;
  params.dst = kPeerIp;
  params.protocol = 253;
  params.dont_fragment = true;
  auto sent = h.stack->ipv4().output(params, std::move(p), h.now);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error(), SendError::kMessageTooLong);
  EXPECT_EQ(h.counter("ipv4.drop_fragment_needed"), 1u);
  h.expect_no_tx();

  // Under the path MTU, DF goes out whole.
  buf::Packet q = h.pool.alloc(kPacketHeadroom);
  ASSERT_TRUE(q.append(980));
  ASSERT_TRUE(h.stack->ipv4().output(params, std::move(q), h.now));
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.ip);
  EXPECT_TRUE(f.ip->dont_fragment);
  EXPECT_EQ(f.ip->total_len(), 1000u);
}

TEST(PathMtuTest, ClampedToTheMinimumAndExpires) {
  StackHarness h;
  Bytes quote = ipv4(ip_header(kOurIp, kPeerIp, IpProtocol::kUdp), pattern(8));
  h.inject_icmp(frag_needed(100, quote));
  EXPECT_EQ(h.stack->ipv4().route(kPeerIp, h.now)->mtu, 552);
  h.advance(Duration::seconds(601));
  EXPECT_EQ(h.stack->ipv4().route(kPeerIp, h.now)->mtu, 1500);
}

TEST(PathMtuTest, FragNeededNeverRaisesThePathMtu) {
  // RFC 1191 §3: a host must not raise its estimate in response to a frag-needed.
  StackHarness h;
  Bytes quote = ipv4(ip_header(kOurIp, kPeerIp, IpProtocol::kUdp), pattern(8));
  h.inject_icmp(frag_needed(1000, quote));
  h.inject_icmp(frag_needed(1400, quote));
  EXPECT_EQ(h.stack->ipv4().route(kPeerIp, h.now)->mtu, 1000);
  h.inject_icmp(frag_needed(800, quote));
  EXPECT_EQ(h.stack->ipv4().route(kPeerIp, h.now)->mtu, 800);
}

}  // namespace
}  // namespace joyride::core
