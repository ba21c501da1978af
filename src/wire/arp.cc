#include "joyride/wire/arp.h"

#include <cassert>

#include "joyride/base/bytes.h"
#include "joyride/wire/ethernet.h"

namespace joyride::wire {
namespace {

constexpr size_t kHtype = 0;
constexpr size_t kPtype = 2;
constexpr size_t kHlen = 4;
constexpr size_t kPlen = 5;
constexpr size_t kOp = 6;
constexpr size_t kSenderMac = 8;
constexpr size_t kSenderIp = 14;
constexpr size_t kTargetMac = 18;
constexpr size_t kTargetIp = 24;

}  // namespace

base::Result<ArpRepr, WireError> ArpRepr::parse(std::span<const uint8_t> packet) {
  if (packet.size() < kLen) return base::Err{WireError::kTruncated};
  const uint8_t* p = packet.data();
  if (base::load_be<uint16_t>(p, kHtype) != kHardwareEthernet ||
      base::load_be<uint16_t>(p, kPtype) != EtherType::kIpv4 || p[kHlen] != 6 || p[kPlen] != 4) {
    return base::Err{WireError::kUnsupported};
  }
  const uint16_t op = base::load_be<uint16_t>(p, kOp);
  if (op != static_cast<uint16_t>(ArpOp::kRequest) && op != static_cast<uint16_t>(ArpOp::kReply)) {
    return base::Err{WireError::kUnsupported};
  }
  ArpRepr r;
  r.op = static_cast<ArpOp>(op);
  r.sender_mac = MacAddress::from_bytes(p + kSenderMac);
  r.sender_ip = Ipv4Address::from_bytes(p + kSenderIp);
  r.target_mac = MacAddress::from_bytes(p + kTargetMac);
  r.target_ip = Ipv4Address::from_bytes(p + kTargetIp);
  return r;
}

void ArpRepr::emit(std::span<uint8_t> out) const {
  assert(out.size() >= kLen);
  uint8_t* p = out.data();
  base::store_be<uint16_t>(p, kHtype, kHardwareEthernet);
  base::store_be<uint16_t>(p, kPtype, EtherType::kIpv4);
  p[kHlen] = 6;
  p[kPlen] = 4;
  base::store_be<uint16_t>(p, kOp, static_cast<uint16_t>(op));
  sender_mac.write(p + kSenderMac);
  sender_ip.write(p + kSenderIp);
  target_mac.write(p + kTargetMac);
  target_ip.write(p + kTargetIp);
}

}  // namespace joyride::wire
