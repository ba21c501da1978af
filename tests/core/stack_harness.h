// A test harness around one Stack, in the spirit of gVisor's TCP harness: a fake
// link whose other end is a "peer" host; tests inject one frame from the peer and
// check the next frame the stack sends.
//
//   StackHarness h;                        // 198.18.0.1/24, peer 198.18.0.2 resolved
//   h.inject_echo_request(7, 1, data);
//   TxFrame f = h.expect_tx();             // parsed Ethernet + IPv4 + ICMP/UDP or ARP
//   EXPECT_EQ(f.icmp->type, Icmpv4Type::kEchoReply);
//
// Time never moves by itself: advance(d) moves `now` and polls the stack.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "joyride/base/random.h"
#include "joyride/base/time.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/core/stack.h"
#include "joyride/wire/arp.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ethernet.h"
#include "joyride/wire/icmpv4.h"
#include "joyride/wire/ipv4.h"
#include "joyride/wire/udp.h"

namespace joyride::core::testing {

using Bytes = std::vector<uint8_t>;

inline constexpr wire::MacAddress kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
inline constexpr wire::MacAddress kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
inline constexpr wire::MacAddress kGatewayMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe}};
inline constexpr wire::MacAddress kOtherMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}};
inline constexpr wire::Ipv4Address kOurIp = wire::Ipv4Address::from_octets(198, 18, 0, 1);
inline constexpr wire::Ipv4Address kPeerIp = wire::Ipv4Address::from_octets(198, 18, 0, 2);
inline constexpr wire::Ipv4Address kGatewayIp = wire::Ipv4Address::from_octets(198, 18, 0, 254);
inline constexpr wire::Ipv4Address kSubnetBroadcast = wire::Ipv4Address::from_octets(198, 18, 0, 255);
inline constexpr wire::Ipv4Address kRemoteIp = wire::Ipv4Address::from_octets(203, 0, 113, 7);
inline constexpr base::Instant kStart = base::Instant::from_nanos(1'000'000'000'000);

// A pattern that differs at every offset modulo 251, so a misplaced byte shows.
inline Bytes pattern(size_t n, uint8_t seed = 0) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((i + seed) % 251);
  return b;
}

inline Bytes flatten(const buf::Packet& p) {
  Bytes b(p.len());
  if (!b.empty()) p.copy_out(0, b);
  return b;
}

// ---- frame builders ---------------------------------------------------------------

inline Bytes ethernet(wire::MacAddress dst, wire::MacAddress src, uint16_t ethertype,
                      std::span<const uint8_t> payload, std::optional<uint16_t> vlan = std::nullopt) {
  const wire::EthernetRepr eth{dst, src, ethertype, vlan};
  Bytes b(eth.header_len() + payload.size());
  eth.emit(b);
  std::copy(payload.begin(), payload.end(), b.begin() + static_cast<std::ptrdiff_t>(eth.header_len()));
  return b;
}

inline wire::Ipv4Repr ip_header(wire::Ipv4Address src, wire::Ipv4Address dst, uint8_t protocol,
                                uint16_t ident = 0x1234) {
  wire::Ipv4Repr h;
  h.src = src;
  h.dst = dst;
  h.protocol = protocol;
  h.ttl = 64;
  h.ident = ident;
  return h;
}

// An IPv4 datagram: h (payload_len set from payload) followed by payload.
inline Bytes ipv4(wire::Ipv4Repr h, std::span<const uint8_t> payload) {
  h.header_len = 20;
  h.payload_len = static_cast<uint16_t>(payload.size());
  Bytes b(20 + payload.size());
  h.emit(b);
  std::copy(payload.begin(), payload.end(), b.begin() + 20);
  return b;
}

inline Bytes icmp_message(const wire::Icmpv4Repr& m) {
  Bytes b(m.buffer_len());
  m.emit(b);
  return b;
}

inline Bytes icmp_echo(wire::Icmpv4Type type, uint16_t ident, uint16_t seq, std::span<const uint8_t> data) {
  wire::Icmpv4Repr m;
  m.type = type;
  m.ident = ident;
  m.seq_no = seq;
  m.data = data;
  return icmp_message(m);
}

inline Bytes udp_datagram(uint16_t sport, uint16_t dport, std::span<const uint8_t> data,
                          wire::Ipv4Address src, wire::Ipv4Address dst) {
  const wire::UdpRepr u{sport, dport, static_cast<uint16_t>(data.size())};
  Bytes b(wire::kUdpHeaderLen + data.size());
  u.emit_header(std::span<uint8_t>(b.data(), wire::kUdpHeaderLen), src, dst, data);
  std::copy(data.begin(), data.end(), b.begin() + wire::kUdpHeaderLen);
  return b;
}

