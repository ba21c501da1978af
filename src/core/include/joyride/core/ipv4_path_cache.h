// A connection's resolved IPv4 path, kept by the connection (Linux's sk_dst_cache):
// the route's interface and MTU, the next hop's MAC, and the Ethernet + IPv4 header
// every datagram of the flow starts with. With it, sending a segment costs one copy
// of 34 header bytes and a patch of length, ident, TOS and checksum, instead of a
// route lookup, an ARP lookup and a header build (bench/README.md has the figures).
//
// It is valid while Ipv4Layer::path_version() has not moved (routes, ARP entries and
// path MTUs bump it on any change that could make a copy wrong) and until
// `valid_until` (a path MTU estimate that expires). Only unicast paths to a neighbour
// in ARP kReachable are cached: everything else (unresolved, stale, local, broadcast)
// takes the full output path, which keeps ARP's probing and refresh rules in charge.
#pragma once

#include <array>
#include <cstdint>

#include "joyride/base/time.h"

namespace joyride::core {

// The largest TSO payload: the frame's IPv4 total length must fit 16 bits, with a
// 20-byte IPv4 header and up to 60 bytes of TCP header.
constexpr uint32_t kTsoMaxPayload = 65535 - 20 - 60;

struct Ipv4PathCache {
  static constexpr size_t kHeaderLen = 14 + 20;  // Ethernet II + IPv4 without options

  uint64_t version = 0;  // Ipv4Layer::path_version() when filled; 0: empty
  base::Instant valid_until = base::Instant::never();
  uint32_t ifindex = 0;
  uint16_t mtu = 0;
  // One's complement sum of the IPv4 header words that never change (total length,
  // ident, TOS and checksum are zero in `header`).
  uint32_t header_sum = 0;
  // The transport pseudo header's sum without its length (source, destination,
  // protocol: RFC 9293 §3.1), for TCP/UDP checksums along this path.
  uint32_t pseudo_sum = 0;
  bool l4_checksum_offload = false;  // the interface's InterfaceConfig::tx_l4_checksum_offload
  uint32_t tso_max = 0;              // the interface's InterfaceConfig::tx_tso_max (0 without offload)
  uint16_t tso_segment_max = 0;      // the interface's InterfaceConfig::tx_tso_segment_max
  uint16_t ident_slot = 0;           // the flow's IpIdentGenerator::slot, hashed once per fill
  std::array<uint8_t, kHeaderLen> header{};

  void invalidate() { version = 0; }
};

}  // namespace joyride::core
