// joyride-sim: two Joyride stacks on a simulated link run a workload and report
// what was verified. Deterministic: the same arguments give the same run.
#include <cstdio>
#include <string>

#include "options.h"
#include "tcp_workload.h"
#include "two_hosts.h"
#include "workloads.h"

namespace {

using joyride::sim::TwoHosts;

void print_counters(const char* host, const joyride::core::Stack& stack, bool all) {
  stack.for_each_counter([&](std::string_view module, std::string_view name, uint64_t v) {
    if (v == 0) return;
    if (!all && !name.starts_with("drop")) return;
    std::printf("  %s %.*s.%.*s = %llu\n", host, static_cast<int>(module.size()), module.data(),
                static_cast<int>(name.size()), name.data(), static_cast<unsigned long long>(v));
  });
}

void print_link(TwoHosts& hosts) {
  using joyride::dev::sim::LinkDir;
  for (auto dir : {LinkDir::kAtoB, LinkDir::kBtoA}) {
    const char* label = dir == LinkDir::kAtoB ? "A->B" : "B->A";
    std::printf("link %s:", label);
    hosts.net().counters(hosts.link(), dir).for_each([](std::string_view name, uint64_t v) {
      if (v != 0) std::printf(" %.*s=%llu", static_cast<int>(name.size()), name.data(), static_cast<unsigned long long>(v));
    });
    std::printf("\n");
  }
}

// The tcp workload: its last line is "verified ..." or "FAILED: <why>".
int run_tcp_command(const joyride::sim::SimOptions& options, TwoHosts& hosts) {
  const auto& t = options.tcp;
  const auto limit = t.timeout ? *t.timeout : joyride::sim::default_tcp_timeout(options.hosts, t);
  std::printf("two hosts %s and %s, workload tcp: %u connection%s x %llu bytes %.*s, %s, at most %.0f s simulated\n",
              TwoHosts::kAddressA.to_string().c_str(), TwoHosts::kAddressB.to_string().c_str(), t.connections,
              t.connections == 1 ? "" : "s", static_cast<unsigned long long>(t.bytes),
              static_cast<int>(to_string(t.direction).size()), to_string(t.direction).data(),
              t.congestion_control.empty() ? "default congestion control" : t.congestion_control.c_str(),
              limit.as_seconds());
  joyride::sim::TcpWorkloadOptions run = t;
  run.timeout = limit;
  const auto result = joyride::sim::run_tcp(hosts, run);
  std::string left;
  const bool drained = !result.ok || joyride::sim::tcp_drained(hosts, left);
  if (!result.ok) hosts.net().run_until_idle(hosts.net().now() + joyride::base::Duration::seconds(60));
  print_link(hosts);
  print_counters("A", hosts.a(), options.verbose);
  print_counters("B", hosts.b(), options.verbose);
  if (!result.ok) {
    std::printf("FAILED: %s\n", result.failure.c_str());
    return 1;
  }
  if (!drained) {
    std::printf("FAILED: %s\n", left.c_str());
    return 1;
  }
  std::printf("verified %llu bytes in %.6f s simulated, %llu retransmits\n",
              static_cast<unsigned long long>(result.bytes_verified), result.elapsed.as_seconds(),
              static_cast<unsigned long long>(result.retransmits));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string error;
  auto options = joyride::sim::parse_options(argc, argv, error);
  if (!options) {
    std::fprintf(stderr, "joyride-sim: %s\n%s", error.c_str(), joyride::sim::usage().c_str());
    return 2;
  }
  TwoHosts hosts(options->hosts);
  if (!options->hosts.pcap_path.empty() && !hosts.capturing()) {
    std::fprintf(stderr, "joyride-sim: cannot write %s\n", options->hosts.pcap_path.c_str());
    return 2;
  }
  if (options->workload == "tcp") return run_tcp_command(*options, hosts);
  std::printf("two hosts %s and %s, workload %s: %llu x %zu bytes\n", TwoHosts::kAddressA.to_string().c_str(),
              TwoHosts::kAddressB.to_string().c_str(), options->workload.c_str(),
              static_cast<unsigned long long>(options->exchange.count), options->exchange.size);
  const auto result = options->workload == "ping" ? joyride::sim::run_ping(hosts, options->exchange)
                                                  : joyride::sim::run_udp_echo(hosts, options->exchange);
  // Let retransmissions and late duplicates drain so the counters are final.
  hosts.net().run_until_idle(hosts.net().now() + joyride::base::Duration::seconds(60));
  print_link(hosts);
  print_counters("A", hosts.a(), options->verbose);
  print_counters("B", hosts.b(), options->verbose);
  if (!result.ok) {
    std::printf("FAILED after %llu verified exchanges: %s\n", static_cast<unsigned long long>(result.exchanges),
                result.failure.c_str());
    return 1;
  }
  std::printf("verified %llu bytes in %.6f s simulated, %llu retransmits (%llu %s exchanges)\n",
              static_cast<unsigned long long>(result.bytes_verified), result.elapsed.as_seconds(),
              static_cast<unsigned long long>(result.retransmits), static_cast<unsigned long long>(result.exchanges),
              options->workload.c_str());
  return 0;
}
