// Workloads for two simulated hosts: each runs to completion on the fake clock and
// verifies every byte that came back. Applications retransmit on a timeout, as a
// real UDP or ping client does, so they finish through loss.
#pragma once

#include <cstdint>
#include <string>

#include "joyride/base/time.h"
#include "two_hosts.h"

namespace joyride::sim {

struct ExchangeOptions {
  uint64_t count = 100;                                   // requests, each answered once
  size_t size = 64;                                       // payload bytes per request
  base::Duration timeout = base::Duration::millis(500);   // per attempt
  uint32_t max_attempts = 20;                             // per request
};

struct WorkloadResult {
  bool ok = false;
  std::string failure;            // why, when !ok
  uint64_t exchanges = 0;         // requests answered and verified
  uint64_t bytes_verified = 0;    // payload bytes that came back identical
  uint64_t retransmits = 0;       // application-level resends
  base::Duration elapsed;         // simulated time
};

// Host A sends ICMP echo requests to B through a ping socket.
WorkloadResult run_ping(TwoHosts& hosts, const ExchangeOptions& options);
// Host A sends UDP datagrams to an echo server on B (port 7), which returns them.
WorkloadResult run_udp_echo(TwoHosts& hosts, const ExchangeOptions& options);

// The payload of request `index`: its index in the first 8 bytes (little-endian),
// then bytes that depend on index and position, so a misplaced or stale byte shows.
void fill_payload(uint64_t index, std::span<uint8_t> out);

}  // namespace joyride::sim
