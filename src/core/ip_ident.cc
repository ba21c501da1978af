#include "joyride/core/ip_ident.h"

#include <span>

namespace joyride::core {

IpIdentGenerator::IpIdentGenerator(base::RandomSource& random) : key_(base::SipKey::from(random)) {
  // Random starting points: otherwise a flow's first ID would say how many datagrams
  // other flows in its slot have sent since the stack started.
  random.fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(counters_.data()), sizeof(counters_)));
}

uint16_t IpIdentGenerator::slot(wire::Ipv4Address dst, wire::Ipv4Address src, uint8_t protocol) const {
  const std::array<uint32_t, 3> words = {dst.value(), src.value(), protocol};
  return static_cast<uint16_t>(base::siphash24_words(key_, words) & (kSlots - 1));
}

}  // namespace joyride::core
