// Instructions per segment on the TCP bulk-data paths of one stack instance, for
// callgrind (bench/README.md has the recipe):
//
//   valgrind --tool=callgrind --toggle-collect=joyride_bench_loop
//            build/release/bench/joyride_bench_tcp_path rx 11000   (one command line)
//
// A count-bounded loop (no timing) over one ESTABLISHED connection to a scripted peer
// that negotiated what a Linux peer does (MSS 1460, timestamps, SACK, window scale 7),
// so every data segment carries 1448 bytes and a 12-byte timestamp option:
//   rx N  feeds N prebuilt in-order data segments to Stack::input, reads each with
//         TcpLayer::recv and takes our ACKs (one per two segments) from take_tx;
//   tx N  sends 1448 bytes per iteration with TcpLayer::send, takes the segment from
//         take_tx and, every second iteration, injects a prebuilt peer ACK for all the
//         data so far (the window's right edge moves with it), so nothing ever stalls.
// Every input frame is built before the loop (correct sequence numbers, timestamps and
// checksums) and sits in a pool packet, so the loop measures the stack and not the
// test: only Stack::input/poll, the TCP socket calls and take_tx run inside it.
//
// Time does not move (every call gets the same Instant): no timer fires inside the
// loop, RTT samples are 0 and tsval is constant. That keeps the run deterministic and
// the per-segment count free of timer-wheel ticks, which a real run would add.
//
// An optional third argument, `offload`, marks every input frame as a NIC with receive
// checksum offload would (buf::kRxIpv4ChecksumGood | buf::kRxL4ChecksumGood) and turns
// on transmit checksum offload on the interface (InterfaceConfig::
// tx_l4_checksum_offload: TCP leaves its checksums to the device): the figure for the
// DPDK path on real NICs, where the stack never sums payload bytes. Outside the
// measured loop, drain() completes such checksums as the device would.
//
// The program checks at the end that all N segments were delivered (rx: every byte
// read, in order, and acknowledged) or sent and acknowledged (tx), with no drop or
// retransmission, and exits non-zero otherwise: the bench cannot silently measure a
// stalled connection.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "joyride/base/random.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/core/stack.h"
#include "joyride/wire/arp.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ethernet.h"
#include "joyride/wire/ipv4.h"
#include "joyride/wire/tcp.h"

using namespace joyride;

namespace {

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

  // ARP, then the passive handshake; false when anything is not as expected.
  bool establish() {
    // Teach ARP the peer as the wire would: it asks for us, then we hear its reply.
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
    auto& tcp = stack.tcp();
    auto l = tcp.open();
    if (!l || !tcp.bind(*l, core::Endpoint{kLocal, kPort}).ok() || !tcp.listen(*l, 16).ok()) return false;

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
    auto child = tcp.accept(*l);
    if (!child || tcp.state(*child) != core::TcpState::kEstablished) {
      std::fprintf(stderr, "handshake did not reach ESTABLISHED\n");
      return false;
    }
    sock = *child;
    auto info = tcp.info(sock);
    if (!info || !info->timestamps || !info->sack || info->snd_mss != kMss) {
      std::fprintf(stderr, "unexpected negotiation (snd_mss %u)\n", info ? info->snd_mss : 0);
      return false;
    }
    return true;
  }
};

struct LoopStats {
  uint64_t bytes = 0;     // rx: read by recv; tx: accepted by send
  uint64_t frames = 0;    // frames taken from take_tx
  bool in_order = true;   // rx: every byte read is the expected one (checked on a sample)
};

}  // namespace

