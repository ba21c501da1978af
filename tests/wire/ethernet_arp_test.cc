// Ethernet (with and without an 802.1Q tag) and ARP: round trips on real frames,
// truncation at every length, refusal of what the stack does not handle.
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "joyride/wire/arp.h"
#include "joyride/wire/ethernet.h"
#include "wire/hex.h"

namespace joyride::wire {
namespace {

using testing::from_hex;

// A broadcast ARP request for 10.0.0.2 from 10.0.0.1 (02:00:00:00:00:01), padded to 60.
const std::vector<uint8_t> kArpFrame = [] {
  auto f = from_hex(
      "ffffffffffff 020000000001 0806"
      "0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002");
  f.resize(60, 0);
  return f;
}();

TEST(EthernetTest, ParseUntagged) {
  const auto r = EthernetRepr::parse(kArpFrame);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->dst.is_broadcast());
  EXPECT_EQ(r->src.to_string(), "02:00:00:00:00:01");
  EXPECT_EQ(r->ethertype, EtherType::kArp);
  EXPECT_FALSE(r->vlan_tci);
  EXPECT_EQ(r->header_len(), kEthernetHeaderLen);
  std::vector<uint8_t> out(r->header_len());
  r->emit(out);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), kArpFrame.begin()));
}

TEST(EthernetTest, ParseVlanTagged) {
  const auto frame = from_hex("0200000000aa 0200000000bb 8100 a064 0800 4500");
  const auto r = EthernetRepr::parse(frame);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ethertype, EtherType::kIpv4);
  ASSERT_TRUE(r->vlan_tci);
  EXPECT_EQ(*r->vlan_tci, 0xa064);
  EXPECT_EQ(r->vlan_id(), 100);
  EXPECT_EQ(r->header_len(), 18u);
  std::vector<uint8_t> out(18);
  r->emit(out);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), frame.begin()));
}

TEST(EthernetTest, TruncatedAtEveryLength) {
  const auto tagged = from_hex("0200000000aa 0200000000bb 8100 a064 0800");
  for (size_t n = 0; n < tagged.size(); ++n) {
    // Exactly-sized copies so ASan catches any read past the end.
    const std::vector<uint8_t> cut(tagged.begin(), tagged.begin() + n);
    const auto r = EthernetRepr::parse(cut);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), WireError::kTruncated);
  }
  EXPECT_TRUE(EthernetRepr::parse(tagged));
}

TEST(EthernetTest, RefusesLlcLengthFrames) {
  const auto frame = from_hex("0180c2000000 020000000001 0026 4242");
  const auto r = EthernetRepr::parse(frame);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), WireError::kUnsupported);
}

TEST(ArpTest, ParseRequest) {
  const auto r = ArpRepr::parse(std::span(kArpFrame).subspan(kEthernetHeaderLen));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->op, ArpOp::kRequest);
  EXPECT_EQ(r->sender_mac.to_string(), "02:00:00:00:00:01");
  EXPECT_EQ(r->sender_ip, Ipv4Address::from_octets(10, 0, 0, 1));
  EXPECT_EQ(r->target_mac, MacAddress{});
  EXPECT_EQ(r->target_ip, Ipv4Address::from_octets(10, 0, 0, 2));
  std::vector<uint8_t> out(ArpRepr::kLen);
  r->emit(out);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), kArpFrame.begin() + kEthernetHeaderLen));
}

TEST(ArpTest, EmitReplyRoundTrip) {
  ArpRepr reply;
  reply.op = ArpOp::kReply;
  reply.sender_mac = *MacAddress::parse("02:00:00:00:00:02");
  reply.sender_ip = Ipv4Address::from_octets(10, 0, 0, 2);
  reply.target_mac = *MacAddress::parse("02:00:00:00:00:01");
  reply.target_ip = Ipv4Address::from_octets(10, 0, 0, 1);
  std::vector<uint8_t> out(reply.buffer_len());
  reply.emit(out);
  EXPECT_EQ(out, from_hex("0001 0800 06 04 0002 020000000002 0a000002 020000000001 0a000001"));
  const auto back = ArpRepr::parse(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, reply);
}

TEST(ArpTest, TruncatedAtEveryLength) {
  const auto body = std::vector<uint8_t>(kArpFrame.begin() + kEthernetHeaderLen,
                                         kArpFrame.begin() + kEthernetHeaderLen + ArpRepr::kLen);
  for (size_t n = 0; n < body.size(); ++n) {
    const std::vector<uint8_t> cut(body.begin(), body.begin() + n);
    const auto r = ArpRepr::parse(cut);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), WireError::kTruncated);
  }
}

TEST(ArpTest, RefusesOtherHardwareProtocolsAndOps) {
  const auto good = from_hex("0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002");
  struct Case {
    size_t offset;
    uint8_t value;
  };
  // htype 6 (IEEE 802), ptype 0x86dd, hlen 8, plen 16, op 3 (RARP), op 0.
  for (const Case c : {Case{1, 6}, Case{2, 0x86}, Case{4, 8}, Case{5, 16}, Case{7, 3}, Case{7, 0}}) {
    auto bad = good;
    bad[c.offset] = c.value;
    const auto r = ArpRepr::parse(bad);
    ASSERT_FALSE(r) << c.offset;
    EXPECT_EQ(r.error(), WireError::kUnsupported);
  }
}

}  // namespace
}  // namespace joyride::wire
