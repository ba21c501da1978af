// The scripted peer of the TCP path benches (tcp_path_bench.cc, app_ring_bench.cc):
// one host stack, a peer that negotiates what a Linux peer does (MSS 1460, timestamps,
// SACK, window scale 7), its frames prebuilt in pool packets, and time that does not
// move. See tcp_path_bench.cc for what the figures mean.
#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "joyride/base/random.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/core/stack.h"
#include "joyride/wire/arp.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ethernet.h"
#include "joyride/wire/ipv4.h"
#include "joyride/wire/tcp.h"

namespace joyride::bench {

constexpr size_t kMss = 1448;  // 1460 less the 12 bytes of the timestamp option
constexpr uint16_t kPort = 80;
constexpr uint16_t kPeerPort = 40000;
constexpr uint32_t kPeerIss = 0x10000000;
constexpr uint32_t kPeerTsval = 1000000;
constexpr uint8_t kPeerWscale = 7;
const wire::Ipv4Address kLocal = wire::Ipv4Address::from_octets(198, 18, 0, 1);
const wire::Ipv4Address kPeer = wire::Ipv4Address::from_octets(198, 18, 0, 2);
const wire::MacAddress kLocalMac{{2, 0, 0, 0, 0, 1}};
const wire::MacAddress kPeerMac{{2, 0, 0, 0, 0, 2}};
const base::Instant kNow = base::Instant::from_nanos(1'000'000'000'000);

// Byte i of the stream (either direction), so a misplaced byte shows.
uint8_t stream_byte(uint64_t i) { return static_cast<uint8_t>(i % 251); }

struct Bench {
  buf::HeapPacketPool pool;
  base::SeededRandom random{1};
  core::Stack stack;
  core::SocketId sock{};
  uint32_t our_iss = 0;      // our initial sequence number (from the SYN-ACK)
  uint32_t our_tsval = 0;    // constant: time does not move
  uint16_t ident = 1;        // IPv4 identification of the peer's datagrams

  static core::StackConfig config(bool offload) {
    core::StackConfig c;
    core::InterfaceConfig itf;
    itf.name = "bench0";
    itf.mac = kLocalMac;
    itf.tx_l4_checksum_offload = offload;
    itf.ipv4.push_back(wire::Ipv4Cidr(kLocal, 24));
    c.interfaces = {itf};
    c.arp.reachable_time = base::Duration::seconds(24 * 3600);
    c.arp.gc_time = base::Duration::seconds(24 * 3600);
    return c;
  }
  Bench(uint32_t segments, bool offload)
      : pool(segments, buf::HeapPacketPool::kDefaultSegmentCapacity, 4096), stack(config(offload), pool, random, kNow) {}

  // A whole frame from the peer in a pool packet: Ethernet, IPv4, TCP with checksum.
  buf::Packet peer_frame(wire::TcpRepr t, std::span<const uint8_t> payload) {
    t.src_port = kPeerPort;
    t.dst_port = kPort;
    t.payload_len = static_cast<uint16_t>(payload.size());
    const size_t tcp_len = t.header_len_to_emit() + payload.size();
    buf::Packet p = pool.alloc(0);
    uint8_t* f = p.append(14 + 20 + tcp_len);
    if (f == nullptr) {
      std::fprintf(stderr, "packet pool exhausted while building frames\n");
      std::exit(3);
    }
    wire::EthernetRepr{kLocalMac, kPeerMac, wire::EtherType::kIpv4, std::nullopt}.emit(std::span(f, 14));
    wire::Ipv4Repr ip;
    ip.src = kPeer;
    ip.dst = kLocal;
    ip.protocol = wire::IpProtocol::kTcp;
    ip.ttl = 64;
    ip.ident = ident++;
    ip.payload_len = static_cast<uint16_t>(tcp_len);
    ip.emit(std::span(f + 14, 20));
    t.emit_header(std::span(f + 34, t.header_len_to_emit()), kPeer, kLocal, payload);
    if (!payload.empty()) std::memcpy(f + 34 + t.header_len_to_emit(), payload.data(), payload.size());
    return p;
  }

  // Takes every frame the stack queued; returns the TCP segments among them.
  std::vector<wire::TcpRepr> drain() {
    std::vector<wire::TcpRepr> segs;
    std::array<core::Frame, 32> out;
    while (size_t n = stack.take_tx(out)) {
      for (size_t i = 0; i < n; ++i) {
        std::vector<uint8_t> b(out[i].packet.len());
        out[i].packet.copy_out(0, b);
        const bool partial = (out[i].packet.offload() & buf::kTxL4ChecksumPartial) != 0;
        out[i].packet.reset();
        auto ip = wire::Ipv4Repr::parse(std::span<const uint8_t>(b).subspan(14));
        if (!ip || ip->protocol != wire::IpProtocol::kTcp) continue;
        if (partial) {
          // The device's part (buf/packet.h): the field holds the pseudo header's sum.
          auto l4 = std::span<uint8_t>(b).subspan(14 + ip->header_len, ip->payload_len);
          const uint16_t sum = wire::checksum_fold(wire::checksum_accumulate(l4));
          l4[16] = static_cast<uint8_t>(sum >> 8);
          l4[17] = static_cast<uint8_t>(sum);
        }
        auto t = wire::TcpRepr::parse(std::span<const uint8_t>(b).subspan(14 + ip->header_len, ip->payload_len),
                                      ip->src, ip->dst, true);
        if (t) segs.push_back(*t);
      }
    }
    std::array<core::SocketEvent, 32> events;
    while (stack.take_events(events) > 0) {
    }
    return segs;
  }

