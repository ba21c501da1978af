#include "joyride/core/stack.h"

#include "joyride/wire/ethernet.h"

namespace joyride::core {

Stack::Stack(const StackConfig& config, buf::PacketPool& pool, base::RandomSource& random, base::Instant now,
             base::BufferProvider* buffers)
    : pool_(pool),
      random_(random),
      timers_(now, config.timer_tick),
      tx_(config.tx_queue_frames),
      link_(interfaces_, tx_),
      last_poll_(now) {
  for (const auto& itf : config.interfaces) {
    const uint32_t ifindex = interfaces_.add(itf);
    for (const auto& cidr : itf.ipv4) {
      routes_.add(Route{wire::Ipv4Cidr(cidr.network(), cidr.prefix_len()), std::nullopt, ifindex, 0});
    }
  }
  for (const auto& r : config.routes) routes_.add(r);

  arp_ = std::make_unique<ArpResolver>(config.arp, interfaces_, timers_, pool_, link_);
  // The reassembler reports timeouts to this object, which forwards them to ICMP
  // (built after the IP layer that the reassembler feeds).
  ReassemblyConfig reassembly = config.reassembly;
  reassembly.hash_seed = random_.next_u64();
  reassembler_ = std::make_unique<Ipv4Reassembler>(reassembly, timers_,
                                                   static_cast<ReassemblyTimeoutListener*>(this));
  ipv4_ = std::make_unique<Ipv4Layer>(config.ipv4, interfaces_, routes_, pool_, *arp_, *reassembler_, link_,
                                      random_);
  icmp_ = std::make_unique<Icmpv4Layer>(config.icmp, *ipv4_, pool_);
  ping_ = std::make_unique<PingSockets>(*ipv4_, pool_, random_, ready_);
  udp_ = std::make_unique<UdpLayer>(config.udp, *ipv4_, *icmp_, pool_, random_, ready_);
  if (buffers == nullptr) {
    own_buffers_ = std::make_unique<base::HeapBufferProvider>();
    buffers = own_buffers_.get();
  }
  tcp_ = std::make_unique<TcpLayer>(config.tcp, *ipv4_, pool_, random_, timers_, ready_, *buffers);
  ipv4_->attach(icmp_.get(), udp_.get(), tcp_.get());
  icmp_->attach(udp_.get(), ping_.get(), tcp_.get());
}

// Sockets and queued packets go before the layers they point into; the packets
// return to the pool, which outlives the stack.
Stack::~Stack() {
  tcp_.reset();
  udp_.reset();
  ping_.reset();
  icmp_.reset();
  ipv4_.reset();
  reassembler_.reset();
  arp_.reset();
}

void Stack::on_reassembly_timeout(const wire::Ipv4Repr& header, const buf::Packet& first_fragment,
                                  base::Instant now) {
  icmp_->on_reassembly_timeout(header, first_fragment, now);
}

void Stack::input(uint32_t ifindex, buf::Packet frame, base::Instant now) {
  const uint16_t ethertype = link_.receive(ifindex, frame);
  if (ethertype == wire::EtherType::kArp) {
    arp_->input(ifindex, frame.head_bytes(), now);
  } else if (ethertype == wire::EtherType::kIpv4) {
    ipv4_->input(ifindex, frame, now);
  }
}

void Stack::poll(base::Instant now) {
  last_poll_ = now;
  timers_.advance(now);
  ipv4_->process_loopback(now);
}

base::Instant Stack::next_deadline() const {
  if (ipv4_->has_loopback_work()) return last_poll_;
  return timers_.next_deadline();
}

}  // namespace joyride::core
