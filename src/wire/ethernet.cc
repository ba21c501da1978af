#include "joyride/wire/ethernet.h"

#include <cassert>

#include "joyride/base/bytes.h"

namespace joyride::wire {
namespace {

// Field offsets.
constexpr size_t kDst = 0;
constexpr size_t kSrc = 6;
constexpr size_t kType = 12;
constexpr size_t kVlanTci = 14;
constexpr size_t kVlanInnerType = 16;

}  // namespace

base::Result<EthernetRepr, WireError> EthernetRepr::parse(std::span<const uint8_t> frame) {
  if (frame.size() < kEthernetHeaderLen) return base::Err{WireError::kTruncated};
  const uint8_t* p = frame.data();
  EthernetRepr r;
  r.dst = MacAddress::from_bytes(p + kDst);
  r.src = MacAddress::from_bytes(p + kSrc);
  r.ethertype = base::load_be<uint16_t>(p, kType);
  if (r.ethertype == EtherType::kVlan) {
    if (frame.size() < kEthernetHeaderLen + kVlanTagLen) return base::Err{WireError::kTruncated};
    r.vlan_tci = base::load_be<uint16_t>(p, kVlanTci);
    r.ethertype = base::load_be<uint16_t>(p, kVlanInnerType);
  }
  if (r.ethertype < EtherType::kMinType) return base::Err{WireError::kUnsupported};
  return r;
}

void EthernetRepr::emit(std::span<uint8_t> out) const {
  assert(out.size() >= header_len());
  uint8_t* p = out.data();
  dst.write(p + kDst);
  src.write(p + kSrc);
  if (vlan_tci) {
    base::store_be<uint16_t>(p, kType, EtherType::kVlan);
    base::store_be<uint16_t>(p, kVlanTci, *vlan_tci);
    base::store_be<uint16_t>(p, kVlanInnerType, ethertype);
  } else {
    base::store_be<uint16_t>(p, kType, ethertype);
  }
}

}  // namespace joyride::wire
