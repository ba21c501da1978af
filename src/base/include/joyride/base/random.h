// Injected randomness. core/ never picks its own random numbers: ISNs, ephemeral
// ports and jitter come through a RandomSource the host provides, so a simulation
// with a seed replays exactly.
#pragma once

#include <cstdint>
#include <span>

namespace joyride::base {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual uint64_t next_u64() = 0;

  uint32_t next_u32() { return static_cast<uint32_t>(next_u64() >> 32); }
  // Uniform in [0, bound) without modulo bias (Lemire's multiply-shift method). bound > 0.
  uint32_t uniform(uint32_t bound);
  // True with probability p (0 <= p <= 1).
  bool chance(double p);
  void fill(std::span<uint8_t> out);
};

// xoshiro256** seeded through splitmix64: fast, good statistical quality, not for secrets.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed);
  uint64_t next_u64() override;

 private:
  uint64_t s_[4];
};

}  // namespace joyride::base
