#include "joyride/core/ethernet_link.h"

#include "joyride/wire/ethernet.h"

namespace joyride::core {

bool EthernetLink::send(uint32_t ifindex, wire::MacAddress dst, uint16_t ethertype, buf::Packet packet) {
  const Interface* itf = interfaces_.get(ifindex);
  if (itf == nullptr) {
    counters_.inc(LinkCounter::kDropUnknownInterface);
    return false;
  }
  const wire::EthernetRepr eth{dst, itf->mac(), ethertype, std::nullopt};
  uint8_t* hdr = packet.prepend(eth.header_len());
  if (hdr == nullptr) {
    counters_.inc(LinkCounter::kDropNoHeadroom);
    return false;
  }
  eth.emit(std::span<uint8_t>(hdr, eth.header_len()));
  if (!tx_.push(ifindex, std::move(packet))) {
    counters_.inc(LinkCounter::kDropTxQueueFull);
    return false;
  }
  counters_.inc(LinkCounter::kTxFrames);
  return true;
}

uint16_t EthernetLink::receive_slow(uint32_t ifindex, buf::Packet& frame) {
  counters_.inc(LinkCounter::kRxFrames);
  const Interface* itf = interfaces_.get(ifindex);
  if (itf == nullptr) {
    counters_.inc(LinkCounter::kDropUnknownInterface);
    frame.reset();
    return 0;
  }
  auto eth = wire::EthernetRepr::parse(frame.head_bytes());
  if (!eth) {
    // kUnsupported: an IEEE 802.3 length field (< 0x0600) rather than an EtherType.
    counters_.inc(eth.error() == wire::WireError::kUnsupported ? LinkCounter::kDropUnknownEthertype
                                                               : LinkCounter::kDropTruncated);
    frame.reset();
    return 0;
  }
  if (!(eth->dst == itf->mac() || eth->dst.is_broadcast() || eth->dst.is_multicast())) {
    counters_.inc(LinkCounter::kDropNotForUs);
    frame.reset();
    return 0;
  }
  if (eth->vlan_tci) {
    counters_.inc(LinkCounter::kDropVlanTagged);
    frame.reset();
    return 0;
  }
  const uint16_t type = eth->ethertype;
  if (type != wire::EtherType::kIpv4 && type != wire::EtherType::kArp) {
    counters_.inc(LinkCounter::kDropUnknownEthertype);
    frame.reset();
    return 0;
  }
  frame.trim_front(eth->header_len());
  return type;
}

}  // namespace joyride::core
