// Internet checksum partial sums over a (possibly chained) packet.
#pragma once

#include <cstddef>
#include <cstdint>

#include "joyride/buf/packet.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ipv4.h"

namespace joyride::core {

// The one's-complement partial sum of packet bytes [offset, len()), correct whatever
// the segment boundaries (odd-length segments included).
inline uint32_t packet_checksum_accumulate(const buf::Packet& packet, size_t offset = 0,
                                           uint32_t sum = 0) {
  // Nearly every frame is one buffer: one span, no segment walk.
  if (packet.is_contiguous()) {
    if (offset >= packet.len()) return sum;
    return wire::checksum_accumulate(std::span<const uint8_t>(packet.data() + offset, packet.len() - offset), sum);
  }
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

// The value a transport header's checksum field holds when the device completes the
// checksum (buf::kTxL4ChecksumPartial): the pseudo header's sum, folded, not
// complemented.
inline uint16_t pseudo_header_partial(uint32_t pseudo_sum) {
  return static_cast<uint16_t>(~wire::checksum_fold(pseudo_sum));
}

// Completes in software what kTxL4ChecksumPartial left to a device: `l4` starts at
// the TCP/UDP header (the head segment holds it), whose checksum field holds
// pseudo_header_partial(); afterwards it holds the full checksum and the mark is gone.
inline void complete_l4_checksum(buf::Packet& l4, uint8_t protocol) {
  const size_t field = protocol == wire::IpProtocol::kTcp ? 16 : 6;
  uint16_t sum = wire::checksum_fold(packet_checksum_accumulate(l4));
  // RFC 768: a UDP checksum that computes to zero is sent as all ones.
  if (sum == 0 && protocol == wire::IpProtocol::kUdp) sum = 0xffff;
  l4.data()[field] = static_cast<uint8_t>(sum >> 8);
  l4.data()[field + 1] = static_cast<uint8_t>(sum);
  l4.set_offload(static_cast<uint8_t>(l4.offload() & ~buf::kTxL4ChecksumPartial));
}

}  // namespace joyride::core
