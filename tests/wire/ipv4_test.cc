// IPv4 header: parse/emit of real headers, every validation rule, truncation.
#include "joyride/wire/ipv4.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"
#include "wire/hex.h"

namespace joyride::wire {
namespace {

using testing::from_hex;

// The header of a Linux SYN, 192.168.0.104 -> 192.168.0.1, DF, TTL 64, 60 bytes total,
// followed by 40 bytes of payload (contents irrelevant here).
std::vector<uint8_t> syn_packet() {
  auto p = from_hex("4500003c1c4640004006 9cbc c0a80068 c0a80001");
  p.resize(60, 0xaa);
  return p;
}

// Recomputes the header checksum after a test has edited header bytes.
void fix_checksum(std::vector<uint8_t>& p, size_t header_len = 20) {
  base::store_be<uint16_t>(p.data(), 10, 0);
  base::store_be<uint16_t>(p.data(), 10, internet_checksum(std::span(p).first(header_len)));
}

TEST(Ipv4Test, ParseRealHeader) {
  const auto p = syn_packet();
  const auto r = Ipv4Repr::parse(p);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->src, Ipv4Address::from_octets(192, 168, 0, 104));
  EXPECT_EQ(r->dst, Ipv4Address::from_octets(192, 168, 0, 1));
  EXPECT_EQ(r->protocol, IpProtocol::kTcp);
  EXPECT_EQ(r->ttl, 64);
  EXPECT_EQ(r->ident, 0x1c46);
  EXPECT_TRUE(r->dont_fragment);
  EXPECT_FALSE(r->more_fragments);
  EXPECT_FALSE(r->is_fragment());
  EXPECT_EQ(r->header_len, 20);
  EXPECT_EQ(r->payload_len, 40);
  EXPECT_EQ(r->total_len(), 60u);
}

TEST(Ipv4Test, EmitReproducesRealHeader) {
  const auto p = syn_packet();
  const auto r = Ipv4Repr::parse(p);
  ASSERT_TRUE(r);
  std::vector<uint8_t> out(20);
  r->emit(out);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), p.begin()));
}

TEST(Ipv4Test, EmitParseRoundTripTable) {
  const Ipv4Repr cases[] = {
      {.src = Ipv4Address::from_octets(10, 0, 0, 1), .dst = Ipv4Address::from_octets(10, 0, 0, 2),
       .protocol = IpProtocol::kUdp, .payload_len = 0},
      {.src = Ipv4Address::from_octets(1, 2, 3, 4), .dst = Ipv4Address::broadcast(), .protocol = 250,
       .ttl = 1, .dscp_ecn = 0xb8, .ident = 0xffff, .more_fragments = true, .frag_offset = 1480,
       .payload_len = 1480},
      {.src = Ipv4Address(), .dst = Ipv4Address::from_octets(224, 0, 0, 251), .protocol = 2, .ttl = 255,
       .dscp_ecn = 3, .ident = 7, .frag_offset = 0xfff8, .payload_len = 0xffff - 20},
  };
  for (const auto& c : cases) {
    std::vector<uint8_t> buf(c.total_len());
    c.emit(buf);
    const auto back = Ipv4Repr::parse(buf);
    ASSERT_TRUE(back) << to_string(back.error());
    EXPECT_EQ(*back, c);
    EXPECT_EQ(back->is_fragment(), c.more_fragments || c.frag_offset != 0);
  }
}

TEST(Ipv4Test, TrailingPaddingIgnored) {
  auto p = from_hex("45000014000000004001 0000 0a000001 0a000002");
  fix_checksum(p);
  p.resize(46, 0);  // Ethernet minimum payload
  const auto r = Ipv4Repr::parse(p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->payload_len, 0);
}

TEST(Ipv4Test, OptionsSkipped) {
  // IHL 6 with a 4-byte Router Alert option (RFC 2113).
  auto p = from_hex("46000018000000000102 0000 0a000001 e0000016 94040000");
  fix_checksum(p, 24);
  const auto r = Ipv4Repr::parse(p);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->header_len, 24);
  EXPECT_EQ(r->payload_len, 0);
}

TEST(Ipv4Test, TruncatedAtEveryLength) {
  const auto p = syn_packet();
  for (size_t n = 0; n < p.size(); ++n) {
    const std::vector<uint8_t> cut(p.begin(), p.begin() + n);
    const auto r = Ipv4Repr::parse(cut);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), WireError::kTruncated) << n;
  }
}

TEST(Ipv4Test, ValidationErrors) {
  struct Case {
    const char* name;
    size_t offset;
    uint8_t value;
    WireError expected;
  };
  const Case cases[] = {
      {"version 6", 0, 0x65, WireError::kBadVersion},
      {"version 0", 0, 0x05, WireError::kBadVersion},
      {"ihl 4", 0, 0x44, WireError::kBadHeaderLength},
      {"ihl 0", 0, 0x40, WireError::kBadHeaderLength},
      {"total < header", 3, 19, WireError::kBadLength},
      {"total > buffer", 3, 61, WireError::kTruncated},
      {"reserved flag", 6, 0xc0, WireError::kMalformed},
  };
  for (const auto& c : cases) {
    auto p = syn_packet();
    p[c.offset] = c.value;
    fix_checksum(p);
    const auto r = Ipv4Repr::parse(p);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error(), c.expected) << c.name;
  }
}

TEST(Ipv4Test, HeaderLengthPastBuffer) {
  // IHL 15 (60 bytes) in a 56-byte buffer whose total length field says 56.
  auto p = syn_packet();
  p.resize(56);
  p[0] = 0x4f;
  p[3] = 56;
  const auto r = Ipv4Repr::parse(p, /*verify_checksum=*/false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), WireError::kTruncated);
}

TEST(Ipv4Test, BadChecksum) {
  auto p = syn_packet();
  p[11] ^= 1;
  const auto r = Ipv4Repr::parse(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), WireError::kBadChecksum);
  EXPECT_TRUE(Ipv4Repr::parse(p, /*verify_checksum=*/false));
  // The checksum covers the whole header, options included.
  auto q = from_hex("46000018000000000102 0000 0a000001 e0000016 94040000");
  fix_checksum(q, 24);
  q[23] = 1;
  EXPECT_EQ(Ipv4Repr::parse(q).error(), WireError::kBadChecksum);
}

// A chained datagram: the head segment holds the header and part of the payload;
// lengths are checked against the whole datagram.
TEST(Ipv4Test, ParseHeaderOfChainedDatagram) {
  const auto p = syn_packet();
  const auto head = std::span<const uint8_t>(p).first(24);
  auto whole = Ipv4Repr::parse(p);
  ASSERT_TRUE(whole.ok());
  auto r = Ipv4Repr::parse_header(head, p.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, *whole);
  // The datagram is shorter than its total length says.
  auto short_packet = Ipv4Repr::parse_header(head, p.size() - 1);
  ASSERT_FALSE(short_packet.ok());
  EXPECT_EQ(short_packet.error(), WireError::kTruncated);
  // The header itself is not all in the head segment.
  auto split_header = Ipv4Repr::parse_header(std::span<const uint8_t>(p).first(19), p.size());
  ASSERT_FALSE(split_header.ok());
  EXPECT_EQ(split_header.error(), WireError::kTruncated);
}

}  // namespace
}  // namespace joyride::wire
