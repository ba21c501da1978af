// TCP header and options: a real Linux SYN, Linux's option layouts, every option
// framing error, data offset rules, truncation, checksums over both IP families.
#include "joyride/wire/tcp.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"
#include "wire/hex.h"

namespace joyride::wire {
namespace {

using testing::from_hex;

const IpAddress kSrc = Ipv4Address::from_octets(192, 168, 0, 104);
const IpAddress kDst = Ipv4Address::from_octets(192, 168, 0, 1);

// A Linux SYN: 41652 -> 80, seq 0x8c1b3f0e, win 64240, MSS 1460, SACK_PERM,
// TS val 0x1e2d9c ecr 0, NOP, WS 7; checksum computed independently.
const std::vector<uint8_t> kLinuxSyn = from_hex(
    "a2b4 0050 8c1b3f0e 00000000 a002 faf0 2f6d 0000"
    "020405b4 0402080a 001e2d9c 00000000 01030307");

TEST(TcpTest, ParseLinuxSyn) {
  const auto r = TcpRepr::parse(kLinuxSyn, kSrc, kDst);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->src_port, 41652);
  EXPECT_EQ(r->dst_port, 80);
  EXPECT_EQ(r->seq, base::SeqNum(0x8c1b3f0e));
  EXPECT_EQ(r->ack, base::SeqNum(0));
  EXPECT_EQ(r->flags, TcpFlags::kSyn);
  EXPECT_TRUE(r->syn());
  EXPECT_FALSE(r->ack_set());
  EXPECT_EQ(r->seq_len(), 1u);
  EXPECT_EQ(r->window, 64240);
  EXPECT_EQ(r->header_len, 40);
  EXPECT_EQ(r->payload_len, 0);
  EXPECT_EQ(r->options.mss, 1460);
  EXPECT_TRUE(r->options.sack_permitted);
  EXPECT_EQ(r->options.window_scale, 7);
  ASSERT_TRUE(r->options.timestamps);
  EXPECT_EQ(r->options.timestamps->first, 0x1e2d9cu);
  EXPECT_EQ(r->options.timestamps->second, 0u);
  EXPECT_EQ(r->options.sack_count, 0);
}

TEST(TcpTest, EmitReproducesLinuxSyn) {
  const auto r = TcpRepr::parse(kLinuxSyn, kSrc, kDst);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->options_len(), 20u);
  std::vector<uint8_t> out(r->header_len_to_emit());
  r->emit_header(out, kSrc, kDst, uint32_t{0});
  EXPECT_EQ(out, kLinuxSyn);
}

std::vector<uint8_t> emit_options(const TcpOptions& o) {
  std::vector<uint8_t> out(o.emitted_len());
  EXPECT_EQ(o.emit(out), out.size());
  return out;
}

TEST(TcpOptionsTest, LinuxLayouts) {
  TcpOptions syn_no_ts;
  syn_no_ts.mss = 1460;
  syn_no_ts.sack_permitted = true;
  syn_no_ts.window_scale = 7;
  EXPECT_EQ(emit_options(syn_no_ts), from_hex("020405b4 01010402 01030307"));

  TcpOptions ts_only;
  ts_only.timestamps = std::pair{0x01020304u, 0x05060708u};
  EXPECT_EQ(emit_options(ts_only), from_hex("0101080a 01020304 05060708"));

  TcpOptions syn_ts_no_sack;
  syn_ts_no_sack.mss = 536;
  syn_ts_no_sack.timestamps = std::pair{1u, 2u};
  EXPECT_EQ(emit_options(syn_ts_no_sack), from_hex("02040218 0101080a 00000001 00000002"));

  TcpOptions sack;
  sack.add_sack({base::SeqNum(100), base::SeqNum(200)});
  EXPECT_EQ(emit_options(sack), from_hex("0101050a 00000064 000000c8"));

  EXPECT_EQ(emit_options(TcpOptions{}).size(), 0u);
}

