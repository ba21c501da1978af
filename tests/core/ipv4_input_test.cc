// IPv4 and Ethernet input validation: every malformed frame is dropped with its
// named counter and nothing is transmitted, both on a fresh stack and after a valid
// frame of the same flow (which arms the receive fast paths: EthernetLink::receive's
// inline check and Ipv4Layer::input's remembered flow).
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "joyride/base/bytes.h"
#include "stack_harness.h"

namespace joyride::core {
namespace {

using namespace joyride::core::testing;  // NOLINT
using wire::Icmpv4Type;
using wire::IpProtocol;
using wire::Ipv4Address;

// A valid echo request datagram (IPv4 header onwards) from the peer to us: answered
// when left alone, so a drop is visible as silence.
Bytes echo_datagram(const wire::Ipv4Repr& h, size_t data_len = 8) {
  return ipv4(h, icmp_echo(Icmpv4Type::kEchoRequest, 0x77, 1, pattern(data_len)));
}
Bytes echo_datagram(size_t data_len = 8) {
  return echo_datagram(ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp), data_len);
}

void fix_ip_checksum(Bytes& d) {
  const size_t ihl = static_cast<size_t>(d[0] & 0x0f) * 4;
  base::store_be<uint16_t>(d.data(), 10, 0);
  const size_t n = std::min(std::max<size_t>(ihl, 20), d.size());
  base::store_be<uint16_t>(d.data(), 10, wire::internet_checksum(std::span<const uint8_t>(d.data(), n)));
}

TEST(Ipv4InputTest, ValidEchoIsAnswered) {
  // The baseline every drop case below departs from.
  StackHarness h;
  h.inject_datagram(echo_datagram());
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.icmp->type, Icmpv4Type::kEchoReply);
  EXPECT_EQ(h.counter("ipv4.rx_delivered"), 1u);
}

struct MalformedCase {
  std::string name;
  std::function<void(Bytes&)> mutate;  // of the datagram, IPv4 header onwards
  std::string counter;
};

class MalformedIpv4Test : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedIpv4Test, DroppedWithItsCounterAndNothingSent) {
  StackHarness h;
  Bytes d = echo_datagram();
  GetParam().mutate(d);
  const auto before = h.counters();
  h.inject_datagram(d);
  h.expect_no_tx();
  const auto drops = StackHarness::drops(StackHarness::delta(before, h.counters()));
  EXPECT_EQ(drops, (StackHarness::Counters{{GetParam().counter, 1}}));
  EXPECT_EQ(h.counter("ipv4.rx_delivered"), 0u);
}

TEST_P(MalformedIpv4Test, DroppedAfterAValidDatagramOfTheSameFlow) {
  StackHarness h;
  h.inject_datagram(echo_datagram());
  ASSERT_TRUE(h.expect_tx().icmp);
  Bytes d = echo_datagram();
  GetParam().mutate(d);
  const auto before = h.counters();
  h.inject_datagram(d);
  h.expect_no_tx();
  const auto drops = StackHarness::drops(StackHarness::delta(before, h.counters()));
  EXPECT_EQ(drops, (StackHarness::Counters{{GetParam().counter, 1}}));
  EXPECT_EQ(h.counter("ipv4.rx_delivered"), 1u);
  // And the flow still works.
  h.inject_datagram(echo_datagram());
  EXPECT_TRUE(h.expect_tx().icmp);
}

