#include "joyride/base/random.h"

#include <cstring>

namespace joyride::base {

uint32_t RandomSource::uniform(uint32_t bound) {
  uint64_t m = static_cast<uint64_t>(next_u32()) * bound;
  uint32_t low = static_cast<uint32_t>(m);
  if (low < bound) {
    const uint32_t threshold = -bound % bound;
    while (low < threshold) {
      m = static_cast<uint64_t>(next_u32()) * bound;
      low = static_cast<uint32_t>(m);
    }
  }
  return static_cast<uint32_t>(m >> 32);
}

bool RandomSource::chance(double p) {
  if (p <= 0.0) return false;
  if (p >= 1.0) return true;
  // 53 random bits as a double in [0, 1).
  const double u = static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
  return u < p;
}

void RandomSource::fill(std::span<uint8_t> out) {
  size_t i = 0;
  while (i < out.size()) {
    const uint64_t r = next_u64();
    const size_t n = out.size() - i < 8 ? out.size() - i : 8;
    std::memcpy(out.data() + i, &r, n);
    i += n;
  }
}

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

SeededRandom::SeededRandom(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

uint64_t SeededRandom::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

}  // namespace joyride::base
