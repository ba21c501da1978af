// ICMPv4 (RFC 792), the messages a host stack needs: echo request/reply, destination
// unreachable (with the RFC 1191 next-hop MTU for "fragmentation needed") and time
// exceeded.
//
//   0      1      2          4                          8
//   | type | code | checksum | rest of header (4 bytes) | data ...
//
// rest of header: echo -> identifier, sequence number; destination unreachable ->
// unused (2), next-hop MTU (2, code 4 only); time exceeded -> unused (4).
//
// Lifetime: `data` is a view into the buffer given to parse() (or, for emit, the
// caller's bytes). It is valid only as long as that buffer; copy what must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "joyride/base/result.h"
#include "joyride/wire/error.h"

namespace joyride::wire {

inline constexpr size_t kIcmpv4HeaderLen = 8;

enum class Icmpv4Type : uint8_t {
  kEchoReply = 0,
  kDestUnreachable = 3,
  kEchoRequest = 8,
  kTimeExceeded = 11,
};

// Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).
struct Icmpv4Unreachable {
  static constexpr uint8_t kNetUnreachable = 0;
  static constexpr uint8_t kHostUnreachable = 1;
  static constexpr uint8_t kProtocolUnreachable = 2;
  static constexpr uint8_t kPortUnreachable = 3;
  static constexpr uint8_t kFragmentationNeeded = 4;
  static constexpr uint8_t kSourceRouteFailed = 5;
  static constexpr uint8_t kNetUnknown = 6;
  static constexpr uint8_t kHostUnknown = 7;
  static constexpr uint8_t kNetProhibited = 9;
  static constexpr uint8_t kHostProhibited = 10;
  static constexpr uint8_t kAdminProhibited = 13;
};

// Time exceeded codes (RFC 792).
struct Icmpv4TimeExceeded {
  static constexpr uint8_t kTtlExceeded = 0;
  static constexpr uint8_t kReassemblyExceeded = 1;
};

struct Icmpv4Repr {
  Icmpv4Type type = Icmpv4Type::kEchoRequest;
  uint8_t code = 0;
  // Echo request/reply only.
  uint16_t ident = 0;
  uint16_t seq_no = 0;
  // Destination unreachable with code kFragmentationNeeded only (RFC 1191 §4);
  // 0 from an old router that does not fill it in.
  uint16_t next_hop_mtu = 0;
  // Echo: the echoed data. Errors: the quoted original IP header and leading payload
  // bytes (RFC 792: "Internet Header + 64 bits of Original Data Datagram"; Linux
  // quotes more). The wire layer does not interpret it.
  std::span<const uint8_t> data{};

  bool is_error() const {
    return type == Icmpv4Type::kDestUnreachable || type == Icmpv4Type::kTimeExceeded;
  }

  // message is the whole ICMP message (the IPv4 payload). Errors: kTruncated (< 8
  // bytes); kBadChecksum (over the whole message, skipped when verify_checksum is
  // false); kUnsupported for any other type.
  static base::Result<Icmpv4Repr, WireError> parse(std::span<const uint8_t> message,
                                                   bool verify_checksum = true);

  size_t buffer_len() const { return kIcmpv4HeaderLen + data.size(); }
  // Writes buffer_len() bytes with the checksum computed. `data` may already sit at
  // out[8..] (an echo reply built in place); overlapping is handled.
  void emit(std::span<uint8_t> out) const;

  // Compares the data by content, not by address.
  bool operator==(const Icmpv4Repr& o) const;
};

}  // namespace joyride::wire
