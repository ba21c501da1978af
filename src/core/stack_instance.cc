#include "joyride/core/stack_instance.h"

namespace joyride::core {

StackInstance::StackInstance(const InstanceContext& host, base::Instant now, base::Duration tick,
                             base::BufferProvider* buffers)
    : own_timers_(std::in_place, now, tick),
      own_ready_(std::in_place),
      timers_(*own_timers_),
      ready_(*own_ready_) {
  make_layers(host, buffers);
}

StackInstance::StackInstance(const InstanceContext& host, base::TimerWheel& timers, ReadinessQueue& ready,
                             base::BufferProvider* buffers)
    : timers_(timers), ready_(ready) {
  make_layers(host, buffers);
}

void StackInstance::make_layers(const InstanceContext& host, base::BufferProvider* buffers) {
  if (buffers == nullptr) {
    own_buffers_ = std::make_unique<base::HeapBufferProvider>();
    buffers = own_buffers_.get();
  }
  udp_ = std::make_unique<UdpLayer>(host.udp, host.udp_ports, host.ip, host.icmp, host.pool, host.random, ready_);
  tcp_ = std::make_unique<TcpLayer>(host.tcp, host.tcp_table, host.ip, host.pool, host.random, timers_, ready_,
                                    *buffers);
}

// TCP first: its sockets hold buffers from the provider and timers on the wheel.
StackInstance::~StackInstance() {
  tcp_.reset();
  udp_.reset();
}

}  // namespace joyride::core
