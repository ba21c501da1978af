// Command-line options of joyride-sim: parsing with errors that say what is wrong.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tcp_workload.h"
#include "two_hosts.h"
#include "workloads.h"

namespace joyride::sim {

struct SimOptions {
  std::string workload;  // "ping", "udp" or "tcp"
  TwoHostsOptions hosts;
  ExchangeOptions exchange;  // ping and udp
  TcpWorkloadOptions tcp;    // tcp (--timeout bounds the whole run here)
  bool verbose = false;
};

// Parses argv; on error returns nullopt and sets `error` to a message naming the
// argument and what was expected.
std::optional<SimOptions> parse_options(int argc, char** argv, std::string& error);
std::string usage();

// "10ms", "1.5s", "250us", "0" -> Duration; "100M", "1G", "56k", "1000" -> bits/s.
std::optional<base::Duration> parse_duration(std::string_view s);
std::optional<uint64_t> parse_rate(std::string_view s);

}  // namespace joyride::sim
