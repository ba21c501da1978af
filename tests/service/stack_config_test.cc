// ServiceConfig -> core::StackConfig, and the shipped config files (config/), which
// must stay valid: a stack is built from each to prove the mapping is usable.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "joyride/base/random.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/core/stack.h"
#include "joyride/service/service_config.h"

namespace joyride::service {
namespace {

using wire::Ipv4Address;
using wire::Ipv4Cidr;
using wire::MacAddress;

Ipv4Cidr cidr(const char* s) { return *Ipv4Cidr::parse(s); }
Ipv4Address ip(const char* s) { return *Ipv4Address::parse(s); }
MacAddress mac(const char* s) { return *MacAddress::parse(s); }

// config/ at the top of the tree (__FILE__ is absolute in the CMake build).
std::string config_file(const char* name) {
  return (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "config" / name).string();
}

ServiceConfig load_ok(const std::string& path) {
  auto r = load_config(path);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? std::move(r).value() : ServiceConfig{};
}

constexpr const char* kTwoInterfaces = R"(
[[interface]]
name = "uplink"
device = "0000:01:00.0"
addresses = ["192.0.2.10/24", "fd00::1/64", "10.9.0.1/31"]
mtu = 9000

[[interface]]
name = "lab"
device = "net_af_xdp0,iface=vA"
addresses = ["198.18.0.1/24"]
mac = "02:00:00:00:00:aa"

[[route]]
destination = "default"
gateway = "192.0.2.1"
metric = 100

[[route]]
destination = "203.0.113.0/24"
gateway = "198.18.0.254"

[[route]]
destination = "198.51.100.0/24"
interface = "lab"
metric = 5

[limits]
max_sockets = 1000
tcp_rmem = [8192, 262144, 16777216]
tcp_wmem = [16384, 32768, 65536]
tcp_tw_reuse = 0
)";

TEST(StackConfig, MapsInterfacesRoutesAndBuffers) {
  auto parsed = parse_config(kTwoInterfaces, "t.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  const MacAddress device_macs[] = {mac("02:00:00:00:00:01"), mac("02:00:00:00:00:02")};
  const core::StackConfig s = to_stack_config(*parsed, device_macs);

  ASSERT_EQ(s.interfaces.size(), 2u);
  EXPECT_EQ(s.interfaces[0].name, "uplink");
  EXPECT_EQ(s.interfaces[0].mac, device_macs[0]);  // no `mac`: the device's
  EXPECT_EQ(s.interfaces[0].ipv4, (std::vector<Ipv4Cidr>{cidr("192.0.2.10/24"), cidr("10.9.0.1/31")}));  // no IPv6
  EXPECT_EQ(s.interfaces[0].mtu, 9000);
  EXPECT_EQ(s.interfaces[1].name, "lab");
  EXPECT_EQ(s.interfaces[1].mac, mac("02:00:00:00:00:aa"));  // `mac` wins over the device's
  EXPECT_EQ(s.interfaces[1].ipv4, std::vector<Ipv4Cidr>{cidr("198.18.0.1/24")});
  EXPECT_EQ(s.interfaces[1].mtu, 1500);

  ASSERT_EQ(s.routes.size(), 3u);
  EXPECT_EQ(s.routes[0].destination, cidr("0.0.0.0/0"));
  EXPECT_EQ(s.routes[0].gateway, ip("192.0.2.1"));
  EXPECT_EQ(s.routes[0].ifindex, 0u);  // the subnet holding the gateway
  EXPECT_EQ(s.routes[0].metric, 100u);
  EXPECT_EQ(s.routes[1].destination, cidr("203.0.113.0/24"));
  EXPECT_EQ(s.routes[1].ifindex, 1u);
  EXPECT_EQ(s.routes[2].destination, cidr("198.51.100.0/24"));
  EXPECT_EQ(s.routes[2].gateway, std::nullopt);  // on-link
  EXPECT_EQ(s.routes[2].ifindex, 1u);
  EXPECT_EQ(s.routes[2].metric, 5u);

  EXPECT_EQ(s.tcp.max_sockets, 1000u);
  EXPECT_EQ(s.udp.max_sockets, 1000u);
  EXPECT_EQ(s.tcp.rcvbuf_min, 8192u);
  EXPECT_EQ(s.tcp.rcvbuf_default, 262144u);
  EXPECT_EQ(s.tcp.rcvbuf_max, 16777216u);
  EXPECT_EQ(s.tcp.sndbuf_min, 16384u);
  EXPECT_EQ(s.tcp.sndbuf_default, 32768u);
  EXPECT_EQ(s.tcp.sndbuf_max, 65536u);
  EXPECT_EQ(s.tcp.tw_reuse, 0u);  // the core's default is 2

  // What the file does not set keeps the core's defaults.
  const core::StackConfig defaults;
  EXPECT_EQ(s.tcp.syn_retries, defaults.tcp.syn_retries);
  EXPECT_EQ(s.udp.default_rcvbuf, defaults.udp.default_rcvbuf);
  EXPECT_EQ(s.tx_queue_frames, defaults.tx_queue_frames);
}

TEST(StackConfig, StackRoutesAsConfigured) {
  auto parsed = parse_config(kTwoInterfaces, "t.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  const MacAddress device_macs[] = {mac("02:00:00:00:00:01"), mac("02:00:00:00:00:02")};
  buf::HeapPacketPool pool(64);
  base::SeededRandom random(1);
  core::Stack stack(to_stack_config(*parsed, device_macs), pool, random, base::Instant{});

  // Connected routes come from the addresses, the rest from [[route]].
  struct Case {
    const char* dst;
    uint32_t ifindex;
    const char* next_hop;
  };
  const Case cases[] = {
      {"192.0.2.77", 0, "192.0.2.77"},       {"10.9.0.0", 0, "10.9.0.0"},
      {"198.18.0.9", 1, "198.18.0.9"},       {"203.0.113.5", 1, "198.18.0.254"},
      {"198.51.100.7", 1, "198.51.100.7"},   {"8.8.8.8", 0, "192.0.2.1"},
  };
  for (const Case& c : cases) {
    const auto hop = stack.routes().next_hop(ip(c.dst));
    ASSERT_TRUE(hop.has_value()) << c.dst;
    EXPECT_EQ(hop->ifindex, c.ifindex) << c.dst;
    EXPECT_EQ(hop->address, ip(c.next_hop)) << c.dst;
  }
}

TEST(StackConfig, ExampleFileIsValid) {
  const ServiceConfig c = load_ok(config_file("joyrided.example.toml"));
  EXPECT_TRUE(c.warnings.empty());
  // The example shows the defaults: parsing it gives what an empty section gives.
  const ServiceConfig defaults = *parse_config(
      "[[interface]]\nname = \"eth0\"\ndevice = \"net_af_xdp0,iface=eth0\"\naddresses = [\"198.18.0.1/24\"]\n", "d");
  EXPECT_EQ(c.service.lcores, defaults.service.lcores);
  EXPECT_EQ(c.service.polling, defaults.service.polling);
  EXPECT_EQ(c.service.idle_sleep_us, defaults.service.idle_sleep_us);
  EXPECT_EQ(c.service.busy_spin_us, defaults.service.busy_spin_us);
  EXPECT_EQ(c.service.control_socket, defaults.service.control_socket);
  EXPECT_EQ(c.service.control_mode, defaults.service.control_mode);
  EXPECT_EQ(c.service.log_level, defaults.service.log_level);
  EXPECT_EQ(c.eal.no_huge, defaults.eal.no_huge);
  EXPECT_EQ(c.eal.memory_mb, defaults.eal.memory_mb);
  EXPECT_EQ(c.eal.file_prefix, defaults.eal.file_prefix);
  EXPECT_EQ(c.limits.mbufs, defaults.limits.mbufs);
  EXPECT_EQ(c.limits.max_sockets, defaults.limits.max_sockets);
  EXPECT_EQ(c.limits.tcp_rmem, defaults.limits.tcp_rmem);
  EXPECT_EQ(c.limits.tcp_wmem, defaults.limits.tcp_wmem);
  EXPECT_EQ(c.limits.max_apps, defaults.limits.max_apps);
  EXPECT_EQ(c.limits.tcp_tw_reuse, defaults.limits.tcp_tw_reuse);
  EXPECT_EQ(c.services.echo_port, defaults.services.echo_port);
  ASSERT_EQ(c.interfaces.size(), 1u);
  EXPECT_EQ(c.interfaces[0].mtu, defaults.interfaces[0].mtu);
  EXPECT_EQ(c.interfaces[0].rx_ring, defaults.interfaces[0].rx_ring);
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].destination, cidr("0.0.0.0/0"));
}

TEST(StackConfig, TestbedFileIsValid) {
  const ServiceConfig c = load_ok(config_file("testbed.toml"));
  EXPECT_TRUE(c.warnings.empty());
  ASSERT_EQ(c.interfaces.size(), 1u);
  EXPECT_EQ(c.interfaces[0].name, "vA");
  EXPECT_EQ(c.interfaces[0].device, "net_af_xdp0,iface=vA");
  EXPECT_EQ(c.interfaces[0].ipv4, std::vector<Ipv4Cidr>{cidr("198.18.0.1/24")});
  EXPECT_TRUE(c.services.echo);
  EXPECT_TRUE(c.services.discard);
  EXPECT_TRUE(c.services.chargen);

  const MacAddress device_mac[] = {mac("02:00:00:00:00:01")};
  buf::HeapPacketPool pool(64);
  base::SeededRandom random(1);
  core::Stack stack(to_stack_config(c, device_mac), pool, random, base::Instant{});
  ASSERT_EQ(stack.interfaces().size(), 1u);
  EXPECT_TRUE(stack.interfaces().is_local(ip("198.18.0.1")));
  EXPECT_EQ(stack.interfaces().get(0)->mac(), device_mac[0]);
}

}  // namespace
}  // namespace joyride::service
