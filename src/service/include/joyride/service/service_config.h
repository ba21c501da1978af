// joyrided's configuration: one TOML file (config/joyrided.example.toml documents every
// key) read into plain structs, checked as a whole, and mapped onto a stack instance's
// core::StackConfig.
//
// Checking is the point of this file. joyrided owns the NIC and starts every stack
// instance from this file, so a mistake in it must be reported before anything
// starts, all at once, and in terms of the file: every issue names the file, the
// line and column of the offending value (of the table when a required key is
// missing), the dotted key ("interface[1].mtu"), what is wrong and what is expected:
//
//   joyrided.toml:12:7: interface[1].mtu: 70000 is out of range; expected an integer from 68 to 9216
//
// Issues come back in file order. Parsing runs once at start-up, so it allocates
// freely; nothing here is on the packet path. toml++ stays behind the .cc files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "joyride/base/result.h"
#include "joyride/core/stack.h"
#include "joyride/core/tcp/tcp_types.h"
#include "joyride/wire/address.h"

namespace joyride::service {

// One problem found in the file. line and column are 1-based; 0 when the problem is
// not tied to a position (the file cannot be read).
struct ConfigIssue {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string key;       // "interface[1].mtu"; empty for TOML syntax errors
  std::string message;   // "70000 is out of range"
  std::string expected;  // "an integer from 68 to 9216"; may be empty for warnings

