#include "joyride/core/ipv4_layer.h"

#include <algorithm>

#include "joyride/base/bytes.h"
#include "joyride/core/frame.h"
#include "joyride/core/icmpv4_layer.h"
#include "joyride/core/packet_checksum.h"
#include "joyride/core/tcp_layer.h"
#include "joyride/core/udp_layer.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/icmpv4.h"
#include "joyride/wire/ipv4.h"

namespace joyride::core {

using wire::Ipv4Address;
using wire::Ipv4Repr;

Ipv4Layer::Ipv4Layer(const Ipv4Config& config, const InterfaceTable& interfaces,
                     const RoutingTable& routes, buf::PacketPool& pool, ArpResolver& arp,
                     Ipv4Reassembler& reassembler, EthernetLink& link, base::RandomSource& random)
    : config_(config),
      interfaces_(interfaces),
      routes_(routes),
      pool_(pool),
      arp_(arp),
      reassembler_(reassembler),
      link_(link),
      idents_(random) {
  for (const Interface& itf : interfaces_.all()) tx_l4_checksum_offload_ |= itf.config.tx_l4_checksum_offload;
}

bool Ipv4Layer::is_for_us(uint32_t ifindex, Ipv4Address dst, bool* broadcast) const {
  *broadcast = false;
  if (interfaces_.is_local(dst)) return true;
  const Interface* itf = interfaces_.get(ifindex);
  if (dst.is_broadcast() || (itf != nullptr && itf->is_directed_broadcast(dst))) {
    *broadcast = true;
    return true;
  }
  return false;
}

bool Ipv4Layer::is_martian_source(uint32_t ifindex, Ipv4Address src, Ipv4Address dst) const {
  // As Linux (ip_route_input_slow, fib_validate_source): a broadcast or multicast
  // source, a subnet-directed broadcast of the receiving interface, or a loopback
  // address off the loopback device; answering any of them would send to many hosts
  // or to ourselves. Our own address as source only arrives by reflection or
  // spoofing (our own loopback traffic does not pass through here). 0.0.0.0 is
  // accepted only towards the limited broadcast (a DHCP client without an address).
  if (src.is_broadcast() || src.is_multicast() || src.is_loopback() || interfaces_.is_local(src)) return true;
  if (src.is_unspecified() && !dst.is_broadcast()) return true;
  const Interface* itf = interfaces_.get(ifindex);
  return itf != nullptr && itf->is_directed_broadcast(src);
}

void Ipv4Layer::input(uint32_t ifindex, buf::Packet& packet, base::Instant now) {
  counters_.inc(Ipv4Counter::kRxPackets);
  // A device that verified the header checksum says so (buf::Offload).
  const bool verified = (packet.offload() & buf::kRxIpv4ChecksumGood) != 0;
  // Fast path: a 20-byte header, not a fragment (DF may be set), TTL not zero, total
  // length within the frame, of the flow the previous datagram was (rx_flow_: the
  // address checks are done), and a good checksum. parse_header and the checks below
  // would accept it and deliver the same context.
  if (rx_flow_.valid && packet.head_len() >= wire::kIpv4HeaderLen) {
    const uint8_t* p = packet.data();
    const uint16_t total = base::load_be<uint16_t>(p, 2);
    const uint16_t flags_frag = base::load_be<uint16_t>(p, 6);
    if (p[0] == 0x45 && (flags_frag & ~uint16_t{0x4000}) == 0 && p[8] != 0 && total >= wire::kIpv4HeaderLen &&
        total <= packet.len() && ifindex == rx_flow_.ifindex &&
        Ipv4Address::from_bytes(p + 12) == rx_flow_.src && Ipv4Address::from_bytes(p + 16) == rx_flow_.dst &&
        (verified || wire::checksum_verify(std::span<const uint8_t>(p, wire::kIpv4HeaderLen)))) {
      Ipv4RxContext ctx{ifindex,
                        Ipv4Repr{.src = rx_flow_.src,
                                 .dst = rx_flow_.dst,
                                 .protocol = p[9],
                                 .ttl = p[8],
                                 .dscp_ecn = p[1],
                                 .ident = base::load_be<uint16_t>(p, 4),
                                 .dont_fragment = flags_frag != 0,
                                 .more_fragments = false,
                                 .frag_offset = 0,
                                 .header_len = wire::kIpv4HeaderLen,
                                 .payload_len = static_cast<uint16_t>(total - wire::kIpv4HeaderLen)},
                        false};
      if (total != packet.len()) packet.trim_back(packet.len() - total);
      packet.trim_front(wire::kIpv4HeaderLen);
      // deliver()'s TCP case, without the call: nearly every datagram of a transfer.
      if (ctx.header.protocol == wire::IpProtocol::kTcp && tcp_ != nullptr) {
        counters_.inc(Ipv4Counter::kRxDelivered);
        tcp_->input(ctx, packet, now);
        return;
      }
      deliver(ctx, packet, now);
      return;
    }
  }
  auto parsed = Ipv4Repr::parse_header(packet.head_bytes(), packet.len(), !verified);
  if (!parsed) {
    counters_.inc(parsed.error() == wire::WireError::kBadChecksum ? Ipv4Counter::kDropBadChecksum
                                                                  : Ipv4Counter::kDropMalformed);
    return;
  }
  const Ipv4Repr& h = *parsed;
  if (h.ttl == 0) {
    counters_.inc(Ipv4Counter::kDropTtlZero);
    return;
  }
  if (is_martian_source(ifindex, h.src, h.dst)) {
    counters_.inc(Ipv4Counter::kDropMartianSource);
    return;
  }
  Ipv4RxContext ctx{ifindex, h, false};
  if (!is_for_us(ifindex, h.dst, &ctx.broadcast)) {
    counters_.inc(Ipv4Counter::kDropNotForUs);
    return;
  }
  if (!ctx.broadcast) rx_flow_ = RxFlow{true, ifindex, h.src, h.dst};
  // Link-layer padding beyond the IP total length is not part of the datagram.
  packet.trim_back(packet.len() - h.total_len());
  if (h.is_fragment()) {
    auto whole = reassembler_.input(h, std::move(packet), now);
    if (!whole) return;
    // A device checks no transport checksum across fragments: the stack must.
    whole->payload.set_offload(0);
    ctx.header = whole->header;
    deliver(ctx, whole->payload, now);
    return;
  }
  packet.trim_front(h.header_len);
  deliver(ctx, packet, now);
}

void Ipv4Layer::deliver(Ipv4RxContext& ctx, buf::Packet& payload, base::Instant now) {
  switch (ctx.header.protocol) {
    case wire::IpProtocol::kIcmp:
      counters_.inc(Ipv4Counter::kRxDelivered);
      icmp_->input(ctx, std::move(payload), now);
      return;
    case wire::IpProtocol::kUdp:
      counters_.inc(Ipv4Counter::kRxDelivered);
      udp_->input(ctx, std::move(payload), now);
      return;
    case wire::IpProtocol::kTcp:
      if (tcp_ == nullptr) break;
      counters_.inc(Ipv4Counter::kRxDelivered);
      tcp_->input(ctx, payload, now);
      return;
    default: break;
  }
  {
      counters_.inc(Ipv4Counter::kDropUnknownProtocol);
      // RFC 1122 §3.2.2.1: protocol unreachable, never for broadcasts (§3.2.2).
      if (!ctx.broadcast) icmp_->send_dest_unreachable(wire::Icmpv4Unreachable::kProtocolUnreachable, ctx.header, payload, now);
      return;
  }
}

std::optional<Ipv4Route> Ipv4Layer::route(Ipv4Address dst, base::Instant now) const {
  if (const Interface* local = interfaces_.find_by_address(dst)) {
    return Ipv4Route{local->ifindex, dst, dst, 65535, true, false};
  }
  auto hop = routes_.next_hop(dst);
  if (dst.is_broadcast()) {
    // The limited broadcast never leaves the link (RFC 1122 §3.3.6): it goes to the
    // link broadcast address of the route's interface, never to a gateway (a default
    // route matches it too). Without any route it leaves by the first interface, as
    // with Linux absent SO_BINDTODEVICE.
    hop = NextHop{hop ? hop->ifindex : 0, dst};
  }
  const Interface* itf = hop ? interfaces_.get(hop->ifindex) : nullptr;
  if (itf == nullptr) return std::nullopt;
  auto src = itf->source_for(dst);
  if (!src) return std::nullopt;
  uint16_t mtu = itf->mtu();
  if (auto it = path_mtu_.find(dst.value()); it != path_mtu_.end() && it->second.expires > now) {
    mtu = std::min(mtu, it->second.mtu);
  }
  return Ipv4Route{itf->ifindex, hop->address, *src, mtu, false,
                   dst.is_broadcast() || itf->is_directed_broadcast(dst)};
}

void Ipv4Layer::update_path_mtu(Ipv4Address dst, uint16_t mtu, base::Instant now) {
  mtu = std::max(mtu, config_.min_pmtu);
  auto it = path_mtu_.find(dst.value());
  // RFC 1191 §3: a frag-needed only ever lowers the estimate (raising it is the job
  // of expiry); otherwise anyone could quote a datagram and push the MTU back up.
  if (it != path_mtu_.end() && it->second.expires > now && it->second.mtu <= mtu) return;
  if (it == path_mtu_.end() && path_mtu_.size() >= config_.pmtu_cache_entries) {
    // Bounded: evict expired entries first, else any one (the entry is only a hint:
    // losing it costs one more frag-needed round trip).
    std::erase_if(path_mtu_, [&](const auto& kv) { return kv.second.expires <= now; });
    if (path_mtu_.size() >= config_.pmtu_cache_entries) path_mtu_.erase(path_mtu_.begin());
  }
  path_mtu_[dst.value()] = PathMtu{mtu, now + config_.pmtu_expiry};
  ++pmtu_version_;
}

bool Ipv4Layer::emit_header(buf::Packet& packet, const Ipv4Repr& header) {
  uint8_t* at = packet.prepend(header.header_len);
  if (at == nullptr) {
    // No headroom (a reused received packet, or shared storage): put the header in a
    // segment of its own in front of the payload.
    buf::Packet head = pool_.alloc(kPacketHeadroom);
    if (head.empty()) return false;
    head.set_offload(packet.offload());  // the marks live on the head segment
    head.head()->tso_segsz = packet.tso_segsz();
    head.chain(std::move(packet));
    packet = std::move(head);
    at = packet.prepend(header.header_len);
  }
  header.emit(std::span<uint8_t>(at, header.header_len));
  return true;
}

base::Status<SendError> Ipv4Layer::output(const Ipv4SendParams& params, buf::Packet payload,
                                          base::Instant now) {
  auto r = route(params.dst, now);
  if (!r) {
    counters_.inc(Ipv4Counter::kDropNoRoute);
    return base::Err{SendError::kNoRoute};
  }
  Ipv4Repr header;
  header.src = params.src.is_unspecified() ? r->source : params.src;
  header.dst = params.dst;
  header.protocol = params.protocol;
  header.ttl = params.ttl != 0 ? params.ttl : config_.default_ttl;
  header.dscp_ecn = params.tos;
  header.dont_fragment = params.dont_fragment;
  // RFC 6864 §4.1 / RFC 7739 §5.3: the ID need only be unique per (source,
  // destination, protocol), so it comes from that triple's counter, not a host-wide one.
  header.ident = idents_.take(idents_.slot(header.dst, header.src, header.protocol));
  header.header_len = 20;
  if (payload.len() + header.header_len > 65535) return base::Err{SendError::kMessageTooLong};
  header.payload_len = static_cast<uint16_t>(payload.len());
  if ((payload.offload() & buf::kTxL4ChecksumPartial) != 0) {
    // Only a device that offloads it may complete the checksum, and only of a whole
    // datagram: looped back, fragmented or leaving elsewhere, it is done here.
    const Interface* itf = interfaces_.get(r->ifindex);
    if (r->local || header.total_len() > r->mtu || itf == nullptr || !itf->config.tx_l4_checksum_offload) {
      complete_l4_checksum(payload, params.protocol);
    }
  }

  if (r->local) {
    // Never on the wire: the datagram keeps its header as a repr (a 64 KB datagram
    // is a chain that Ipv4Repr::parse, reading the head segment, could not check).
    counters_.inc(Ipv4Counter::kTxPackets);
    loop_back(header, std::move(payload));
    return {};
  }
  if (header.total_len() > r->mtu) {
    if (params.dont_fragment) {
      counters_.inc(Ipv4Counter::kDropFragmentNeeded);
      return base::Err{SendError::kMessageTooLong};
    }
    return fragment_and_send(*r, header, payload, now);
  }
  if (!emit_header(payload, header)) {
    counters_.inc(Ipv4Counter::kDropNoBuffers);
    return base::Err{SendError::kNoBuffers};
  }
  counters_.inc(Ipv4Counter::kTxPackets);
  transmit(*r, std::move(payload), now);
  return {};
}

base::Status<SendError> Ipv4Layer::fragment_and_send(const Ipv4Route& route, Ipv4Repr header,
                                                     const buf::Packet& payload, base::Instant now) {
  // RFC 791 §3.2: every fragment but the last carries a multiple of 8 payload bytes.
  const size_t per_fragment = ((route.mtu - header.header_len) / 8) * 8;
  const size_t total = payload.len();
  // Build every fragment before sending any: a datagram goes whole or not at all.
  std::vector<buf::Packet> fragments;
  fragments.reserve((total + per_fragment - 1) / per_fragment);
  for (size_t offset = 0; offset < total; offset += per_fragment) {
    const size_t n = std::min(per_fragment, total - offset);
    buf::Packet frag = pool_.alloc(kPacketHeadroom);
    bool ok = !frag.empty();
    // Copy this fragment's bytes segment by segment (the payload may be a chain).
    size_t copied = 0;
    payload.for_each_segment([&](std::span<const uint8_t> seg) {
      if (!ok) return;
      const size_t seg_start = copied;
      copied += seg.size();
      const size_t lo = std::max(offset, seg_start);
      const size_t hi = std::min(offset + n, seg_start + seg.size());
      if (lo < hi) ok = frag.append_bytes(seg.subspan(lo - seg_start, hi - lo), pool_);
    });
    Ipv4Repr fh = header;
    fh.frag_offset = static_cast<uint16_t>(offset);
    fh.more_fragments = offset + n < total;
    fh.payload_len = static_cast<uint16_t>(n);
    if (!ok || !emit_header(frag, fh)) {
      counters_.inc(Ipv4Counter::kDropNoBuffers);
      return base::Err{SendError::kNoBuffers};
    }
    fragments.push_back(std::move(frag));
  }
  counters_.inc(Ipv4Counter::kTxPackets);
  for (auto& f : fragments) {
    counters_.inc(Ipv4Counter::kTxFragments);
    transmit(route, std::move(f), now);
  }
  return {};
}

void Ipv4Layer::loop_back(const Ipv4Repr& header, buf::Packet payload) {
  if (loopback_.size() >= config_.loopback_queue) {
    counters_.inc(Ipv4Counter::kDropLoopbackFull);
    return;
  }
  loopback_.push_back(LoopbackDatagram{header, std::move(payload)});
}

void Ipv4Layer::transmit(const Ipv4Route& route, buf::Packet datagram, base::Instant now) {
  arp_.send_ipv4(route.ifindex, route.next_hop, std::move(datagram), now);
}

size_t Ipv4Layer::process_loopback(base::Instant now) {
  size_t n = 0;
  // Only what is queued now: deliveries may queue replies, which wait for the next call.
  for (size_t pending = loopback_.size(); pending > 0; --pending, ++n) {
    LoopbackDatagram d = std::move(loopback_.front());
    loopback_.pop_front();
    Ipv4RxContext ctx{0, d.header, false};
    if (const Interface* itf = interfaces_.find_by_address(d.header.dst)) ctx.ifindex = itf->ifindex;
    deliver(ctx, d.payload, now);
  }
  return n;
}

}  // namespace joyride::core