// The measured loop: only this function's instructions are counted
// (--toggle-collect=joyride_bench_loop). `input` holds the prebuilt peer frames:
// rx: one data segment per iteration; tx: one ACK per two iterations.
extern "C" __attribute__((noinline)) void joyride_bench_loop(Bench& b, bool rx, long n,
                                                            std::vector<buf::Packet>& input,
                                                            std::vector<uint8_t>& buffer, LoopStats& st) {
  std::array<core::Frame, 32> out;
  auto& tcp = b.stack.tcp();
  for (long i = 0; i < n; ++i) {
    if (rx) {
      b.stack.input(0, std::move(input[static_cast<size_t>(i)]), kNow);
      auto r = tcp.recv(b.sock, buffer, kNow);
      if (r) {
        // One byte per segment is enough to catch misordering without measuring a scan.
        if (*r == 0 || buffer[0] != stream_byte(st.bytes)) st.in_order = false;
        st.bytes += *r;
      }
    } else {
      auto r = tcp.send(b.sock, std::span(buffer.data(), kMss), kNow);
      if (r) st.bytes += *r;
      if (i % 2 == 1) b.stack.input(0, std::move(input[static_cast<size_t>(i / 2)]), kNow);
    }
    while (size_t k = b.stack.take_tx(out)) {
      st.frames += k;
      for (size_t j = 0; j < k; ++j) out[j].packet.reset();
    }
  }
}

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4 || (std::string_view(argv[1]) != "rx" && std::string_view(argv[1]) != "tx") ||
      std::atol(argv[2]) <= 0 || (argc == 4 && std::string_view(argv[3]) != "offload")) {
    std::fprintf(stderr, "usage: %s rx|tx COUNT [offload]\n", argv[0]);
    return 2;
  }
  const bool offload = argc == 4;
  const bool rx = std::string_view(argv[1]) == "rx";
  const long n = std::atol(argv[2]);
  const uint64_t total = static_cast<uint64_t>(n) * kMss;

  // Room for every prebuilt frame plus what the stack holds at once.
  Bench b(static_cast<uint32_t>(n) + 4096, offload);
  if (!b.establish()) return 1;

  // Prebuild the peer's frames.
  std::vector<buf::Packet> input;
  std::vector<uint8_t> payload(kMss);
  if (rx) {
    input.reserve(static_cast<size_t>(n));
    for (long i = 0; i < n; ++i) {
      const uint64_t off = static_cast<uint64_t>(i) * kMss;
      for (size_t k = 0; k < kMss; ++k) payload[k] = stream_byte(off + k);
      wire::TcpRepr d;
      d.seq = base::SeqNum(kPeerIss + 1 + static_cast<uint32_t>(off));
      d.ack = base::SeqNum(b.our_iss + 1);
      d.flags = wire::TcpFlags::kAck | wire::TcpFlags::kPsh;
      d.window = 65535;
      d.options.timestamps = std::pair{kPeerTsval + 1 + static_cast<uint32_t>(i), b.our_tsval};
      input.push_back(b.peer_frame(d, payload));
    }
  } else {
    // One ACK per two segments, acknowledging everything sent so far; the peer's
    // window (65535 << 7) is far larger than what is ever in flight.
    input.reserve(static_cast<size_t>(n / 2));
    for (long j = 0; j < n / 2; ++j) {
      wire::TcpRepr a;
      a.seq = base::SeqNum(kPeerIss + 1);
      a.ack = base::SeqNum(b.our_iss + 1 + static_cast<uint32_t>((j + 1) * 2 * kMss));
      a.flags = wire::TcpFlags::kAck;
      a.window = 65535;
      a.options.timestamps = std::pair{kPeerTsval + 1 + static_cast<uint32_t>(j), b.our_tsval};
      input.push_back(b.peer_frame(a, {}));
    }
  }

  if (offload) {
    for (buf::Packet& p : input) p.set_offload(buf::kRxIpv4ChecksumGood | buf::kRxL4ChecksumGood);
  }

  std::vector<uint8_t> buffer(rx ? 65536 : kMss);
  if (!rx) {
    for (size_t k = 0; k < kMss; ++k) buffer[k] = stream_byte(k);
  }
  LoopStats st;
  joyride_bench_loop(b, rx, n, input, buffer, st);

  // ---- verification (outside the measured loop) -----------------------------------
  bool ok = true;
  auto fail = [&](const char* what) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ok = false;
  };
  if (!rx && n % 2 == 1) {
    // The last segment of an odd count: acknowledge it too.
    wire::TcpRepr a;
    a.seq = base::SeqNum(kPeerIss + 1);
    a.ack = base::SeqNum(b.our_iss + 1 + static_cast<uint32_t>(total));
    a.flags = wire::TcpFlags::kAck;
    a.window = 65535;
    a.options.timestamps = std::pair{kPeerTsval + 1 + static_cast<uint32_t>(n), b.our_tsval};
    b.stack.input(0, b.peer_frame(a, {}), kNow);
  }
  auto last = b.drain();
  const auto info = b.stack.tcp().info(b.sock);
  if (!info) {
    fail("the connection is gone");
    return 1;
  }
  if (info->state != core::TcpState::kEstablished) fail("the connection left ESTABLISHED");
  if (st.bytes != total) fail(rx ? "not every byte was read" : "send did not take every byte");
  if (rx) {
    if (!st.in_order) fail("bytes read out of order");
    if (info->bytes_received != total) fail("bytes_received != N * 1448");
    // Our ACKs: one per two full segments, and (N even) the last acknowledges everything.
    if (st.frames < static_cast<uint64_t>(n / 2)) fail("fewer ACKs than one per two segments");
    if (n % 2 == 0 && st.frames > 0) {
      // Nothing is left unacknowledged for the delayed-ACK timer.
      if (!last.empty()) fail("an ACK was left for after the loop");
    }
  } else {
    if (st.frames != static_cast<uint64_t>(n)) fail("not one frame per send");
    if (info->bytes_acked != total) fail("bytes_acked != N * 1448");
    if (info->unacked != 0) fail("data left unacknowledged");
    if (info->segs_out < static_cast<uint64_t>(n)) fail("segs_out < N");
  }
  if (info->total_retrans != 0) fail("retransmissions");
  uint64_t drops = 0;
  b.stack.for_each_counter([&](std::string_view, std::string_view name, uint64_t v) {
    if (name.starts_with("drop")) drops += v;
  });
  if (drops != 0) fail("drops counted");
  std::printf("%s %ld segments of %zu bytes: %llu bytes, %llu frames out, cwnd %u, %llu drops: %s\n"
              "callgrind --toggle-collect=joyride_bench_loop\n",
              rx ? "rx" : "tx", n, kMss, static_cast<unsigned long long>(st.bytes),
              static_cast<unsigned long long>(st.frames), info->cwnd, static_cast<unsigned long long>(drops),
              ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
