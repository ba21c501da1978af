// Checksums: the fast sum against the RFC 1071 reference on random data, split sums,
// pseudo headers and RFC 1624 incremental updates.
#include "joyride/wire/checksum.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "joyride/base/bytes.h"
#include "joyride/base/random.h"

namespace joyride::wire {
namespace {

std::vector<uint8_t> random_bytes(base::SeededRandom& rng, size_t n) {
  std::vector<uint8_t> v(n);
  rng.fill(v);
  return v;
}

TEST(ChecksumTest, KnownVectors) {
  // RFC 1071 §3's example: the one's complement sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2.
  const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(internet_checksum(rfc), static_cast<uint16_t>(~0xddf2));
  EXPECT_EQ(checksum_reference(rfc), static_cast<uint16_t>(~0xddf2));
  // A real IPv4 header (checksum b861 in place).
  const uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                        0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_TRUE(checksum_verify(ip));
  EXPECT_EQ(internet_checksum(ip), 0);
  EXPECT_EQ(internet_checksum({}), 0xffff);
  const uint8_t odd[] = {0xab};
  EXPECT_EQ(internet_checksum(odd), static_cast<uint16_t>(~0xab00));
}

TEST(ChecksumTest, FastMatchesReferenceOnRandomData) {
  base::SeededRandom rng(1071);
  const auto pool = random_bytes(rng, 4096 + 64);
  for (int i = 0; i < 5000; ++i) {
    // Random length (biased to small, where the tail handling lives) and random start,
    // so every memory alignment is covered.
    const size_t len = (i % 2) ? rng.uniform(80) : rng.uniform(4096);
    const size_t start = rng.uniform(64);
    const std::span<const uint8_t> s(pool.data() + start, len);
    ASSERT_EQ(internet_checksum(s), checksum_reference(s)) << "len " << len << " start " << start;
  }
}

// Both implementations (checksum_detail) at every length up to 2,048 bytes from every
// alignment within 8 bytes, and at random alignments: the AVX2 one switches to vector
// chunks at 128 bytes and has its own tail; the portable one has the adc blocks.
TEST(ChecksumTest, BothImplementationsMatchReferenceAtEveryLength) {
  base::SeededRandom rng(1072);
  const auto pool = random_bytes(rng, 2048 + 64);
  for (size_t len = 0; len <= 2048; ++len) {
    for (size_t start = 0; start < 9; ++start) {
      const size_t at = start < 8 ? start : 8 + rng.uniform(56);
      const std::span<const uint8_t> s(pool.data() + at, len);
      const auto expected = static_cast<uint16_t>(~checksum_reference(s));
      ASSERT_EQ(checksum_detail::folded_sum_portable(s), expected) << "len " << len << " at " << at;
      ASSERT_EQ(checksum_detail::folded_sum_avx2(s), expected) << "len " << len << " at " << at;
    }
  }
}

// Words with the top bit set (which vpmaddwd reads as negative) and without, in long
// runs: the AVX2 offset correction must hold at both extremes and across the 128 KiB
// runs its 32-bit lanes are emptied at.
TEST(ChecksumTest, ExtremeWordsOverManyVectorRuns) {
  for (uint8_t fill : {uint8_t{0x00}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xff}}) {
    const std::vector<uint8_t> data(3 * 131072 + 77, fill);
    for (size_t len : {size_t{128}, size_t{131040}, size_t{131072}, size_t{131104}, data.size()}) {
      const std::span<const uint8_t> s(data.data(), len);
      const auto expected = static_cast<uint16_t>(~checksum_reference(s));
      EXPECT_EQ(checksum_detail::folded_sum_avx2(s), expected) << int{fill} << " " << len;
      EXPECT_EQ(checksum_detail::folded_sum_portable(s), expected) << int{fill} << " " << len;
    }
  }
}

TEST(ChecksumTest, AllOnesDoesNotOverflow) {
  std::vector<uint8_t> ff(70000, 0xff);
  for (size_t len : {0u, 1u, 2u, 7u, 8u, 31u, 32u, 33u, 65535u, 70000u}) {
    const std::span<const uint8_t> s(ff.data(), len);
    EXPECT_EQ(internet_checksum(s), checksum_reference(s)) << len;
  }
}

TEST(ChecksumTest, SplitSumsWithOddOffsets) {
  base::SeededRandom rng(2);
  for (int i = 0; i < 2000; ++i) {
    const auto data = random_bytes(rng, 1 + rng.uniform(300));
    // Cut into up to four pieces at random points, odd lengths included.
    size_t cuts[5] = {0, rng.uniform(static_cast<uint32_t>(data.size())), 0, 0, data.size()};
    cuts[2] = cuts[1] + rng.uniform(static_cast<uint32_t>(data.size() - cuts[1]) + 1);
    cuts[3] = cuts[2] + rng.uniform(static_cast<uint32_t>(data.size() - cuts[2]) + 1);
    uint32_t sum = 0;
    for (int k = 0; k < 4; ++k) {
      const std::span<const uint8_t> piece(data.data() + cuts[k], cuts[k + 1] - cuts[k]);
      sum = checksum_accumulate_at(piece, cuts[k], sum);
    }
    ASSERT_EQ(checksum_fold(sum), checksum_reference(data));
  }
}

TEST(ChecksumTest, CombineAndFoldLargeSums) {
  EXPECT_EQ(checksum_combine(0xffffffff, 1), 1u);
  EXPECT_EQ(checksum_fold(0), 0xffff);
  EXPECT_EQ(checksum_fold(0xffff), 0);
  EXPECT_EQ(checksum_fold(0x1fffe), 0);  // 0xfffe + 1
  EXPECT_EQ(checksum_fold(0xffffffffffffffffULL), 0);
  // Adding many partial sums must never lose carries.
  base::SeededRandom rng(3);
  std::vector<uint8_t> all;
  uint32_t sum = 0;
  for (int i = 0; i < 300; ++i) {
    const auto chunk = random_bytes(rng, 256);
    sum = checksum_accumulate(chunk, sum);
    all.insert(all.end(), chunk.begin(), chunk.end());
  }
  EXPECT_EQ(checksum_fold(sum), checksum_reference(all));
}

// A partial sum passed in (a pseudo header's, a previous piece's) joins the AVX2 sum
// as `sum << 8` in native order, and the header verifier the same way: any 32-bit
// value, the extremes included, must give what adding it afterwards gives.
TEST(ChecksumTest, InitialPartialSumsAnyValueAnyLength) {
  base::SeededRandom rng(1073);
  const auto pool = random_bytes(rng, 2048 + 8);
  const uint32_t fixed[] = {0, 1, 0xffff, 0x10000, 0x7fffffff, 0xfffeffff, 0xffffffff};
  for (size_t len = 0; len <= 2048; len += 1 + len / 64) {
    for (int k = 0; k < 12; ++k) {
      const uint32_t initial = k < 7 ? fixed[k] : rng.next_u32();
      const std::span<const uint8_t> s(pool.data() + (k % 8), len);
      const uint16_t expected = checksum_fold(checksum_combine(initial, static_cast<uint16_t>(~checksum_reference(s))));
      ASSERT_EQ(checksum_fold(checksum_accumulate(s, initial)), expected) << "len " << len << " initial " << initial;
    }
  }
}

// checksum_verify's inline header path (sizes that are multiples of 4 up to 60) with
// a pseudo header's sum: a header made valid for that sum verifies; one bit off in the
// header or in the sum does not.
TEST(ChecksumTest, HeaderVerifyWithPseudoSum) {
  base::SeededRandom rng(1074);
  for (size_t len = 8; len <= 60; len += 4) {
    for (int k = 0; k < 200; ++k) {
      auto h = random_bytes(rng, len);
      h[6] = h[7] = 0;  // the checksum field
      const uint32_t pseudo = k == 0 ? 0xffffffff : rng.next_u32() >> (k % 16);
      const uint16_t c = checksum_fold(checksum_accumulate(h, pseudo));
      h[6] = static_cast<uint8_t>(c >> 8);
      h[7] = static_cast<uint8_t>(c);
      ASSERT_TRUE(checksum_verify(h, pseudo)) << len << " " << pseudo;
      ASSERT_EQ(checksum_verify(h, pseudo), checksum_fold(checksum_combine(pseudo, static_cast<uint16_t>(~checksum_reference(h)))) == 0);
      auto bad = h;
      bad[rng.uniform(static_cast<uint32_t>(len))] ^= static_cast<uint8_t>(1u << rng.uniform(8));
      ASSERT_FALSE(checksum_verify(bad, pseudo)) << len;
      ASSERT_FALSE(checksum_verify(h, pseudo ^ 1)) << len;  // +-1: never 0 mod 65535
    }
  }
}

TEST(ChecksumTest, PseudoHeaderV4MatchesBytes) {
  const auto src = Ipv4Address::from_octets(192, 168, 0, 104);
  const auto dst = Ipv4Address::from_octets(192, 168, 0, 1);
  const uint8_t ph[] = {192, 168, 0, 104, 192, 168, 0, 1, 0, 6, 0x01, 0x2c};
  EXPECT_EQ(checksum_fold(pseudo_header_v4(src, dst, 6, 300)), internet_checksum(ph));
  EXPECT_EQ(checksum_fold(pseudo_header(src, dst, 6, 300)), internet_checksum(ph));
  EXPECT_EQ(checksum_fold(pseudo_header_v4_wide(src, dst, 6, 300)), internet_checksum(ph));
  // The wide sum (addresses as whole words) against the bytes for random addresses,
  // the all-ones ones included, as a header check uses it.
  base::SeededRandom rng(1075);
  for (int i = 0; i < 1000; ++i) {
    const Ipv4Address a(i == 0 ? 0xffffffff : rng.next_u32());
    const Ipv4Address b(i == 0 ? 0xffffffff : rng.next_u32());
    const auto len = static_cast<uint16_t>(i == 0 ? 0xffff : rng.uniform(65536));
    uint8_t bytes[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 17, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    base::store_be<uint32_t>(bytes, 0, a.value());
    base::store_be<uint32_t>(bytes, 4, b.value());
    ASSERT_EQ(checksum_fold(pseudo_header_v4_wide(a, b, 17, len)), internet_checksum(bytes)) << i;
  }
}

TEST(ChecksumTest, PseudoHeaderV6MatchesBytes) {
  const auto src = *Ipv6Address::parse("2001:db8::1");
  const auto dst = *Ipv6Address::parse("fe80::abcd:1");
  uint8_t ph[40] = {};
  src.write(ph);
  dst.write(ph + 16);
  base::store_be<uint32_t>(ph, 32, 70000);
  ph[39] = 17;
  EXPECT_EQ(checksum_fold(pseudo_header_v6(src, dst, 17, 70000)), internet_checksum(ph));
  EXPECT_EQ(checksum_fold(pseudo_header(src, dst, 17, 70000)), internet_checksum(ph));
}

TEST(ChecksumTest, IncrementalUpdateMatchesRecomputation) {
  base::SeededRandom rng(1624);
  for (int i = 0; i < 20000; ++i) {
    auto data = random_bytes(rng, 2 + 2 * rng.uniform(40));
    // Exercise the edge values RFC 1624 is about: all-zero and all-one words.
    if (i % 7 == 0) std::fill(data.begin(), data.end(), 0);
    if (i % 11 == 0) std::fill(data.begin(), data.end(), 0xff);
    const uint16_t before = internet_checksum(data);
    const size_t at = 2 * rng.uniform(static_cast<uint32_t>(data.size() / 2));
    const uint16_t old_value = base::load_be<uint16_t>(data.data(), at);
    const auto new_value = static_cast<uint16_t>(i % 5 == 0 ? 0 : rng.next_u32());
    base::store_be<uint16_t>(data.data(), at, new_value);
    const uint16_t updated = checksum_update16(before, old_value, new_value);
    const uint16_t recomputed = internet_checksum(data);
    // All-zero data sums to +0 (checksum 0xffff) while eqn. 3 can only see -0 (checksum
    // 0); no real header is all zeros, so that one case is excluded (see checksum.h).
    if (std::all_of(data.begin(), data.end(), [](uint8_t b) { return b == 0; })) continue;
    ASSERT_EQ(updated, recomputed) << i;
  }
}

// RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m'), the sum taken in one's complement, so
// the end-around carry must be folded until none is left. Words [0x8000, 0x0000] have
// HC = 0x7fff; changing the second word to 0x8000 makes ~HC + ~m + m' = 0x8000 +
// 0xffff + 0x8000 = 0x1ffff exactly, whose first fold (0x10000) still carries: one
// fold gives 0xffff, two give the right 0xfffe (= the recomputed ~(0x8000 + 0x8000)).
TEST(ChecksumTest, IncrementalUpdateFoldsACarryOutOfTheFirstFold) {
  std::vector<uint8_t> data = {0x80, 0x00, 0x00, 0x00};
  const uint16_t before = internet_checksum(data);
  ASSERT_EQ(before, 0x7fff);
  base::store_be<uint16_t>(data.data(), 2, 0x8000);
  const uint16_t recomputed = internet_checksum(data);
  ASSERT_EQ(recomputed, 0xfffe);
  EXPECT_EQ(checksum_update16(before, 0x0000, 0x8000), recomputed);
  // The same carry through the 32-bit form: one aligned word [0x8000 0000] -> [0x8000 8000].
  EXPECT_EQ(checksum_update32(before, 0x80000000u, 0x80008000u), recomputed);
}

TEST(ChecksumTest, IncrementalUpdate32) {
  base::SeededRandom rng(32);
  for (int i = 0; i < 5000; ++i) {
    auto data = random_bytes(rng, 40);
    const uint16_t before = internet_checksum(data);
    const size_t at = 4 * rng.uniform(10);
    const uint32_t old_value = base::load_be<uint32_t>(data.data(), at);
    const uint32_t new_value = rng.next_u32();
    base::store_be<uint32_t>(data.data(), at, new_value);
    ASSERT_EQ(checksum_update32(before, old_value, new_value), internet_checksum(data));
  }
}

}  // namespace
}  // namespace joyride::wire
