// The text `joyride stat` prints: interfaces and addresses, per-port counters (the
// PMD's and ours), every counter of the stack by protocol (drop reasons included,
// zeros too, so a missing reason is visible as 0 rather than absent), and a socket
// table in the spirit of `ss -tanpi`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "joyride/core/stack.h"

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

std::string stats_report(core::Stack& stack, const std::vector<PortReport>& ports, uint64_t uptime_seconds);

}  // namespace joyride::joyrided
