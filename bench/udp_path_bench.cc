// Instructions per packet on the UDP paths of one stack instance, for callgrind:
//
//   valgrind --tool=callgrind build/release/bench/joyride_bench_udp_path rx 100000
//
// A count-bounded loop (no timing): "rx" feeds N prebuilt 1472-byte UDP frames to
// Stack::input and reads each from the socket; "tx" sends N datagrams and takes the
// frames. Divide the instruction total of the loop by N (the program prints the
// callgrind toggle-collect function to use: joyride_bench_loop).
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "joyride/base/random.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/core/stack.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/ethernet.h"
#include "joyride/wire/ipv4.h"
#include "joyride/wire/udp.h"

using namespace joyride;

namespace {

constexpr size_t kPayload = 1472;
const wire::Ipv4Address kLocal = wire::Ipv4Address::from_octets(198, 18, 0, 1);
const wire::Ipv4Address kPeer = wire::Ipv4Address::from_octets(198, 18, 0, 2);
const wire::MacAddress kLocalMac{{2, 0, 0, 0, 0, 1}};
const wire::MacAddress kPeerMac{{2, 0, 0, 0, 0, 2}};

std::vector<uint8_t> udp_frame() {
  std::vector<uint8_t> payload(kPayload, 0x5a);
  std::vector<uint8_t> f(14 + 20 + 8 + kPayload);
  wire::EthernetRepr{kLocalMac, kPeerMac, wire::EtherType::kIpv4, std::nullopt}.emit(f);
  wire::Ipv4Repr ip;
  ip.src = kPeer;
  ip.dst = kLocal;
  ip.protocol = wire::IpProtocol::kUdp;
  ip.payload_len = 8 + kPayload;
  ip.emit(std::span(f).subspan(14, 20));
  wire::UdpRepr udp{40000, 9000, static_cast<uint16_t>(kPayload)};
  std::memcpy(f.data() + 42, payload.data(), kPayload);
  udp.emit_header(std::span(f).subspan(34, 8), kPeer, kLocal, payload);
  return f;
}

struct Bench {
  buf::HeapPacketPool pool{4096};
  base::SeededRandom random{1};
  core::Stack stack;
  core::SocketId sock;

  static core::StackConfig config() {
    core::StackConfig c;
    core::InterfaceConfig itf;
    itf.name = "bench0";
    itf.mac = kLocalMac;
    itf.ipv4.push_back(wire::Ipv4Cidr(kLocal, 24));
    c.interfaces = {itf};
    return c;
  }
  Bench() : stack(config(), pool, random, base::Instant()) {
    sock = *stack.udp().open();
    (void)stack.udp().bind(sock, {wire::Ipv4Address(), 9000});
    (void)stack.udp().set_rcvbuf(sock, 1 << 20);
    // Teach ARP the peer: an ARP request from it for our address.
    (void)stack.udp().connect(sock, {kPeer, 40000}, base::Instant());
  }
};

}  // namespace

extern "C" __attribute__((noinline)) void joyride_bench_loop(Bench& b, bool rx, long n,
                                                            const std::vector<uint8_t>& frame,
                                                            std::vector<uint8_t>& buffer) {
  std::array<core::Frame, 32> out;
  for (long i = 0; i < n; ++i) {
    if (rx) {
      buf::Packet p = b.pool.alloc(0);
      std::memcpy(p.append(frame.size()), frame.data(), frame.size());
      b.stack.input(0, std::move(p), base::Instant());
      (void)b.stack.udp().recv_from(b.sock, buffer);
    } else {
      (void)b.stack.udp().send_to(b.sock, std::span(buffer.data(), kPayload), std::nullopt, base::Instant());
      b.stack.take_tx(out);
    }
  }
}

int main(int argc, char** argv) {
  if (argc != 3 || (std::string_view(argv[1]) != "rx" && std::string_view(argv[1]) != "tx")) {
    std::fprintf(stderr, "usage: %s rx|tx COUNT\n", argv[0]);
    return 2;
  }
  const bool rx = std::string_view(argv[1]) == "rx";
  const long n = std::atol(argv[2]);
  Bench b;
  // Resolve the peer's MAC first so tx frames leave at once: an ARP reply from it.
  {
    std::vector<uint8_t> arp(42);
    wire::EthernetRepr{kLocalMac, kPeerMac, wire::EtherType::kArp, std::nullopt}.emit(arp);
    const uint8_t body[28] = {0, 1, 8, 0, 6, 4, 0, 2, 2, 0, 0, 0, 0, 2, 198, 18, 0, 2,
                              2, 0, 0, 0, 0, 1, 198, 18, 0, 1};
    std::memcpy(arp.data() + 14, body, 28);
    std::array<uint8_t, 100> dummy{};
    (void)b.stack.udp().send_to(b.sock, std::span(dummy.data(), 10), std::nullopt, base::Instant());
    buf::Packet p = b.pool.alloc(0);
    std::memcpy(p.append(arp.size()), arp.data(), arp.size());
    b.stack.input(0, std::move(p), base::Instant());
    std::array<core::Frame, 32> out;
    while (b.stack.take_tx(out) > 0) {
    }
  }
  const auto frame = udp_frame();
  std::vector<uint8_t> buffer(2048);
  joyride_bench_loop(b, rx, n, frame, buffer);
  uint64_t drops = 0;
  b.stack.for_each_counter([&](std::string_view, std::string_view name, uint64_t v) {
    if (name.starts_with("drop")) drops += v;
  });
  std::printf("%s %ld datagrams of %zu bytes, %llu drops; callgrind --toggle-collect=joyride_bench_loop\n",
              rx ? "rx" : "tx", n, kPayload, static_cast<unsigned long long>(drops));
  return drops == 0 ? 0 : 1;
}
