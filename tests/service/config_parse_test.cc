// Valid files: defaults, every key read into ServiceConfig, accepted spellings, and
// warnings for what the stack does not use yet.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "joyride/service/service_config.h"

namespace joyride::service {
namespace {

using wire::Ipv4Address;
using wire::Ipv4Cidr;

ServiceConfig parse_ok(std::string_view text) {
  auto r = parse_config(text, "joyrided.toml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? std::move(r).value() : ServiceConfig{};
}

Ipv4Cidr cidr(const char* s) { return *Ipv4Cidr::parse(s); }
Ipv4Address ip(const char* s) { return *Ipv4Address::parse(s); }

constexpr const char* kMinimal =
    "[[interface]]\n"
    "name = \"vA\"\n"
    "device = \"net_af_xdp0,iface=vA\"\n"
    "addresses = [\"198.18.0.1/24\"]\n";

TEST(ConfigParse, MinimalFileTakesEveryDefault) {
  const ServiceConfig c = parse_ok(kMinimal);
  EXPECT_EQ(c.service.lcores, std::vector<uint32_t>{0});
  EXPECT_EQ(c.service.polling, PollingMode::kAdaptive);
  EXPECT_EQ(c.service.idle_sleep_us, 100u);
  EXPECT_EQ(c.service.busy_spin_us, 50u);
  EXPECT_EQ(c.service.control_socket, "/run/joyride/joyrided.sock");
  EXPECT_EQ(c.service.control_mode, 0600u);
  EXPECT_FALSE(c.service.control_group.has_value());
  EXPECT_EQ(c.service.log_level, LogLevel::kInfo);

  EXPECT_TRUE(c.eal.no_huge);
  EXPECT_EQ(c.eal.memory_mb, 512u);
  EXPECT_EQ(c.eal.file_prefix, "joyrided");
  EXPECT_TRUE(c.eal.pci_allow.empty());
  EXPECT_TRUE(c.eal.extra_args.empty());

  ASSERT_EQ(c.interfaces.size(), 1u);
  const InterfaceOptions& i = c.interfaces[0];
  EXPECT_EQ(i.name, "vA");
  EXPECT_EQ(i.device, "net_af_xdp0,iface=vA");
  EXPECT_EQ(i.ipv4, std::vector<Ipv4Cidr>{cidr("198.18.0.1/24")});
  EXPECT_TRUE(i.ipv6.empty());
  EXPECT_FALSE(i.mac.has_value());
  EXPECT_EQ(i.mtu, 1500);
  EXPECT_EQ(i.rx_queues, 1);
  EXPECT_EQ(i.tx_queues, 1);
  EXPECT_EQ(i.rx_ring, 1024u);
  EXPECT_EQ(i.tx_ring, 1024u);

  EXPECT_TRUE(c.routes.empty());

  const core::TcpConfig tcp;
  EXPECT_EQ(c.limits.mbufs, 16384u);
  EXPECT_EQ(c.limits.max_sockets, 65536u);
  EXPECT_EQ(c.limits.tcp_rmem, (BufferBounds{tcp.rcvbuf_min, tcp.rcvbuf_default, tcp.rcvbuf_max}));
  EXPECT_EQ(c.limits.tcp_wmem, (BufferBounds{tcp.sndbuf_min, tcp.sndbuf_default, tcp.sndbuf_max}));
  EXPECT_EQ(c.limits.max_apps, 64u);
  EXPECT_EQ(c.limits.app_max_sockets, 1024u);
  EXPECT_EQ(c.limits.app_fifo_bytes, 262144u);
  EXPECT_EQ(c.limits.tcp_tw_reuse, tcp.tw_reuse);

  EXPECT_TRUE(c.services.echo);
  EXPECT_TRUE(c.services.discard);
  EXPECT_TRUE(c.services.chargen);
  EXPECT_EQ(c.services.echo_port, 7);
  EXPECT_EQ(c.services.discard_port, 9);
  EXPECT_EQ(c.services.chargen_port, 19);
  EXPECT_TRUE(c.services.discard_checksum);

  EXPECT_TRUE(c.warnings.empty());
}

// Every key set to something other than its default.
constexpr const char* kFull = R"([service]
lcores = [2, 3, 1]
polling = "busy"
idle_sleep_us = 250
idle_sleep_max_us = 9000
busy_spin_us = 0
control_socket = "/tmp/j.sock"
control_mode = "0660"
control_group = "root"
log_level = "debug"

[eal]
no_huge = false
memory_mb = 2048
file_prefix = "jr-1"
pci_allow = ["0000:01:00.0", "02:00.1"]
extra_args = ["--log-level=8", "--in-memory"]

[[interface]]
name = "uplink"
device = "0000:01:00.0"
addresses = ["192.0.2.10/24", "fd00::1/64", "10.9.0.1/31"]
mac = "02:AB:cd:00:00:01"
mtu = 9000
rx_queues = 4
tx_queues = 2
rx_ring = 4096
tx_ring = 64

[[interface]]
name = "lab"
device = "net_af_xdp0,iface=vA"
addresses = ["198.18.0.1/32", "198.19.0.1/16"]

[[route]]
destination = "default"
gateway = "192.0.2.1"
metric = 100

[[route]]
destination = "203.0.113.0/24"
gateway = "198.19.255.254"
interface = "lab"

[[route]]
destination = "198.51.100.0/24"
interface = "lab"

[limits]
mbufs = 65536
max_sockets = 1000
tcp_rmem = [8192, 262144, 16777216]
tcp_wmem = [8192, 8192, 8192]
max_apps = 8
app_max_sockets = 100
app_fifo_bytes = 65536
tcp_tw_reuse = 1

[services]
echo = false
discard = true
chargen = false
echo_port = 9
discard_port = 7007
chargen_port = 1019
discard_checksum = false
)";

TEST(ConfigParse, EveryKeyIsRead) {
  const ServiceConfig c = parse_ok(kFull);
  EXPECT_EQ(c.service.lcores, (std::vector<uint32_t>{2, 3, 1}));
  EXPECT_EQ(c.service.polling, PollingMode::kBusy);
  EXPECT_EQ(c.service.idle_sleep_us, 250u);
  EXPECT_EQ(c.service.idle_sleep_max_us, 9000u);
  EXPECT_EQ(c.service.busy_spin_us, 0u);
  EXPECT_EQ(c.service.control_socket, "/tmp/j.sock");
  EXPECT_EQ(c.service.control_mode, 0660u);
  EXPECT_EQ(c.service.control_group, 0u);  // root's gid
  EXPECT_EQ(c.service.log_level, LogLevel::kDebug);

  EXPECT_FALSE(c.eal.no_huge);
  EXPECT_EQ(c.eal.memory_mb, 2048u);
  EXPECT_EQ(c.eal.file_prefix, "jr-1");
  EXPECT_EQ(c.eal.pci_allow, (std::vector<std::string>{"0000:01:00.0", "02:00.1"}));
  EXPECT_EQ(c.eal.extra_args, (std::vector<std::string>{"--log-level=8", "--in-memory"}));

  ASSERT_EQ(c.interfaces.size(), 2u);
  const InterfaceOptions& up = c.interfaces[0];
  EXPECT_EQ(up.name, "uplink");
  EXPECT_EQ(up.device, "0000:01:00.0");
  EXPECT_EQ(up.ipv4, (std::vector<Ipv4Cidr>{cidr("192.0.2.10/24"), cidr("10.9.0.1/31")}));
  ASSERT_EQ(up.ipv6.size(), 1u);
  EXPECT_EQ(up.ipv6[0], (Ipv6Prefix{*wire::Ipv6Address::parse("fd00::1"), 64}));
  EXPECT_EQ(up.mac, wire::MacAddress::parse("02:ab:cd:00:00:01"));
  EXPECT_EQ(up.mtu, 9000);
  EXPECT_EQ(up.rx_queues, 4);
  EXPECT_EQ(up.tx_queues, 2);
  EXPECT_EQ(up.rx_ring, 4096u);
  EXPECT_EQ(up.tx_ring, 64u);
  EXPECT_EQ(c.interfaces[1].name, "lab");
  EXPECT_EQ(c.interfaces[1].ipv4, (std::vector<Ipv4Cidr>{cidr("198.18.0.1/32"), cidr("198.19.0.1/16")}));

  ASSERT_EQ(c.routes.size(), 3u);
  EXPECT_EQ(c.routes[0].destination, cidr("0.0.0.0/0"));
  EXPECT_EQ(c.routes[0].gateway, ip("192.0.2.1"));
  EXPECT_EQ(c.routes[0].interface, "");
  EXPECT_EQ(c.routes[0].metric, 100u);
  EXPECT_EQ(c.routes[1].destination, cidr("203.0.113.0/24"));
  EXPECT_EQ(c.routes[1].gateway, ip("198.19.255.254"));
  EXPECT_EQ(c.routes[1].interface, "lab");
  EXPECT_EQ(c.routes[1].metric, 0u);
  EXPECT_EQ(c.routes[2].gateway, std::nullopt);
  EXPECT_EQ(c.routes[2].interface, "lab");

  EXPECT_EQ(c.limits.mbufs, 65536u);
  EXPECT_EQ(c.limits.max_sockets, 1000u);
  EXPECT_EQ(c.limits.tcp_rmem, (BufferBounds{8192, 262144, 16777216}));
  EXPECT_EQ(c.limits.tcp_wmem, (BufferBounds{8192, 8192, 8192}));
  EXPECT_EQ(c.limits.max_apps, 8u);
  EXPECT_EQ(c.limits.app_max_sockets, 100u);
  EXPECT_EQ(c.limits.app_fifo_bytes, 65536u);
  EXPECT_EQ(c.limits.tcp_tw_reuse, 1u);

  EXPECT_FALSE(c.services.echo);
  EXPECT_TRUE(c.services.discard);
  EXPECT_FALSE(c.services.chargen);
  EXPECT_EQ(c.services.echo_port, 9);
  EXPECT_EQ(c.services.discard_port, 7007);
  EXPECT_EQ(c.services.chargen_port, 1019);
  EXPECT_FALSE(c.services.discard_checksum);

  // The IPv6 address is kept but flagged.
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0].to_string(),
            "joyrided.toml:22:31: interface[0].addresses[1]: IPv6 is not supported by the stack yet; the address is "
            "not used; expected IPv4 addresses for now");
}