void set_src(Bytes& d, Ipv4Address a) {
  a.write(d.data() + 12);
  fix_ip_checksum(d);
}
void set_dst(Bytes& d, Ipv4Address a) {
  a.write(d.data() + 16);
  fix_ip_checksum(d);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedIpv4Test,
    ::testing::Values(
        MalformedCase{"BadVersion", [](Bytes& d) { d[0] = 0x65; fix_ip_checksum(d); }, "ipv4.drop_malformed"},
        MalformedCase{"Version6", [](Bytes& d) { d[0] = 0x60; }, "ipv4.drop_malformed"},
        MalformedCase{"IhlBelow5", [](Bytes& d) { d[0] = 0x44; fix_ip_checksum(d); }, "ipv4.drop_malformed"},
        MalformedCase{"IhlZero", [](Bytes& d) { d[0] = 0x40; }, "ipv4.drop_malformed"},
        MalformedCase{"IhlBeyondFrame", [](Bytes& d) { d[0] = 0x4f; d.resize(40); }, "ipv4.drop_malformed"},
        MalformedCase{"TotalLengthBeyondFrame",
                      [](Bytes& d) {
                        base::store_be<uint16_t>(d.data(), 2, static_cast<uint16_t>(d.size() + 1));
                        fix_ip_checksum(d);
                      },
                      "ipv4.drop_malformed"},
        MalformedCase{"TotalLengthBelowIhl",
                      [](Bytes& d) {
                        base::store_be<uint16_t>(d.data(), 2, 19);
                        fix_ip_checksum(d);
                      },
                      "ipv4.drop_malformed"},
        MalformedCase{"BadChecksum", [](Bytes& d) { d[10] ^= 0x01; }, "ipv4.drop_bad_checksum"},
        MalformedCase{"BadChecksumInAddress", [](Bytes& d) { d[15] ^= 0x40; }, "ipv4.drop_bad_checksum"},
        MalformedCase{"ReservedFlag", [](Bytes& d) { d[6] |= 0x80; fix_ip_checksum(d); }, "ipv4.drop_malformed"},
        MalformedCase{"TtlZero", [](Bytes& d) { d[8] = 0; fix_ip_checksum(d); }, "ipv4.drop_ttl_zero"},
        MalformedCase{"SourceLimitedBroadcast", [](Bytes& d) { set_src(d, Ipv4Address::broadcast()); },
                      "ipv4.drop_martian_source"},
        MalformedCase{"SourceDirectedBroadcast", [](Bytes& d) { set_src(d, kSubnetBroadcast); },
                      "ipv4.drop_martian_source"},
        MalformedCase{"SourceMulticast",
                      [](Bytes& d) { set_src(d, Ipv4Address::from_octets(224, 0, 0, 1)); },
                      "ipv4.drop_martian_source"},
        MalformedCase{"SourceUnspecifiedToUnicast", [](Bytes& d) { set_src(d, Ipv4Address::any()); },
                      "ipv4.drop_martian_source"},
        MalformedCase{"SourceOurOwn", [](Bytes& d) { set_src(d, kOurIp); }, "ipv4.drop_martian_source"},
        MalformedCase{"SourceLoopback",
                      [](Bytes& d) { set_src(d, Ipv4Address::from_octets(127, 0, 0, 1)); },
                      "ipv4.drop_martian_source"},
        MalformedCase{"DestinationOtherHostOnLink",
                      [](Bytes& d) { set_dst(d, Ipv4Address::from_octets(198, 18, 0, 3)); },
                      "ipv4.drop_not_for_us"},
        MalformedCase{"DestinationOffLink", [](Bytes& d) { set_dst(d, kRemoteIp); }, "ipv4.drop_not_for_us"},
        MalformedCase{"DestinationMulticast",
                      [](Bytes& d) { set_dst(d, Ipv4Address::from_octets(224, 0, 0, 251)); },
                      "ipv4.drop_not_for_us"},
        MalformedCase{"DestinationUnspecified", [](Bytes& d) { set_dst(d, Ipv4Address::any()); },
                      "ipv4.drop_not_for_us"}),
    [](const auto& i) { return i.param.name; });

TEST(Ipv4InputTest, TruncatedAtEveryLengthIsDropped) {
  StackHarness h;
  const Bytes frame = ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv4, echo_datagram(16));
  for (size_t len = 0; len < frame.size(); ++len) {
    const auto before = h.counters();
    h.inject(std::span<const uint8_t>(frame.data(), len));
    h.expect_no_tx();
    const auto drops = StackHarness::drops(StackHarness::delta(before, h.counters()));
    const std::string want = len < wire::kEthernetHeaderLen ? "link.drop_truncated" : "ipv4.drop_malformed";
    EXPECT_EQ(drops, (StackHarness::Counters{{want, 1}})) << "length " << len;
  }
  // The whole frame is fine.
  h.inject(frame);
  EXPECT_TRUE(h.expect_tx().icmp);
}

TEST(Ipv4InputTest, UnspecifiedSourceToLimitedBroadcastIsAccepted) {
  // A DHCP client before it has an address.
  StackHarness h;
  auto s = *h.stack->udp().open();
  ASSERT_TRUE(h.stack->udp().bind(s, Endpoint{Ipv4Address::any(), 67}));
  h.inject_udp(68, 67, pattern(10), Ipv4Address::any(), Ipv4Address::broadcast());
  uint8_t buf[16];
  auto r = h.stack->udp().recv_from(s, buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->from, (Endpoint{Ipv4Address::any(), 68}));
  h.expect_no_tx();
}

