// Fuzzes TCP connections in every state with segments that pass the checksum: the
// fuzzer's bytes become segments aimed at a live connection (sequence and
// acknowledgement numbers optionally placed relative to what the connection
// expects, so they land in its windows) or at a listener, interleaved with the
// application sending, reading, shutting down and closing. Whatever arrives, the
// stack must not crash, hang or leak: the pool must be whole when an instance is torn
// down (every 2048 inputs).
//
// Input: records of
//   byte 0   time step in milliseconds
//   byte 1   bit 0: seq relative to RCV.NXT; bit 1: ack relative to SND.UNA;
//            bit 2: to the listener (port 80) instead of the connection;
//            bit 3: the app sends 3000 bytes; bit 4: the app reads everything;
//            bit 5: shutdown(SHUT_WR); bit 6: close; bit 7: CE mark in the IP header
//   byte 2-3 segment length L (big-endian, at most 1600)
//   L bytes  TCP header and payload (ports are overwritten, checksum computed)
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "joyride/base/bytes.h"
#include "joyride/base/random.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/core/stack.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ethernet.h"
#include "joyride/wire/ipv4.h"
#include "joyride/wire/tcp.h"

using namespace joyride;

namespace {

const wire::Ipv4Address kLocal = wire::Ipv4Address::from_octets(198, 18, 0, 1);
const wire::Ipv4Address kPeer = wire::Ipv4Address::from_octets(198, 18, 0, 2);
const wire::MacAddress kLocalMac{{2, 0, 0, 0, 0, 1}};
const wire::MacAddress kPeerMac{{2, 0, 0, 0, 0, 2}};
constexpr uint16_t kPeerPort = 5000;
constexpr uint16_t kListenPort = 80;

struct Instance {
  buf::HeapPacketPool pool{4096, buf::HeapPacketPool::kDefaultSegmentCapacity, 4096};
  base::SeededRandom random{1};
  base::Instant now = base::Instant::from_nanos(1'000'000'000);
  std::optional<core::Stack> stack;
  core::SocketId conn;
  core::SocketId listener;
  unsigned inputs = 0;

  static core::StackConfig config() {
    core::StackConfig c;
    core::InterfaceConfig itf;
    itf.name = "fuzz0";
    itf.mac = kLocalMac;
    itf.ipv4.push_back(wire::Ipv4Cidr(kLocal, 24));
    c.interfaces = {itf};
    c.tcp.max_sockets = 512;
    return c;
  }

  Instance() {
    stack.emplace(config(), pool, random, now);
    listener = *stack->tcp().open();
    (void)stack->tcp().bind(listener, {kLocal, kListenPort});
    (void)stack->tcp().listen(listener, 8);
    // Teach ARP the peer (an ARP reply), so our segments leave at once.
    std::vector<uint8_t> arp(42);
    wire::EthernetRepr{kLocalMac, kPeerMac, wire::EtherType::kArp, std::nullopt}.emit(arp);
    const uint8_t body[28] = {0, 1, 8, 0, 6, 4, 0, 2, 2, 0, 0, 0, 0, 2, 198, 18, 0, 2,
                              2, 0, 0, 0, 0, 1, 198, 18, 0, 1};
    std::memcpy(arp.data() + 14, body, 28);
    deliver(arp);
  }

  ~Instance() {
    stack.reset();
    if (pool.available_segments() != pool.total_segments() ||
        pool.available_descriptors() != pool.total_descriptors()) {
      std::fprintf(stderr, "stack leaked packets: %u of %u segments free\n", pool.available_segments(),
                   pool.total_segments());
      std::abort();
    }
  }

  void deliver(std::span<const uint8_t> frame) {
    buf::Packet p = pool.alloc(0);
    if (p.empty()) return;
    uint8_t* out = p.append(frame.size());
    if (out == nullptr) return;
    std::memcpy(out, frame.data(), frame.size());
    stack->input(0, std::move(p), now);
    drain();
  }

  void drain() {
    stack->poll(now);
    std::array<core::Frame, 64> frames;
    while (stack->take_tx(frames) > 0) {
    }
    std::array<core::SocketEvent, 64> events;
    while (stack->take_events(events) > 0) {
    }
  }

  // An established connection from us to the peer, made by a scripted handshake.
  void ensure_connection() {
    core::TcpLayer& tcp = stack->tcp();
    if (conn.valid() && tcp.state(conn)) return;
    auto s = tcp.open();
    if (!s) return;
    conn = *s;
    if (!tcp.connect(conn, {kPeer, kPeerPort}, now)) return;
    drain();
    const core::tcp::Tcb* t = tcp.tcb(conn);
    if (t == nullptr) return;
    wire::TcpRepr sa;
    sa.src_port = kPeerPort;
    sa.dst_port = t->tuple.local_port;
    sa.seq = base::SeqNum(777);
    sa.ack = t->iss + 1;
    sa.flags = wire::TcpFlags::kSyn | wire::TcpFlags::kAck;
    sa.window = 65535;
    sa.options.mss = 1460;
    sa.options.sack_permitted = true;
    sa.options.window_scale = 7;
    sa.options.timestamps = std::pair{100u, 0u};
    send_segment(sa, {}, false);
  }

  void send_segment(const wire::TcpRepr& h, std::span<const uint8_t> payload, bool ce) {
    wire::TcpRepr t = h;
    t.payload_len = static_cast<uint16_t>(payload.size());
    std::vector<uint8_t> seg(t.header_len_to_emit() + payload.size());
    t.emit_header(std::span(seg).first(t.header_len_to_emit()), kPeer, kLocal, payload);
    std::memcpy(seg.data() + t.header_len_to_emit(), payload.data(), payload.size());
    send_raw(seg, ce);
  }

  void send_raw(std::span<const uint8_t> seg, bool ce) {
    std::vector<uint8_t> f(14 + 20 + seg.size());
    wire::EthernetRepr{kLocalMac, kPeerMac, wire::EtherType::kIpv4, std::nullopt}.emit(f);
    wire::Ipv4Repr ip;
    ip.src = kPeer;
    ip.dst = kLocal;
    ip.protocol = wire::IpProtocol::kTcp;
    ip.dscp_ecn = ce ? 3 : 0;
    ip.payload_len = static_cast<uint16_t>(seg.size());
    ip.emit(std::span(f).subspan(14, 20));
    std::memcpy(f.data() + 34, seg.data(), seg.size());
    deliver(f);
  }
};

std::unique_ptr<Instance> g_instance;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!g_instance || g_instance->inputs++ == 2048) {
    g_instance.reset();
    g_instance = std::make_unique<Instance>();
  }
  Instance& in = *g_instance;
  core::TcpLayer& tcp = in.stack->tcp();
  std::vector<uint8_t> seg;
  std::array<uint8_t, 3000> app{};
  size_t pos = 0;
  while (pos + 4 <= size) {
    const uint8_t step = data[pos];
    const uint8_t bits = data[pos + 1];
    const size_t len = std::min<size_t>(base::load_be<uint16_t>(data, pos + 2), 1600);
    pos += 4;
    const size_t take = std::min(len, size - pos);
    seg.assign(data + pos, data + pos + take);
    pos += take;

    in.now += base::Duration::millis(step);
    in.ensure_connection();
    const core::tcp::Tcb* t = in.conn.valid() ? tcp.tcb(in.conn) : nullptr;
    if ((bits & 0x08) && in.conn.valid()) (void)tcp.send(in.conn, app, in.now);
    if ((bits & 0x10) && in.conn.valid()) {
      while (true) {
        auto r = tcp.recv(in.conn, app, in.now);
        if (!r || *r == 0) break;
      }
    }
    if ((bits & 0x20) && in.conn.valid()) tcp.shutdown(in.conn, false, true, in.now);
    if ((bits & 0x40) && in.conn.valid()) {
      tcp.close(in.conn, in.now);
      in.conn = core::SocketId{};
      t = nullptr;
    }
    if (seg.size() >= wire::kTcpHeaderLen) {
      const bool to_listener = (bits & 0x04) != 0 || t == nullptr;
      base::store_be<uint16_t>(seg.data(), 0, to_listener ? static_cast<uint16_t>(kPeerPort + (step & 7)) : kPeerPort);
      base::store_be<uint16_t>(seg.data(), 2, to_listener ? kListenPort : t->tuple.local_port);
      if (!to_listener && (bits & 0x01)) {
        const auto delta = static_cast<int16_t>(base::load_be<uint16_t>(seg.data(), 6));
        base::store_be<uint32_t>(seg.data(), 4, (t->rcv_nxt + static_cast<uint32_t>(delta)).value());
      }
      if (!to_listener && (bits & 0x02)) {
        const auto delta = static_cast<int16_t>(base::load_be<uint16_t>(seg.data(), 10));
        base::store_be<uint32_t>(seg.data(), 8, (t->snd_una + static_cast<uint32_t>(delta)).value());
      }
      seg[16] = seg[17] = 0;
      uint32_t sum = wire::pseudo_header_v4(kPeer, kLocal, wire::IpProtocol::kTcp, static_cast<uint16_t>(seg.size()));
      sum = wire::checksum_accumulate(seg, sum);
      base::store_be<uint16_t>(seg.data(), 16, wire::checksum_fold(sum));
      in.send_raw(seg, (bits & 0x80) != 0);
    } else {
      in.drain();
    }
    // Accept whatever the listener completed, and let go of it at once.
    while (auto a = tcp.accept(in.listener)) tcp.close(*a, in.now);
  }
  return 0;
}
