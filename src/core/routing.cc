#include "joyride/core/routing.h"

namespace joyride::core {

void RoutingTable::add(const Route& r) {
  const uint8_t len = r.destination.prefix_len();
  auto [it, inserted] = by_length_[len].insert_or_assign(r.destination.network().value(), r);
  (void)it;
  if (inserted) ++count_;
  lengths_in_use_ |= uint64_t{1} << len;
  ++version_;
}

bool RoutingTable::remove(wire::Ipv4Cidr destination) {
  const uint8_t len = destination.prefix_len();
  if (by_length_[len].erase(destination.network().value()) == 0) return false;
  --count_;
  ++version_;
  if (by_length_[len].empty()) lengths_in_use_ &= ~(uint64_t{1} << len);
  return true;
}

std::optional<Route> RoutingTable::lookup(wire::Ipv4Address dst) const {
  uint64_t lengths = lengths_in_use_;
  while (lengths != 0) {
    const int len = 63 - __builtin_clzll(lengths);  // longest prefix first
    lengths &= ~(uint64_t{1} << len);
    const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    const auto& bucket = by_length_[len];
    if (auto it = bucket.find(dst.value() & mask); it != bucket.end()) return it->second;
  }
  return std::nullopt;
}

std::optional<NextHop> RoutingTable::next_hop(wire::Ipv4Address dst) const {
  auto r = lookup(dst);
  if (!r) return std::nullopt;
  return NextHop{r->ifindex, r->gateway ? *r->gateway : dst};
}

std::vector<Route> RoutingTable::routes() const {
  std::vector<Route> out;
  for (int len = 32; len >= 0; --len) {
    for (const auto& [net, r] : by_length_[len]) out.push_back(r);
  }
  return out;
}

}  // namespace joyride::core