TEST(Ipv4InputTest, UnknownProtocolGetsProtocolUnreachableQuotingTheHeader) {
  StackHarness h;
  wire::Ipv4Repr hdr = ip_header(kPeerIp, kOurIp, 253, 0xbeef);
  hdr.dscp_ecn = 0x10;
  const Bytes payload = pattern(40, 9);
  const Bytes d = ipv4(hdr, payload);
  h.inject_datagram(d);
  EXPECT_EQ(h.counter("ipv4.drop_unknown_protocol"), 1u);
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.eth.dst, kPeerMac);
  EXPECT_EQ(f.eth.src, kOurMac);
  EXPECT_EQ(f.ip->src, kOurIp);
  EXPECT_EQ(f.ip->dst, kPeerIp);
  EXPECT_EQ(f.ip->protocol, IpProtocol::kIcmp);
  EXPECT_EQ(f.icmp->type, Icmpv4Type::kDestUnreachable);
  EXPECT_EQ(f.icmp->code, wire::Icmpv4Unreachable::kProtocolUnreachable);
  // The quote: the original header as sent, then the leading payload bytes.
  ASSERT_GE(f.payload.size(), 28u);
  EXPECT_EQ(Bytes(f.payload.begin(), f.payload.begin() + 20), Bytes(d.begin(), d.begin() + 20));
  EXPECT_EQ(Bytes(f.payload.begin() + 20, f.payload.end()), payload);
  h.expect_no_tx();
}

TEST(Ipv4InputTest, UnknownProtocolToBroadcastIsNotAnswered) {
  StackHarness h;
  h.inject_ipv4(ip_header(kPeerIp, kSubnetBroadcast, 253), pattern(12), wire::MacAddress::broadcast());
  h.inject_ipv4(ip_header(kPeerIp, Ipv4Address::broadcast(), 253), pattern(12), wire::MacAddress::broadcast());
  EXPECT_EQ(h.counter("ipv4.drop_unknown_protocol"), 2u);
  h.expect_no_tx();
}

TEST(Ipv4InputTest, EthernetPaddingBeyondTotalLengthIsIgnored) {
  StackHarness h;
  const Bytes d = echo_datagram(4);  // 32 bytes: the frame is padded to 60
  Bytes frame = ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv4, d);
  frame.resize(wire::kEthernetMinFrameLen, 0xa5);
  h.inject(frame);
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.ip->payload_len, 12u);
  EXPECT_EQ(f.payload, pattern(4));  // no padding echoed back
}

TEST(Ipv4InputTest, PaddedUdpDatagramIsDeliveredWithoutPadding) {
  StackHarness h;
  auto s = *h.stack->udp().open();
  ASSERT_TRUE(h.stack->udp().bind(s, Endpoint{kOurIp, 5000}));
  const Bytes d = ipv4(ip_header(kPeerIp, kOurIp, IpProtocol::kUdp), udp_datagram(7, 5000, pattern(3), kPeerIp, kOurIp));
  Bytes frame = ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv4, d);
  frame.resize(wire::kEthernetMinFrameLen, 0xff);
  h.inject(frame);
  uint8_t buf[64];
  auto r = h.stack->udp().recv_from(s, buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->datagram, 3u);
  EXPECT_EQ(Bytes(buf, buf + 3), pattern(3));
}

TEST(Ipv4InputTest, HeaderOptionsAreSkipped) {
  StackHarness h;
  // IHL 6: one 4-byte option word (NOP NOP NOP EOL).
  const Bytes icmp = icmp_echo(Icmpv4Type::kEchoRequest, 5, 6, pattern(10));
  Bytes d(24 + icmp.size());
  wire::Ipv4Repr hdr = ip_header(kPeerIp, kOurIp, IpProtocol::kIcmp);
  hdr.payload_len = static_cast<uint16_t>(icmp.size() + 4);
  hdr.emit(d);
  d[0] = 0x46;
  d[20] = d[21] = d[22] = 1;
  d[23] = 0;
  std::copy(icmp.begin(), icmp.end(), d.begin() + 24);
  fix_ip_checksum(d);
  h.inject_datagram(d);
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.icmp->type, Icmpv4Type::kEchoReply);
  EXPECT_EQ(f.icmp->seq_no, 6);
  EXPECT_EQ(f.payload, pattern(10));
}