  // Teaches ARP the peer as the wire would: it asks for us, then we hear its reply.
  void learn_arp() {
    for (auto op : {wire::ArpOp::kRequest, wire::ArpOp::kReply}) {
      const wire::ArpRepr a{op, kPeerMac, kPeer, op == wire::ArpOp::kReply ? kLocalMac : wire::MacAddress{}, kLocal};
      buf::Packet p = pool.alloc(0);
      uint8_t* f = p.append(14 + wire::ArpRepr::kLen);
      wire::EthernetRepr{op == wire::ArpOp::kReply ? kLocalMac : wire::MacAddress::broadcast(), kPeerMac,
                         wire::EtherType::kArp, std::nullopt}
          .emit(std::span(f, 14));
      a.emit(std::span(f + 14, wire::ArpRepr::kLen));
      stack.input(0, std::move(p), kNow);
      drain();
    }
  }

  // The peer's side of the passive handshake to a listener on kLocal:kPort (whoever
  // holds it); false when our SYN-ACK is not as a Linux peer's negotiation needs.
  // `events` takes the readiness events in between (the host's, by default).
  bool handshake(const std::function<void()>& events = {}) {
    wire::TcpRepr syn;
    syn.seq = base::SeqNum(kPeerIss);
    syn.flags = wire::TcpFlags::kSyn;
    syn.window = 65535;
    syn.options.mss = 1460;
    syn.options.sack_permitted = true;
    syn.options.timestamps = std::pair{kPeerTsval - 1, 0u};
    syn.options.window_scale = kPeerWscale;
    stack.input(0, peer_frame(syn, {}), kNow);
    auto sa = drain();
    if (sa.size() != 1 || sa[0].flags != (wire::TcpFlags::kSyn | wire::TcpFlags::kAck) ||
        !sa[0].options.timestamps || !sa[0].options.sack_permitted || !sa[0].options.window_scale) {
      std::fprintf(stderr, "no SYN-ACK with timestamps, SACK and window scale\n");
      return false;
    }
    our_iss = sa[0].seq.value();
    our_tsval = sa[0].options.timestamps->first;

    wire::TcpRepr ack;
    ack.seq = base::SeqNum(kPeerIss + 1);
    ack.ack = base::SeqNum(our_iss + 1);
    ack.flags = wire::TcpFlags::kAck;
    ack.window = 65535;
    ack.options.timestamps = std::pair{kPeerTsval, our_tsval};
    stack.input(0, peer_frame(ack, {}), kNow);
    drain();
    if (events) events();
    return true;
  }

  // The peer's frames for the loop: rx, one in-order data segment per iteration; tx,
  // one ACK per two iterations for everything sent so far (the peer's window, 65535
  // << 7, is far larger than what is ever in flight).
  std::vector<buf::Packet> loop_input(bool rx, long n, bool offload) {
    std::vector<buf::Packet> input;
    std::vector<uint8_t> payload(kMss);
    if (rx) {
      input.reserve(static_cast<size_t>(n));
      for (long i = 0; i < n; ++i) {
        const uint64_t off = static_cast<uint64_t>(i) * kMss;
        for (size_t k = 0; k < kMss; ++k) payload[k] = stream_byte(off + k);
        wire::TcpRepr d;
        d.seq = base::SeqNum(kPeerIss + 1 + static_cast<uint32_t>(off));
        d.ack = base::SeqNum(our_iss + 1);
        d.flags = wire::TcpFlags::kAck | wire::TcpFlags::kPsh;
        d.window = 65535;
        d.options.timestamps = std::pair{kPeerTsval + 1 + static_cast<uint32_t>(i), our_tsval};
        input.push_back(peer_frame(d, payload));
      }
    } else {
      input.reserve(static_cast<size_t>(n / 2));
      for (long j = 0; j < n / 2; ++j) input.push_back(ack_frame(static_cast<uint64_t>(j + 1) * 2 * kMss, j));
    }
    if (offload) {
      for (buf::Packet& p : input) p.set_offload(buf::kRxIpv4ChecksumGood | buf::kRxL4ChecksumGood);
    }
    return input;
  }

  // The peer's ACK of our first `bytes` bytes (its `k`-th timestamp).
  buf::Packet ack_frame(uint64_t bytes, long k) {
    wire::TcpRepr a;
    a.seq = base::SeqNum(kPeerIss + 1);
    a.ack = base::SeqNum(our_iss + 1 + static_cast<uint32_t>(bytes));
    a.flags = wire::TcpFlags::kAck;
    a.window = 65535;
    a.options.timestamps = std::pair{kPeerTsval + 1 + static_cast<uint32_t>(k), our_tsval};
    return peer_frame(a, {});
  }
};


}  // namespace joyride::bench