// ---- parsed transmitted frames ----------------------------------------------------

struct TxFrame {
  bool present = false;
  uint32_t ifindex = 0;
  Bytes bytes;  // the whole frame
  wire::EthernetRepr eth;
  std::optional<wire::ArpRepr> arp;
  std::optional<wire::Ipv4Repr> ip;
  Bytes ip_payload;  // the IPv4 payload (for a fragment: its part)
  std::optional<wire::Icmpv4Repr> icmp;  // `data` cleared: see payload
  std::optional<wire::UdpRepr> udp;
  Bytes payload;  // ICMP data (echo data, or the quote of an error) / UDP payload

  bool is_fragment() const { return ip && ip->is_fragment(); }
};

// Parses a frame the stack sent; every layer must parse (checksums verified).
inline TxFrame parse_frame(uint32_t ifindex, const buf::Packet& packet) {
  TxFrame f;
  f.present = true;
  f.ifindex = ifindex;
  f.bytes = flatten(packet);
  auto eth = wire::EthernetRepr::parse(f.bytes);
  if (!eth) {
    ADD_FAILURE() << "transmitted frame has no valid Ethernet header";
    return f;
  }
  f.eth = *eth;
  const auto l3 = std::span<const uint8_t>(f.bytes).subspan(eth->header_len());
  if (eth->ethertype == wire::EtherType::kArp) {
    auto arp = wire::ArpRepr::parse(l3);
    if (!arp) ADD_FAILURE() << "transmitted ARP does not parse";
    else f.arp = *arp;
    return f;
  }
  if (eth->ethertype != wire::EtherType::kIpv4) {
    ADD_FAILURE() << "transmitted frame with ethertype " << eth->ethertype;
    return f;
  }
  auto ip = wire::Ipv4Repr::parse(l3);
  if (!ip) {
    ADD_FAILURE() << "transmitted IPv4 header does not parse: " << wire::to_string(ip.error());
    return f;
  }
  f.ip = *ip;
  // Ethernet padding (a frame under 60 bytes) is not part of the datagram.
  f.ip_payload.assign(l3.begin() + ip->header_len, l3.begin() + ip->header_len + ip->payload_len);
  if (ip->is_fragment()) return f;
  if (ip->protocol == wire::IpProtocol::kIcmp) {
    auto icmp = wire::Icmpv4Repr::parse(f.ip_payload);
    if (!icmp) {
      ADD_FAILURE() << "transmitted ICMP does not parse: " << wire::to_string(icmp.error());
      return f;
    }
    f.payload.assign(icmp->data.begin(), icmp->data.end());
    f.icmp = *icmp;
    f.icmp->data = {};
  } else if (ip->protocol == wire::IpProtocol::kUdp) {
    auto udp = wire::UdpRepr::parse(f.ip_payload, ip->src, ip->dst);
    if (!udp) {
      ADD_FAILURE() << "transmitted UDP does not parse: " << wire::to_string(udp.error());
      return f;
    }
    f.udp = *udp;
    f.payload.assign(f.ip_payload.begin() + wire::kUdpHeaderLen,
                     f.ip_payload.begin() + wire::kUdpHeaderLen + udp->payload_len);
  }
  return f;
}

// Puts fragments (whole frames or datagrams with IPv4 header) back together: the
// reassembled IPv4 payload, or nullopt when there are holes/inconsistencies.
inline std::optional<Bytes> reassemble(const std::vector<TxFrame>& fragments) {
  Bytes out;
  std::vector<bool> have;
  size_t total = 0;
  bool have_last = false;
  for (const auto& f : fragments) {
    if (!f.ip) return std::nullopt;
    const size_t off = f.ip->frag_offset;
    const size_t end = off + f.ip_payload.size();
    if (end > out.size()) {
      out.resize(end);
      have.resize(end, false);
    }
    for (size_t i = off; i < end; ++i) {
      if (have[i]) return std::nullopt;  // overlap
      have[i] = true;
      out[i] = f.ip_payload[i - off];
    }
    if (!f.ip->more_fragments) {
      have_last = true;
      total = end;
    }
  }
  if (!have_last || out.size() != total) return std::nullopt;
  if (!std::all_of(have.begin(), have.end(), [](bool b) { return b; })) return std::nullopt;
  return out;
}

// ---- the harness ------------------------------------------------------------------