struct ModeCase {
  const char* value;
  uint32_t mode;
};

TEST(ConfigParse, ControlModeSpellings) {
  const ModeCase cases[] = {
      {"\"0660\"", 0660}, {"\"660\"", 0660}, {"\"0\"", 0}, {"\"0777\"", 0777}, {"0o640", 0640}, {"0", 0},
  };
  for (const ModeCase& m : cases) {
    const ServiceConfig c = parse_ok("[service]\ncontrol_mode = " + std::string(m.value) + "\n" + kMinimal);
    EXPECT_EQ(c.service.control_mode, m.mode) << m.value;
  }
}

TEST(ConfigParse, PollingAndLogLevelNames) {
  const std::pair<const char*, LogLevel> levels[] = {{"error", LogLevel::kError}, {"warn", LogLevel::kWarn},
                                                     {"info", LogLevel::kInfo},   {"debug", LogLevel::kDebug},
                                                     {"trace", LogLevel::kTrace}};
  for (const auto& [name, level] : levels) {
    const ServiceConfig c = parse_ok("[service]\nlog_level = \"" + std::string(name) + "\"\n" + kMinimal);
    EXPECT_EQ(c.service.log_level, level) << name;
  }
  EXPECT_EQ(parse_ok("[service]\npolling = \"adaptive\"\n" + std::string(kMinimal)).service.polling,
            PollingMode::kAdaptive);
}

