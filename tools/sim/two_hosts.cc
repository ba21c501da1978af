#include "two_hosts.h"

namespace joyride::sim {

const wire::Ipv4Address TwoHosts::kAddressA = wire::Ipv4Address::from_octets(198, 18, 0, 1);
const wire::Ipv4Address TwoHosts::kAddressB = wire::Ipv4Address::from_octets(198, 18, 0, 2);

namespace {

core::StackConfig host_config(const TwoHostsOptions& o, uint8_t last_octet) {
  core::StackConfig c = o.base;
  if (last_octet == 2 && o.tcp_b) c.tcp = *o.tcp_b;
  core::InterfaceConfig itf;
  itf.name = "sim0";
  itf.mac = wire::MacAddress{{0x02, 0x00, 0x00, 0x00, 0x00, last_octet}};
  itf.ipv4.push_back(wire::Ipv4Cidr(wire::Ipv4Address::from_octets(198, 18, 0, last_octet), 24));
  itf.mtu = o.mtu;
  c.interfaces = {itf};
  return c;
}

}  // namespace

TwoHosts::TwoHosts(const TwoHostsOptions& options) {
  const base::Instant start = net_.now();
  a_ = std::make_unique<dev::sim::StackNode>(host_config(options, 1), options.link.seed * 2 + 1, start);
  b_ = std::make_unique<dev::sim::StackNode>(host_config(options, 2), options.link.seed * 2 + 2, start);
  const auto id_a = net_.add_node(*a_);
  const auto id_b = net_.add_node(*b_);
  dev::sim::LinkParams link = options.link;
  link.mtu = options.mtu;
  link_ = net_.connect({id_a, 0}, {id_b, 0}, link);
  if (!options.pcap_path.empty()) capturing_ = net_.capture(link_, options.pcap_path);
}

TwoHosts::~TwoHosts() {
  if (capturing_) net_.stop_capture(link_);
  net_.drop_in_flight();
  // Each stack may hold packets from the other's pool (frames cross the link
  // without copies): both stacks go before either pool.
  a_->shutdown();
  b_->shutdown();
}

}  // namespace joyride::sim
