// ICMPv4: echo, destination unreachable (with RFC 1191 MTU), time exceeded.
#include "joyride/wire/icmpv4.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"
#include "wire/hex.h"

namespace joyride::wire {
namespace {

using testing::from_hex;

// Echo request, ident 0x1234, seq 1, data "abcdefgh"; checksum computed independently.
const std::vector<uint8_t> kEcho = from_hex("0800 5435 1234 0001 6162636465666768");

TEST(Icmpv4Test, ParseEchoRequest) {
  const auto r = Icmpv4Repr::parse(kEcho);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->type, Icmpv4Type::kEchoRequest);
  EXPECT_EQ(r->code, 0);
  EXPECT_EQ(r->ident, 0x1234);
  EXPECT_EQ(r->seq_no, 1);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(r->data.data()), r->data.size()), "abcdefgh");
  // The data points into the parsed buffer.
  EXPECT_EQ(r->data.data(), kEcho.data() + 8);
  EXPECT_FALSE(r->is_error());
  std::vector<uint8_t> out(r->buffer_len());
  r->emit(out);
  EXPECT_EQ(out, kEcho);
}

TEST(Icmpv4Test, EchoReplyBuiltInPlace) {
  auto buf = kEcho;
  auto r = Icmpv4Repr::parse(buf);
  ASSERT_TRUE(r);
  Icmpv4Repr reply = *r;
  reply.type = Icmpv4Type::kEchoReply;
  reply.emit(buf);  // data already at buf[8..]
  EXPECT_EQ(buf[0], 0);
  EXPECT_TRUE(checksum_verify(buf));
  const auto back = Icmpv4Repr::parse(buf);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->type, Icmpv4Type::kEchoReply);
  EXPECT_EQ(back->ident, 0x1234);
}

TEST(Icmpv4Test, ErrorMessagesRoundTrip) {
  // A quoted IPv4 header + 8 bytes, as carried by errors.
  const auto quoted = from_hex("4500003c1c4640004006 9cbc c0a80068 c0a80001 a2b400508c1b3f0e");
  const Icmpv4Repr cases[] = {
      {.type = Icmpv4Type::kDestUnreachable, .code = Icmpv4Unreachable::kPortUnreachable, .data = quoted},
      {.type = Icmpv4Type::kDestUnreachable, .code = Icmpv4Unreachable::kFragmentationNeeded,
       .next_hop_mtu = 1400, .data = quoted},
      {.type = Icmpv4Type::kTimeExceeded, .code = Icmpv4TimeExceeded::kTtlExceeded, .data = quoted},
      {.type = Icmpv4Type::kEchoRequest, .ident = 1, .seq_no = 0xffff},
  };
  for (const auto& c : cases) {
    std::vector<uint8_t> buf(c.buffer_len());
    c.emit(buf);
    const auto back = Icmpv4Repr::parse(buf);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
  }
}

TEST(Icmpv4Test, FragNeededMtuAtBytes6And7) {
  const Icmpv4Repr r{.type = Icmpv4Type::kDestUnreachable, .code = 4, .next_hop_mtu = 0x05dc};
  std::vector<uint8_t> buf(8);
  r.emit(buf);
  EXPECT_EQ(buf[4], 0);
  EXPECT_EQ(buf[5], 0);
  EXPECT_EQ(base::load_be<uint16_t>(buf.data(), 6), 1500);
}

TEST(Icmpv4Test, TruncatedAtEveryLength) {
  for (size_t n = 0; n < 8; ++n) {
    const std::vector<uint8_t> cut(kEcho.begin(), kEcho.begin() + n);
    const auto r = Icmpv4Repr::parse(cut);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), WireError::kTruncated);
  }
  // Cutting the data breaks the checksum, never the bounds.
  for (size_t n = 8; n < kEcho.size(); ++n) {
    const std::vector<uint8_t> cut(kEcho.begin(), kEcho.begin() + n);
    const auto r = Icmpv4Repr::parse(cut);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), WireError::kBadChecksum);
    EXPECT_TRUE(Icmpv4Repr::parse(cut, /*verify_checksum=*/false));
  }
}

TEST(Icmpv4Test, BadChecksumAndUnsupportedTypes) {
  auto bad = kEcho;
  bad[10] ^= 0x40;
  EXPECT_EQ(Icmpv4Repr::parse(bad).error(), WireError::kBadChecksum);
  for (uint8_t type : {5, 12, 13, 14, 42, 255}) {
    auto msg = from_hex("0000 0000 00000000");
    msg[0] = type;
    base::store_be<uint16_t>(msg.data(), 2, internet_checksum(msg));
    const auto r = Icmpv4Repr::parse(msg);
    ASSERT_FALSE(r) << int{type};
    EXPECT_EQ(r.error(), WireError::kUnsupported);
  }
}

}  // namespace
}  // namespace joyride::wire