struct HarnessOptions {
  bool default_route = false;  // 0.0.0.0/0 via 198.18.0.254
  bool resolve_peer = true;    // teach ARP the peer (and the gateway, with default_route)
  uint16_t mtu = 1500;
  uint64_t seed = 1;
  std::function<void(StackConfig&)> configure;  // last word on the configuration
  // The stack's randomness instead of SeededRandom(seed); outlives the harness. For a
  // test that must know the keys the stack draws (the ISN key) without depending on
  // the order in which its layers draw them.
  base::RandomSource* random = nullptr;
  // Where socket buffers come from instead of the stack's own heap provider;
  // outlives the harness.
  base::BufferProvider* buffers = nullptr;
};

inline StackConfig host_config(wire::MacAddress mac, wire::Ipv4Address ip, uint16_t mtu) {
  StackConfig c;
  c.interfaces.push_back(InterfaceConfig{"eth0", mac, {wire::Ipv4Cidr(ip, 24)}, mtu});
  // Long enough that no ARP refresh interleaves with what a test expects.
  c.arp.reachable_time = base::Duration::seconds(24 * 3600);
  c.arp.gc_time = base::Duration::seconds(24 * 3600);
  return c;
}

class StackHarness {
 public:
  explicit StackHarness(HarnessOptions options = {})
      : pool(4096, buf::HeapPacketPool::kDefaultSegmentCapacity, 4096), random(options.seed), now(kStart) {
    StackConfig c = host_config(kOurMac, kOurIp, options.mtu);
    if (options.default_route) {
      c.routes.push_back(Route{wire::Ipv4Cidr(wire::Ipv4Address::any(), 0), kGatewayIp, 0, 0});
    }
    if (options.configure) options.configure(c);
    stack = std::make_unique<Stack>(c, pool, options.random ? *options.random : random, now, options.buffers);
    if (options.resolve_peer) {
      resolve(kPeerMac, kPeerIp);
      if (options.default_route) resolve(kGatewayMac, kGatewayIp);
    }
  }
  ~StackHarness() {
    stack.reset();  // packets go back to the pool before it is destroyed
  }

  buf::HeapPacketPool pool;
  base::SeededRandom random;
  base::Instant now;
  std::unique_ptr<Stack> stack;

  // -- input --
  void inject(std::span<const uint8_t> frame, uint32_t ifindex = 0) {
    buf::Packet p = pool.alloc(kPacketHeadroom);
    ASSERT_FALSE(p.empty());
    ASSERT_TRUE(p.append_bytes(frame, pool));
    stack->input(ifindex, std::move(p), now);
  }
  // A datagram (IPv4 header onwards) from the peer's MAC to ours.
  void inject_datagram(std::span<const uint8_t> datagram, wire::MacAddress dst_mac = kOurMac,
                       wire::MacAddress src_mac = kPeerMac) {
    inject(ethernet(dst_mac, src_mac, wire::EtherType::kIpv4, datagram));
  }
  void inject_ipv4(const wire::Ipv4Repr& h, std::span<const uint8_t> payload,
                   wire::MacAddress dst_mac = kOurMac) {
    inject_datagram(ipv4(h, payload), dst_mac);
  }
  void inject_udp(uint16_t sport, uint16_t dport, std::span<const uint8_t> data,
                  wire::Ipv4Address src = kPeerIp, wire::Ipv4Address dst = kOurIp) {
    const wire::MacAddress mac = dst.is_broadcast() || dst == kSubnetBroadcast ? wire::MacAddress::broadcast() : kOurMac;
    inject_ipv4(ip_header(src, dst, wire::IpProtocol::kUdp, next_ident++), udp_datagram(sport, dport, data, src, dst), mac);
  }
  void inject_echo_request(uint16_t ident, uint16_t seq, std::span<const uint8_t> data,
                           wire::Ipv4Address dst = kOurIp) {
    const wire::MacAddress mac = dst.is_broadcast() || dst == kSubnetBroadcast ? wire::MacAddress::broadcast() : kOurMac;
    inject_ipv4(ip_header(kPeerIp, dst, wire::IpProtocol::kIcmp, next_ident++),
                icmp_echo(wire::Icmpv4Type::kEchoRequest, ident, seq, data), mac);
  }
  void inject_icmp(const wire::Icmpv4Repr& m, wire::Ipv4Address src = kPeerIp) {
    inject_ipv4(ip_header(src, kOurIp, wire::IpProtocol::kIcmp, next_ident++), icmp_message(m));
  }
  // The datagram h + payload as fragments of at most `per_fragment` payload bytes
  // (a multiple of 8), in order: the fragment datagrams, IPv4 header onwards.
  static std::vector<Bytes> fragment(wire::Ipv4Repr h, std::span<const uint8_t> payload, size_t per_fragment) {
    std::vector<Bytes> out;
    for (size_t off = 0; off < payload.size(); off += per_fragment) {
      const size_t n = std::min(per_fragment, payload.size() - off);
      wire::Ipv4Repr fh = h;
      fh.frag_offset = static_cast<uint16_t>(off);
      fh.more_fragments = off + n < payload.size();
      out.push_back(ipv4(fh, payload.subspan(off, n)));
    }
    return out;
  }
  void inject_fragments(const wire::Ipv4Repr& h, std::span<const uint8_t> payload, size_t per_fragment = 1480) {
    for (const Bytes& d : fragment(h, payload, per_fragment)) inject_datagram(d);
  }
  void inject_arp(const wire::ArpRepr& a, wire::MacAddress dst_mac = wire::MacAddress::broadcast()) {
    Bytes b(wire::ArpRepr::kLen);
    a.emit(b);
    inject(ethernet(dst_mac, a.sender_mac, wire::EtherType::kArp, b));
  }
  // Teaches the stack a neighbour the way the wire would: the neighbour asks for our
  // address (we answer: checked and consumed), then confirms with a reply.
  void resolve(wire::MacAddress mac, wire::Ipv4Address ip) {
    inject_arp(wire::ArpRepr{wire::ArpOp::kRequest, mac, ip, wire::MacAddress{}, kOurIp});
    TxFrame reply = expect_tx();
    EXPECT_TRUE(reply.arp.has_value());
    if (reply.arp) {
      EXPECT_EQ(reply.arp->op, wire::ArpOp::kReply);
      EXPECT_EQ(reply.arp->sender_mac, kOurMac);
      EXPECT_EQ(reply.arp->sender_ip, kOurIp);
      EXPECT_EQ(reply.arp->target_ip, ip);
      EXPECT_EQ(reply.eth.dst, mac);
    }
    inject_arp(wire::ArpRepr{wire::ArpOp::kReply, mac, ip, kOurMac, kOurIp}, kOurMac);
    expect_no_tx();
  }

