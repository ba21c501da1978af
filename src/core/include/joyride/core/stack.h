// A host: the links, ARP, IPv4, reassembly, ICMP, routing and the host-wide port
// tables, with its own stack instance (stack_instance.h) and any number more, one per
// application (add_instance). Owned by one object driven by one thread at a time (no
// locks inside). A host with no added instance is the whole stack of a simple user
// (the simulator, the built-in services, the tests).
//
// The host (joyrided's worker, the simulator, a test) drives it:
//   stack.input(ifindex, frame, now);     // for every received frame
//   stack.poll(now);                      // run due timers and deferred work
//   stack.take_tx(frames);                // frames to put on the wire
//   stack.take_events(events);            // the host instance's sockets whose readiness
//                                         //   changed (TCP: a bit appeared or the state
//                                         //   changed); instance.take_events for the rest
//   wake me at stack.next_deadline()
// The stack never reads a clock, sleeps, allocates per packet from the heap on the
// fast path, or makes a system call.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "joyride/base/buffer_provider.h"
#include "joyride/base/random.h"
#include "joyride/base/time.h"
#include "joyride/base/timer_wheel.h"
#include "joyride/buf/packet.h"
#include "joyride/core/arp_resolver.h"
#include "joyride/core/ethernet_link.h"
#include "joyride/core/frame.h"
#include "joyride/core/icmpv4_layer.h"
#include "joyride/core/interface.h"
#include "joyride/core/ipv4_layer.h"
#include "joyride/core/ipv4_reassembler.h"
#include "joyride/core/ping_sockets.h"
#include "joyride/core/routing.h"
#include "joyride/core/socket.h"
#include "joyride/core/stack_instance.h"
#include "joyride/core/tcp/host_table.h"
#include "joyride/core/tcp_layer.h"
#include "joyride/core/udp_layer.h"

namespace joyride::core {

struct StackConfig {
  std::vector<InterfaceConfig> interfaces;  // a connected route is added for each prefix
  std::vector<Route> routes;                // more routes, e.g. a default gateway
  ArpConfig arp;
  ReassemblyConfig reassembly;
  Ipv4Config ipv4;
  IcmpConfig icmp;
  UdpConfig udp;
  TcpConfig tcp;
  size_t tx_queue_frames = 4096;
  base::Duration timer_tick = base::Duration::millis(1);
};

class Stack final : private ReassemblyTimeoutListener {
 public:
  // `buffers` provides the host instance's socket buffer storage; without one the
  // stack uses its own heap provider.
  Stack(const StackConfig& config, buf::PacketPool& pool, base::RandomSource& random, base::Instant now,
        base::BufferProvider* buffers = nullptr);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  void input(uint32_t ifindex, buf::Packet frame, base::Instant now);
  void poll(base::Instant now);
  size_t take_tx(std::span<Frame> out) { return tx_.pop_burst(out); }
  bool has_tx() const { return !tx_.empty(); }
  size_t take_events(std::span<SocketEvent> out) { return ready_.take(out); }
  // When poll() must next run without new input: a timer, or at once when deferred
  // work (loopback traffic) is waiting. Instant::never() when idle.
  base::Instant next_deadline() const;

  // The host's own instance.
  UdpLayer& udp() { return host_->udp(); }
  TcpLayer& tcp() { return host_->tcp(); }
  StackInstance& host_instance() { return *host_; }
  // An instance for an application: its sockets share the host's addresses and port
  // tables; its timers, events and buffers (from `buffers`, else its own heap) are its
  // own. Stable until remove_instance().
  StackInstance& add_instance(base::Instant now, base::BufferProvider* buffers = nullptr);
  // Its sockets vanish silently (close them first so peers hear of it).
  void remove_instance(StackInstance& instance);
  size_t instances() const { return 1 + added_.size(); }
  PingSockets& ping() { return *ping_; }
  ArpResolver& arp() { return *arp_; }
  Ipv4Layer& ipv4() { return *ipv4_; }
  Icmpv4Layer& icmp() { return *icmp_; }
  Ipv4Reassembler& reassembler() { return *reassembler_; }
  EthernetLink& link() { return link_; }
  RoutingTable& routes() { return routes_; }
  const InterfaceTable& interfaces() const { return interfaces_; }
  base::TimerWheel& timers() { return timers_; }

  // f(std::string_view module, std::string_view counter, uint64_t value) for every counter.
  template <typename F>
  void for_each_counter(F&& f) const;

 private:
  void on_reassembly_timeout(const wire::Ipv4Repr& header, const buf::Packet& first_fragment,
                             base::Instant now) override;

  buf::PacketPool& pool_;
  base::RandomSource& random_;
  InterfaceTable interfaces_;
  RoutingTable routes_;
  base::TimerWheel timers_;
  TxQueue tx_;
  ReadinessQueue ready_;
  EthernetLink link_;
  base::Instant last_poll_;
  // Layers refer to each other; they live behind pointers so their addresses are
  // stable and construction order is explicit.
  std::unique_ptr<ArpResolver> arp_;
  std::unique_ptr<Ipv4Reassembler> reassembler_;
  std::unique_ptr<Ipv4Layer> ipv4_;
  std::unique_ptr<Icmpv4Layer> icmp_;
  std::unique_ptr<PingSockets> ping_;
  // The tables and the host instance follow the layers they use.
  std::unique_ptr<tcp::HostTable> tcp_table_;
  UdpPortTable udp_ports_;
  const TcpConfig tcp_config_;
  const UdpConfig udp_config_;
  base::Duration timer_tick_;
  std::unique_ptr<StackInstance> host_;
  std::vector<std::unique_ptr<StackInstance>> added_;
  InstanceContext context();
};

template <typename F>
void Stack::for_each_counter(F&& f) const {
  auto each = [&](std::string_view module, const auto& set) {
    set.for_each([&](std::string_view name, uint64_t v) { f(module, name, v); });
  };
  each("link", link_.counters());
  each("arp", arp_->counters());
  each("ipv4", ipv4_->counters());
  each("reassembly", reassembler_->counters());
  each("icmp", icmp_->counters());
  each("udp", host_->udp().counters());
  each("tcp", host_->tcp().counters());
}

}  // namespace joyride::core
