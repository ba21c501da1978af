#include "joyride/core/tcp/port_allocator.h"

#include <array>
#include <utility>

namespace joyride::core::tcp {

PortAllocator::PortAllocator(base::RandomSource& random, uint16_t low, uint16_t high, size_t table_size)
    : offset_key_(base::SipKey::from(random)), index_key_(base::SipKey::from(random)) {
  if (low > high) std::swap(low, high);
  if (low == 0) low = 1;
  if (high == 0) high = 1;
  low_ = low;
  high_ = high;
  range_ = uint32_t{high_} - low_ + 1;
  table_.resize(table_size == 0 ? 1 : table_size);
  for (auto& slot : table_) slot = random.uniform(range_);
}

PortAllocator::Start PortAllocator::start(wire::Ipv4Address local, wire::Ipv4Address remote,
                                          uint16_t remote_port) const {
  const std::array<uint32_t, 3> words = {local.value(), remote.value(), remote_port};
  // Reducing a 64-bit hash mod range (< 2^16) leaves a bias below 2^-47: negligible.
  const auto offset = static_cast<uint32_t>(base::siphash24_words(offset_key_, words) % range_);
  const size_t index = static_cast<size_t>(base::siphash24_words(index_key_, words) % table_.size());
  return Start{(offset + table_[index]) % range_, index};
}

void PortAllocator::advance(size_t index, uint32_t probes) {
  table_[index] = static_cast<uint32_t>((uint64_t{table_[index]} + probes) % range_);
}

}  // namespace joyride::core::tcp
