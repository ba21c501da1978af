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
      last_poll_(now),
      tcp_config_(config.tcp),
      udp_config_(config.udp),
      timer_tick_(config.timer_tick) {
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
  tcp_table_ = std::make_unique<tcp::HostTable>(random_, config.tcp.ephemeral_low, config.tcp.ephemeral_high);
  host_ = std::make_unique<StackInstance>(context(), timers_, ready_, buffers);
  // The host instance's layers demultiplex for every instance (through the tables).
  ipv4_->attach(icmp_.get(), &host_->udp(), &host_->tcp());
  icmp_->attach(&host_->udp(), ping_.get(), &host_->tcp());
}

InstanceContext Stack::context() {
  return InstanceContext{tcp_config_, udp_config_, *tcp_table_, udp_ports_, *ipv4_, *icmp_, pool_, random_};
}

StackInstance& Stack::add_instance(base::Instant now, base::BufferProvider* buffers) {
  added_.push_back(std::make_unique<StackInstance>(context(), now, timer_tick_, buffers));
  return *added_.back();
}

void Stack::remove_instance(StackInstance& instance) {
  std::erase_if(added_, [&](const std::unique_ptr<StackInstance>& p) { return p.get() == &instance; });
}

// Sockets and queued packets go before the layers they point into; the packets
// return to the pool, which outlives the stack.
Stack::~Stack() {
  added_.clear();
  host_.reset();
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
  for (auto& instance : added_) instance->timers().advance(now);
  ipv4_->process_loopback(now);
}

base::Instant Stack::next_deadline() const {
  if (ipv4_->has_loopback_work()) return last_poll_;
  base::Instant next = timers_.next_deadline();
  for (const auto& instance : added_) next = std::min(next, instance->timers().next_deadline());
  return next;
}

}  // namespace joyride::core
