// [[interface]] and [[route]]: the parts of joyrided.toml that become the stack's
// interface table and routing table (core/interface.h, core/routing.h), checked
// across entries: unique names and addresses, routes that name a declared interface
// and whose gateway is reachable on a connected subnet (as Linux requires of
// `ip route add ... via` without `onlink`).
#include <algorithm>

#include "sections.h"

namespace joyride::service::detail {

namespace {

constexpr const char* kAddressExpected =
    "an address with its prefix length, such as \"198.18.0.1/24\" (or IPv6 \"fd00::1/64\")";

struct PrefixText {
  std::string_view address;
  std::optional<int> length;  // empty when there is no '/' or it is not a number
  bool has_slash = false;
};

PrefixText split_prefix(std::string_view s) {
  PrefixText p;
  const size_t slash = s.find('/');
  p.address = s.substr(0, slash);
  if (slash == std::string_view::npos) return p;
  p.has_slash = true;
  const std::string_view len = s.substr(slash + 1);
  if (len.empty() || len.size() > 3) return p;
  int n = 0;
  for (char c : len) {
    if (c < '0' || c > '9') return p;
    n = n * 10 + (c - '0');
  }
  p.length = n;
  return p;
}

std::string cidr_text(const wire::Ipv4Cidr& c) {
  return wire::Ipv4Cidr(c.network(), c.prefix_len()).to_string();
}

// Where each address was first given, to report duplicates.
struct SeenAddress {
  wire::IpAddress address;
  std::string key;
};

class InterfaceParser {
 public:
  InterfaceParser(Issues& issues, ServiceConfig& out) : issues_(issues), out_(out) {}

  void parse(const toml::table& t, size_t index);
  bool addresses_complete() const { return addresses_complete_; }

 private:
  void parse_name(TableReader& r, InterfaceOptions& iface);
  void parse_addresses(TableReader& r, InterfaceOptions& iface);
  void parse_address(const toml::node& node, const std::string& key, InterfaceOptions& iface);
  bool check_unique(const wire::IpAddress& a, const toml::node& node, const std::string& key);
  void parse_mac(TableReader& r, InterfaceOptions& iface);
  void parse_ring(TableReader& r, std::string_view key, uint32_t& out);

