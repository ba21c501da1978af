// IPv4 for one stack instance: input validation and dispatch to ICMP, UDP and TCP, reassembly of fragments, and output: routing, source address
// selection, path MTU, fragmentation, and hand-off to ARP.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "joyride/base/bytes.h"
#include "joyride/base/counters.h"
#include "joyride/base/random.h"
#include "joyride/base/result.h"
#include "joyride/base/time.h"
#include "joyride/buf/packet.h"
#include "joyride/core/arp_resolver.h"
#include "joyride/core/errors.h"
#include "joyride/core/ethernet_link.h"
#include "joyride/core/interface.h"
#include "joyride/core/ip_ident.h"
#include "joyride/core/ipv4_path_cache.h"
#include "joyride/core/ipv4_reassembler.h"
#include "joyride/core/routing.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ipv4.h"

namespace joyride::core {

class Icmpv4Layer;
class UdpLayer;
class TcpLayer;

struct Ipv4Config {
  uint8_t default_ttl = 64;
  size_t pmtu_cache_entries = 4096;
  base::Duration pmtu_expiry = base::Duration::seconds(600);  // Linux ip_rt_mtu_expires
  uint16_t min_pmtu = 552;                                      // Linux min_pmtu
  size_t loopback_queue = 256;                                  // datagrams to our own addresses
};

enum class Ipv4Counter : uint8_t {
  kRxPackets,
  kRxDelivered,
  kTxPackets,
  kTxFragments,
  kDropMalformed,        // failed Ipv4Repr::parse other than checksum (version, lengths, flags)
  kDropBadChecksum,
  kDropTtlZero,          // RFC 1122 §3.2.1.7: no host sends TTL 0; such a datagram is bogus
  kDropMartianSource,    // source is broadcast (limited or directed), multicast, loopback, ours,
                         // or 0.0.0.0 towards anything but the limited broadcast
  kDropNotForUs,         // destination is not ours (we do not forward)
  kDropUnknownProtocol,  // answered with ICMP protocol unreachable
  kDropNoRoute,
  kDropFragmentNeeded,   // DF set and larger than the path MTU (sender told EMSGSIZE)
  kDropNoBuffers,
  kDropLoopbackFull,
  kDropTsoUnsendable,    // a TSO frame with no current TSO path to leave by (TCP checks first: a bug if seen)
  kCount
};
constexpr std::array<std::string_view, 15> counter_names(Ipv4Counter) {
  return {"rx_packets",        "rx_delivered",       "tx_packets",           "tx_fragments",
          "drop_malformed",    "drop_bad_checksum",  "drop_ttl_zero",        "drop_martian_source",
          "drop_not_for_us",   "drop_unknown_protocol", "drop_no_route",     "drop_fragment_needed",
          "drop_no_buffers",   "drop_loopback_full", "drop_tso_unsendable"};
}

// What the transport layers learn about a received datagram.
struct Ipv4RxContext {
  uint32_t ifindex = 0;
  wire::Ipv4Repr header;  // for a reassembled datagram: the first fragment's, frag fields cleared
  bool broadcast = false; // limited or directed broadcast destination
};

struct Ipv4SendParams {
  wire::Ipv4Address src;  // unspecified: chosen from the route
  wire::Ipv4Address dst;
  uint8_t protocol = 0;
  uint8_t ttl = 0;  // 0: the default TTL
  uint8_t tos = 0;
  bool dont_fragment = false;
  // A TSO frame: the datagrams the device makes of it, each taking the next
  // identification (so the flow's counter moves past them all, as Linux's
  // ip_select_ident_segs).
  uint16_t segments = 1;
};

struct Ipv4Route {
  uint32_t ifindex;
  wire::Ipv4Address next_hop;
  wire::Ipv4Address source;  // preferred source address
  uint16_t mtu;              // min(interface MTU, path MTU)
  bool local;                // the destination is one of our own addresses
  bool broadcast;            // limited or directed broadcast
};

class Ipv4Layer {
 public:
  // `random` keys the identification counters (ip_ident.h); it is not kept.
  Ipv4Layer(const Ipv4Config& config, const InterfaceTable& interfaces, const RoutingTable& routes,
            buf::PacketPool& pool, ArpResolver& arp, Ipv4Reassembler& reassembler, EthernetLink& link,
            base::RandomSource& random);
  void attach(Icmpv4Layer* icmp, UdpLayer* udp, TcpLayer* tcp = nullptr) {
    icmp_ = icmp;
    udp_ = udp;
    tcp_ = tcp;
  }

  // A datagram (starting at the IP header) arrived on ifindex. The layers above may
  // take `packet` (move from it); the caller frees whatever is left. Passed by
  // reference down to the transport: one handle per frame, no move and no empty
  // handle to destroy at each layer.
  void input(uint32_t ifindex, buf::Packet& packet, base::Instant now);

  // Sends `payload` (a transport header and data, with kPacketHeadroom in front when
  // possible) as one datagram, fragmenting when it exceeds the path MTU and DF is clear.
  base::Status<SendError> output(const Ipv4SendParams& params, buf::Packet payload, base::Instant now);

  // output() for a flow that keeps an Ipv4PathCache (a TCP connection): the same
  // datagram on the wire, built from the cached headers when the cache is valid, and
  // refilling the cache (or falling back to output()) when it is not. One cache
  // belongs to one flow: params must not change between calls, except `tos`.
  base::Status<SendError> output_cached(Ipv4PathCache& cache, const Ipv4SendParams& params, buf::Packet payload,
                                        base::Instant now);
  // Moves whenever a route, an ARP entry or a path MTU changes.
  uint64_t path_version() const { return routes_.version() + arp_.version() + pmtu_version_ + 1; }

