#include "joyride/wire/tcp.h"

#include <cassert>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ipv4.h"

namespace joyride::wire {
namespace {

constexpr size_t kSrcPort = 0;
constexpr size_t kDstPort = 2;
constexpr size_t kSeq = 4;
constexpr size_t kAck = 8;
constexpr size_t kDataOffset = 12;  // high nibble, 32-bit words
constexpr size_t kFlags = 13;
constexpr size_t kWindow = 14;
constexpr size_t kChecksum = 16;
constexpr size_t kUrgent = 18;

}  // namespace

std::string TcpFlags::to_string(uint8_t flags) {
  std::string s;
  if (flags & kFin) s += 'F';
  if (flags & kSyn) s += 'S';
  if (flags & kRst) s += 'R';
  if (flags & kPsh) s += 'P';
  if (flags & kUrg) s += 'U';
  if (flags & kEce) s += 'E';
  if (flags & kCwr) s += 'W';
  if (flags & kAck) s += '.';
  if (s.empty()) s = "none";
  return s;
}

base::Result<TcpRepr, WireError> TcpRepr::parse(std::span<const uint8_t> segment, const IpAddress& src,
                                                const IpAddress& dst, bool verify_checksum) {
  if (segment.size() < kTcpHeaderLen) return base::Err{WireError::kTruncated};
  const uint8_t* p = segment.data();
  const size_t header_len = size_t{static_cast<uint8_t>(p[kDataOffset] >> 4)} * 4;
  if (header_len < kTcpHeaderLen || header_len > segment.size()) {
    return base::Err{WireError::kBadHeaderLength};
  }
  // A segment longer than 65535 bytes cannot come from IPv4 and needs an IPv6
  // jumbogram, which this stack does not support.
  if (segment.size() > 0xffff) return base::Err{WireError::kBadLength};
  if (verify_checksum &&
      !checksum_verify(segment, pseudo_header(src, dst, IpProtocol::kTcp, static_cast<uint32_t>(segment.size())))) {
    return base::Err{WireError::kBadChecksum};
  }
  auto options = TcpOptions::parse(segment.subspan(kTcpHeaderLen, header_len - kTcpHeaderLen));
  if (!options) return base::Err{options.error()};

  TcpRepr r;
  r.src_port = base::load_be<uint16_t>(p, kSrcPort);
  r.dst_port = base::load_be<uint16_t>(p, kDstPort);
  r.seq = base::SeqNum(base::load_be<uint32_t>(p, kSeq));
  r.ack = base::SeqNum(base::load_be<uint32_t>(p, kAck));
  r.flags = p[kFlags];
  r.window = base::load_be<uint16_t>(p, kWindow);
  r.urgent_ptr = base::load_be<uint16_t>(p, kUrgent);
  r.options = *options;
  r.header_len = static_cast<uint16_t>(header_len);
  r.payload_len = static_cast<uint16_t>(segment.size() - header_len);
  return r;
}

void TcpRepr::emit_header(std::span<uint8_t> out, const IpAddress& src, const IpAddress& dst,
                          uint32_t payload_sum) const {
  const size_t header_len_out = header_len_to_emit();
  assert(out.size() >= header_len_out);
  assert(header_len_out + payload_len <= 0xffff);
  uint8_t* p = out.data();
  base::store_be<uint16_t>(p, kSrcPort, src_port);
  base::store_be<uint16_t>(p, kDstPort, dst_port);
  base::store_be<uint32_t>(p, kSeq, seq.value());
  base::store_be<uint32_t>(p, kAck, ack.value());
  p[kDataOffset] = static_cast<uint8_t>((header_len_out / 4) << 4);
  p[kFlags] = flags;
  base::store_be<uint16_t>(p, kWindow, window);
  base::store_be<uint16_t>(p, kChecksum, 0);
  base::store_be<uint16_t>(p, kUrgent, urgent_ptr);
  options.emit(out.subspan(kTcpHeaderLen));

  const auto tcp_len = static_cast<uint32_t>(header_len_out + payload_len);
  uint32_t sum = pseudo_header(src, dst, IpProtocol::kTcp, tcp_len);
  sum = checksum_accumulate(out.first(header_len_out), sum);
  // Unlike UDP, TCP has no "no checksum" value, so a computed 0 is sent as 0.
  base::store_be<uint16_t>(p, kChecksum, checksum_fold(checksum_combine(sum, payload_sum)));
}

void TcpRepr::emit_header(std::span<uint8_t> out, const IpAddress& src, const IpAddress& dst,
                          std::span<const uint8_t> payload) const {
  assert(payload.size() == payload_len);
  emit_header(out, src, dst, checksum_accumulate(payload));
}

}  // namespace joyride::wire
