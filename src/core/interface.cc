#include "joyride/core/interface.h"

namespace joyride::core {

std::optional<wire::Ipv4Address> Interface::source_for(wire::Ipv4Address dst) const {
  if (config.ipv4.empty()) return std::nullopt;
  for (const auto& cidr : config.ipv4) {
    if (cidr.contains(dst)) return cidr.address();
  }
  return config.ipv4.front().address();
}

uint32_t InterfaceTable::add(InterfaceConfig config) {
  const auto ifindex = static_cast<uint32_t>(interfaces_.size());
  interfaces_.push_back(Interface{ifindex, std::move(config)});
  return ifindex;
}

}  // namespace joyride::core
