// Helpers shared by the simulation tests (tests/sim): building two-host scenarios,
// reading the stacks' and the link's counters by name, and describing a run for a
// failure message. Everything runs on the SimNetwork's fake clock.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "joyride/base/time.h"
#include "joyride/dev/sim_network.h"
#include "two_hosts.h"
#include "workloads.h"

namespace joyride::sim::testing {

using base::Duration;
using dev::sim::LinkCounter;
using dev::sim::LinkDir;

// Before a TwoHosts goes: runs past the reassembly timeout (bounded) so neither
// host still holds frames from its peer's pool. The simulated link hands frames over
// without copying, so a host's reassembler or socket queues hold packets from the
// *other* host's pool, and ~TwoHosts destroys host B (and its pool) while host A
// may still hold some: "packets outlived their HeapPacketPool" (an assert in debug
// builds, a use after free otherwise). Tests whose hosts may hold fragments at the
// end call this.
inline bool settle(TwoHosts& h) {
  h.net().run_until_idle(h.net().now() + core::ReassemblyConfig{}.timeout + base::Duration::seconds(1));
  return h.a().reassembler().datagrams_in_progress() == 0 && h.b().reassembler().datagrams_in_progress() == 0;
}

// Two hosts on one link with the given loss, one-way latency and seed.
inline TwoHostsOptions hosts_options(double loss, Duration latency, uint64_t seed) {
  TwoHostsOptions o;
  o.link.loss = loss;
  o.link.latency = latency;
  o.link.seed = seed;
  return o;
}

// A stack counter by module and name ("ipv4", "drop_bad_checksum"); 0 when unknown.
inline uint64_t counter(const core::Stack& stack, std::string_view module, std::string_view name) {
  uint64_t out = 0;
  stack.for_each_counter([&](std::string_view m, std::string_view n, uint64_t v) {
    if (m == module && n == name) out = v;
  });
  return out;
}

// The same counter summed over both hosts.
inline uint64_t counter_both(TwoHosts& h, std::string_view module, std::string_view name) {
  return counter(h.a(), module, name) + counter(h.b(), module, name);
}

inline uint64_t link_counter(TwoHosts& h, LinkDir dir, LinkCounter c) {
  return h.net().counters(h.link(), dir)[c];
}

inline uint64_t link_counter_both(TwoHosts& h, LinkCounter c) {
  return link_counter(h, LinkDir::kAtoB, c) + link_counter(h, LinkDir::kBtoA, c);
}

// Every counter of the run: both link directions and both stacks, keyed
// "link.a->b.frames_sent", "A.ipv4.rx_packets", ... (zeros included).
inline std::map<std::string, uint64_t> all_counters(TwoHosts& h) {
  std::map<std::string, uint64_t> out;
  for (auto [dir, label] : {std::pair{LinkDir::kAtoB, "a->b"}, std::pair{LinkDir::kBtoA, "b->a"}}) {
    h.net().counters(h.link(), dir).for_each([&](std::string_view name, uint64_t v) {
      out["link." + std::string(label) + "." + std::string(name)] = v;
    });
  }
  for (auto [stack, label] : {std::pair{&h.a(), "A"}, std::pair{&h.b(), "B"}}) {
    stack->for_each_counter([&](std::string_view m, std::string_view n, uint64_t v) {
      out[std::string(label) + "." + std::string(m) + "." + std::string(n)] = v;
    });
  }
  h.net().network_counters().for_each(
      [&](std::string_view name, uint64_t v) { out["net." + std::string(name)] = v; });
  return out;
}

// The non-zero counters and the clock, one per line: what a failure message shows.
inline std::string describe(TwoHosts& h) {
  std::string s = "at " + std::to_string(h.net().now().as_nanos()) + " ns:\n";
  for (const auto& [name, v] : all_counters(h)) {
    if (v != 0) s += "  " + name + " = " + std::to_string(v) + "\n";
  }
  return s;
}

inline std::string describe(const WorkloadResult& r) {
  return std::string(r.ok ? "ok" : "FAILED (" + r.failure + ")") + ", " + std::to_string(r.exchanges) +
         " exchanges, " + std::to_string(r.retransmits) + " retransmits, " +
         std::to_string(r.elapsed.as_seconds()) + " s simulated";
}

}  // namespace joyride::sim::testing
