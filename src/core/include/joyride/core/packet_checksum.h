// Internet checksum partial sums over a (possibly chained) packet.
#pragma once

#include <cstddef>
#include <cstdint>

#include "joyride/buf/packet.h"
#include "joyride/wire/checksum.h"

namespace joyride::core {

// The one's-complement partial sum of packet bytes [offset, len()), correct whatever
// the segment boundaries (odd-length segments included).
inline uint32_t packet_checksum_accumulate(const buf::Packet& packet, size_t offset = 0,
                                           uint32_t sum = 0) {
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
