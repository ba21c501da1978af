// UDP: checksums over IPv4 and IPv6 pseudo headers, length rules, zero checksum.
#include "joyride/wire/udp.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"
#include "wire/hex.h"

namespace joyride::wire {
namespace {

using testing::from_hex;

const IpAddress kSrc4 = Ipv4Address::from_octets(10, 0, 0, 1);
const IpAddress kDst4 = Ipv4Address::from_octets(10, 0, 0, 2);
const IpAddress kSrc6 = *Ipv6Address::parse("fe80::1");
const IpAddress kDst6 = *Ipv6Address::parse("fe80::2");
// 10.0.0.1:5353 -> 10.0.0.2:53, "hello"; checksums computed independently.
const std::vector<uint8_t> kDatagram4 = from_hex("14e9 0035 000d 92e1 68656c6c6f");
const std::vector<uint8_t> kDatagram6 = from_hex("14e9 0035 000d a9df 68656c6c6f");

TEST(UdpTest, ParseV4AndV6) {
  for (const auto& [bytes, src, dst] : {std::tuple{kDatagram4, kSrc4, kDst4}, std::tuple{kDatagram6, kSrc6, kDst6}}) {
    const auto r = UdpRepr::parse(bytes, src, dst);
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(r->src_port, 5353);
    EXPECT_EQ(r->dst_port, 53);
    EXPECT_EQ(r->payload_len, 5);
    // The other family's pseudo header does not verify.
    EXPECT_EQ(UdpRepr::parse(bytes, src.is_v4() ? kSrc6 : kSrc4, src.is_v4() ? kDst6 : kDst4).error(),
              WireError::kBadChecksum);
  }
}

TEST(UdpTest, EmitMatchesReferenceBytes) {
  const UdpRepr r{.src_port = 5353, .dst_port = 53, .payload_len = 5};
  const auto payload = std::span(kDatagram4).subspan(8);
  std::vector<uint8_t> out(8);
  r.emit_header(out, kSrc4, kDst4, payload);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), kDatagram4.begin()));
  r.emit_header(out, kSrc6, kDst6, payload);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), kDatagram6.begin()));
}

TEST(UdpTest, EmitWithScatteredPayloadSum) {
  // Payload in two pieces, the first of odd length.
  const auto payload = from_hex("0102030405060708090a0b");
  const UdpRepr r{.src_port = 1, .dst_port = 2, .payload_len = static_cast<uint16_t>(payload.size())};
  uint32_t sum = checksum_accumulate(std::span(payload).first(3));
  sum = checksum_accumulate_at(std::span(payload).subspan(3), 3, sum);
  std::vector<uint8_t> dgram(8 + payload.size());
  r.emit_header_with_payload_sum(dgram, kSrc4, kDst4, sum);
  std::copy(payload.begin(), payload.end(), dgram.begin() + 8);
  const auto back = UdpRepr::parse(dgram, kSrc4, kDst4);
  ASSERT_TRUE(back) << to_string(back.error());
  EXPECT_EQ(*back, r);
}

TEST(UdpTest, ComputedZeroIsSentAsAllOnes) {
  // Pick the source port so that the sum comes out as exactly 0xffff (checksum 0):
  // solve with an initial port of 0 and put the missing amount in the port.
  UdpRepr r{.src_port = 0, .dst_port = 0, .payload_len = 0};
  std::vector<uint8_t> out(8);
  r.emit_header(out, kSrc4, kDst4, {});
  const uint16_t c = base::load_be<uint16_t>(out.data(), 6);
  r.src_port = c;  // adds c to the sum: ~c + c = 0xffff, whose complement is 0
  r.emit_header(out, kSrc4, kDst4, {});
  EXPECT_EQ(base::load_be<uint16_t>(out.data(), 6), 0xffff);
  EXPECT_TRUE(UdpRepr::parse(out, kSrc4, kDst4));
}

TEST(UdpTest, ZeroChecksumMeansNoneOnlyOverIpv4) {
  auto d = kDatagram4;
  d[6] = d[7] = 0;
  EXPECT_TRUE(UdpRepr::parse(d, kSrc4, kDst4));
  EXPECT_EQ(UdpRepr::parse(d, kSrc6, kDst6).error(), WireError::kBadChecksum);
}

TEST(UdpTest, LengthRules) {
  auto d = kDatagram4;
  d.push_back(0);  // trailing bytes past the length field are ignored
  EXPECT_EQ(UdpRepr::parse(d, kSrc4, kDst4)->payload_len, 5);
  for (uint16_t bad : {0, 1, 7}) {
    auto e = kDatagram4;
    base::store_be<uint16_t>(e.data(), 4, bad);
    EXPECT_EQ(UdpRepr::parse(e, kSrc4, kDst4, false).error(), WireError::kBadLength) << bad;
  }
  auto f = kDatagram4;
  base::store_be<uint16_t>(f.data(), 4, 14);
  EXPECT_EQ(UdpRepr::parse(f, kSrc4, kDst4, false).error(), WireError::kTruncated);
}

TEST(UdpTest, TruncatedAtEveryLength) {
  for (size_t n = 0; n < kDatagram4.size(); ++n) {
    const std::vector<uint8_t> cut(kDatagram4.begin(), kDatagram4.begin() + n);
    const auto r = UdpRepr::parse(cut, kSrc4, kDst4);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), WireError::kTruncated);
  }
}

TEST(UdpTest, BadChecksum) {
  auto d = kDatagram4;
  d.back() ^= 1;
  EXPECT_EQ(UdpRepr::parse(d, kSrc4, kDst4).error(), WireError::kBadChecksum);
  EXPECT_TRUE(UdpRepr::parse(d, kSrc4, kDst4, /*verify_checksum=*/false));
}

}  // namespace
}  // namespace joyride::wire
