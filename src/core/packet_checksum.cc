#include "joyride/core/packet_checksum.h"

namespace joyride::core {

uint32_t packet_checksum_accumulate_chain(const buf::Packet& packet, size_t offset, uint32_t sum) {
  size_t position = 0;  // of the current segment's first byte, within the packet
  packet.for_each_segment([&](std::span<const uint8_t> seg) {
    const size_t start = position;
    position += seg.size();
    if (position <= offset) return;
    const size_t skip = offset > start ? offset - start : 0;
    sum = wire::checksum_accumulate_at(seg.subspan(skip), start + skip - offset, sum);
  });
  return sum;
}

}  // namespace joyride::core