  Issues& issues_;
  ServiceConfig& out_;
  std::vector<SeenAddress> seen_;
  bool addresses_complete_ = true;
};

void InterfaceParser::parse(const toml::table& t, size_t index) {
  TableReader r(issues_, t, "interface[" + std::to_string(index) + "]",
                {"name", "device", "addresses", "mac", "mtu", "rx_queues", "tx_queues", "rx_ring", "tx_ring"});
  InterfaceOptions iface;
  parse_name(r, iface);
  constexpr const char* kDeviceExpected =
      "a DPDK device such as \"net_af_xdp0,iface=vA\" or a PCI address such as \"0000:01:00.0\"";
  if (r.get("device") == nullptr) {
    r.missing("device", kDeviceExpected);
  } else if (const std::string* s = r.string("device", kDeviceExpected)) {
    if (s->empty()) issues_.error(r.get("device")->source(), r.path("device"), "is empty", kDeviceExpected);
    iface.device = *s;
  }
  parse_addresses(r, iface);
  parse_mac(r, iface);
  r.integer("mtu", 68, 9216, iface.mtu);
  r.integer("rx_queues", 1, 64, iface.rx_queues);
  r.integer("tx_queues", 1, 64, iface.tx_queues);
  parse_ring(r, "rx_ring", iface.rx_ring);
  parse_ring(r, "tx_ring", iface.tx_ring);
  out_.interfaces.push_back(std::move(iface));
}

void InterfaceParser::parse_name(TableReader& r, InterfaceOptions& iface) {
  constexpr const char* kExpected = "a unique name of 1 to 32 bytes, such as \"vA\"";
  const toml::node* node = r.get("name");
  if (node == nullptr) {
    r.missing("name", kExpected);
    return;
  }
  const std::string* s = r.string("name", kExpected);
  if (s == nullptr) return;
  if (s->empty() || s->size() > 32) {
    issues_.error(node->source(), r.path("name"), quoted(*s) + " has " + std::to_string(s->size()) + " bytes",
                  kExpected);
    return;
  }
  for (size_t i = 0; i < out_.interfaces.size(); ++i) {
    if (out_.interfaces[i].name == *s) {
      issues_.error(node->source(), r.path("name"),
                    quoted(*s) + " is already the name of interface[" + std::to_string(i) + "]", kExpected);
      return;
    }
  }
  iface.name = *s;
}

void InterfaceParser::parse_addresses(TableReader& r, InterfaceOptions& iface) {
  const toml::node* node = r.get("addresses");
  if (node == nullptr) {
    r.missing("addresses", "an array of addresses, such as [\"198.18.0.1/24\"]");
    addresses_complete_ = false;
    return;
  }
  const toml::array* a = r.array("addresses", "an array of addresses, such as [\"198.18.0.1/24\"]");
  if (a == nullptr || a->empty()) {
    if (a != nullptr) {
      issues_.error(a->source(), r.path("addresses"), "is empty", "at least one address, such as [\"198.18.0.1/24\"]");
    }
    addresses_complete_ = false;
    return;
  }
  for (size_t i = 0; i < a->size(); ++i) {
    parse_address((*a)[i], r.path("addresses") + "[" + std::to_string(i) + "]", iface);
  }
}

void InterfaceParser::parse_address(const toml::node& node, const std::string& key, InterfaceOptions& iface) {
  const size_t errors_before = issues_.error_count();
  auto reject = [&](std::string message, std::string expected) {
    issues_.error(node.source(), key, std::move(message), std::move(expected));
  };
  const std::string* s = check_string(issues_, node, key, kAddressExpected);
  if (s != nullptr) {
    const PrefixText p = split_prefix(*s);
    const bool v6 = p.address.find(':') != std::string_view::npos;
    const int max_len = v6 ? 128 : 32;
    const std::string len_expected = "a prefix length from 1 to " + std::to_string(max_len);
    if (!p.has_slash) {
      reject(quoted(*s) + " has no prefix length", kAddressExpected);
    } else if (!p.length || *p.length < 1 || *p.length > max_len) {
      reject(quoted(*s) + " has a bad prefix length", len_expected);
    } else if (v6) {
      const auto a = wire::Ipv6Address::parse(p.address);
      if (!a) {
        reject(quoted(*s) + " is not an IPv6 address", kAddressExpected);
      } else if (a->is_unspecified() || a->is_multicast() || a->is_loopback()) {
        reject(quoted(*s) + " is not a unicast address", "a unicast address such as \"fd00::1/64\"");
      } else if (check_unique(*a, node, key)) {
        iface.ipv6.push_back(Ipv6Prefix{*a, static_cast<uint8_t>(*p.length)});
        issues_.warning(node.source(), key, "IPv6 is not supported by the stack yet; the address is not used",
                        "IPv4 addresses for now");
      }
    } else if (const auto a = wire::Ipv4Address::parse(p.address); !a) {
      reject(quoted(*s) + " is not an IPv4 address", kAddressExpected);
    } else if (!a->is_unicast() || a->is_loopback()) {
      reject(quoted(*s) + " is not a unicast address", "a unicast address such as \"198.18.0.1/24\"");
    } else {
      const wire::Ipv4Cidr cidr(*a, static_cast<uint8_t>(*p.length));
      // /31 (RFC 3021) and /32 have no network or broadcast address to avoid.
      const bool edges = cidr.prefix_len() <= 30;
      const std::string host_expected = "a host address inside " + cidr_text(cidr);
      if (edges && *a == cidr.network()) {
        reject(quoted(*s) + " is the subnet's network address", host_expected);
      } else if (edges && *a == cidr.broadcast()) {
        reject(quoted(*s) + " is the subnet's broadcast address", host_expected);
      } else if (check_unique(*a, node, key)) {
        iface.ipv4.push_back(cidr);
      }
    }
  }
  if (issues_.error_count() != errors_before) addresses_complete_ = false;
}

bool InterfaceParser::check_unique(const wire::IpAddress& a, const toml::node& node, const std::string& key) {
  for (const SeenAddress& seen : seen_) {
    if (seen.address == a) {
      issues_.error(node.source(), key, a.to_string() + " is already given as " + seen.key,
                    "each address once in the whole file");
      return false;
    }
  }
  seen_.push_back(SeenAddress{a, key});
  return true;
}

void InterfaceParser::parse_mac(TableReader& r, InterfaceOptions& iface) {
  constexpr const char* kExpected = "a unicast MAC address such as \"02:00:00:00:00:01\"";
  const toml::node* node = r.get("mac");
  if (node == nullptr) return;
  const std::string* s = r.string("mac", kExpected);
  if (s == nullptr) return;
  const auto mac = wire::MacAddress::parse(*s);
  if (!mac) {
    issues_.error(node->source(), r.path("mac"), quoted(*s) + " is not a MAC address", kExpected);
  } else if (mac->is_multicast()) {
    issues_.error(node->source(), r.path("mac"), quoted(*s) + " is a multicast address", kExpected);
  } else if (*mac == wire::MacAddress{}) {
    issues_.error(node->source(), r.path("mac"), quoted(*s) + " is the zero address", kExpected);
  } else {
    iface.mac = *mac;
  }
}

void InterfaceParser::parse_ring(TableReader& r, std::string_view key, uint32_t& out) {
  constexpr const char* kExpected = "a power of two from 64 to 16384";
  const toml::node* node = r.get(key);
  if (node == nullptr) return;
  const auto* v = node->as_integer();
  if (v == nullptr) {
    issues_.error(node->source(), r.path(key), "found " + describe(*node), kExpected);
  } else if (**v < 64 || **v > 16384) {
    issues_.error(node->source(), r.path(key), std::to_string(**v) + " is out of range", kExpected);
  } else if ((**v & (**v - 1)) != 0) {
    issues_.error(node->source(), r.path(key), std::to_string(**v) + " is not a power of two", kExpected);
  } else {
    out = static_cast<uint32_t>(**v);
  }
}

}  // namespace

bool parse_interface_sections(Issues& issues, const toml::table& root, const toml::node* node, ServiceConfig& out) {
  constexpr const char* kExpected = "at least one [[interface]] table with a name, a device and addresses";
  if (node == nullptr) {
    issues.error(root.source(), "interface", "no interface is declared", kExpected);
    return false;
  }
  const toml::array* a = node->as_array();
  if (a == nullptr) {
    issues.error(node->source(), "interface", "found " + describe(*node), "an array of tables ([[interface]])");
    return false;
  }
  if (a->empty()) {
    issues.error(node->source(), "interface", "is empty", kExpected);
    return false;
  }
  InterfaceParser parser(issues, out);
  bool complete = true;
  for (size_t i = 0; i < a->size(); ++i) {
    if (const toml::table* t = (*a)[i].as_table()) {
      parser.parse(*t, i);
    } else {
      issues.error((*a)[i].source(), "interface[" + std::to_string(i) + "]", "found " + describe((*a)[i]),
                   "a table ([[interface]])");
      out.interfaces.emplace_back();  // keeps interface[i] at index i
      complete = false;
    }
  }
  return complete && parser.addresses_complete();
}

namespace {

class RouteParser {
 public:
  RouteParser(Issues& issues, bool check_gateways, ServiceConfig& out)
      : issues_(issues), check_gateways_(check_gateways), out_(out) {}

