#include "joyride/wire/ipv4.h"

#include <cassert>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"

namespace joyride::wire {
namespace {

constexpr size_t kVersionIhl = 0;
constexpr size_t kDscpEcn = 1;
constexpr size_t kTotalLength = 2;
constexpr size_t kIdent = 4;
constexpr size_t kFlagsFragment = 6;
constexpr size_t kTtl = 8;
constexpr size_t kProtocol = 9;
constexpr size_t kChecksum = 10;
constexpr size_t kSrc = 12;
constexpr size_t kDst = 16;

// RFC 791: "Bit 0: reserved, must be zero; Bit 1: (DF); Bit 2: (MF)".
constexpr uint16_t kFlagReserved = 0x8000;
constexpr uint16_t kFlagDontFragment = 0x4000;
constexpr uint16_t kFlagMoreFragments = 0x2000;
constexpr uint16_t kFragmentMask = 0x1fff;

}  // namespace

base::Result<Ipv4Repr, WireError> Ipv4Repr::parse(std::span<const uint8_t> packet, bool verify_checksum) {
  return parse_header(packet, packet.size(), verify_checksum);
}

base::Result<Ipv4Repr, WireError> Ipv4Repr::parse_header(std::span<const uint8_t> packet, size_t packet_len,
                                                         bool verify_checksum) {
  if (packet.size() < kIpv4HeaderLen || packet_len < packet.size()) return base::Err{WireError::kTruncated};
  const uint8_t* p = packet.data();
  if ((p[kVersionIhl] >> 4) != 4) return base::Err{WireError::kBadVersion};
  const size_t header_len = size_t{p[kVersionIhl] & 0x0fu} * 4;
  if (header_len < kIpv4HeaderLen) return base::Err{WireError::kBadHeaderLength};
  if (header_len > packet.size()) return base::Err{WireError::kTruncated};
  const uint16_t total_len = base::load_be<uint16_t>(p, kTotalLength);
  if (total_len < header_len) return base::Err{WireError::kBadLength};
  if (total_len > packet_len) return base::Err{WireError::kTruncated};

  const uint16_t flags_frag = base::load_be<uint16_t>(p, kFlagsFragment);
  if (flags_frag & kFlagReserved) return base::Err{WireError::kMalformed};
  // RFC 1071: the sum over the header including its checksum field folds to zero.
  if (verify_checksum && !checksum_verify(packet.first(header_len))) {
    return base::Err{WireError::kBadChecksum};
  }

  Ipv4Repr r;
  r.src = Ipv4Address::from_bytes(p + kSrc);
  r.dst = Ipv4Address::from_bytes(p + kDst);
  r.protocol = p[kProtocol];
  r.ttl = p[kTtl];
  r.dscp_ecn = p[kDscpEcn];
  r.ident = base::load_be<uint16_t>(p, kIdent);
  r.dont_fragment = (flags_frag & kFlagDontFragment) != 0;
  r.more_fragments = (flags_frag & kFlagMoreFragments) != 0;
  r.frag_offset = static_cast<uint16_t>((flags_frag & kFragmentMask) * 8);
  r.header_len = static_cast<uint16_t>(header_len);
  r.payload_len = static_cast<uint16_t>(total_len - header_len);
  return r;
}

void Ipv4Repr::emit(std::span<uint8_t> out) const {
  assert(out.size() >= kIpv4HeaderLen);
  assert(header_len == kIpv4HeaderLen);
  assert(frag_offset % 8 == 0);
  assert(payload_len <= 0xffff - kIpv4HeaderLen);
  uint8_t* p = out.data();
  p[kVersionIhl] = 0x45;
  p[kDscpEcn] = dscp_ecn;
  base::store_be<uint16_t>(p, kTotalLength, static_cast<uint16_t>(kIpv4HeaderLen + payload_len));
  base::store_be<uint16_t>(p, kIdent, ident);
  uint16_t flags_frag = static_cast<uint16_t>((frag_offset / 8) & kFragmentMask);
  if (dont_fragment) flags_frag |= kFlagDontFragment;
  if (more_fragments) flags_frag |= kFlagMoreFragments;
  base::store_be<uint16_t>(p, kFlagsFragment, flags_frag);
  p[kTtl] = ttl;
  p[kProtocol] = protocol;
  base::store_be<uint16_t>(p, kChecksum, 0);
  src.write(p + kSrc);
  dst.write(p + kDst);
  base::store_be<uint16_t>(p, kChecksum, internet_checksum(out.first(kIpv4HeaderLen)));
}

}  // namespace joyride::wire
