// Every kind of mistake parse_config reports, each with its exact text: file, line,
// column, key, what is wrong and what is expected.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "joyride/service/service_config.h"

namespace joyride::service {
namespace {

// Four lines: a valid interface, so cases that test something else parse.
#define IFACE_A                     \
  "[[interface]]\n"                 \
  "name = \"vA\"\n"                 \
  "device = \"net_af_xdp0,iface=vA\"\n" \
  "addresses = [\"198.18.0.1/24\"]\n"

struct ErrorCase {
  const char* name;
  std::string text;
  std::vector<std::string> errors;  // ConfigIssue::to_string(), in order
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

std::vector<std::string> error_lines(std::string_view text) {
  auto r = parse_config(text, "joyrided.toml");
  std::vector<std::string> lines;
  if (r.ok()) return lines;
  const ConfigError error = r.error();  // error() returns a copy
  for (const ConfigIssue& issue : error.issues) lines.push_back(issue.to_string());
  return lines;
}

class ConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTest, ReportsExactly) {
  const ErrorCase& c = GetParam();
  EXPECT_EQ(error_lines(c.text), c.errors) << c.text;
}

const char* const kCpuExpected = "expected an integer from 0 to 1023";
const char* const kAddrExpected =
    "expected an address with its prefix length, such as \"198.18.0.1/24\" (or IPv6 \"fd00::1/64\")";
const char* const kModeExpected =
    "expected an octal permission string such as \"0660\" (or an integer such as 0o660) no greater than 0777";
const char* const kRmemExpected =
    "expected three byte counts from 1024 to 1073741824 with min <= default <= max, such as [4096, 131072, 6291456]";
const char* const kTwReuseExpected =
    "expected 0 (never), 1 (always) or 2 (for loopback pairs only, Linux's default), as net.ipv4.tcp_tw_reuse";
const char* const kWmemExpected =
    "expected three byte counts from 1024 to 1073741824 with min <= default <= max, such as [4096, 65536, 4194304]";
const char* const kMacExpected = "expected a unicast MAC address such as \"02:00:00:00:00:01\"";
const char* const kRingExpected = "expected a power of two from 64 to 16384";
const char* const kIfaceKeys =
    "expected one of: name, device, addresses, mac, mtu, rx_queues, tx_queues, rx_ring, tx_ring";

std::string e(const std::string& where_and_what, const std::string& expected) {
  return "joyrided.toml:" + where_and_what + "; " + expected;
}

const ErrorCase kErrorCases[] = {
    // TOML syntax: toml++ stops at the first one and gives its position.
    {"Syntax", "[service]\npolling = \n",
     {"joyrided.toml:2:11: TOML syntax: Error while parsing key-value pair: expected value, saw '\\n'"}},
    {"SyntaxDuplicateKey", IFACE_A "mtu = 1500\nmtu = 9000\n",
     {"joyrided.toml:6:7: TOML syntax: Error while parsing key-value pair: cannot redefine existing integer 'mtu'"}},

    // Unknown tables and keys: the valid ones, and the nearest when it looks like a typo.
    {"UnknownTableWithSuggestion", "[servce]\nlcores = [0]\n" IFACE_A,
     {e("1:2: servce: unknown table, did you mean \"service\"?",
        "expected one of: service, eal, interface, route, limits, services")}},
    {"UnknownKeyWithSuggestion", IFACE_A "mut = 9000\n",
     {e("5:1: interface[0].mut: unknown key, did you mean \"mtu\"?", kIfaceKeys)}},
    {"UnknownKeyNoSuggestion", IFACE_A "[limits]\nfoo = 1\n",
     {e("6:1: limits.foo: unknown key", "expected one of: mbufs, max_sockets, tcp_rmem, tcp_wmem, max_apps, tcp_tw_reuse, app_max_sockets, app_fifo_bytes, app_buffer_bytes")}},
    {"UnknownTopLevelKey", "threads = 4\n" IFACE_A,
     {e("1:1: threads: unknown key", "expected one of: service, eal, interface, route, limits, services")}},
    {"UnknownSubTable", IFACE_A "[services.extra]\nx = 1\n",
     {e("5:11: services.extra: unknown table",
        "expected one of: echo, discard, chargen, echo_port, discard_port, chargen_port, discard_checksum")}},

    // Wrong types.
    {"IntegerGivenString", IFACE_A "mtu = \"1500\"\n",
     {e("5:7: interface[0].mtu: found a string (\"1500\")", "expected an integer from 68 to 9216")}},
    {"IntegerGivenFloat", IFACE_A "mtu = 1500.0\n",
     {e("5:7: interface[0].mtu: found a float (1500)", "expected an integer from 68 to 9216")}},
    {"BoolGivenString", IFACE_A "[eal]\nno_huge = \"yes\"\n",
     {e("6:11: eal.no_huge: found a string (\"yes\")", "expected true or false")}},
    {"SectionGivenInteger", "service = 5\n" IFACE_A,
     {e("1:11: service: found an integer (5)", "expected a table ([service])")}},
    {"InterfaceGivenTable", "[interface]\nname = \"vA\"\n",
     {e("1:1: interface: found a table", "expected an array of tables ([[interface]])")}},
    {"InterfaceElementNotTable", "interface = [1]\n",
     {e("1:14: interface[0]: found an integer (1)", "expected a table ([[interface]])")}},
    {"ArrayGivenString", IFACE_A "[eal]\npci_allow = \"0000:01:00.0\"\n",
     {e("6:13: eal.pci_allow: found a string (\"0000:01:00.0\")",
        "expected an array of PCI addresses, such as [\"0000:01:00.0\"]")}},

    // Out-of-range values (the first is the example from the issue).
    {"MtuOutOfRange",
     IFACE_A "\n[[interface]]\nname = \"vB\"\ndevice = \"net_af_xdp1,iface=vB\"\naddresses = [\"198.18.1.1/24\"]\n"
             "rx_queues = 1\ntx_queues = 1\nmtu = 70000\n",
     {e("12:7: interface[1].mtu: 70000 is out of range", "expected an integer from 68 to 9216")}},
    {"MtuTooSmall", IFACE_A "mtu = 67\n",
     {e("5:7: interface[0].mtu: 67 is out of range", "expected an integer from 68 to 9216")}},
    {"QueuesOutOfRange", IFACE_A "rx_queues = 0\ntx_queues = 65\n",
     {e("5:13: interface[0].rx_queues: 0 is out of range", "expected an integer from 1 to 64"),
      e("6:13: interface[0].tx_queues: 65 is out of range", "expected an integer from 1 to 64")}},
    {"RingNotPowerOfTwo", IFACE_A "rx_ring = 1000\ntx_ring = 32768\n",
     {e("5:11: interface[0].rx_ring: 1000 is not a power of two", kRingExpected),
      e("6:11: interface[0].tx_ring: 32768 is out of range", kRingExpected)}},
    {"IdleSleepZero", "[service]\nidle_sleep_us = 0\n" IFACE_A,
     {e("2:17: service.idle_sleep_us: 0 is out of range", "expected an integer from 1 to 100000")}},
    {"IdleSleepMaxTooLong", "[service]\nidle_sleep_max_us = 1000001\n" IFACE_A,
     {e("2:21: service.idle_sleep_max_us: 1000001 is out of range", "expected an integer from 1 to 1000000")}},
    {"BusySpinTooLong", "[service]\nbusy_spin_us = 100001\n" IFACE_A,
     {e("2:16: service.busy_spin_us: 100001 is out of range", "expected an integer from 0 to 100000")}},
    {"LcoreOutOfRange", "[service]\nlcores = [2000]\n" IFACE_A,
     {e("2:11: service.lcores[0]: 2000 is out of range", kCpuExpected)}},
    {"MemoryTooSmall", IFACE_A "[eal]\nmemory_mb = 8\n",
     {e("6:13: eal.memory_mb: 8 is out of range", "expected an integer from 16 to 1048576")}},
    {"MbufsTooFew", IFACE_A "[limits]\nmbufs = 100\nmax_apps = 0\n",
     {e("6:9: limits.mbufs: 100 is out of range", "expected an integer from 1024 to 16777216"),
      e("7:12: limits.max_apps: 0 is out of range", "expected an integer from 1 to 4096")}},
    {"PortOutOfRange", IFACE_A "[services]\nchargen_port = 65536\n",
     {e("6:16: services.chargen_port: 65536 is out of range", "expected an integer from 1 to 65535")}},

    // Strings with a fixed set of values.
    {"PollingTypo", "[service]\npolling = \"bussy\"\n" IFACE_A,
     {e("2:11: service.polling: \"bussy\" is not a polling mode, did you mean \"busy\"?",
        "expected \"busy\" or \"adaptive\"")}},
    {"LogLevelUnknown", "[service]\nlog_level = \"loud\"\n" IFACE_A,
     {e("2:13: service.log_level: \"loud\" is not a log level",
        "expected \"error\", \"warn\", \"info\", \"debug\" or \"trace\"")}},

    // The control socket.
    {"ControlGroupUnknown", "[service]\ncontrol_group = \"no-such-group-xyz\"\n" IFACE_A,
     {e("2:17: service.control_group: no group \"no-such-group-xyz\" on this machine",
        "expected a group name from /etc/group, such as \"joyride\", or a numeric gid")}},
    {"ControlModeNotOctal", "[service]\ncontrol_mode = \"0986\"\n" IFACE_A,
     {e("2:16: service.control_mode: \"0986\" is not an octal permission mode", kModeExpected)}},
    {"ControlModeTooLarge", "[service]\ncontrol_mode = 0o1777\n" IFACE_A,
     {e("2:16: service.control_mode: 1023 (0o1777) is out of range", kModeExpected)}},
    {"ControlModeDecimalLooksOctal", "[service]\ncontrol_mode = 660\n" IFACE_A,
     {e("2:16: service.control_mode: 660 (0o1224) is out of range", kModeExpected)}},
    {"ControlSocketRelative", "[service]\ncontrol_socket = \"run/j.sock\"\n" IFACE_A,
     {e("2:18: service.control_socket: \"run/j.sock\" is not an absolute path",
        "expected an absolute path of at most 107 bytes, such as \"/run/joyride/joyrided.sock\"")}},
    {"ControlSocketTooLong", "[service]\ncontrol_socket = \"/" + std::string(107, 'x') + "\"\n" IFACE_A,
     {e("2:18: service.control_socket: the path is 108 bytes long, more than a socket address holds",
        "expected an absolute path of at most 107 bytes, such as \"/run/joyride/joyrided.sock\"")}},

    // lcores.
    {"LcoresDuplicate", "[service]\nlcores = [0, 1, 1]\n" IFACE_A,
     {e("2:17: service.lcores[2]: CPU 1 is already listed as service.lcores[1]", "expected each CPU once")}},
    {"LcoresEmpty", "[service]\nlcores = []\n" IFACE_A,
     {e("2:10: service.lcores: is empty", "expected at least one CPU id, such as [0]")}},

    // EAL strings.
    {"PciAddressBad", IFACE_A "[eal]\npci_allow = [\"0000:01:00.0\", \"01:00\", \"00:20.0\"]\n",
     {e("6:30: eal.pci_allow[1]: \"01:00\" is not a PCI address", "expected a PCI address such as \"0000:01:00.0\""),
      e("6:39: eal.pci_allow[2]: \"00:20.0\" is not a PCI address",
        "expected a PCI address such as \"0000:01:00.0\"")}},
    {"FilePrefixWithSlash", IFACE_A "[eal]\nfile_prefix = \"a/b\"\n",
     {e("6:15: eal.file_prefix: \"a/b\" is not a usable file prefix",
        "expected a name of letters, digits, '.', '_' or '-', such as \"joyrided\"")}},
    {"ExtraArgsNotStrings", IFACE_A "[eal]\nextra_args = [\"--log-level=8\", 8]\n",
     {e("6:32: eal.extra_args[1]: found an integer (8)", "expected a string")}},

    // Interface addresses.
    {"AddressBadIpv4", "[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = [\"198.18.0.300/24\"]\n",
     {e("4:14: interface[0].addresses[0]: \"198.18.0.300/24\" is not an IPv4 address", kAddrExpected)}},
    {"AddressNoPrefix", "[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = [\"198.18.0.1\"]\n",
     {e("4:14: interface[0].addresses[0]: \"198.18.0.1\" has no prefix length", kAddrExpected)}},
    {"AddressPrefixTooLong", "[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = [\"198.18.0.1/33\"]\n",
     {e("4:14: interface[0].addresses[0]: \"198.18.0.1/33\" has a bad prefix length",
        "expected a prefix length from 1 to 32")}},
    {"AddressPrefixNotNumber", "[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = [\"198.18.0.1/x\"]\n",
     {e("4:14: interface[0].addresses[0]: \"198.18.0.1/x\" has a bad prefix length",
        "expected a prefix length from 1 to 32")}},
    {"AddressIpv6PrefixTooLong", IFACE_A "[[interface]]\nname = \"vB\"\ndevice = \"d\"\naddresses = [\"fd00::1/129\"]\n",
     {e("8:14: interface[1].addresses[0]: \"fd00::1/129\" has a bad prefix length",
        "expected a prefix length from 1 to 128")}},
    {"AddressIpv6Bad", IFACE_A "[[interface]]\nname = \"vB\"\ndevice = \"d\"\naddresses = [\"fd00:::1/64\"]\n",
     {e("8:14: interface[1].addresses[0]: \"fd00:::1/64\" is not an IPv6 address", kAddrExpected)}},
    {"AddressNetwork", "[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = [\"198.18.0.0/24\"]\n",
     {e("4:14: interface[0].addresses[0]: \"198.18.0.0/24\" is the subnet's network address",
        "expected a host address inside 198.18.0.0/24")}},
    {"AddressBroadcast", "[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = [\"10.1.255.255/16\"]\n",
     {e("4:14: interface[0].addresses[0]: \"10.1.255.255/16\" is the subnet's broadcast address",
        "expected a host address inside 10.1.0.0/16")}},
    {"AddressMulticast", "[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = [\"224.0.0.1/4\"]\n",
     {e("4:14: interface[0].addresses[0]: \"224.0.0.1/4\" is not a unicast address",
        "expected a unicast address such as \"198.18.0.1/24\"")}},
    {"AddressLoopback", "[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = [\"127.0.0.2/8\"]\n",
     {e("4:14: interface[0].addresses[0]: \"127.0.0.2/8\" is not a unicast address",
        "expected a unicast address such as \"198.18.0.1/24\"")}},
    {"AddressNotString", "[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = [3]\n",
     {e("4:14: interface[0].addresses[0]: found an integer (3)", kAddrExpected)}},
    {"AddressesEmpty", "[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = []\n",
     {e("4:13: interface[0].addresses: is empty", "expected at least one address, such as [\"198.18.0.1/24\"]")}},

    // MAC addresses.
    {"MacMalformed", IFACE_A "mac = \"02:00:00:00:00\"\n",
     {e("5:7: interface[0].mac: \"02:00:00:00:00\" is not a MAC address", kMacExpected)}},
    {"MacMulticast", IFACE_A "mac = \"01:00:5e:00:00:01\"\n",
     {e("5:7: interface[0].mac: \"01:00:5e:00:00:01\" is a multicast address", kMacExpected)}},
    {"MacZero", IFACE_A "mac = \"00:00:00:00:00:00\"\n",
     {e("5:7: interface[0].mac: \"00:00:00:00:00:00\" is the zero address", kMacExpected)}},

    // Required keys: reported at the table's header.
    {"InterfaceMissingKeys", "[service]\nlcores = [0]\n\n[[interface]]\nmtu = 1500\n",
     {e("4:1: interface[0].name: is missing", "expected a unique name of 1 to 32 bytes, such as \"vA\""),
      e("4:1: interface[0].device: is missing",
        "expected a DPDK device such as \"net_af_xdp0,iface=vA\" or a PCI address such as \"0000:01:00.0\""),
      e("4:1: interface[0].addresses: is missing", "expected an array of addresses, such as [\"198.18.0.1/24\"]")}},
    {"DeviceEmpty", "[[interface]]\nname = \"vA\"\ndevice = \"\"\naddresses = [\"198.18.0.1/24\"]\n",
     {e("3:10: interface[0].device: is empty",
        "expected a DPDK device such as \"net_af_xdp0,iface=vA\" or a PCI address such as \"0000:01:00.0\"")}},
    {"NoInterface", "[service]\nlcores = [0]\n",
     {e("1:1: interface: no interface is declared",
        "expected at least one [[interface]] table with a name, a device and addresses")}},
    {"EmptyFile", "",
     {e("1:1: interface: no interface is declared",
        "expected at least one [[interface]] table with a name, a device and addresses")}},

    // Duplicates across interfaces.
    {"DuplicateInterfaceName", IFACE_A "\n[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = [\"10.0.0.1/8\"]\n",
     {e("7:8: interface[1].name: \"vA\" is already the name of interface[0]",
        "expected a unique name of 1 to 32 bytes, such as \"vA\"")}},
    {"DuplicateAddressAcrossInterfaces",
     IFACE_A "\n[[interface]]\nname = \"vB\"\ndevice = \"d\"\naddresses = [\"10.0.0.1/8\", \"198.18.0.1/16\"]\n",
     {e("9:28: interface[1].addresses[1]: 198.18.0.1 is already given as interface[0].addresses[0]",
        "expected each address once in the whole file")}},
    {"DuplicateAddressInOneInterface",
     "[[interface]]\nname = \"vA\"\ndevice = \"d\"\naddresses = [\"fd00::1/64\", \"fd00::1/48\"]\n",
     {e("4:28: interface[0].addresses[1]: fd00::1 is already given as interface[0].addresses[0]",
        "expected each address once in the whole file")}},

    // Routes.
    {"GatewayNotOnAnySubnet", IFACE_A "[[route]]\ndestination = \"default\"\ngateway = \"10.0.0.1\"\n",
     {e("7:11: route[0].gateway: 10.0.0.1 is not on any interface's subnet",
        "expected an address inside 198.18.0.0/24")}},
    {"GatewayNotOnNamedInterface",
     IFACE_A "[[interface]]\nname = \"vB\"\ndevice = \"d\"\naddresses = [\"10.0.0.1/8\", \"172.16.0.1/12\"]\n"
             "[[route]]\ndestination = \"default\"\ngateway = \"198.18.0.254\"\ninterface = \"vB\"\n",
     {e("11:11: route[0].gateway: 198.18.0.254 is not on a subnet of interface \"vB\"",
        "expected an address inside 10.0.0.0/8, 172.16.0.0/12")}},
    {"GatewayIsOwnAddress", IFACE_A "[[route]]\ndestination = \"10.0.0.0/8\"\ngateway = \"198.18.0.1\"\n",
     {e("7:11: route[0].gateway: 198.18.0.1 is an address of interface \"vA\"",
        "expected the address of a router on one of its subnets")}},
    {"GatewayBad", IFACE_A "[[route]]\ndestination = \"default\"\ngateway = \"198.18.0\"\n",
     {e("7:11: route[0].gateway: \"198.18.0\" is not an IPv4 address",
        "expected an IPv4 address such as \"198.18.0.254\"")}},
    {"RouteUnknownInterface", IFACE_A "[[route]]\ndestination = \"10.0.0.0/8\"\ninterface = \"vB\"\n",
     {e("7:13: route[0].interface: \"vB\" is not a declared interface, did you mean \"vA\"?",
        "expected the name of a declared interface: one of vA")}},
    {"RouteUnknownInterfaceNoGatewayCheck",
     IFACE_A "[[route]]\ndestination = \"10.0.0.0/8\"\ninterface = \"uplink\"\ngateway = \"192.0.2.1\"\n",
     {e("7:13: route[0].interface: \"uplink\" is not a declared interface",
        "expected the name of a declared interface: one of vA")}},
    {"RouteNeitherGatewayNorInterface", IFACE_A "\n[[route]]\ndestination = \"10.0.0.0/8\"\n",
     {e("6:1: route[0].gateway: is missing",
        "expected a gateway address such as \"198.18.0.254\", or an interface for an on-link route")}},
    {"RouteMissingDestination", IFACE_A "[[route]]\ngateway = \"198.18.0.254\"\n",
     {e("5:1: route[0].destination: is missing", "expected an IPv4 prefix such as \"10.0.0.0/8\", or \"default\"")}},
    {"RouteHostBits", IFACE_A "[[route]]\ndestination = \"10.1.2.3/8\"\ngateway = \"198.18.0.254\"\n",
     {e("6:15: route[0].destination: \"10.1.2.3/8\" has host bits set", "expected the network address 10.0.0.0/8")}},
    {"RouteIpv6", IFACE_A "[[route]]\ndestination = \"::/0\"\ngateway = \"198.18.0.254\"\n",
     {e("6:15: route[0].destination: IPv6 routes are not supported by the stack yet",
        "expected an IPv4 prefix such as \"10.0.0.0/8\", or \"default\"")}},
    {"RouteDuplicateDestination",
     IFACE_A "[[route]]\ndestination = \"0.0.0.0/0\"\ngateway = \"198.18.0.254\"\n"
             "[[route]]\ndestination = \"default\"\ngateway = \"198.18.0.253\"\n",
     {e("9:15: route[1].destination: a route to 0.0.0.0/0 is already given by route[0].destination",
        "expected one route per destination")}},
    {"RouteMetricNegative", IFACE_A "[[route]]\ndestination = \"default\"\ngateway = \"198.18.0.254\"\nmetric = -1\n",
     {e("8:10: route[0].metric: -1 is out of range", "expected an integer from 0 to 4294967295")}},

    // Buffer bounds.
    {"RmemMinAboveDefault", IFACE_A "[limits]\ntcp_rmem = [65536, 4096, 131072]\n",
     {e("6:12: limits.tcp_rmem: min 65536 is larger than default 4096", kRmemExpected)}},
    {"WmemDefaultAboveMax", IFACE_A "[limits]\ntcp_wmem = [4096, 131072, 65536]\n",
     {e("6:12: limits.tcp_wmem: default 131072 is larger than max 65536", kWmemExpected)}},
    {"TwReuseOutOfRange", IFACE_A "[limits]\ntcp_tw_reuse = 3\n",
     {e("6:16: limits.tcp_tw_reuse: 3 is not a tcp_tw_reuse mode", kTwReuseExpected)}},
    {"TwReuseNegative", IFACE_A "[limits]\ntcp_tw_reuse = -1\n",
     {e("6:16: limits.tcp_tw_reuse: -1 is not a tcp_tw_reuse mode", kTwReuseExpected)}},
    {"TwReuseBoolean", IFACE_A "[limits]\ntcp_tw_reuse = true\n",
     {e("6:16: limits.tcp_tw_reuse: found a boolean (true)", kTwReuseExpected)}},
    {"AppFifoNotCacheLines", IFACE_A "[limits]\napp_fifo_bytes = 5000\n",
     {e("6:18: limits.app_fifo_bytes: 5000 is not a multiple of 64",
        "expected a multiple of 64 from 4096 to 16777216, such as 262144")}},
    {"AppSocketsOutOfRange", IFACE_A "[limits]\napp_max_sockets = 5000\n",
     {e("6:19: limits.app_max_sockets: 5000 is out of range", "expected an integer from 1 to 4096")}},
    {"TwReuseTypo", IFACE_A "[limits]\ntcp_tw_resue = 1\n",
     {e("6:1: limits.tcp_tw_resue: unknown key, did you mean \"tcp_tw_reuse\"?",
        "expected one of: mbufs, max_sockets, tcp_rmem, tcp_wmem, max_apps, tcp_tw_reuse, app_max_sockets, app_fifo_bytes, app_buffer_bytes")}},
    {"RmemTwoElements", IFACE_A "[limits]\ntcp_rmem = [4096, 131072]\n",
     {e("6:12: limits.tcp_rmem: has 2 elements", kRmemExpected)}},
    {"RmemElementTooSmall", IFACE_A "[limits]\ntcp_rmem = [4096, 100, 131072]\n",
     {e("6:19: limits.tcp_rmem[1]: 100 is out of range", "expected an integer from 1024 to 1073741824")}},

    // The packet pool must fill every ring.
    {"MbufsCannotFillRings", IFACE_A "rx_queues = 4\nrx_ring = 4096\n[limits]\nmbufs = 16384\n",
     {e("8:9: limits.mbufs: 16384 mbufs cannot fill the 17408 ring descriptors of the interfaces",
        "expected limits.mbufs of at least 17408 (twice that leaves room for packets in flight), or smaller rings")}},
    {"DefaultMbufsCannotFillRings",
     IFACE_A "\n[[interface]]\nname = \"vB\"\ndevice = \"d\"\naddresses = [\"10.0.0.1/8\"]\n"
             "rx_queues = 8\nrx_ring = 2048\n",
     {e("6:1: interface[1]: 16384 mbufs cannot fill the 19456 ring descriptors of the interfaces",
        "expected limits.mbufs of at least 19456 (twice that leaves room for packets in flight), or smaller rings")}},

    // Builtin services.
    {"ServicePortsClash", IFACE_A "[services]\necho_port = 9\n",
     {e("6:13: services.echo_port: port 9 is also the discard port",
        "expected a distinct port for each enabled service")}},
    {"DiscardChecksumGivenString", IFACE_A "[services]\ndiscard_checksum = \"off\"\n",
     {e("6:20: services.discard_checksum: found a string (\"off\")", "expected true or false")}},
    {"DiscardChecksumGivenInteger", IFACE_A "[services]\ndiscard_checksum = 0\n",
     {e("6:20: services.discard_checksum: found an integer (0)", "expected true or false")}},
    {"ServicePortsClashBothSet", IFACE_A "[services]\necho_port = 1000\nchargen_port = 1000\n",
     {e("7:16: services.chargen_port: port 1000 is also the echo port",
        "expected a distinct port for each enabled service")}},
};

INSTANTIATE_TEST_SUITE_P(All, ConfigErrorTest, ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& p) { return std::string(p.param.name); });

TEST(ConfigErrors, PortsOfDisabledServicesMayClash) {
  EXPECT_TRUE(parse_config(IFACE_A "[services]\ndiscard = false\necho_port = 9\n", "j.toml").ok());
}

// Errors from every section come back in file order, although toml++ keeps tables
// sorted by key and the sections are checked in a fixed order.
TEST(ConfigErrors, CollectsAllInFileOrder) {
  const char* text =
      "[services]\n"                                    // 1
      "echo = 1\n"                                      // 2
      "[limits]\n"                                      // 3
      "tcp_wmem = [1, 2, 3]\n"                          // 4
      "[service]\n"                                     // 5
      "lcores = [1, 1]\n"                               // 6
      "polling = \"sometimes\"\n"                       // 7
      "[[interface]]\n"                                 // 8
      "name = \"vA\"\n"                                 // 9
      "addresses = [\"198.18.0.1/24\", \"10.0.0.1\"]\n"  // 10
      "mtu = 0\n"                                       // 11
      "[[route]]\n"                                     // 12
      "destination = \"default\"\n"                     // 13
      "gateway = \"203.0.113.1\"\n"                     // 14
      "interface = \"va\"\n"                            // 15
      "[eal]\n"                                         // 16
      "memory = 512\n";                                 // 17
  const std::vector<std::string> expected = {
      e("2:8: services.echo: found an integer (1)", "expected true or false"),
      e("4:13: limits.tcp_wmem[0]: 1 is out of range", "expected an integer from 1024 to 1073741824"),
      e("4:16: limits.tcp_wmem[1]: 2 is out of range", "expected an integer from 1024 to 1073741824"),
      e("4:19: limits.tcp_wmem[2]: 3 is out of range", "expected an integer from 1024 to 1073741824"),
      e("6:14: service.lcores[1]: CPU 1 is already listed as service.lcores[0]", "expected each CPU once"),
      e("7:11: service.polling: \"sometimes\" is not a polling mode", "expected \"busy\" or \"adaptive\""),
      e("8:1: interface[0].device: is missing",
        "expected a DPDK device such as \"net_af_xdp0,iface=vA\" or a PCI address such as \"0000:01:00.0\""),
      e("10:31: interface[0].addresses[1]: \"10.0.0.1\" has no prefix length", kAddrExpected),
      e("11:7: interface[0].mtu: 0 is out of range", "expected an integer from 68 to 9216"),
      e("15:13: route[0].interface: \"va\" is not a declared interface, did you mean \"vA\"?",
        "expected the name of a declared interface: one of vA"),
      e("17:1: eal.memory: unknown key, did you mean \"memory_mb\"?",
        "expected one of: no_huge, memory_mb, file_prefix, pci_allow, extra_args"),
  };
  EXPECT_EQ(error_lines(text), expected);
}

TEST(ConfigErrors, ToStringJoinsIssuesOnePerLine) {
  auto r = parse_config("[service]\nidle_sleep_us = 0\nbusy_spin_us = -1\n" IFACE_A, "x.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().to_string(),
            "x.toml:2:17: service.idle_sleep_us: 0 is out of range; expected an integer from 1 to 100000\n"
            "x.toml:3:16: service.busy_spin_us: -1 is out of range; expected an integer from 0 to 100000\n");
}

TEST(ConfigErrors, IssueFields) {
  auto r = parse_config(IFACE_A "mtu = 70000\n", "joyrided.toml");
  ASSERT_FALSE(r.ok());
  const ConfigError error = r.error();  // error() returns a copy
  ASSERT_EQ(error.issues.size(), 1u);
  const ConfigIssue& issue = error.issues[0];
  EXPECT_EQ(issue.file, "joyrided.toml");
  EXPECT_EQ(issue.line, 5u);
  EXPECT_EQ(issue.column, 7u);
  EXPECT_EQ(issue.key, "interface[0].mtu");
  EXPECT_EQ(issue.message, "70000 is out of range");
  EXPECT_EQ(issue.expected, "an integer from 68 to 9216");
}

TEST(ConfigErrors, UnreadableFileHasNoPosition) {
  auto r = load_config("/nonexistent/joyrided.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().to_string(),
            "/nonexistent/joyrided.toml: cannot open: No such file or directory; expected a readable TOML file\n");
}

}  // namespace
}  // namespace joyride::service
