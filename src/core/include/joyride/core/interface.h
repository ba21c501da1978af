// A network interface as the stack sees it: a link-layer address, IPv4 addresses
// with their prefixes, and an MTU. The device behind it (DPDK port, simulated
// link) is the host's business; the stack knows it only by ifindex.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "joyride/wire/address.h"

namespace joyride::core {

struct InterfaceConfig {
  std::string name;
  wire::MacAddress mac;
  std::vector<wire::Ipv4Cidr> ipv4;  // the first is the primary (preferred source) address
  uint16_t mtu = 1500;               // IP MTU: the largest IP datagram the link carries
  // The device computes TCP and UDP checksums of frames marked
  // buf::kTxL4ChecksumPartial (see buf/packet.h for what the mark promises). Off by
  // default: simulated links and devices without the offload get full checksums.
  bool tx_l4_checksum_offload = false;
  // TSO: the largest TCP payload the device cuts into segments itself
  // (buf::kTxTcpSegmentation); 0 = off. Only with tx_l4_checksum_offload.
  uint32_t tx_tso_max = 0;
  // With TSO: the largest segment payload the device accepts (0: the MSS).
  uint16_t tx_tso_segment_max = 0;
};

struct Interface {
  uint32_t ifindex = 0;
  InterfaceConfig config;

  const wire::MacAddress& mac() const { return config.mac; }
  uint16_t mtu() const { return config.mtu; }
  bool has_address(wire::Ipv4Address a) const {
    for (const auto& cidr : config.ipv4) {
      if (cidr.address() == a) return true;
    }
    return false;
  }
  // The address this interface would use as the source towards `dst`: the one whose
  // prefix contains dst, else the primary. Empty when the interface has no address.
  std::optional<wire::Ipv4Address> source_for(wire::Ipv4Address dst) const;
  // True for a subnet-directed broadcast of one of our prefixes.
  bool is_directed_broadcast(wire::Ipv4Address a) const {
    for (const auto& cidr : config.ipv4) {
      // A /31 or /32 has no broadcast address (RFC 3021).
      if (cidr.prefix_len() <= 30 && cidr.broadcast() == a) return true;
    }
    return false;
  }
};

// The interfaces of one stack instance, indexed by ifindex (0..n-1).
class InterfaceTable {
 public:
  uint32_t add(InterfaceConfig config);
  size_t size() const { return interfaces_.size(); }
  // Inline, as these run for every received datagram (IPv4 input's checks).
  Interface* get(uint32_t ifindex) { return ifindex < interfaces_.size() ? &interfaces_[ifindex] : nullptr; }
  const Interface* get(uint32_t ifindex) const {
    return ifindex < interfaces_.size() ? &interfaces_[ifindex] : nullptr;
  }
  // The interface holding local address a, if any.
  const Interface* find_by_address(wire::Ipv4Address a) const {
    for (const auto& itf : interfaces_) {
      if (itf.has_address(a)) return &itf;
    }
    return nullptr;
  }
  // True when a is one of our unicast addresses.
  bool is_local(wire::Ipv4Address a) const { return find_by_address(a) != nullptr; }
  const std::vector<Interface>& all() const { return interfaces_; }

 private:
  std::vector<Interface> interfaces_;
};

}  // namespace joyride::core
