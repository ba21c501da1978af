// The Ethernet layer of a stack instance: parses incoming frames and hands their
// payload up (ARP or IPv4), and frames outgoing packets onto the TX queue.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "joyride/base/counters.h"
#include "joyride/buf/packet.h"
#include "joyride/core/frame.h"
#include "joyride/core/interface.h"
#include "joyride/wire/address.h"
#include "joyride/wire/ethernet.h"

namespace joyride::core {

enum class LinkCounter : uint8_t {
  kRxFrames,
  kTxFrames,
  kDropTruncated,        // shorter than an Ethernet header
  kDropNotForUs,         // unicast to another MAC
  kDropVlanTagged,       // 802.1Q tagged; no VLAN is configured on the interface
  kDropUnknownEthertype,
  kDropUnknownInterface,
  kDropNoHeadroom,       // an outgoing packet without room for the header
  kDropTxQueueFull,
  kCount
};
constexpr std::array<std::string_view, 9> counter_names(LinkCounter) {
  return {"rx_frames",          "tx_frames",          "drop_truncated",
          "drop_not_for_us",    "drop_vlan_tagged",   "drop_unknown_ethertype",
          "drop_unknown_interface", "drop_no_headroom", "drop_tx_queue_full"};
}

class EthernetLink {
 public:
  EthernetLink(const InterfaceTable& interfaces, TxQueue& tx) : interfaces_(interfaces), tx_(tx) {}

  // Prepends an Ethernet header (src = the interface's MAC) and queues the frame.
  // Returns false when the packet was dropped (counted).
  bool send(uint32_t ifindex, wire::MacAddress dst, uint16_t ethertype, buf::Packet packet);
  // Queues a frame whose Ethernet header is already in place (a path cache built it).
  bool send_framed(uint32_t ifindex, buf::Packet frame) {
    if (!tx_.push(ifindex, std::move(frame))) {
      counters_.inc(LinkCounter::kDropTxQueueFull);
      return false;
    }
    counters_.inc(LinkCounter::kTxFrames);
    return true;
  }

  // Validates the Ethernet header of a received frame and strips it. Returns the
  // ethertype, or 0 when the frame was dropped (counted); `frame` then is empty.
  // Inline for nearly every frame of a transfer: untagged IPv4 to the interface's own
  // MAC, told by one compare of the destination and the EtherType (receive_slow has
  // the general rules and reaches the same verdict on such a frame).
  uint16_t receive(uint32_t ifindex, buf::Packet& frame) {
    const Interface* itf = interfaces_.get(ifindex);
    if (itf != nullptr && frame.head_len() >= 14) {
      const uint8_t* p = frame.data();
      if (std::memcmp(p, itf->mac().bytes.data(), 6) == 0 && p[12] == (wire::EtherType::kIpv4 >> 8) &&
          p[13] == (wire::EtherType::kIpv4 & 0xff)) {
        counters_.inc(LinkCounter::kRxFrames);
        frame.trim_front(14);
        return wire::EtherType::kIpv4;
      }
    }
    return receive_slow(ifindex, frame);
  }

  base::CounterSet<LinkCounter>& counters() { return counters_; }
  const base::CounterSet<LinkCounter>& counters() const { return counters_; }

 private:
  uint16_t receive_slow(uint32_t ifindex, buf::Packet& frame);

  const InterfaceTable& interfaces_;
  TxQueue& tx_;
  base::CounterSet<LinkCounter> counters_;
};

}  // namespace joyride::core
