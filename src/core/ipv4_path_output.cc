// Ipv4Layer::output_cached: the per-connection fast path for sending (see
// ipv4_path_cache.h for what is cached and when it is trusted).
#include <algorithm>
#include <cstring>

#include "joyride/base/bytes.h"
#include "joyride/core/ipv4_layer.h"
#include "joyride/core/packet_checksum.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ethernet.h"

namespace joyride::core {
namespace {

// Offsets inside Ipv4PathCache::header.
constexpr size_t kIp = 14;
constexpr size_t kIpTos = kIp + 1;
constexpr size_t kIpTotalLen = kIp + 2;
constexpr size_t kIpIdent = kIp + 4;
constexpr size_t kIpChecksum = kIp + 10;

}  // namespace

base::Status<SendError> Ipv4Layer::drop_tso(Ipv4PathCache& cache) {
  // A TSO frame can only leave through the cached path it was built for. TCP sizes
  // one only when that path is current (TcpLayer::tso_plan checks what is checked
  // here, at the same instant), so this is a guard, not a path: the send fails, the
  // data stays unsent in TCP's queue, and the next output sends it in single
  // segments (the cache is invalidated).
  cache.invalidate();
  counters_.inc(Ipv4Counter::kDropTsoUnsendable);
  return base::Err{SendError::kMessageTooLong};
}

bool Ipv4Layer::fill_path_cache(Ipv4PathCache& cache, const Ipv4SendParams& params, base::Instant now) {
  cache.invalidate();
  const uint64_t version = path_version();
  auto r = route(params.dst, now);
  if (!r || r->local || r->broadcast || params.dst.is_multicast()) return false;
  auto mac = arp_.reachable_mac(r->ifindex, r->next_hop);
  const Interface* itf = interfaces_.get(r->ifindex);
  if (!mac || itf == nullptr) return false;

  wire::Ipv4Repr ip;
  ip.src = params.src.is_unspecified() ? r->source : params.src;
  ip.dst = params.dst;
  ip.protocol = params.protocol;
  ip.ttl = params.ttl != 0 ? params.ttl : config_.default_ttl;
  ip.dscp_ecn = 0;
  ip.dont_fragment = params.dont_fragment;
  ip.ident = 0;
  ip.header_len = 20;
  ip.payload_len = 0;
  const wire::EthernetRepr eth{*mac, itf->mac(), wire::EtherType::kIpv4, std::nullopt};
  eth.emit(std::span<uint8_t>(cache.header.data(), kIp));
  ip.emit(std::span<uint8_t>(cache.header.data() + kIp, 20));
  // emit() wrote total length 20 and the checksum: zero them, so header_sum is the sum
  // of the words every datagram of the flow shares.
  base::store_be<uint16_t>(cache.header.data(), kIpTotalLen, 0);
  base::store_be<uint16_t>(cache.header.data(), kIpChecksum, 0);
  cache.header_sum = wire::checksum_accumulate(std::span<const uint8_t>(cache.header.data() + kIp, 20));
  cache.pseudo_sum = wire::pseudo_header_v4(ip.src, ip.dst, ip.protocol, 0);

  cache.ifindex = r->ifindex;
  cache.l4_checksum_offload = itf->config.tx_l4_checksum_offload;
  cache.tso_max = cache.l4_checksum_offload ? std::min<uint32_t>(itf->config.tx_tso_max, kTsoMaxPayload) : 0;
  cache.tso_segment_max = itf->config.tx_tso_segment_max;
  cache.mtu = r->mtu;
  cache.ident_slot = idents_.slot(ip.dst, ip.src, ip.protocol);
  cache.valid_until = base::Instant::never();
  if (auto it = path_mtu_.find(params.dst.value()); it != path_mtu_.end() && it->second.expires > now) {
    cache.valid_until = it->second.expires;
  }
  cache.version = version;
  return true;
}

base::Status<SendError> Ipv4Layer::output_cached(Ipv4PathCache& cache, const Ipv4SendParams& params,
                                                 buf::Packet payload, base::Instant now) {
  const bool tso = (payload.offload() & buf::kTxTcpSegmentation) != 0;
  if ((cache.version != path_version() || now >= cache.valid_until) && !fill_path_cache(cache, params, now)) {
    if (tso) return drop_tso(cache);
    return output(params, std::move(payload), now);
  }
  const size_t total = payload.len() + 20;
  if (tso) {
    // Cut by the device into segments that fit the path (TCP sized them from it); the
    // route may have moved to an interface without TSO since TCP looked.
    if (cache.tso_max == 0 || total > 65535) return drop_tso(cache);
  } else if (total > cache.mtu) {
    // Too big for the path: output() fragments it or refuses it, and counts.
    return output(params, std::move(payload), now);
  }
  if ((payload.offload() & buf::kTxL4ChecksumPartial) != 0 && !cache.l4_checksum_offload) {
    complete_l4_checksum(payload, params.protocol);  // this interface does not offload it
  }
  uint8_t* at = payload.prepend(Ipv4PathCache::kHeaderLen);
  if (at == nullptr) {
    if (tso) return drop_tso(cache);
    return output(params, std::move(payload), now);  // no headroom: the general path copes
  }

  std::memcpy(at, cache.header.data(), Ipv4PathCache::kHeaderLen);
  const uint16_t ident = idents_.take(cache.ident_slot, params.segments);
  at[kIpTos] = params.tos;
  base::store_be<uint16_t>(at, kIpTotalLen, static_cast<uint16_t>(total));
  base::store_be<uint16_t>(at, kIpIdent, ident);
  // The TOS byte is the low half of the header's first 16-bit word.
  const uint32_t sum = cache.header_sum + static_cast<uint32_t>(total) + ident + params.tos;
  base::store_be<uint16_t>(at, kIpChecksum, wire::checksum_fold(sum));
  counters_.inc(Ipv4Counter::kTxPackets);
  link_.send_framed(cache.ifindex, std::move(payload));
  return {};
}

}  // namespace joyride::core