TEST(TcpOptionsTest, SackBlocksLimitedTo40Bytes) {
  TcpOptions o;
  for (uint32_t i = 0; i < 4; ++i) o.add_sack({base::SeqNum(i * 100), base::SeqNum(i * 100 + 50)});
  EXPECT_FALSE(o.add_sack({base::SeqNum(1), base::SeqNum(2)}));
  EXPECT_EQ(o.sack_blocks_to_emit(), 4u);
  EXPECT_EQ(o.emitted_len(), 36u);
  o.timestamps = std::pair{1u, 2u};
  EXPECT_EQ(o.sack_blocks_to_emit(), 3u);  // RFC 2018 §3
  EXPECT_EQ(o.emitted_len(), 40u);
  o.mss = 1460;
  o.window_scale = 2;
  EXPECT_EQ(o.sack_blocks_to_emit(), 2u);
  EXPECT_EQ(o.emitted_len(), 40u);
  const auto bytes = emit_options(o);
  const auto back = TcpOptions::parse(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sack_count, 2);
  EXPECT_EQ(back->sack_blocks[1], o.sack_blocks[1]);
}

TEST(TcpOptionsTest, ParsedSetWiderThanCanonicalLayoutDropsSackBlocks) {
  // WS + TS + 3 SACK blocks + NOP is 40 bytes unpadded, but 44 in Linux's layout.
  const auto bytes = from_hex(
      "030307 080a0000000100000002 051a 00000001 00000002 00000003 00000004 00000005 00000006 01");
  ASSERT_EQ(bytes.size(), 40u);
  const auto o = TcpOptions::parse(bytes);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->sack_count, 3);
  EXPECT_EQ(o->sack_blocks_to_emit(), 2u);
  EXPECT_EQ(o->emitted_len(), 36u);
}

TEST(TcpOptionsTest, ParseRules) {
  // Unknown option 30 (len 4) skipped; EOL ends parsing even before garbage.
  const auto a = TcpOptions::parse(from_hex("1e04abcd 020405b4 00ff0000"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mss, 1460);
  // Window scale above 14 is clamped (RFC 7323 §2.3).
  const auto b = TcpOptions::parse(from_hex("01030310"));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->window_scale, 14);
  // The last of repeated options wins.
  const auto c = TcpOptions::parse(from_hex("02040100 02040200"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mss, 0x200);
  EXPECT_TRUE(TcpOptions::parse({}));
  EXPECT_TRUE(TcpOptions::parse(from_hex("01010101")));
}

TEST(TcpOptionsTest, BogusLengths) {
  const char* cases[] = {
      "0203 05",                                   // MSS length 3
      "020505b400",                                // MSS length 5
      "030407 00",                                 // WS length 4
      "0403 00 00",                                // SACK_PERM length 3
      "0808 00000000 0000",                        // TS length 8
      "0502 0000",                                 // SACK without blocks
      "0509 0000000000000000 00",                  // SACK 2 + 7
      "1e00 0000",                                 // length 0
      "1e01 0000",                                 // length 1
      "1e08 0000",                                 // runs past the options
      "010101 1e",                                 // kind without a length byte
      "052a 00000000000000000000000000000000000000000000000000000000000000000000000000000000",  // 5 blocks
  };
  for (const char* hex : cases) {
    const auto bytes = from_hex(hex);
    const auto r = TcpOptions::parse(bytes);
    ASSERT_FALSE(r) << hex;
    EXPECT_EQ(r.error(), WireError::kBadOption) << hex;
  }
}

TEST(TcpTest, BadOptionRejectsSegment) {
  auto seg = kLinuxSyn;
  seg[21] = 3;  // MSS length 3
  const auto r = TcpRepr::parse(seg, kSrc, kDst, /*verify_checksum=*/false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), WireError::kBadOption);
}