  void parse(const toml::table& t, size_t index);

 private:
  void parse_destination(TableReader& r, RouteOptions& route);
  void parse_interface(TableReader& r, RouteOptions& route);
  void parse_gateway(TableReader& r, RouteOptions& route, bool interface_ok);

  Issues& issues_;
  bool check_gateways_;
  ServiceConfig& out_;
  std::vector<std::pair<wire::Ipv4Cidr, std::string>> destinations_;  // with the key that gave it
};

void RouteParser::parse(const toml::table& t, size_t index) {
  TableReader r(issues_, t, "route[" + std::to_string(index) + "]", {"destination", "gateway", "interface", "metric"});
  RouteOptions route;
  parse_destination(r, route);
  const size_t errors_before = issues_.error_count();
  parse_interface(r, route);
  parse_gateway(r, route, issues_.error_count() == errors_before);
  if (r.get("gateway") == nullptr && r.get("interface") == nullptr) {
    r.missing("gateway", "a gateway address such as \"198.18.0.254\", or an interface for an on-link route");
  }
  r.integer("metric", 0, UINT32_MAX, route.metric);
  out_.routes.push_back(std::move(route));
}

void RouteParser::parse_destination(TableReader& r, RouteOptions& route) {
  constexpr const char* kExpected = "an IPv4 prefix such as \"10.0.0.0/8\", or \"default\"";
  const toml::node* node = r.get("destination");
  if (node == nullptr) {
    r.missing("destination", kExpected);
    return;
  }
  const std::string* s = r.string("destination", kExpected);
  if (s == nullptr) return;
  const std::string key = r.path("destination");
  std::optional<wire::Ipv4Cidr> cidr;
  if (*s == "default") {
    cidr = wire::Ipv4Cidr(wire::Ipv4Address::any(), 0);
  } else {
    const PrefixText p = split_prefix(*s);
    const auto a = wire::Ipv4Address::parse(p.address);
    if (!a && p.address.find(':') != std::string_view::npos) {
      issues_.error(node->source(), key, "IPv6 routes are not supported by the stack yet", kExpected);
    } else if (!a) {
      issues_.error(node->source(), key, quoted(*s) + " is not an IPv4 prefix", kExpected);
    } else if (!p.has_slash) {
      issues_.error(node->source(), key, quoted(*s) + " has no prefix length", kExpected);
    } else if (!p.length || *p.length > 32) {
      issues_.error(node->source(), key, quoted(*s) + " has a bad prefix length", "a prefix length from 0 to 32");
    } else if (const wire::Ipv4Cidr c(*a, static_cast<uint8_t>(*p.length)); c.network() != *a) {
      // Linux refuses these too ("Invalid prefix for given prefix length").
      issues_.error(node->source(), key, quoted(*s) + " has host bits set", "the network address " + cidr_text(c));
    } else {
      cidr = c;
    }
  }
  if (!cidr) return;
  for (const auto& [earlier, earlier_key] : destinations_) {
    if (earlier == *cidr) {
      issues_.error(node->source(), key, "a route to " + cidr->to_string() + " is already given by " + earlier_key,
                    "one route per destination");
      return;
    }
  }
  destinations_.emplace_back(*cidr, key);
  route.destination = *cidr;
}

void RouteParser::parse_interface(TableReader& r, RouteOptions& route) {
  std::vector<std::string_view> names;
  for (const InterfaceOptions& iface : out_.interfaces) {
    if (!iface.name.empty()) names.push_back(iface.name);
  }
  const std::string expected = "the name of a declared interface: one of " + join(names);
  const toml::node* node = r.get("interface");
  if (node == nullptr) return;
  const std::string* s = r.string("interface", expected);
  if (s == nullptr) return;
  if (std::find(names.begin(), names.end(), *s) == names.end()) {
    std::string message = quoted(*s) + " is not a declared interface";
    if (std::string_view near = nearest(*s, names); !near.empty()) message += ", did you mean " + quoted(near) + "?";
    issues_.error(node->source(), r.path("interface"), std::move(message), expected);
    return;
  }
  route.interface = *s;
}

void RouteParser::parse_gateway(TableReader& r, RouteOptions& route, bool interface_ok) {
  constexpr const char* kExpected = "an IPv4 address such as \"198.18.0.254\"";
  const toml::node* node = r.get("gateway");
  if (node == nullptr) return;
  const std::string* s = r.string("gateway", kExpected);
  if (s == nullptr) return;
  const std::string key = r.path("gateway");
  const auto a = wire::Ipv4Address::parse(*s);
  if (!a) {
    issues_.error(node->source(), key, quoted(*s) + " is not an IPv4 address", kExpected);
    return;
  }
  if (!a->is_unicast() || a->is_loopback()) {
    issues_.error(node->source(), key, quoted(*s) + " is not a unicast address", kExpected);
    return;
  }
  route.gateway = *a;
  if (!check_gateways_ || !interface_ok) return;
  // The subnets the gateway may be on: the named interface's, or every interface's.
  std::string subnets;
  bool on_subnet = false;
  for (const InterfaceOptions& iface : out_.interfaces) {
    if (!route.interface.empty() && iface.name != route.interface) continue;
    for (const wire::Ipv4Cidr& c : iface.ipv4) {
      if (c.address() == *a) {
        issues_.error(node->source(), key, a->to_string() + " is an address of interface " + quoted(iface.name),
                      "the address of a router on one of its subnets");
        return;
      }
      on_subnet = on_subnet || c.contains(*a);
      subnets += (subnets.empty() ? "" : ", ") + cidr_text(c);
    }
  }
  if (on_subnet) return;
  const std::string where =
      route.interface.empty() ? "any interface's subnet" : "a subnet of interface " + quoted(route.interface);
  issues_.error(node->source(), key, a->to_string() + " is not on " + where,
                subnets.empty() ? "an interface with an IPv4 address" : "an address inside " + subnets);
}

}  // namespace

void parse_route_sections(Issues& issues, const toml::node* node, bool check_gateways, ServiceConfig& out) {
  if (node == nullptr) return;
  const toml::array* a = node->as_array();
  if (a == nullptr) {
    issues.error(node->source(), "route", "found " + describe(*node), "an array of tables ([[route]])");
    return;
  }
  RouteParser parser(issues, check_gateways, out);
  for (size_t i = 0; i < a->size(); ++i) {
    if (const toml::table* t = (*a)[i].as_table()) {
      parser.parse(*t, i);
    } else {
      issues.error((*a)[i].source(), "route[" + std::to_string(i) + "]", "found " + describe((*a)[i]),
                   "a table ([[route]])");
    }
  }
}

}  // namespace joyride::service::detail