TEST(Ipv4InputTest, AKnownFlowStillGetsPaddingFragmentsAndChecksumsRight) {
  StackHarness h;
  h.inject_datagram(echo_datagram());
  ASSERT_TRUE(h.expect_tx().icmp);
  // Padding beyond the total length is not echoed.
  Bytes frame = ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv4, echo_datagram(4));
  frame.resize(wire::kEthernetMinFrameLen, 0xa5);
  h.inject(frame);
  TxFrame f = h.expect_tx();
  ASSERT_TRUE(f.icmp);
  EXPECT_EQ(f.payload, pattern(4));
  // A first fragment waits for the rest instead of being delivered.
  Bytes frag = echo_datagram(16);
  frag[6] |= 0x20;  // more fragments
  fix_ip_checksum(frag);
  const uint64_t delivered = h.counter("ipv4.rx_delivered");
  h.inject_datagram(frag);
  h.expect_no_tx();
  EXPECT_EQ(h.counter("ipv4.rx_delivered"), delivered);
  // DF is allowed; a wrong checksum is not.
  Bytes df = echo_datagram();
  df[6] |= 0x40;
  fix_ip_checksum(df);
  h.inject_datagram(df);
  EXPECT_TRUE(h.expect_tx().icmp);
  Bytes bad = echo_datagram();
  bad[10] ^= 0x01;
  h.inject_datagram(bad);
  h.expect_no_tx();
  EXPECT_EQ(h.counter("ipv4.drop_bad_checksum"), 1u);
}

// ---- link layer ------------------------------------------------------------------

struct LinkCase {
  std::string name;
  std::function<Bytes()> frame;
  uint32_t ifindex;
  std::string counter;
};

class LinkDropTest : public ::testing::TestWithParam<LinkCase> {};

TEST_P(LinkDropTest, DroppedWithItsCounterAndNothingSent) {
  StackHarness h;
  const auto before = h.counters();
  h.inject(GetParam().frame(), GetParam().ifindex);
  h.expect_no_tx();
  const auto d = StackHarness::delta(before, h.counters());
  EXPECT_EQ(StackHarness::drops(d), (StackHarness::Counters{{GetParam().counter, 1}}));
  EXPECT_EQ(d.count("ipv4.rx_packets"), 0u);
  EXPECT_EQ(d.count("arp.rx_requests"), 0u);
}

TEST_P(LinkDropTest, DroppedAfterAValidFrame) {
  StackHarness h;
  h.inject_datagram(echo_datagram());
  ASSERT_TRUE(h.expect_tx().icmp);
  const auto before = h.counters();
  h.inject(GetParam().frame(), GetParam().ifindex);
  h.expect_no_tx();
  const auto d = StackHarness::delta(before, h.counters());
  EXPECT_EQ(StackHarness::drops(d), (StackHarness::Counters{{GetParam().counter, 1}}));
  EXPECT_EQ(d.count("ipv4.rx_packets"), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LinkDropTest,
    ::testing::Values(
        LinkCase{"OtherUnicastMac",
                 [] { return ethernet(kOtherMac, kPeerMac, wire::EtherType::kIpv4, echo_datagram()); }, 0,
                 "link.drop_not_for_us"},
        LinkCase{"VlanTagged",
                 [] { return ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv4, echo_datagram(), uint16_t{5}); }, 0,
                 "link.drop_vlan_tagged"},
        LinkCase{"VlanTaggedArp",
                 [] {
                   Bytes arp(wire::ArpRepr::kLen);
                   wire::ArpRepr{wire::ArpOp::kRequest, kOtherMac, kRemoteIp, {}, kOurIp}.emit(arp);
                   return ethernet(wire::MacAddress::broadcast(), kOtherMac, wire::EtherType::kArp, arp, uint16_t{5});
                 },
                 0, "link.drop_vlan_tagged"},
        LinkCase{"Ipv6Ethertype",
                 [] { return ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv6, echo_datagram()); }, 0,
                 "link.drop_unknown_ethertype"},
        LinkCase{"LldpEthertype",
                 [] { return ethernet(kOurMac, kPeerMac, 0x88cc, Bytes(46, 0)); }, 0,
                 "link.drop_unknown_ethertype"},
        LinkCase{"Ieee8023LengthField",
                 [] { return ethernet(kOurMac, kPeerMac, 0x002e, Bytes(46, 0)); }, 0,
                 "link.drop_unknown_ethertype"},
        LinkCase{"UnknownInterface",
                 [] { return ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv4, echo_datagram()); }, 3,
                 "link.drop_unknown_interface"}),
    [](const auto& i) { return i.param.name; });

TEST(LinkTest, BroadcastAndMulticastMacsAreAccepted) {
  StackHarness h;
  h.inject_datagram(echo_datagram(), wire::MacAddress::broadcast());
  EXPECT_TRUE(h.expect_tx().icmp);
  h.inject_datagram(echo_datagram(), wire::MacAddress{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}});
  EXPECT_TRUE(h.expect_tx().icmp);
  EXPECT_EQ(h.counter("link.rx_frames"), 2u + 2u);  // and 2 ARP frames from the harness setup
}

}  // namespace
}  // namespace joyride::core