TEST(TcpTest, DataOffsetRules) {
  for (uint8_t doff : {0, 1, 4}) {
    auto seg = kLinuxSyn;
    seg[12] = static_cast<uint8_t>(doff << 4);
    EXPECT_EQ(TcpRepr::parse(seg, kSrc, kDst, false).error(), WireError::kBadHeaderLength) << int{doff};
  }
  auto seg = kLinuxSyn;
  seg[12] = 0xb0;  // 44 bytes > 40
  EXPECT_EQ(TcpRepr::parse(seg, kSrc, kDst, false).error(), WireError::kBadHeaderLength);
  seg[12] = 0x50;  // options become payload
  const auto r = TcpRepr::parse(seg, kSrc, kDst, false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header_len, 20);
  EXPECT_EQ(r->payload_len, 20);
}

TEST(TcpTest, TruncatedAtEveryLength) {
  for (size_t n = 0; n < kLinuxSyn.size(); ++n) {
    const std::vector<uint8_t> cut(kLinuxSyn.begin(), kLinuxSyn.begin() + n);
    const auto r = TcpRepr::parse(cut, kSrc, kDst);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), n < kTcpHeaderLen ? WireError::kTruncated : WireError::kBadHeaderLength) << n;
  }
}

TEST(TcpTest, BadChecksum) {
  auto seg = kLinuxSyn;
  seg[30] ^= 0x01;  // a timestamp bit
  EXPECT_EQ(TcpRepr::parse(seg, kSrc, kDst).error(), WireError::kBadChecksum);
  // Other addresses change the pseudo header.
  EXPECT_EQ(TcpRepr::parse(kLinuxSyn, kDst, Ipv4Address::from_octets(192, 168, 0, 2)).error(),
            WireError::kBadChecksum);
}

TEST(TcpTest, RoundTripWithPayloadBothFamilies) {
  const std::vector<uint8_t> payload = from_hex("474554202f20485454502f312e310d0a0d0a0a");  // odd length
  TcpRepr r;
  r.src_port = 50000;
  r.dst_port = 443;
  r.seq = base::SeqNum(0xfffffff0);
  r.ack = base::SeqNum(12345);
  r.flags = TcpFlags::kAck | TcpFlags::kPsh;
  r.window = 502;
  r.options.timestamps = std::pair{77u, 66u};
  r.options.add_sack({base::SeqNum(1), base::SeqNum(5)});
  r.payload_len = static_cast<uint16_t>(payload.size());
  const IpAddress v6src = *Ipv6Address::parse("2001:db8::1");
  const IpAddress v6dst = *Ipv6Address::parse("2001:db8::2");
  for (const auto& [src, dst] : {std::pair{kSrc, kDst}, std::pair{v6src, v6dst}}) {
    std::vector<uint8_t> seg(r.header_len_to_emit() + payload.size());
    r.emit_header(seg, src, dst, payload);
    std::copy(payload.begin(), payload.end(), seg.begin() + static_cast<ptrdiff_t>(r.header_len_to_emit()));
    const auto back = TcpRepr::parse(seg, src, dst);
    ASSERT_TRUE(back) << to_string(back.error());
    TcpRepr expected = r;
    expected.header_len = static_cast<uint16_t>(r.header_len_to_emit());
    EXPECT_EQ(*back, expected);
  }
}

TEST(TcpFlagsTest, Helpers) {
  EXPECT_EQ(TcpFlags::to_string(TcpFlags::kSyn), "S");
  EXPECT_EQ(TcpFlags::to_string(TcpFlags::kSyn | TcpFlags::kAck), "S.");
  EXPECT_EQ(TcpFlags::to_string(TcpFlags::kFin | TcpFlags::kPsh | TcpFlags::kAck), "FP.");
  EXPECT_EQ(TcpFlags::to_string(0), "none");
  EXPECT_TRUE(TcpFlags::has(TcpFlags::kSyn | TcpFlags::kAck, TcpFlags::kSyn | TcpFlags::kAck));
  EXPECT_FALSE(TcpFlags::has(TcpFlags::kSyn, TcpFlags::kSyn | TcpFlags::kAck));
  EXPECT_TRUE(TcpFlags::has_any(TcpFlags::kSyn, TcpFlags::kRst | TcpFlags::kSyn));
}

}  // namespace
}  // namespace joyride::wire
