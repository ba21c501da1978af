// A stack instance: one application's sockets (its TCP and UDP state), their timers,
// their readiness events and their socket buffers, and nothing of any other
// application's. Instances live on a host (stack.h), which holds what they share:
// the links, ARP, IPv4 input and output, reassembly, ICMP, routing, and the host-wide
// port tables (tcp::HostTable, UdpPortTable), through which a received segment
// reaches the instance that owns its connection or listener.
//
// The host's own instance (Stack::tcp(), Stack::udp()) runs on the host's timer wheel
// and readiness queue; an instance added for an application (Stack::add_instance)
// has its own, so its events are its alone and removing it cancels only its timers.
// Everything runs on the host's one thread: no locks.
#pragma once

#include <memory>
#include <optional>
#include <span>

#include "joyride/base/buffer_provider.h"
#include "joyride/base/random.h"
#include "joyride/base/time.h"
#include "joyride/base/timer_wheel.h"
#include "joyride/buf/packet.h"
#include "joyride/core/socket.h"
#include "joyride/core/tcp/host_table.h"
#include "joyride/core/tcp_layer.h"
#include "joyride/core/udp_layer.h"

namespace joyride::core {

// What every instance of a host shares (the host's layers and tables).
struct InstanceContext {
  const TcpConfig& tcp;
  const UdpConfig& udp;
  tcp::HostTable& tcp_table;
  UdpPortTable& udp_ports;
  Ipv4Layer& ip;
  Icmpv4Layer& icmp;
  buf::PacketPool& pool;
  base::RandomSource& random;
};

class StackInstance {
 public:
  // An application's instance, with its own timer wheel (ticking as `tick`) and
  // readiness queue. `buffers` provides its socket buffers (the application's budget);
  // without one it uses its own heap provider.
  StackInstance(const InstanceContext& host, base::Instant now, base::Duration tick,
                base::BufferProvider* buffers);
  // The host's own instance, on the host's wheel and queue.
  StackInstance(const InstanceContext& host, base::TimerWheel& timers, ReadinessQueue& ready,
                base::BufferProvider* buffers);
  // Its sockets go at once, without a word to their peers (close them first for
  // that); their ports and 4-tuples leave the host's tables.
  ~StackInstance();
  StackInstance(const StackInstance&) = delete;
  StackInstance& operator=(const StackInstance&) = delete;

  TcpLayer& tcp() { return *tcp_; }
  UdpLayer& udp() { return *udp_; }
  const TcpLayer& tcp() const { return *tcp_; }
  const UdpLayer& udp() const { return *udp_; }
  base::TimerWheel& timers() { return timers_; }
  size_t take_events(std::span<SocketEvent> out) { return ready_.take(out); }

 private:
  void make_layers(const InstanceContext& host, base::BufferProvider* buffers);

  // Declared before the layers: sockets' timers and events outlive the sockets.
  std::optional<base::TimerWheel> own_timers_;
  std::optional<ReadinessQueue> own_ready_;
  base::TimerWheel& timers_;
  ReadinessQueue& ready_;
  std::unique_ptr<base::HeapBufferProvider> own_buffers_;
  std::unique_ptr<UdpLayer> udp_;
  std::unique_ptr<TcpLayer> tcp_;
};

}  // namespace joyride::core