  // "file:line:col: key: message; expected ..." (parts that are empty are left out).
  std::string to_string() const;
  bool operator==(const ConfigIssue&) const = default;
};

// Every error found, in file order (line, then column).
struct ConfigError {
  std::vector<ConfigIssue> issues;
  // One issue per line, each ending in '\n'.
  std::string to_string() const;
};

// How a worker waits for work: a 2-core machine must stay usable, hence adaptive.
enum class PollingMode : uint8_t {
  kBusy,      // spin forever: lowest latency, one core at 100%
  kAdaptive,  // spin while there is work, then sleep until a doorbell or a deadline
};

enum class LogLevel : uint8_t { kError, kWarn, kInfo, kDebug, kTrace };

// [service]
struct ServiceOptions {
  std::vector<uint32_t> lcores{0};  // CPU ids of the worker threads, each once
  PollingMode polling = PollingMode::kAdaptive;
  uint32_t idle_sleep_us = 100;  // adaptive: sleep this long when idle (1..100000)
  // adaptive, ports without rx interrupts: consecutive idle naps double up to this
  // (1..1000000; not below idle_sleep_us in effect)
  uint32_t idle_sleep_max_us = 2000;
  uint32_t busy_spin_us = 50;    // adaptive: keep spinning this long after the last work
  std::string control_socket = "/run/joyride/joyrided.sock";
  uint32_t control_mode = 0600;  // permission bits of the control socket
  // The socket file's group (a gid): with a mode granting the group (e.g. "0660") its
  // members may run `joyride stat` and attach applications. Empty: the service's.
  std::optional<uint32_t> control_group;
  LogLevel log_level = LogLevel::kInfo;
};

// [eal]: the DPDK Environment Abstraction Layer's arguments.
struct EalOptions {
  bool no_huge = true;  // --no-huge: plain pages, so a test VM needs no hugepage setup
  uint32_t memory_mb = 512;
  std::string file_prefix = "joyrided";
  std::vector<std::string> pci_allow;  // -a for each; empty means --no-pci
  std::vector<std::string> extra_args;  // appended verbatim
};

// An IPv6 interface address with its prefix length. Kept so the file need not change
// when the stack learns IPv6; today it is reported as a warning and not used.
struct Ipv6Prefix {
  wire::Ipv6Address address;
  uint8_t prefix_len = 0;
  bool operator==(const Ipv6Prefix&) const = default;
};

// [[interface]]: one DPDK port and the addresses the stack owns on it. Its position
// among the [[interface]] tables is its ifindex in every stack instance.
struct InterfaceOptions {
  std::string name;    // unique
  std::string device;  // DPDK device: "net_af_xdp0,iface=vA", or a PCI address
  std::vector<wire::Ipv4Cidr> ipv4;  // the first is the primary address
  std::vector<Ipv6Prefix> ipv6;      // not used by the stack yet (a warning says so)
  std::optional<wire::MacAddress> mac;  // empty: the device's own address
  uint16_t mtu = 1500;  // IP MTU, 68..9216
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 1;
  uint32_t rx_ring = 1024;  // descriptors per queue, a power of two 64..16384
  uint32_t tx_ring = 1024;
};

// [[route]]: a static route in addition to the connected routes of the interfaces.
struct RouteOptions {
  wire::Ipv4Cidr destination;  // "default" is 0.0.0.0/0
  std::optional<wire::Ipv4Address> gateway;  // empty: destination is on-link
  std::string interface;  // empty: the interface whose subnet holds the gateway
  uint32_t metric = 0;
};

// Socket buffer bounds in bytes, as Linux's net.ipv4.tcp_rmem / tcp_wmem triples.
struct BufferBounds {
  size_t min = 0;
  size_t initial = 0;  // "default" in Linux's terms
  size_t max = 0;
  bool operator==(const BufferBounds&) const = default;
};

// [limits]. The buffer defaults are the core's (core::TcpConfig), so the two agree.
struct LimitOptions {
  uint32_t mbufs = 16384;  // packet buffers in the service's pool
  uint32_t max_sockets = 65536;  // per stack instance, TCP and UDP each
  BufferBounds tcp_rmem{core::TcpConfig{}.rcvbuf_min, core::TcpConfig{}.rcvbuf_default,
                        core::TcpConfig{}.rcvbuf_max};
  BufferBounds tcp_wmem{core::TcpConfig{}.sndbuf_min, core::TcpConfig{}.sndbuf_default,
                        core::TcpConfig{}.sndbuf_max};
  uint32_t max_apps = 64;  // stack instances (attached applications) at once
  // Per application: sockets at once (socket()/accept() beyond it fail with EMFILE)
  // and the bytes of each socket's two shared-memory FIFOs (app <-> service), each
  // direction. The region is app_max_sockets * 2 * app_fifo_bytes plus ~2 KiB a
  // socket of control state, allocated as the FIFOs are touched.
  uint32_t app_max_sockets = 1024;
  uint32_t app_fifo_bytes = 262144;
  // Per application: the bytes of TCP socket buffers (send and receive rings) its
  // stack instance may hold at once, the buffer area of its region (memory is
  // committed only while a socket holds it); beyond it connect() fails with ENOBUFS
  // and a SYN to its listener is dropped (counted, tcp.drop_no_buffers), as Linux
  // under memory pressure. A multiple of 4096, at least 1 MiB.
  uint64_t app_buffer_bytes = uint64_t{1} << 30;
  // net.ipv4.tcp_tw_reuse (core::TcpConfig::tw_reuse): whether connect() may take an
  // ephemeral port over from a TIME-WAIT pair: 0 never, 1 always, 2 loopback only.
  uint8_t tcp_tw_reuse = core::TcpConfig{}.tw_reuse;
};

// [services]: the small RFC 862/863/864 servers joyrided runs itself, each on TCP
// and UDP, for testing a link without any application.
struct BuiltinServices {
  bool echo = true;
  bool discard = true;
  bool chargen = true;
  uint16_t echo_port = 7;
  uint16_t discard_port = 9;
  uint16_t chargen_port = 19;
  // TCP discard keeps a CRC-32 of each connection's bytes (reported by `joyride
  // stat`), so a test can check what arrived; a benchmark turns it off to save the
  // pass over the data.
  bool discard_checksum = true;
};

struct ServiceConfig {
  ServiceOptions service;
  EalOptions eal;
  std::vector<InterfaceOptions> interfaces;  // at least one after a successful parse
  std::vector<RouteOptions> routes;
  LimitOptions limits;
  BuiltinServices services;
  // Accepted but worth saying, e.g. IPv6 addresses the stack ignores for now. Same
  // format as errors, in file order.
  std::vector<ConfigIssue> warnings;
};

// Parses and checks a whole file. `file_name` is only used in the issues.
base::Result<ServiceConfig, ConfigError> parse_config(std::string_view text, std::string_view file_name);
// Reads `path` and parses it; an unreadable file is one issue without a position.
base::Result<ServiceConfig, ConfigError> load_config(const std::string& path);

// The index of the interface a route leaves through: the named one, else the first
// whose IPv4 subnets hold the gateway. Empty when neither gives one (an invalid route,
// which parse_config rejects).
std::optional<size_t> route_interface(const ServiceConfig& config, const RouteOptions& route);

// The core configuration of one stack instance: interfaces in file order (ifindex =
// position), their IPv4 addresses and MTUs, the static routes, the TCP buffer
// bounds, tcp_tw_reuse and socket limits. device_macs[i] is the MAC of interface i's device, used
// when the interface sets no `mac`; it must have an entry per interface (asserted;
// in a release build a missing one leaves the MAC zero). IPv6 addresses are not
// mapped. Everything else keeps the core's defaults.
core::StackConfig to_stack_config(const ServiceConfig& config, std::span<const wire::MacAddress> device_macs);

}  // namespace joyride::service
