#include "joyride/core/tcp/isn.h"

#include <array>

namespace joyride::core::tcp {
namespace {

// Floor division, so times before the Instant epoch still tick at the same rate.
int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

IsnGenerator::IsnGenerator(base::RandomSource& random)
    : isn_key_(base::SipKey::from(random)), ts_key_(base::SipKey::from(random)) {}

uint32_t IsnGenerator::isn(const FourTuple& t, base::Instant now) const {
  const std::array<uint32_t, 3> words = {
      t.local.value(), t.remote.value(),
      (uint32_t{t.local_port} << 16) | t.remote_port};
  const auto f = static_cast<uint32_t>(base::siphash24_words(isn_key_, words));
  const auto m = static_cast<uint32_t>(floor_div(now.as_nanos(), kTick.as_nanos()));
  return m + f;
}

uint32_t IsnGenerator::ts_offset(const FourTuple& t) const {
  const std::array<uint32_t, 3> words = {t.local.value(), t.remote.value(),
                                         (uint32_t{t.local_port} << 16) | t.remote_port};
  return static_cast<uint32_t>(base::siphash24_words(ts_key_, words));
}

}  // namespace joyride::core::tcp
