// ARP for IPv4 over Ethernet (RFC 826). Only that combination exists in practice, so
// the repr holds it directly and the parser refuses every other hardware/protocol
// pair.
//
//   0       2       4    5    6    8            14          18           24         28
//   | htype | ptype | hl | pl | op | sender mac | sender ip | target mac | target ip |
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "joyride/base/result.h"
#include "joyride/wire/address.h"
#include "joyride/wire/error.h"

namespace joyride::wire {

enum class ArpOp : uint16_t { kRequest = 1, kReply = 2 };

struct ArpRepr {
  static constexpr size_t kLen = 28;
  static constexpr uint16_t kHardwareEthernet = 1;

  ArpOp op = ArpOp::kRequest;
  MacAddress sender_mac{};
  Ipv4Address sender_ip{};
  MacAddress target_mac{};
  Ipv4Address target_ip{};

  // Errors: kTruncated (< 28 bytes); kUnsupported for htype != 1, ptype != 0x0800,
  // hlen != 6, plen != 4, or an op other than request/reply (RARP, InARP, ...).
  // Bytes past 28 (Ethernet padding) are ignored.
  static base::Result<ArpRepr, WireError> parse(std::span<const uint8_t> packet);

  size_t buffer_len() const { return kLen; }
  // Writes kLen bytes; out must be at least that long.
  void emit(std::span<uint8_t> out) const;

  bool operator==(const ArpRepr&) const = default;
};

}  // namespace joyride::wire
