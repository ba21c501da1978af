// The IPv4 routing table: longest-prefix match over (prefix -> interface, gateway).
//
// Routes are kept in one hash map per prefix length plus a bitmap of the lengths
// in use, so a lookup probes only the lengths that exist, longest first: typically
// two or three probes (connected /24, default /0) whatever the table size.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "joyride/wire/address.h"

namespace joyride::core {

struct Route {
  wire::Ipv4Cidr destination;
  std::optional<wire::Ipv4Address> gateway;  // empty: directly connected
  uint32_t ifindex = 0;
  uint32_t metric = 0;
};

struct NextHop {
  uint32_t ifindex;
  wire::Ipv4Address address;  // the gateway, or the destination itself when connected
};

class RoutingTable {
 public:
  // Adds or replaces the route for exactly this prefix.
  void add(const Route& r);
  bool remove(wire::Ipv4Cidr destination);
  std::optional<Route> lookup(wire::Ipv4Address dst) const;
  std::optional<NextHop> next_hop(wire::Ipv4Address dst) const;
  size_t size() const { return count_; }
  std::vector<Route> routes() const;
  // Changes on every add and remove (path caches compare it).
  uint64_t version() const { return version_; }

 private:
  std::array<std::unordered_map<uint32_t, Route>, 33> by_length_;
  uint64_t lengths_in_use_ = 0;  // bit L set when by_length_[L] is non-empty
  size_t count_ = 0;
  uint64_t version_ = 0;
};

}  // namespace joyride::core
