// Ethernet II framing (IEEE 802.3 with EtherType), with at most one IEEE 802.1Q tag.
//
//   0      6      12          14
//   | dst  | src  | ethertype | payload ...
//   | dst  | src  | 0x8100 | TCI | inner ethertype | payload ...   (802.1Q)
//                 12       14    16                18
//
// The FCS is not part of the frame here: devices strip it on receive and add it on
// transmit. Short frames are padded to 60 bytes by the sender; that padding is part of
// the payload span and the network layer's own length field discards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "joyride/base/result.h"
#include "joyride/wire/address.h"
#include "joyride/wire/error.h"

namespace joyride::wire {

inline constexpr size_t kEthernetHeaderLen = 14;
inline constexpr size_t kVlanTagLen = 4;
// Smallest frame on the wire without FCS (64 bytes minus the 4-byte FCS).
inline constexpr size_t kEthernetMinFrameLen = 60;

// EtherType values (IEEE registry). Plain constants rather than an enum class so they
// compare directly with the uint16_t field.
struct EtherType {
  static constexpr uint16_t kIpv4 = 0x0800;
  static constexpr uint16_t kArp = 0x0806;
  static constexpr uint16_t kVlan = 0x8100;
  static constexpr uint16_t kIpv6 = 0x86DD;
  // Values up to 1500 are an IEEE 802.3 length, not a type; 0x0600 is the first type.
  static constexpr uint16_t kMinType = 0x0600;
};

struct EthernetRepr {
  MacAddress dst{};
  MacAddress src{};
  // With a VLAN tag, the inner (encapsulated) type.
  uint16_t ethertype = 0;
  // The 802.1Q tag control information (PCP, DEI, VID) when the frame was tagged.
  std::optional<uint16_t> vlan_tci{};

  // Errors: kTruncated (shorter than the header, tag included); kUnsupported for 802.3
  // length/LLC frames (type field < 0x0600), which carry nothing this stack handles.
  static base::Result<EthernetRepr, WireError> parse(std::span<const uint8_t> frame);

  // 14, or 18 with a VLAN tag. The payload starts here.
  size_t header_len() const { return vlan_tci ? kEthernetHeaderLen + kVlanTagLen : kEthernetHeaderLen; }
  uint16_t vlan_id() const { return vlan_tci ? static_cast<uint16_t>(*vlan_tci & 0x0fff) : 0; }

  // Writes header_len() bytes; out must be at least that long.
  void emit(std::span<uint8_t> out) const;

  bool operator==(const EthernetRepr&) const = default;
};

}  // namespace joyride::wire
