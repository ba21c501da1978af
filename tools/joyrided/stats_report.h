// The text `joyride stat` prints: interfaces and addresses, per-port counters (the
// PMD's and ours), every counter of the stack by protocol (drop reasons included,
// zeros too, so a missing reason is visible as 0 rather than absent), and a socket
// table in the spirit of `ss -tanpi`; then the built-in services' counters and the
// discard_last line (builtin_services.h: discard_last_line), unindented so a script
// finds it with a plain prefix match.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "joyride/core/stack.h"
#include "joyride/service/app_registry.h"
#include "joyride/service/builtin_services.h"

namespace joyride::joyrided {

struct PortReport {
  std::string interface;  // the configured name
  std::string device;     // the DPDK device string
  std::string mac;
  bool link_up = false;
  uint32_t speed_mbps = 0;
  std::string offloads;   // enabled offloads, space separated
  std::vector<std::pair<std::string, uint64_t>> counters;  // "module.name" -> value
};

// A stack instance on the host and who holds its sockets (the owner column, as ss -p).
struct InstanceReport {
  core::StackInstance* instance;
  std::string owner;
};
// `instances`: the host's own first, then each application's.
std::string stats_report(core::Stack& stack, const std::vector<PortReport>& ports, uint64_t uptime_seconds,
                         const std::vector<InstanceReport>& instances);

// "\nApplications\n": one line per attached (or draining) application, its counters,
// and the registry's.
std::string apps_report(const service::AppRegistry& apps);

// "\nBuilt-in services\n", one line per counter, then the discard_last line.
std::string services_report(const service::BuiltinServiceRunner& services);

}  // namespace joyride::joyrided
