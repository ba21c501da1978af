#include "joyride/core/icmpv4_layer.h"

#include <algorithm>

#include "joyride/base/bytes.h"
#include "joyride/core/frame.h"
#include "joyride/core/packet_checksum.h"
#include "joyride/core/ping_sockets.h"
#include "joyride/core/tcp_layer.h"
#include "joyride/core/udp_layer.h"
#include "joyride/wire/checksum.h"

namespace joyride::core {

using wire::Icmpv4Repr;
using wire::Icmpv4Type;
using wire::Ipv4Repr;

std::optional<IcmpSocketError> icmp_socket_error(uint8_t type, uint8_t code) {
  if (type == static_cast<uint8_t>(Icmpv4Type::kTimeExceeded)) return IcmpSocketError{RecvError::kHostUnreachable, false};
  if (type == kIcmpv4ParameterProblem) return IcmpSocketError{RecvError::kProtocolError, true};
  if (type != static_cast<uint8_t>(Icmpv4Type::kDestUnreachable)) return std::nullopt;
  // icmp_err_convert, by code: {errno, fatal}.
  switch (code) {
    case 0: return IcmpSocketError{RecvError::kNoRoute, false};              // net unreachable
    case 1: return IcmpSocketError{RecvError::kHostUnreachable, false};      // host unreachable
    case 2: return IcmpSocketError{RecvError::kProtocolUnavailable, true};   // protocol unreachable
    case 3: return IcmpSocketError{RecvError::kConnectionRefused, true};     // port unreachable
    case 5: return IcmpSocketError{RecvError::kNotSupported, false};         // source route failed
    case 6: return IcmpSocketError{RecvError::kNoRoute, true};               // destination net unknown
    case 7: return IcmpSocketError{RecvError::kHostDown, true};              // destination host unknown
    case 8: return IcmpSocketError{RecvError::kNoNetwork, true};             // source host isolated
    case 9: return IcmpSocketError{RecvError::kNoRoute, true};               // net prohibited
    case 10: return IcmpSocketError{RecvError::kHostUnreachable, true};      // host prohibited
    case 11: return IcmpSocketError{RecvError::kNoRoute, false};             // net unreachable for TOS
    case 12: return IcmpSocketError{RecvError::kHostUnreachable, false};     // host unreachable for TOS
    case 13:                                                                 // communication prohibited
    case 14:                                                                 // host precedence violation
    case 15: return IcmpSocketError{RecvError::kHostUnreachable, true};      // precedence cutoff
    default: return std::nullopt;  // 4 (fragmentation needed) and codes Linux does not know
  }
}

namespace {

// An error message quotes the offending datagram; Linux keeps the whole error
// within 576 bytes (RFC 1812 §4.3.2.3), so do we.
constexpr size_t kMaxErrorDatagram = 576;
constexpr size_t kMaxQuotedPayload = kMaxErrorDatagram - 20 /*ip*/ - 8 /*icmp*/ - 20 /*quoted ip*/;

}  // namespace

Icmpv4Layer::Icmpv4Layer(const IcmpConfig& config, Ipv4Layer& ip, buf::PacketPool& pool)
    : config_(config), ip_(ip), pool_(pool), tokens_(config.error_burst) {}

void Icmpv4Layer::input(const Ipv4RxContext& ctx, buf::Packet message, base::Instant now) {
  counters_.inc(IcmpCounter::kRxMessages);
  if (message.len() < wire::kIcmpv4HeaderLen || message.head_len() < wire::kIcmpv4HeaderLen) {
    counters_.inc(IcmpCounter::kDropMalformed);
    return;
  }
  // Verified over the whole chain here, so the header parse below need not (a
  // reassembled 60 KB echo spans many segments).
  if (wire::checksum_fold(packet_checksum_accumulate(message)) != 0) {
    counters_.inc(IcmpCounter::kDropBadChecksum);
    return;
  }
  if (message.data()[0] == kIcmpv4ParameterProblem) {
    counters_.inc(IcmpCounter::kRxParameterProblem);
    handle_error(kIcmpv4ParameterProblem, message.data()[1], 0, message.head_bytes().subspan(wire::kIcmpv4HeaderLen),
                 now);
    return;
  }
  auto parsed = Icmpv4Repr::parse(message.head_bytes(), /*verify_checksum=*/false);
  if (!parsed) {
    counters_.inc(parsed.error() == wire::WireError::kUnsupported ? IcmpCounter::kDropUnsupportedType
                                                                   : IcmpCounter::kDropMalformed);
    return;
  }
  switch (parsed->type) {
    case Icmpv4Type::kEchoRequest:
      counters_.inc(IcmpCounter::kRxEchoRequests);
      if (ctx.broadcast && config_.echo_ignore_broadcasts) {
        counters_.inc(IcmpCounter::kDropBroadcastEcho);
        return;
      }
      answer_echo(ctx, *parsed, std::move(message), now);
      return;
    case Icmpv4Type::kEchoReply:
      counters_.inc(IcmpCounter::kRxEchoReplies);
      if (ping_ != nullptr) ping_->deliver_reply(ctx, *parsed, message);
      return;
    case Icmpv4Type::kDestUnreachable:
      counters_.inc(IcmpCounter::kRxDestUnreachable);
      handle_error(static_cast<uint8_t>(parsed->type), parsed->code, parsed->next_hop_mtu, parsed->data, now);
      return;
    case Icmpv4Type::kTimeExceeded:
      counters_.inc(IcmpCounter::kRxTimeExceeded);
      handle_error(static_cast<uint8_t>(parsed->type), parsed->code, 0, parsed->data, now);
      return;
  }
  counters_.inc(IcmpCounter::kDropUnsupportedType);
}

void Icmpv4Layer::answer_echo(const Ipv4RxContext& ctx, const Icmpv4Repr& request, buf::Packet message,
                              base::Instant now) {
  (void)request;
  // Turn the request into the reply in place: only the type changes, so the
  // checksum is updated incrementally (RFC 1624) instead of summed again.
  if (!message.head()->writable()) {
    message = message.copy(pool_, kPacketHeadroom);
    if (message.empty()) {
      counters_.inc(IcmpCounter::kDropNoBuffers);
      return;
    }
  }
  uint8_t* hdr = message.data();
  const uint16_t old_word = base::load_be<uint16_t>(hdr, 0);
  hdr[0] = static_cast<uint8_t>(Icmpv4Type::kEchoReply);
  const uint16_t new_word = base::load_be<uint16_t>(hdr, 0);
  const uint16_t old_sum = base::load_be<uint16_t>(hdr, 2);
  base::store_be<uint16_t>(hdr, 2, wire::checksum_update16(old_sum, old_word, new_word));

  Ipv4SendParams params;
  params.src = ctx.broadcast ? wire::Ipv4Address() : ctx.header.dst;
  params.dst = ctx.header.src;
  params.protocol = wire::IpProtocol::kIcmp;
  params.tos = ctx.header.dscp_ecn & 0xfc;
  auto sent = ip_.output(params, std::move(message), now);
  if (sent) {
    counters_.inc(IcmpCounter::kTxEchoReplies);
  } else if (sent.error() == SendError::kNoBuffers) {
    counters_.inc(IcmpCounter::kDropNoBuffers);
  }  // else counted by the IP layer (no route, ...)
}

void Icmpv4Layer::handle_error(uint8_t type, uint8_t code, uint16_t next_hop_mtu, std::span<const uint8_t> q,
                               base::Instant now) {
  // The quoted datagram: its IP header (possibly truncated after 8 payload bytes, so
  // not parsed with Ipv4Repr::parse, which checks the total length).
  if (q.size() < 20 || (q[0] >> 4) != 4) {
    counters_.inc(IcmpCounter::kDropMalformed);
    return;
  }
  const size_t ihl = static_cast<size_t>(q[0] & 0x0f) * 4;
  if (ihl < 20 || q.size() < ihl) {
    counters_.inc(IcmpCounter::kDropMalformed);
    return;
  }
  const uint8_t protocol = q[9];
  const wire::Ipv4Address src = wire::Ipv4Address::from_bytes(q.data() + 12);
  const wire::Ipv4Address dst = wire::Ipv4Address::from_bytes(q.data() + 16);
  const auto transport = q.subspan(ihl);
  const bool unreachable = type == static_cast<uint8_t>(Icmpv4Type::kDestUnreachable);

  if (unreachable && code == wire::Icmpv4Unreachable::kFragmentationNeeded) {
    handle_frag_needed(protocol, src, dst, transport, next_hop_mtu, now);
    return;
  }
  // UDP hears of all three types (__udp4_lib_err; its sockets report the hard ones).
  if (protocol == wire::IpProtocol::kUdp && udp_ != nullptr && transport.size() >= 4) {
    const uint16_t sport = base::load_be<uint16_t>(transport.data(), 0);
    const uint16_t dport = base::load_be<uint16_t>(transport.data(), 2);
    udp_->on_icmp_error(src, sport, dst, dport, type, code);
  }
  // TCP needs the quoted sequence number too (RFC 792 quotes 8 bytes at least).
  if (protocol == wire::IpProtocol::kTcp && tcp_ != nullptr && transport.size() >= 8) {
    const uint16_t sport = base::load_be<uint16_t>(transport.data(), 0);
    const uint16_t dport = base::load_be<uint16_t>(transport.data(), 2);
    const base::SeqNum seq(base::load_be<uint32_t>(transport.data(), 4));
    const TcpIcmpError kind = unreachable                                           ? TcpIcmpError::kDestUnreachable
                              : type == static_cast<uint8_t>(Icmpv4Type::kTimeExceeded) ? TcpIcmpError::kTimeExceeded
                                                                                        : TcpIcmpError::kParameterProblem;
    tcp_->on_icmp_error(src, sport, dst, dport, seq, kind, code, now);
  }
}

void Icmpv4Layer::handle_frag_needed(uint8_t protocol, wire::Ipv4Address src, wire::Ipv4Address dst,
                                     std::span<const uint8_t> transport, uint16_t mtu, base::Instant now) {
  // Below the smallest link MTU (RFC 791) the report is bogus. 0 is RFC 1191 §5's
  // router that predates the MTU field; we do not guess plateaus for it (neither does
  // Linux, which ignores it too unless told otherwise).
  if (mtu < kMinIpv4LinkMtu) {
    counters_.inc(IcmpCounter::kDropPmtuBadMtu);
    return;
  }
  if (protocol == wire::IpProtocol::kTcp) {
    // RFC 5927 §4.2-4.3: a forged frag-needed can shrink a connection's segments (or,
    // with DF, stall it), so TCP first checks the quoted sequence number against what
    // it has in flight. The path MTU moves only if it passes: TcpLayer::on_frag_needed.
    if (transport.size() < 8) {
      counters_.inc(IcmpCounter::kDropMalformed);
      return;
    }
    if (tcp_ != nullptr) {
      tcp_->on_frag_needed(src, base::load_be<uint16_t>(transport.data(), 0), dst,
                           base::load_be<uint16_t>(transport.data(), 2),
                           base::SeqNum(base::load_be<uint32_t>(transport.data(), 4)), mtu, now);
    }
    return;
  }
  // UDP, ICMP and the rest quote nothing we could check a report against; it is
  // believed, as Linux's ipv4_update_pmtu does for them (the floor of min_pmtu bounds
  // the harm).
  ip_.update_path_mtu(dst, mtu, now);
}

bool Icmpv4Layer::take_token(base::Instant now) {
  const double elapsed = (now - last_refill_).as_seconds();
  last_refill_ = now;
  tokens_ = std::min<double>(config_.error_burst, tokens_ + elapsed * config_.errors_per_second);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void Icmpv4Layer::send_dest_unreachable(uint8_t code, const Ipv4Repr& original, const buf::Packet& payload,
                                        base::Instant now) {
  send_error(Icmpv4Type::kDestUnreachable, code, original, payload, now);
}

void Icmpv4Layer::on_reassembly_timeout(const Ipv4Repr& header, const buf::Packet& first_fragment,
                                        base::Instant now) {
  // first_fragment starts at its IP header: quote its payload.
  buf::Packet payload = first_fragment.clone(pool_);
  if (payload.empty() || !payload.trim_front(header.header_len)) {
    counters_.inc(IcmpCounter::kDropNoBuffers);
    return;
  }
  send_error(Icmpv4Type::kTimeExceeded, wire::Icmpv4TimeExceeded::kReassemblyExceeded, header, payload, now);
}

void Icmpv4Layer::send_error(Icmpv4Type type, uint8_t code, const Ipv4Repr& original,
                             const buf::Packet& payload, base::Instant now) {
  // RFC 1122 §3.2.2: never about an ICMP error, a broadcast or multicast, a
  // non-initial fragment, or a datagram whose source is not a unicast host.
  if (original.frag_offset != 0 || original.dst.is_broadcast() || original.dst.is_multicast() ||
      original.src.is_unspecified() || original.src.is_broadcast() || original.src.is_multicast()) {
    return;
  }
  if (original.protocol == wire::IpProtocol::kIcmp && payload.len() >= 1) {
    uint8_t t = 0;
    payload.copy_out(0, std::span<uint8_t>(&t, 1));
    if (t != static_cast<uint8_t>(Icmpv4Type::kEchoRequest) && t != static_cast<uint8_t>(Icmpv4Type::kEchoReply)) {
      return;
    }
  }
  if (!take_token(now)) {
    counters_.inc(IcmpCounter::kDropRateLimited);
    return;
  }
  // Quote: the original header (re-emitted without options) and leading payload.
  uint8_t quote[20 + kMaxQuotedPayload];
  Ipv4Repr quoted = original;
  quoted.header_len = 20;
  quoted.emit(std::span<uint8_t>(quote, 20));
  const size_t n = std::min(payload.len(), kMaxQuotedPayload);
  payload.copy_out(0, std::span<uint8_t>(quote + 20, n));

  Icmpv4Repr msg;
  msg.type = type;
  msg.code = code;
  msg.data = std::span<const uint8_t>(quote, 20 + n);
  buf::Packet p = pool_.alloc(kPacketHeadroom);
  uint8_t* out = p.empty() ? nullptr : p.append(msg.buffer_len());
  if (out == nullptr) {
    counters_.inc(IcmpCounter::kDropNoBuffers);
    return;
  }
  msg.emit(std::span<uint8_t>(out, msg.buffer_len()));
  Ipv4SendParams params;
  params.src = original.dst;
  params.dst = original.src;
  params.protocol = wire::IpProtocol::kIcmp;
  params.tos = 0xc0;  // Linux sends ICMP errors with precedence "internetwork control"
  if (!ip_.output(params, std::move(p), now)) return;
  counters_.inc(type == Icmpv4Type::kTimeExceeded ? IcmpCounter::kTxTimeExceeded
                                                  : IcmpCounter::kTxDestUnreachable);
}

}  // namespace joyride::core
