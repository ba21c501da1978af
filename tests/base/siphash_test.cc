#include "joyride/base/siphash.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "joyride/base/random.h"

namespace joyride::base {
namespace {

// SipHash-2-4 with key 00 01 .. 0f over the messages "", 00, 00 01, ..., 00 .. 3e (message
// i is the bytes 0..i-1): the published 64-bit test vectors, written as the digest's
// bytes in output order (the little-endian encoding of the 64-bit result), as in the
// paper's appendix and the reference implementation. Entry 15 is the paper's worked
// example (message 00..0e, result 0xa129ca6149be45e5).
constexpr std::array<std::string_view, 64> kVectors = {
    "310e0edd47db6f72", "fd67dc93c539f874", "5a4fa9d909806c0d", "2d7efbd796666785",  // 0..3
    "b7877127e09427cf", "8da699cd64557618", "cee3fe586e46c9cb", "37d1018bf50002ab",  // 4..7
    "6224939a79f5f593", "b0e4a90bdf82009e", "f3b9dd94c5bb5d7a", "a7ad6b22462fb3f4",  // 8..11
    "fbe50e86bc8f1e75", "903d84c02756ea14", "eef27a8e90ca23f7", "e545be4961ca29a1",  // 12..15
    "db9bc2577fcc2a3f", "9447be2cf5e99a69", "9cd38d96f0b3c14b", "bd6179a71dc96dbb",  // 16..19
    "98eea21af25cd6be", "c7673b2eb0cbf2d0", "883ea3e395675393", "c8ce5ccd8c030ca8",  // 20..23
    "94af49f6c650adb8", "eab8858ade92e1bc", "f315bb5bb835d817", "adcf6b0763612e2f",  // 24..27
    "a5c91da7acaa4dde", "716595876650a2a6", "28ef495c53a387ad", "42c341d8fa92d832",  // 28..31
    "ce7cf2722f512771", "e37859f94623f3a7", "381205bb1ab0e012", "ae97a10fd434e015",  // 32..35
    "b4a31508beff4d31", "81396229f0907902", "4d0cf49ee5d4dcca", "5c73336a76d8bf9a",  // 36..39
    "d0a704536ba93e0e", "925958fcd6420cad", "a915c29bc8067318", "952b79f3bc0aa6d4",  // 40..43
    "f21df2e41d4535f9", "87577519048f53a9", "10a56cf5dfcd9adb", "eb75095ccd986cd0",  // 44..47
    "51a9cb9ecba312e6", "96afadfc2ce666c7", "72fe52975a4364ee", "5a1645b276d592a1",  // 48..51
    "b274cb8ebf87870a", "6f9bb4203de7b381", "eaecb2a30b22a87f", "9924a43cc1315724",  // 52..55
    "bd838d3aafbf8db7", "0b1a2a3265d51aea", "135079a3231ce660", "932b2846e4d70666",  // 56..59
    "e1915f5cb1eca46c", "f325965ca16d629f", "575ff28e60381be5", "724506eb4c328a95",  // 60..63
};

uint8_t hex_digit(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  return static_cast<uint8_t>(c - 'a' + 10);
}

// Eight digest bytes in output order -> the 64-bit value they are the little-endian form of.
uint64_t digest_from_hex(std::string_view hex) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    const uint64_t byte = (hex_digit(hex[2 * i]) << 4) | hex_digit(hex[2 * i + 1]);
    v |= byte << (8 * i);
  }
  return v;
}

SipKey reference_key() {
  std::array<uint8_t, 16> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
  return SipKey::from_bytes(bytes);
}

TEST(SipHashTest, ReferenceKeyLayout) {
  const SipKey k = reference_key();
  EXPECT_EQ(k.k0, 0x0706050403020100ULL);
  EXPECT_EQ(k.k1, 0x0f0e0d0c0b0a0908ULL);
}

TEST(SipHashTest, PublishedVectors) {
  const SipKey key = reference_key();
  std::array<uint8_t, 64> message{};
  for (size_t i = 0; i < message.size(); ++i) message[i] = static_cast<uint8_t>(i);
  for (size_t len = 0; len < kVectors.size(); ++len) {
    EXPECT_EQ(siphash24(key, std::span(message.data(), len)), digest_from_hex(kVectors[len]))
        << "message length " << len;
  }
}

TEST(SipHashTest, PaperWorkedExample) {
  std::array<uint8_t, 15> message{};
  for (size_t i = 0; i < message.size(); ++i) message[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(siphash24(reference_key(), message), 0xa129ca6149be45e5ULL);
}

TEST(SipHashTest, WordsEqualTheirLittleEndianBytes) {
  SeededRandom random(11);
  const SipKey key = SipKey::from(random);
  for (size_t n = 0; n <= 9; ++n) {
    std::vector<uint32_t> words(n);
    std::vector<uint8_t> bytes;
    for (auto& w : words) {
      w = random.next_u32();
      for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<uint8_t>(w >> (8 * b)));
    }
    EXPECT_EQ(siphash24_words(key, words), siphash24(key, bytes)) << n << " words";
  }
}

TEST(SipHashTest, WordsMatchAPublishedVector) {
  // Message 00..0b is the words 0x03020100, 0x07060504, 0x0b0a0908 (vector 12).
  const std::array<uint32_t, 3> words = {0x03020100u, 0x07060504u, 0x0b0a0908u};
  EXPECT_EQ(siphash24_words(reference_key(), words), digest_from_hex(kVectors[12]));
}

TEST(SipHashTest, EveryKeyBitMatters) {
  const std::array<uint8_t, 8> message = {1, 2, 3, 4, 5, 6, 7, 8};
  const SipKey base = reference_key();
  const uint64_t h = siphash24(base, message);
  for (int bit = 0; bit < 128; ++bit) {
    SipKey k = base;
    if (bit < 64) {
      k.k0 ^= uint64_t{1} << bit;
    } else {
      k.k1 ^= uint64_t{1} << (bit - 64);
    }
    EXPECT_NE(siphash24(k, message), h) << "key bit " << bit;
  }
}

TEST(SipHashTest, KeyFromRandomSourceDependsOnSeed) {
  SeededRandom a(1);
  SeededRandom b(1);
  SeededRandom c(2);
  const SipKey ka = SipKey::from(a);
  const SipKey kb = SipKey::from(b);
  const SipKey kc = SipKey::from(c);
  EXPECT_EQ(ka.k0, kb.k0);
  EXPECT_EQ(ka.k1, kb.k1);
  EXPECT_NE(ka.k0, kc.k0);
  EXPECT_NE(ka.k1, kc.k1);
  EXPECT_NE(ka.k0, ka.k1);  // two draws, not one value twice
}

}  // namespace
}  // namespace joyride::base
