// Two simulated hosts on one link: host A (198.18.0.1) and host B (198.18.0.2) on
// 198.18.0.0/24, the scenario every joyride-sim workload runs on.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "joyride/core/stack.h"
#include "joyride/dev/sim_network.h"
#include "joyride/dev/stack_node.h"
#include "joyride/wire/address.h"

namespace joyride::sim {

struct TwoHostsOptions {
  dev::sim::LinkParams link;  // link.seed also seeds both stacks
  uint16_t mtu = 1500;        // IP MTU of both interfaces and the link
  std::string pcap_path;      // capture the link when not empty
  core::StackConfig base;     // interfaces are filled in; other fields are kept
  // Host B's TCP settings when set (base.tcp otherwise): a peer that negotiates
  // differently, e.g. without SACK, as a Linux host with net.ipv4.tcp_sack = 0.
  std::optional<core::TcpConfig> tcp_b;
};

class TwoHosts {
 public:
  static const wire::Ipv4Address kAddressA;
  static const wire::Ipv4Address kAddressB;

  explicit TwoHosts(const TwoHostsOptions& options);
  ~TwoHosts();

  dev::sim::SimNetwork& net() { return net_; }
  core::Stack& a() { return a_->stack(); }
  core::Stack& b() { return b_->stack(); }
  dev::sim::StackNode& node_a() { return *a_; }
  dev::sim::StackNode& node_b() { return *b_; }
  dev::sim::LinkId link() const { return link_; }
  bool capturing() const { return capturing_; }

 private:
  // The network is declared first so it is destroyed last; the destructor drops
  // frames in flight before the nodes (and their pools) go.
  dev::sim::SimNetwork net_;
  std::unique_ptr<dev::sim::StackNode> a_;
  std::unique_ptr<dev::sim::StackNode> b_;
  dev::sim::LinkId link_ = 0;
  bool capturing_ = false;
};

}  // namespace joyride::sim
