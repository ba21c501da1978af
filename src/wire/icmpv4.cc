#include "joyride/wire/icmpv4.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"

namespace joyride::wire {
namespace {

constexpr size_t kType = 0;
constexpr size_t kCode = 1;
constexpr size_t kChecksum = 2;
constexpr size_t kIdent = 4;       // echo
constexpr size_t kSeqNo = 6;       // echo
constexpr size_t kRest = 4;        // errors: 4 bytes, unused unless below
constexpr size_t kNextHopMtu = 6;  // destination unreachable, code 4 (RFC 1191)

}  // namespace

base::Result<Icmpv4Repr, WireError> Icmpv4Repr::parse(std::span<const uint8_t> message,
                                                      bool verify_checksum) {
  if (message.size() < kIcmpv4HeaderLen) return base::Err{WireError::kTruncated};
  const uint8_t* p = message.data();
  Icmpv4Repr r;
  r.code = p[kCode];
  switch (p[kType]) {
    case static_cast<uint8_t>(Icmpv4Type::kEchoRequest):
    case static_cast<uint8_t>(Icmpv4Type::kEchoReply):
      r.type = static_cast<Icmpv4Type>(p[kType]);
      r.ident = base::load_be<uint16_t>(p, kIdent);
      r.seq_no = base::load_be<uint16_t>(p, kSeqNo);
      break;
    case static_cast<uint8_t>(Icmpv4Type::kDestUnreachable):
      r.type = Icmpv4Type::kDestUnreachable;
      if (r.code == Icmpv4Unreachable::kFragmentationNeeded) {
        r.next_hop_mtu = base::load_be<uint16_t>(p, kNextHopMtu);
      }
      break;
    case static_cast<uint8_t>(Icmpv4Type::kTimeExceeded):
      r.type = Icmpv4Type::kTimeExceeded;
      break;
    default:
      return base::Err{WireError::kUnsupported};
  }
  // RFC 792: "The checksum is the 16-bit ones's complement of the one's complement sum
  // of the ICMP message starting with the ICMP Type."
  if (verify_checksum && !checksum_verify(message)) return base::Err{WireError::kBadChecksum};
  r.data = message.subspan(kIcmpv4HeaderLen);
  return r;
}

void Icmpv4Repr::emit(std::span<uint8_t> out) const {
  assert(out.size() >= buffer_len());
  uint8_t* p = out.data();
  // memmove: data may overlap out (a reply built inside the request's buffer); when it
  // already sits at out[8..] there is nothing to copy.
  if (!data.empty() && data.data() != p + kIcmpv4HeaderLen) {
    std::memmove(p + kIcmpv4HeaderLen, data.data(), data.size());
  }
  p[kType] = static_cast<uint8_t>(type);
  p[kCode] = code;
  base::store_be<uint16_t>(p, kChecksum, 0);
  switch (type) {
    case Icmpv4Type::kEchoRequest:
    case Icmpv4Type::kEchoReply:
      base::store_be<uint16_t>(p, kIdent, ident);
      base::store_be<uint16_t>(p, kSeqNo, seq_no);
      break;
    case Icmpv4Type::kDestUnreachable:
      base::store_be<uint32_t>(p, kRest, 0);
      if (code == Icmpv4Unreachable::kFragmentationNeeded) {
        base::store_be<uint16_t>(p, kNextHopMtu, next_hop_mtu);
      }
      break;
    case Icmpv4Type::kTimeExceeded:
      base::store_be<uint32_t>(p, kRest, 0);
      break;
  }
  base::store_be<uint16_t>(p, kChecksum, internet_checksum(out.first(buffer_len())));
}

bool Icmpv4Repr::operator==(const Icmpv4Repr& o) const {
  return type == o.type && code == o.code && ident == o.ident && seq_no == o.seq_no &&
         next_hop_mtu == o.next_hop_mtu && std::ranges::equal(data, o.data);
}

}  // namespace joyride::wire
