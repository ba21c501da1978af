// IPv4 header (RFC 791 §3.1).
//
//    0                   1                   2                   3
//   |Version|  IHL  |   DSCP/ECN    |          Total Length         |  0
//   |         Identification        |Flags|      Fragment Offset    |  4
//   |  Time to Live |    Protocol   |         Header Checksum       |  8
//   |                       Source Address                          | 12
//   |                    Destination Address                        | 16
//   |                    Options (IHL > 5)                          | 20
//
// Options are accepted and skipped on receive (header_len reports IHL*4) and never
// emitted: Linux ignores most of them too, and source routing is a security hazard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "joyride/base/result.h"
#include "joyride/wire/address.h"
#include "joyride/wire/error.h"

namespace joyride::wire {

inline constexpr size_t kIpv4HeaderLen = 20;
inline constexpr size_t kIpv4MaxHeaderLen = 60;

// IANA protocol numbers, shared by the IPv4 protocol and IPv6 next-header fields.
struct IpProtocol {
  static constexpr uint8_t kIcmp = 1;
  static constexpr uint8_t kTcp = 6;
  static constexpr uint8_t kUdp = 17;
  static constexpr uint8_t kIcmpv6 = 58;
};

struct Ipv4Repr {
  Ipv4Address src{};
  Ipv4Address dst{};
  uint8_t protocol = 0;
  uint8_t ttl = 64;
  uint8_t dscp_ecn = 0;
  uint16_t ident = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t frag_offset = 0;  // in bytes (the field counts 8-byte units); a multiple of 8
  uint16_t header_len = 20;  // parsed IHL*4; emit() only writes 20-byte headers
  uint16_t payload_len = 0;  // total length minus header length

  bool is_fragment() const { return more_fragments || frag_offset != 0; }

  // Validates, in order: at least 20 bytes (kTruncated); version 4 (kBadVersion);
  // IHL >= 5 (kBadHeaderLength); IHL*4 <= buffer (kTruncated); total length >= IHL*4
  // (kBadLength); total length <= buffer (kTruncated); the reserved flag bit clear
  // (kMalformed); the header checksum (kBadChecksum, skipped when verify_checksum is
  // false, e.g. after a NIC verified it).
  // Bytes past total length (Ethernet padding) are ignored: the payload is
  // packet[header_len, header_len + payload_len).
  static base::Result<Ipv4Repr, WireError> parse(std::span<const uint8_t> packet,
                                                 bool verify_checksum = true);
  // The same for a datagram whose bytes are not all contiguous (a chained buffer):
  // `header` is its first contiguous bytes (the whole IP header must be there, else
  // kTruncated) and `packet_len` the datagram's full length, which the total length
  // is checked against.
  static base::Result<Ipv4Repr, WireError> parse_header(std::span<const uint8_t> header, size_t packet_len,
                                                        bool verify_checksum = true);

  size_t total_len() const { return size_t{header_len} + payload_len; }
  size_t payload_offset() const { return header_len; }

  // Writes a 20-byte header without options, with total length 20 + payload_len and
  // the header checksum computed. header_len must be 20 (asserted); out must hold at
  // least 20 bytes. frag_offset must be a multiple of 8 (asserted).
  void emit(std::span<uint8_t> out) const;

  bool operator==(const Ipv4Repr&) const = default;
};

}  // namespace joyride::wire
