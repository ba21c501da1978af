// Internet checksum partial sums over a (possibly chained) packet.
#pragma once

#include <cstddef>
#include <cstdint>

#include "joyride/buf/packet.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ipv4.h"

namespace joyride::core {

// packet_checksum_accumulate over a chain of buffers (packet_checksum.cc).
uint32_t packet_checksum_accumulate_chain(const buf::Packet& packet, size_t offset, uint32_t sum);

// The one's-complement partial sum of packet bytes [offset, len()), correct whatever
// the segment boundaries (odd-length segments included). Nearly every frame is one
// buffer: one span, inline (a header sum then needs no call at all); chains walk
// their segments out of line.
[[gnu::always_inline]] inline uint32_t packet_checksum_accumulate(const buf::Packet& packet, size_t offset = 0,
                                                                  uint32_t sum = 0) {
  if (!packet.is_contiguous()) [[unlikely]] {
    return packet_checksum_accumulate_chain(packet, offset, sum);
  }
  if (offset >= packet.len()) return sum;
  return wire::checksum_accumulate(std::span<const uint8_t>(packet.data() + offset, packet.len() - offset), sum);
}

// True when the packet's bytes (checksum field included) plus the partial sum
// `initial` (a pseudo header's, wire::pseudo_header_v4_wide: below 2^40) fold to 0: a
// received transport checksum is good. A bare header (an ACK) is checked inline.
[[gnu::always_inline]] inline bool packet_checksum_verify(const buf::Packet& packet, uint64_t initial) {
  const size_t len = packet.len();
  if (packet.is_contiguous() && len <= 60 && len % 4 == 0) [[likely]] {
    return wire::checksum_detail::verify_header(packet.data(), len, initial);
  }
  // Folded to 32 bits with end-around carry (2^32 = 1 modulo 2^16 - 1).
  const auto initial32 = wire::checksum_combine(static_cast<uint32_t>(initial), static_cast<uint32_t>(initial >> 32));
  return wire::checksum_fold(packet_checksum_accumulate(packet, 0, initial32)) == 0;
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
