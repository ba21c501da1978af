// The segment-level TCP harness: one stack, a scripted peer. A test injects one
// segment from the peer and checks the next one the stack sends (flags, seq, ack,
// window, options), on a fake clock that moves only when the test says.
//
//   TcpHarness h;
//   SocketId l = h.listen(80);
//   h.inject(h.peer_segment(kSyn, iss, 0));
//   Seg synack = h.expect_segment();   // flags, seq, ack, window, options, payload
#pragma once

#include <gtest/gtest.h>

#include "core/stack_harness.h"
#include "joyride/wire/tcp.h"

namespace joyride::core::testing {

using wire::TcpFlags;

struct Seg {
  wire::TcpRepr h;
  Bytes payload;
  uint8_t tos = 0;
  bool has(uint8_t f) const { return (h.flags & f) == f; }
  base::SeqNum seq() const { return h.seq; }
  base::SeqNum ack() const { return h.ack; }
};

class TcpHarness : public StackHarness {
 public:
  static constexpr uint16_t kPeerPort = 40000;

  explicit TcpHarness(HarnessOptions o = {}) : StackHarness(o) {}

  TcpLayer& tcp() { return stack->tcp(); }

  SocketId listen(uint16_t port, int backlog = 128) {
    auto s = tcp().open();
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE(tcp().bind(*s, Endpoint{kOurIp, port}).ok());
    EXPECT_TRUE(tcp().listen(*s, backlog).ok());
    return *s;
  }

  // A segment from the peer (kPeerIp:kPeerPort) to us (kOurIp:port).
  wire::TcpRepr peer_segment(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t port = 80,
                             uint16_t window = 65535) const {
    wire::TcpRepr t;
    t.src_port = kPeerPort;
    t.dst_port = port;
    t.seq = base::SeqNum(seq);
    t.ack = base::SeqNum(ack);
    t.flags = flags;
    t.window = window;
    return t;
  }

  void inject(wire::TcpRepr t, std::span<const uint8_t> payload = {}, uint8_t tos = 0,
              wire::Ipv4Address src = kPeerIp) {
    t.payload_len = static_cast<uint16_t>(payload.size());
    const size_t hl = t.header_len_to_emit();
    Bytes seg(hl + payload.size());
    t.emit_header(std::span<uint8_t>(seg.data(), hl), src, kOurIp, payload);
    std::copy(payload.begin(), payload.end(), seg.begin() + static_cast<std::ptrdiff_t>(hl));
    auto ip = ip_header(src, kOurIp, wire::IpProtocol::kTcp);
    ip.dscp_ecn = tos;
    StackHarness::inject(ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv4, ipv4(ip, seg)));
  }

  std::optional<Seg> pop_segment() {
    while (auto f = pop_tx()) {
      if (!f->ip || f->ip->protocol != wire::IpProtocol::kTcp) continue;
      auto t = wire::TcpRepr::parse(f->ip_payload, f->ip->src, f->ip->dst, true);
      EXPECT_TRUE(t.ok()) << "the stack sent a TCP segment that does not parse";
      if (!t) return std::nullopt;
      Seg s;
      s.h = *t;
      s.payload.assign(f->ip_payload.begin() + t->header_len, f->ip_payload.end());
      s.tos = f->ip->dscp_ecn;
      return s;
    }
    return std::nullopt;
  }

  Seg expect_segment() {
    auto s = pop_segment();
    if (!s) {
      ADD_FAILURE() << "expected a TCP segment, none was sent";
      return Seg{};
    }
    return *s;
  }

  void expect_no_segment() {
    if (auto s = pop_segment()) {
      ADD_FAILURE() << "unexpected segment flags=" << TcpFlags::to_string(s->h.flags) << " seq=" << s->h.seq.value()
                    << " ack=" << s->h.ack.value() << " len=" << s->payload.size();
    }
  }

  // Runs the passive handshake on `listener` with the given SYN options. Returns the
  // accepted socket and our ISS; the peer's ISS is `peer_iss`.
  std::pair<SocketId, uint32_t> accept_connection(SocketId listener, uint32_t peer_iss,
                                                   const wire::TcpOptions& syn_options, uint16_t port = 80) {
    auto syn = peer_segment(TcpFlags::kSyn, peer_iss, 0, port);
    syn.options = syn_options;
    inject(syn);
    Seg sa = expect_segment();
    EXPECT_TRUE(sa.has(TcpFlags::kSyn | TcpFlags::kAck));
    auto ack = peer_segment(TcpFlags::kAck, peer_iss + 1, sa.seq().value() + 1, port);
    if (syn_options.timestamps && sa.h.options.timestamps) {
      ack.options.timestamps = std::pair{syn_options.timestamps->first + 1, sa.h.options.timestamps->first};
    }
    inject(ack);
    auto child = tcp().accept(listener);
    EXPECT_TRUE(child.ok());
    return {child.ok() ? *child : SocketId{}, sa.seq().value()};
  }
};

}  // namespace joyride::core::testing
