#include "joyride/core/interface.h"

namespace joyride::core {

bool Interface::has_address(wire::Ipv4Address a) const {
  for (const auto& cidr : config.ipv4) {
    if (cidr.address() == a) return true;
  }
  return false;
}

std::optional<wire::Ipv4Address> Interface::source_for(wire::Ipv4Address dst) const {
  if (config.ipv4.empty()) return std::nullopt;
  for (const auto& cidr : config.ipv4) {
    if (cidr.contains(dst)) return cidr.address();
  }
  return config.ipv4.front().address();
}

bool Interface::is_directed_broadcast(wire::Ipv4Address a) const {
  for (const auto& cidr : config.ipv4) {
    // A /31 or /32 has no broadcast address (RFC 3021).
    if (cidr.prefix_len() <= 30 && cidr.broadcast() == a) return true;
  }
  return false;
}

uint32_t InterfaceTable::add(InterfaceConfig config) {
  const auto ifindex = static_cast<uint32_t>(interfaces_.size());
  interfaces_.push_back(Interface{ifindex, std::move(config)});
  return ifindex;
}

Interface* InterfaceTable::get(uint32_t ifindex) {
  return ifindex < interfaces_.size() ? &interfaces_[ifindex] : nullptr;
}

const Interface* InterfaceTable::get(uint32_t ifindex) const {
  return ifindex < interfaces_.size() ? &interfaces_[ifindex] : nullptr;
}

const Interface* InterfaceTable::find_by_address(wire::Ipv4Address a) const {
  for (const auto& itf : interfaces_) {
    if (itf.has_address(a)) return &itf;
  }
  return nullptr;
}

}  // namespace joyride::core