TEST(ConfigParse, AddressesThatLookLikeSubnetEdgesButAreHosts) {
  // /31 (RFC 3021) and /32 have no network or broadcast address to refuse; in a /23,
  // x.x.1.0 and x.x.0.255 are ordinary hosts.
  const ServiceConfig c = parse_ok(
      "[[interface]]\nname = \"p2p\"\ndevice = \"d\"\n"
      "addresses = [\"10.0.0.0/31\", \"10.0.0.255/32\", \"10.1.1.0/23\", \"10.2.0.255/23\"]\n");
  EXPECT_EQ(c.interfaces.at(0).ipv4, (std::vector<Ipv4Cidr>{cidr("10.0.0.0/31"), cidr("10.0.0.255/32"),
                                                            cidr("10.1.1.0/23"), cidr("10.2.0.255/23")}));
}

TEST(ConfigParse, RouteGatewayPicksInterfaceBySubnet) {
  const ServiceConfig c = parse_ok(kFull);
  EXPECT_EQ(route_interface(c, c.routes[0]), 0u);  // 192.0.2.1 is on uplink's 192.0.2.0/24
  EXPECT_EQ(route_interface(c, c.routes[1]), 1u);  // named
  EXPECT_EQ(route_interface(c, c.routes[2]), 1u);  // named, on-link
  RouteOptions nowhere;
  nowhere.gateway = ip("203.0.113.9");
  EXPECT_EQ(route_interface(c, nowhere), std::nullopt);
  EXPECT_EQ(route_interface(c, RouteOptions{}), std::nullopt);
}

TEST(ConfigParse, IssueToStringLeavesOutEmptyParts) {
  ConfigIssue issue{"f.toml", 3, 9, "", "TOML syntax: oops", ""};
  EXPECT_EQ(issue.to_string(), "f.toml:3:9: TOML syntax: oops");
  issue = ConfigIssue{"f.toml", 0, 0, "", "cannot open", "a file"};
  EXPECT_EQ(issue.to_string(), "f.toml: cannot open; expected a file");
  issue = ConfigIssue{"f.toml", 1, 2, "k", "bad", "good"};
  EXPECT_EQ(issue.to_string(), "f.toml:1:2: k: bad; expected good");
}

}  // namespace
}  // namespace joyride::service
