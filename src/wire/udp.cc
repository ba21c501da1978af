#include "joyride/wire/udp.h"

#include <cassert>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ipv4.h"

namespace joyride::wire {
namespace {

constexpr size_t kSrcPort = 0;
constexpr size_t kDstPort = 2;
constexpr size_t kLength = 4;
constexpr size_t kChecksum = 6;

}  // namespace

base::Result<UdpRepr, WireError> UdpRepr::parse(std::span<const uint8_t> datagram, const IpAddress& src,
                                                const IpAddress& dst, bool verify_checksum) {
  if (datagram.size() < kUdpHeaderLen) return base::Err{WireError::kTruncated};
  const uint8_t* p = datagram.data();
  const uint16_t length = base::load_be<uint16_t>(p, kLength);
  if (length < kUdpHeaderLen) return base::Err{WireError::kBadLength};
  if (length > datagram.size()) return base::Err{WireError::kTruncated};

  if (verify_checksum) {
    const uint16_t field = base::load_be<uint16_t>(p, kChecksum);
    // RFC 768: "An all zero transmitted checksum value means that the transmitter
    // generated no checksum". RFC 8200 §8.1 removes that option for IPv6.
    if (field == 0) {
      if (!src.is_v4()) return base::Err{WireError::kBadChecksum};
    } else if (!checksum_verify(datagram.first(length), pseudo_header(src, dst, IpProtocol::kUdp, length))) {
      return base::Err{WireError::kBadChecksum};
    }
  }

  UdpRepr r;
  r.src_port = base::load_be<uint16_t>(p, kSrcPort);
  r.dst_port = base::load_be<uint16_t>(p, kDstPort);
  r.payload_len = static_cast<uint16_t>(length - kUdpHeaderLen);
  return r;
}

void UdpRepr::emit_header(std::span<uint8_t> out, const IpAddress& src, const IpAddress& dst,
                          std::span<const uint8_t> payload) const {
  assert(payload.size() == payload_len);
  emit_header_with_payload_sum(out, src, dst, checksum_accumulate(payload));
}

void UdpRepr::emit_header_with_payload_sum(std::span<uint8_t> out, const IpAddress& src,
                                           const IpAddress& dst, uint32_t payload_sum) const {
  assert(out.size() >= kUdpHeaderLen);
  assert(payload_len <= 0xffff - kUdpHeaderLen);
  uint8_t* p = out.data();
  const auto length = static_cast<uint16_t>(kUdpHeaderLen + payload_len);
  base::store_be<uint16_t>(p, kSrcPort, src_port);
  base::store_be<uint16_t>(p, kDstPort, dst_port);
  base::store_be<uint16_t>(p, kLength, length);
  base::store_be<uint16_t>(p, kChecksum, 0);
  uint32_t sum = pseudo_header(src, dst, IpProtocol::kUdp, length);
  sum = checksum_accumulate(out.first(kUdpHeaderLen), sum);
  uint16_t checksum = checksum_fold(checksum_combine(sum, payload_sum));
  // RFC 768: "If the computed checksum is zero, it is transmitted as all ones".
  if (checksum == 0) checksum = 0xffff;
  base::store_be<uint16_t>(p, kChecksum, checksum);
}

}  // namespace joyride::wire
