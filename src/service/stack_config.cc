// ServiceConfig -> core::StackConfig for one stack instance. Every instance sees the
// same interfaces (ifindex = position in the file) and routes; the service's own
// settings (lcores, EAL, rings, mbufs, builtin services) stay with joyrided.
#include <cassert>

#include "joyride/service/service_config.h"

namespace joyride::service {

std::optional<size_t> route_interface(const ServiceConfig& config, const RouteOptions& route) {
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    const InterfaceOptions& iface = config.interfaces[i];
    if (!route.interface.empty()) {
      if (iface.name == route.interface) return i;
      continue;
    }
    if (!route.gateway) continue;
    for (const wire::Ipv4Cidr& c : iface.ipv4) {
      if (c.contains(*route.gateway)) return i;
    }
  }
  return std::nullopt;
}

core::StackConfig to_stack_config(const ServiceConfig& config, std::span<const wire::MacAddress> device_macs) {
  assert(device_macs.size() >= config.interfaces.size());
  core::StackConfig out;
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    const InterfaceOptions& iface = config.interfaces[i];
    core::InterfaceConfig c;
    c.name = iface.name;
    if (iface.mac) {
      c.mac = *iface.mac;
    } else if (i < device_macs.size()) {
      c.mac = device_macs[i];
    }
    c.ipv4 = iface.ipv4;
    c.mtu = iface.mtu;
    out.interfaces.push_back(std::move(c));
  }
  for (const RouteOptions& route : config.routes) {
    const auto ifindex = route_interface(config, route);
    if (!ifindex) continue;  // parse_config rejects such routes
    out.routes.push_back(core::Route{route.destination, route.gateway, static_cast<uint32_t>(*ifindex), route.metric});
  }
  const LimitOptions& limits = config.limits;
  out.tcp.max_sockets = limits.max_sockets;
  out.udp.max_sockets = limits.max_sockets;
  out.tcp.rcvbuf_min = limits.tcp_rmem.min;
  out.tcp.rcvbuf_default = limits.tcp_rmem.initial;
  out.tcp.rcvbuf_max = limits.tcp_rmem.max;
  out.tcp.sndbuf_min = limits.tcp_wmem.min;
  out.tcp.sndbuf_default = limits.tcp_wmem.initial;
  out.tcp.sndbuf_max = limits.tcp_wmem.max;
  out.tcp.tw_reuse = limits.tcp_tw_reuse;
  return out;
}

}  // namespace joyride::service
