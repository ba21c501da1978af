// TCP header (RFC 9293 §3.1).
//
//    0                   1                   2                   3
//   |          Source Port          |       Destination Port        |  0
//   |                        Sequence Number                        |  4
//   |                    Acknowledgment Number                      |  8
//   |  Data |       |C|E|U|A|P|R|S|F|                               |
//   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             | 12
//   |           Checksum            |         Urgent Pointer        | 16
//   |                    Options (data offset > 5)                  | 20
//
// The reserved bits are ignored on receive and sent as zero (RFC 9293 §3.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "joyride/base/result.h"
#include "joyride/base/seq.h"
#include "joyride/wire/address.h"
#include "joyride/wire/error.h"
#include "joyride/wire/tcp_options.h"

namespace joyride::wire {

inline constexpr size_t kTcpHeaderLen = 20;
inline constexpr size_t kTcpMaxHeaderLen = 60;

// The flag bits of byte 13 (TcpRepr::flags holds them as a uint8_t).
struct TcpFlags {
  static constexpr uint8_t kFin = 0x01;
  static constexpr uint8_t kSyn = 0x02;
  static constexpr uint8_t kRst = 0x04;
  static constexpr uint8_t kPsh = 0x08;
  static constexpr uint8_t kAck = 0x10;
  static constexpr uint8_t kUrg = 0x20;
  static constexpr uint8_t kEce = 0x40;
  static constexpr uint8_t kCwr = 0x80;

  // True when every bit of `bits` is set in `flags`.
  static constexpr bool has(uint8_t flags, uint8_t bits) { return (flags & bits) == bits; }
  static constexpr bool has_any(uint8_t flags, uint8_t bits) { return (flags & bits) != 0; }
  // tcpdump style: "S", "S.", "P.", "F.", "R", with E/W for ECE/CWR and U for URG.
  static std::string to_string(uint8_t flags);
};

struct TcpRepr {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  base::SeqNum seq{};
  base::SeqNum ack{};
  uint8_t flags = 0;
  uint16_t window = 0;  // as on the wire: not scaled
  uint16_t urgent_ptr = 0;
  TcpOptions options{};
  uint16_t header_len = kTcpHeaderLen;  // parsed data offset * 4
  uint16_t payload_len = 0;

  bool syn() const { return (flags & TcpFlags::kSyn) != 0; }
  bool fin() const { return (flags & TcpFlags::kFin) != 0; }
  bool rst() const { return (flags & TcpFlags::kRst) != 0; }
  bool ack_set() const { return (flags & TcpFlags::kAck) != 0; }
  // Sequence space the segment occupies: payload plus one each for SYN and FIN.
  uint32_t seq_len() const { return payload_len + (syn() ? 1u : 0u) + (fin() ? 1u : 0u); }

  // segment is exactly the TCP segment (the IP payload, trimmed to the IP length): its
  // size is the TCP length of the pseudo header. Errors: kTruncated (< 20 bytes);
  // kBadHeaderLength (data offset < 5 or past the segment); kBadChecksum; kBadOption
  // (tcp_options.h). The payload is segment[header_len, end).
  static base::Result<TcpRepr, WireError> parse(std::span<const uint8_t> segment, const IpAddress& src,
                                                const IpAddress& dst, bool verify_checksum = true);

  // Options bytes emit_header() writes (padded to 4, at most 40).
  size_t options_len() const { return options.emitted_len(); }
  size_t header_len_to_emit() const { return kTcpHeaderLen + options_len(); }

  // Writes header_len_to_emit() bytes: header, options, and the checksum over the
  // pseudo header (TCP length = header_len_to_emit() + payload_len), the header and
  // the payload whose partial sum is payload_sum (checksum_accumulate over the
  // payload, taken as starting at an even offset; 0 for no payload). The header_len
  // member is not used.
  void emit_header(std::span<uint8_t> out, const IpAddress& src, const IpAddress& dst,
                   uint32_t payload_sum) const;
  // Convenience for a contiguous payload of payload_len bytes (asserted).
  void emit_header(std::span<uint8_t> out, const IpAddress& src, const IpAddress& dst,
                   std::span<const uint8_t> payload) const;

  bool operator==(const TcpRepr&) const = default;
};

}  // namespace joyride::wire
