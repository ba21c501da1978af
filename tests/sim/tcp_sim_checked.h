// The checked TCP run shared by the TCP simulation tests (tcp_sim_test.cc,
// tcp_breadth_sim_test.cc): what every run must satisfy, in one place so a new test
// cannot forget a check.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "sim/sim_harness.h"
#include "tcp_workload.h"

namespace joyride::sim::testing {

inline uint64_t expected_bytes(const TcpWorkloadOptions& o) {
  const uint64_t dirs = o.direction == TcpDirection::kAtoB || o.direction == TcpDirection::kBtoA ? 1 : 2;
  return o.bytes * o.connections * dirs;
}

inline TcpWorkloadOptions bulk(uint64_t bytes, TcpDirection d = TcpDirection::kAtoB) {
  TcpWorkloadOptions o;
  o.bytes = bytes;
  o.direction = d;
  return o;
}

// Runs the workload and checks what every run must satisfy: success, every byte
// verified, every connection closed, the run inside its bound, and nothing left on
// either host once TIME-WAIT is over. `inspect`, when given, sees the hosts after
// the workload and before TIME-WAIT ends (the closing side's connection is still
// there to read TcpInfo from).
inline WorkloadResult run_checked(TwoHosts& h, const TwoHostsOptions& ho, TcpWorkloadOptions o,
                                  const std::string& what, const std::function<void()>& inspect = {}) {
  const Duration bound = o.timeout ? *o.timeout : default_tcp_timeout(ho, o);
  o.timeout = bound;
  const WorkloadResult r = run_tcp(h, o);
  EXPECT_TRUE(r.ok) << what << ": " << describe(r) << "\n" << describe(h);
  if (!r.ok) return r;
  EXPECT_EQ(r.bytes_verified, expected_bytes(o)) << what;
  EXPECT_EQ(r.exchanges, o.connections) << what;
  EXPECT_LE(r.elapsed, bound) << what;
  if (inspect) inspect();
  std::string left;
  EXPECT_TRUE(tcp_drained(h, left)) << what << ": " << left;
  return r;
}

}  // namespace joyride::sim::testing