  // For a transport that lays out whole frames itself (TCP's segments): whether
  // output_cached would send an `ip_len`-byte datagram along `cache` as it is, one
  // frame built from the cached headers (the cache current at `now`, the datagram
  // within the path MTU, and a checksum left partial only towards an interface that
  // completes it). Then send_cached_frame() sends the same frame for less.
  bool cached_path_ready(const Ipv4PathCache& cache, size_t ip_len, bool l4_partial, base::Instant now) const {
    return cache.version == path_version() && now < cache.valid_until && ip_len <= cache.mtu &&
           (!l4_partial || cache.l4_checksum_offload);
  }
  // output_cached's last step for a datagram cached_path_ready() accepted: `frame`
  // starts with Ipv4PathCache::kHeaderLen bytes of room for the Ethernet and IPv4
  // headers, followed by the transport header and payload (ip_len - 20 bytes); one
  // copy of the cached headers, the four per-datagram IPv4 fields, and it is queued.
  [[gnu::always_inline]] void send_cached_frame(Ipv4PathCache& cache, buf::Packet frame, uint16_t ip_len, uint8_t tos) {
    uint8_t* at = frame.data();
    std::memcpy(at, cache.header.data(), Ipv4PathCache::kHeaderLen);
    const uint16_t ident = idents_.take(cache.ident_slot);
    at[15] = tos;
    base::store_be<uint16_t>(at, 16, ip_len);
    base::store_be<uint16_t>(at, 18, ident);
    // The TOS byte is the low half of the header's first 16-bit word.
    base::store_be<uint16_t>(at, 24, wire::checksum_fold(cache.header_sum + uint32_t{ip_len} + ident + tos));
    counters_.inc(Ipv4Counter::kTxPackets);
    link_.send_framed(cache.ifindex, std::move(frame));
  }

  std::optional<Ipv4Route> route(wire::Ipv4Address dst, base::Instant now) const;
  bool is_local_address(wire::Ipv4Address a) const { return interfaces_.is_local(a); }
  // Some interface completes TCP/UDP checksums (InterfaceConfig::tx_l4_checksum_offload):
  // transports may then leave theirs to it (buf::kTxL4ChecksumPartial). output() and
  // output_cached() complete it in software for a datagram that does not leave by
  // such an interface as one frame.
  bool tx_l4_checksum_offload() const { return tx_l4_checksum_offload_; }
  // Frag-needed (RFC 1191): remember a smaller MTU towards dst.
  void update_path_mtu(wire::Ipv4Address dst, uint16_t mtu, base::Instant now);

  // Delivers datagrams this instance sent to its own addresses. Returns how many.
  size_t process_loopback(base::Instant now);
  bool has_loopback_work() const { return !loopback_.empty(); }

  const base::CounterSet<Ipv4Counter>& counters() const { return counters_; }

 private:
  base::Status<SendError> drop_tso(Ipv4PathCache& cache);
  // A datagram to one of our own addresses: its header and transport payload.
  struct LoopbackDatagram {
    wire::Ipv4Repr header;
    buf::Packet payload;
  };
  struct PathMtu {
    uint16_t mtu;
    base::Instant expires;
  };
  void deliver(Ipv4RxContext& ctx, buf::Packet& payload, base::Instant now);
  bool is_for_us(uint32_t ifindex, wire::Ipv4Address dst, bool* broadcast) const;
  bool is_martian_source(uint32_t ifindex, wire::Ipv4Address src, wire::Ipv4Address dst) const;
  bool emit_header(buf::Packet& packet, const wire::Ipv4Repr& header);
  base::Status<SendError> fragment_and_send(const Ipv4Route& route, wire::Ipv4Repr header,
                                            const buf::Packet& payload, base::Instant now);
  void transmit(const Ipv4Route& route, buf::Packet datagram, base::Instant now);
  void loop_back(const wire::Ipv4Repr& header, buf::Packet payload);
  bool fill_path_cache(Ipv4PathCache& cache, const Ipv4SendParams& params, base::Instant now);

  const Ipv4Config config_;
  bool tx_l4_checksum_offload_ = false;
  const InterfaceTable& interfaces_;
  const RoutingTable& routes_;
  buf::PacketPool& pool_;
  ArpResolver& arp_;
  Ipv4Reassembler& reassembler_;
  EthernetLink& link_;
  Icmpv4Layer* icmp_ = nullptr;
  UdpLayer* udp_ = nullptr;
  TcpLayer* tcp_ = nullptr;
  IpIdentGenerator idents_;
  uint64_t pmtu_version_ = 0;
  // The last (interface, source, destination) a unicast datagram passed the martian
  // and for-us checks with. Those depend only on the addresses and the interface
  // table, which is fixed once the stack is built, so the next datagram of the same
  // flow needs only the header's own checks (input's fast path).
  struct RxFlow {
    bool valid = false;
    uint32_t ifindex = 0;
    wire::Ipv4Address src, dst;
  } rx_flow_;
  std::unordered_map<uint32_t, PathMtu> path_mtu_;
  std::deque<LoopbackDatagram> loopback_;
  base::CounterSet<Ipv4Counter> counters_;
};

}  // namespace joyride::core
