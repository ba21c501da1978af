// UDP header (RFC 768).
//
//   0          2          4        6          8
//   | src port | dst port | length | checksum | payload ...
//
// The checksum covers a pseudo header (checksum.h), the header and the payload.
// Over IPv4 a zero checksum means "none" (RFC 768); over IPv6 it is mandatory and a
// zero is an error (RFC 8200 §8.1). A computed checksum of 0 is sent as 0xFFFF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "joyride/base/result.h"
#include "joyride/wire/address.h"
#include "joyride/wire/error.h"

namespace joyride::wire {

inline constexpr size_t kUdpHeaderLen = 8;

struct UdpRepr {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t payload_len = 0;

  // datagram is the IP payload. Errors: kTruncated (< 8 bytes, or the length field
  // beyond the buffer); kBadLength (length field < 8); kBadChecksum. Bytes past the
  // length field are ignored: the payload is datagram[8, 8 + payload_len).
  static base::Result<UdpRepr, WireError> parse(std::span<const uint8_t> datagram, const IpAddress& src,
                                                const IpAddress& dst, bool verify_checksum = true);

  size_t buffer_len() const { return kUdpHeaderLen + payload_len; }

  // Writes the 8-byte header with the checksum over payload, which must hold
  // payload_len bytes (asserted).
  void emit_header(std::span<uint8_t> out, const IpAddress& src, const IpAddress& dst,
                   std::span<const uint8_t> payload) const;
  // The same, given the payload's partial sum (checksum_accumulate over the payload,
  // taken as starting at an even offset), so the payload need not be contiguous.
  void emit_header_with_payload_sum(std::span<uint8_t> out, const IpAddress& src, const IpAddress& dst,
                                    uint32_t payload_sum) const;

  bool operator==(const UdpRepr&) const = default;
};

}  // namespace joyride::wire
