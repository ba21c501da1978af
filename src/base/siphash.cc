#include "joyride/base/siphash.h"

namespace joyride::base {
namespace {

constexpr uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

uint64_t load_le64(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

// The four-word internal state and the paper's SipRound, compression and finalisation.
class SipState {
 public:
  explicit SipState(const SipKey& k)
      // The initialisation constants spell "somepseudorandomlygeneratedbytes" in ASCII.
      : v0_(k.k0 ^ 0x736f6d6570736575ULL),
        v1_(k.k1 ^ 0x646f72616e646f6dULL),
        v2_(k.k0 ^ 0x6c7967656e657261ULL),
        v3_(k.k1 ^ 0x7465646279746573ULL) {}

  void compress(uint64_t m) {
    v3_ ^= m;
    round();
    round();
    v0_ ^= m;
  }

  // `tail` is the last 0..7 message bytes (little-endian), `len` the message length.
  uint64_t finish(uint64_t tail, uint64_t len) {
    compress(tail | (len << 56));
    v2_ ^= 0xff;
    round();
    round();
    round();
    round();
    return v0_ ^ v1_ ^ v2_ ^ v3_;
  }

 private:
  void round() {
    v0_ += v1_;
    v1_ = rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = rotl(v0_, 32);
    v2_ += v3_;
    v3_ = rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = rotl(v2_, 32);
  }

  uint64_t v0_, v1_, v2_, v3_;
};

}  // namespace

SipKey SipKey::from(RandomSource& random) {
  SipKey k;
  k.k0 = random.next_u64();
  k.k1 = random.next_u64();
  return k;
}

SipKey SipKey::from_bytes(std::span<const uint8_t, 16> bytes) {
  SipKey k;
  k.k0 = load_le64(bytes.data(), 8);
  k.k1 = load_le64(bytes.data() + 8, 8);
  return k;
}

uint64_t siphash24(const SipKey& key, std::span<const uint8_t> data) {
  SipState s(key);
  const size_t full = data.size() & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) s.compress(load_le64(data.data() + i, 8));
  return s.finish(load_le64(data.data() + full, data.size() - full), data.size());
}

uint64_t siphash24_words(const SipKey& key, std::span<const uint32_t> words) {
  SipState s(key);
  // Two little-endian 32-bit words side by side are one little-endian 64-bit block.
  size_t i = 0;
  for (; i + 2 <= words.size(); i += 2) s.compress(uint64_t{words[i]} | (uint64_t{words[i + 1]} << 32));
  const uint64_t tail = i < words.size() ? uint64_t{words[i]} : 0;
  return s.finish(tail, 4 * words.size());
}

}  // namespace joyride::base
