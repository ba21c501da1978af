// Fuzzes a whole stack instance with arbitrary frames: Ethernet, ARP, IPv4,
// fragments, ICMP and UDP all parse what arrives from the network. Whatever comes
// in, the stack must not crash, leak, or read out of bounds, and it must keep its
// packet pool whole (checked when the instance is torn down every 4096 inputs).
//
// Input layout: byte 0: low 7 bits the time step (0-127 ms); the high bit asks for
// the IPv4 header checksum to be repaired and the UDP checksum zeroed (none) or
// the ICMP checksum repaired, so mutations reach past checksum verification. The
// rest is the frame. The
// instance has a UDP socket bound to port 9 and knows the peer 198.18.0.2's MAC,
// so replies (echo, port unreachable) are produced and drained too.
#include <array>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "joyride/base/bytes.h"
#include "joyride/base/random.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/core/stack.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ipv4.h"

using namespace joyride;

namespace {

struct Instance {
  buf::HeapPacketPool pool{2048, buf::HeapPacketPool::kDefaultSegmentCapacity, 2048};
  base::SeededRandom random{1};
  base::Instant now;
  std::optional<core::Stack> stack;
  core::SocketId udp;
  unsigned inputs = 0;

  static core::StackConfig config() {
    core::StackConfig c;
    core::InterfaceConfig itf;
    itf.name = "fuzz0";
    itf.mac = wire::MacAddress{{2, 0, 0, 0, 0, 1}};
    itf.ipv4.push_back(wire::Ipv4Cidr(wire::Ipv4Address::from_octets(198, 18, 0, 1), 24));
    c.interfaces = {itf};
    c.routes.push_back(core::Route{wire::Ipv4Cidr(wire::Ipv4Address(), 0),
                                   wire::Ipv4Address::from_octets(198, 18, 0, 254), 0, 0});
    return c;
  }
  Instance() {
    stack.emplace(config(), pool, random, now);
    udp = *stack->udp().open();
    (void)stack->udp().bind(udp, {wire::Ipv4Address(), 9});
  }
  // Tearing the stack down must return every packet it held to the pool.
  ~Instance() {
    stack.reset();
    if (pool.available_segments() != pool.total_segments() ||
        pool.available_descriptors() != pool.total_descriptors()) {
      std::fprintf(stderr, "stack leaked packets: %u of %u segments free\n", pool.available_segments(),
                   pool.total_segments());
      std::abort();
    }
  }
};

std::unique_ptr<Instance> g_instance;

void repair_checksums(std::span<uint8_t> f) {
  if (f.size() < 14 + 20 || f[12] != 0x08 || f[13] != 0x00) return;
  auto ip = f.subspan(14);
  const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  if (ihl < 20 || ihl > ip.size()) return;
  ip[10] = ip[11] = 0;
  base::store_be<uint16_t>(ip.data(), 10, wire::internet_checksum(ip.first(ihl)));
  auto l4 = ip.subspan(ihl);
  if (ip[9] == wire::IpProtocol::kUdp && l4.size() >= 8) {
    l4[6] = l4[7] = 0;
  } else if (ip[9] == wire::IpProtocol::kIcmp && l4.size() >= 4) {
    l4[2] = l4[3] = 0;
    base::store_be<uint16_t>(l4.data(), 2, wire::internet_checksum(l4));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  if (!g_instance || g_instance->inputs++ == 4096) {
    // A fresh instance now and then, so state built up by earlier inputs (queued
    // datagrams, reassemblies) is torn down and the pool's accounting checked.
    if (g_instance) {
      g_instance.reset();
    }
    g_instance = std::make_unique<Instance>();
  }
  Instance& in = *g_instance;
  in.now += base::Duration::millis(data[0] & 0x7f);
  const size_t len = size - 1;
  buf::Packet p = in.pool.alloc(0);
  if (p.empty()) return 0;
  if (len > 0) {
    uint8_t* out = p.append(std::min<size_t>(len, in.pool.segment_capacity()));
    if (out == nullptr) return 0;
    std::memcpy(out, data + 1, std::min<size_t>(len, in.pool.segment_capacity()));
  }
  if ((data[0] & 0x80) != 0) repair_checksums(p.head_bytes());
  in.stack->input(0, std::move(p), in.now);
  in.stack->poll(in.now);
  std::array<core::Frame, 64> frames;
  while (in.stack->take_tx(frames) > 0) {
  }
  std::array<uint8_t, 2048> buffer;
  while (in.stack->udp().recv_from(in.udp, buffer)) {
  }
  std::array<core::SocketEvent, 64> events;
  while (in.stack->take_events(events) > 0) {
  }
  return 0;
}
