// An established passive connection for data-transfer tests, shared by the
// receive, send and recovery tests: the handshake done with chosen options, and
// helpers that write sequence numbers as offsets into each side's byte stream.
#pragma once

#include <optional>

#include "tcp_harness.h"

namespace joyride::core::testing {

using base::Duration;
using base::SeqNum;

inline constexpr uint32_t kPeerIss = 1000;
inline constexpr uint32_t kMss = 1460;

struct ConnOptions {
  bool sack = true;
  bool ts = false;
  std::optional<uint8_t> ws;
  uint16_t peer_mss = 1460;
  size_t rcvbuf = 0;
  size_t sndbuf = 0;
  const char* cc = nullptr;
  bool ecn = false;  // the peer's SYN asks for ECN (ECE+CWR)
  Duration handshake_rtt = Duration::zero();
  HarnessOptions harness;
};

// An established passive connection on port 80, the peer's ISS kPeerIss. Sequence
// numbers are written as offsets into each side's byte stream: us(0) is our first
// data byte, them(0) the peer's.
struct Conn {
  TcpHarness h;
  SocketId s;
  uint32_t iss = 0;        // ours
  uint32_t peer_ack = 0;   // offset the peer acknowledges in data() segments
  uint16_t peer_wnd = 65535;
  uint32_t peer_tsval = 5000;
  uint32_t echo = 0;       // the last TSval we sent (the peer echoes it)
  Seg synack;

  explicit Conn(ConnOptions o = {}) : h(o.harness) {
    auto l = h.tcp().open();
    EXPECT_TRUE(h.tcp().bind(*l, Endpoint{kOurIp, 80}).ok());
    if (o.rcvbuf) {
      EXPECT_TRUE(h.tcp().set_rcvbuf(*l, o.rcvbuf));
    }
    if (o.sndbuf) {
      EXPECT_TRUE(h.tcp().set_sndbuf(*l, o.sndbuf));
    }
    if (o.cc) {
      EXPECT_TRUE(h.tcp().set_congestion_control(*l, o.cc));
    }
    EXPECT_TRUE(h.tcp().listen(*l, 16).ok());
    auto syn = h.peer_segment(TcpFlags::kSyn | (o.ecn ? TcpFlags::kEce | TcpFlags::kCwr : 0), kPeerIss, 0);
    syn.options.mss = o.peer_mss;
    syn.options.sack_permitted = o.sack;
    if (o.ts) syn.options.timestamps = std::pair{peer_tsval, 0u};
    syn.options.window_scale = o.ws;
    h.inject(syn);
    synack = expect();
    iss = synack.seq().value();
    h.advance(o.handshake_rtt);
    h.inject(seg(TcpFlags::kAck, kPeerIss + 1, iss + 1));
    auto c = h.tcp().accept(*l);
    EXPECT_TRUE(c.ok());
    if (c.ok()) s = *c;
  }

  SeqNum us(uint32_t off) const { return SeqNum(iss + 1 + off); }
  SeqNum them(uint32_t off) const { return SeqNum(kPeerIss + 1 + off); }

  wire::TcpRepr seg(uint8_t flags, uint32_t seq, uint32_t ack) const {
    auto t = h.peer_segment(flags, seq, ack, 80, peer_wnd);
    if (synack.h.options.timestamps) t.options.timestamps = std::pair{peer_tsval, echo};
    return t;
  }
  // `n` bytes of the peer's stream at offset `off`.
  void data(uint32_t off, size_t n, uint8_t flags = TcpFlags::kAck | TcpFlags::kPsh, uint8_t tos = 0) {
    Bytes b = pattern(n, static_cast<uint8_t>(off));
    h.inject(seg(flags, them(off).value(), us(peer_ack).value()), b, tos);
  }
  // A pure ACK from the peer of our stream up to `off`, with SACK blocks as offsets.
  void ack(uint32_t off, std::vector<std::pair<uint32_t, uint32_t>> sacks = {}, uint8_t flags = TcpFlags::kAck) {
    peer_ack = off;
    auto t = seg(flags, them(rcv).value(), us(off).value());
    for (auto [l, r] : sacks) t.options.add_sack(wire::SackBlock{us(l), us(r)});
    h.inject(t);
  }
  uint32_t rcv = 0;  // the peer's next sequence offset in pure ACKs

  Seg expect() {
    Seg g = h.expect_segment();
    if (g.h.options.timestamps) echo = g.h.options.timestamps->first;
    return g;
  }
  // Our next segment must be a data segment [us(off), us(off + len)).
  Seg expect_data(uint32_t off, uint32_t len) {
    Seg g = expect();
    EXPECT_EQ(g.seq(), us(off)) << "offset " << (g.seq() - us(0));
    EXPECT_EQ(g.payload.size(), len);
    EXPECT_TRUE(g.has(TcpFlags::kAck));
    return g;
  }
  // Our next segment must be a pure ACK of the peer's stream up to `off`.
  Seg expect_ack(uint32_t off) {
    Seg g = expect();
    EXPECT_EQ(g.h.flags & ~TcpFlags::kEce, TcpFlags::kAck);
    EXPECT_EQ(g.ack(), them(off)) << "acks offset " << (g.ack() - them(0));
    EXPECT_TRUE(g.payload.empty());
    return g;
  }
  size_t send(size_t n) {
    Bytes b = pattern(n);
    auto r = h.tcp().send(s, b, h.now);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : 0;
  }
  size_t read(size_t n) {
    Bytes b(n);
    auto r = h.tcp().recv(s, b, h.now);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : 0;
  }
  TcpInfo info() { return *h.tcp().info(s); }
  std::vector<std::pair<uint32_t, uint32_t>> sacks(const Seg& g) const {
    std::vector<std::pair<uint32_t, uint32_t>> v;
    for (const auto& b : g.h.options.sacks()) {
      v.emplace_back(static_cast<uint32_t>(b.left - them(0)), static_cast<uint32_t>(b.right - them(0)));
    }
    return v;
  }
};

}  // namespace joyride::core::testing
