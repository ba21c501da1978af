// Addresses as the region carries them (ipc::WireAddress) <-> the core's Endpoint.
// Only IPv4 is served to applications; anything else has no Endpoint.
#pragma once

#include <sys/socket.h>

#include <optional>

#include "joyride/core/socket.h"
#include "joyride/ipc/region.h"

namespace joyride::service {

inline std::optional<core::Endpoint> endpoint_of(const ipc::WireAddress& a) {
  if (a.family != AF_INET) return std::nullopt;
  return core::Endpoint{wire::IpAddress(wire::Ipv4Address::from_bytes(a.bytes)), a.port};
}

inline ipc::WireAddress wire_of(const core::Endpoint& e) {
  ipc::WireAddress a;
  a.family = AF_INET;
  a.port = e.port;
  const uint32_t v = e.address.v4().value();
  a.bytes[0] = static_cast<uint8_t>(v >> 24);
  a.bytes[1] = static_cast<uint8_t>(v >> 16);
  a.bytes[2] = static_cast<uint8_t>(v >> 8);
  a.bytes[3] = static_cast<uint8_t>(v);
  return a;
}

}  // namespace joyride::service