  // -- time --
  void advance(base::Duration d) {
    now += d;
    stack->poll(now);
  }
  void poll() { stack->poll(now); }

  // -- output --
  std::optional<TxFrame> pop_tx() {
    Frame f;
    if (stack->take_tx(std::span<Frame>(&f, 1)) == 0) return std::nullopt;
    return parse_frame(f.ifindex, f.packet);
  }
  // The next transmitted frame; a failure (and a frame with present == false and
  // nothing parsed) when there is none.
  TxFrame expect_tx() {
    auto f = pop_tx();
    if (!f) {
      ADD_FAILURE() << "expected a transmitted frame, the TX queue is empty";
      return TxFrame{};
    }
    return std::move(*f);
  }
  void expect_no_tx() {
    if (auto f = pop_tx()) {
      ADD_FAILURE() << "unexpected transmitted frame of " << f->bytes.size() << " bytes"
                    << (f->ip ? " (IPv4 protocol " + std::to_string(f->ip->protocol) + ")" : std::string())
                    << (f->arp ? " (ARP)" : "");
    }
  }
  std::vector<TxFrame> drain_tx() {
    std::vector<TxFrame> out;
    while (auto f = pop_tx()) out.push_back(std::move(*f));
    return out;
  }
  std::vector<Frame> take_raw_tx() {
    std::vector<Frame> out(4096);
    out.resize(stack->take_tx(out));
    return out;
  }

  // -- counters --
  using Counters = std::map<std::string, uint64_t>;  // "module.name"
  Counters counters() const {
    Counters c;
    stack->for_each_counter([&](std::string_view m, std::string_view n, uint64_t v) {
      c[std::string(m) + "." + std::string(n)] = v;
    });
    return c;
  }
  uint64_t counter(const std::string& name) const {
    const Counters c = counters();
    auto it = c.find(name);
    if (it == c.end()) {
      ADD_FAILURE() << "no counter named " << name;
      return 0;
    }
    return it->second;
  }
  // Counters that changed between two snapshots, with their increase.
  static Counters delta(const Counters& before, const Counters& after) {
    Counters d;
    for (const auto& [k, v] : after) {
      auto it = before.find(k);
      const uint64_t b = it == before.end() ? 0 : it->second;
      if (v != b) d[k] = v - b;
    }
    return d;
  }
  // Only the drop counters among those that changed.
  static Counters drops(const Counters& d) {
    Counters out;
    for (const auto& [k, v] : d) {
      if (k.find(".drop_") != std::string::npos) out[k] = v;
    }
    return out;
  }

  uint16_t next_ident = 0x4000;
};

}  // namespace joyride::core::testing
