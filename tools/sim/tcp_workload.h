// The TCP workload of joyride-sim and tests/sim: host B listens, host A opens K
// connections, and each connection carries a position-dependent byte pattern that
// the receiving application checks byte by byte, then both sides close with the FIN
// handshake (RFC 9293 §3.6) and the workload checks that the connection ends in
// TIME-WAIT on the side that closed first and CLOSED (or TIME-WAIT, for a
// simultaneous close) on the other.
//
// Applications never sleep: they act on the stacks' readiness events
// (Stack::take_events) after each SimNetwork step, as an event loop over epoll would,
// reading and writing until the call would block. A socket whose readiness event is
// lost therefore stalls its connection, and the run fails on its simulated-time bound
// instead of hiding the bug behind periodic polling.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "joyride/base/time.h"
#include "two_hosts.h"
#include "workloads.h"

namespace joyride::sim {

enum class TcpDirection : uint8_t {
  kAtoB,  // A sends, B receives; A closes first
  kBtoA,  // B sends, A receives; B closes first
  kBoth,  // both send at once; both close when their data is out
  kEcho,  // A sends, B returns every byte it received; A closes first
};
std::string_view to_string(TcpDirection d);
std::optional<TcpDirection> parse_tcp_direction(std::string_view s);

struct TcpWorkloadOptions {
  uint64_t bytes = 1'000'000;       // per connection and sending direction
  uint32_t connections = 1;
  TcpDirection direction = TcpDirection::kAtoB;
  std::string congestion_control;   // "cubic", "newreno"; empty: the stack's default
  // The whole run's bound in simulated time; nullopt: default_tcp_timeout().
  std::optional<base::Duration> timeout;
  uint16_t port = 5001;
  int backlog = 4096;               // listen(); the stack caps it at TcpConfig::somaxconn
  size_t sndbuf = 0;                // per socket; 0: the stack's default
  size_t rcvbuf = 0;
  bool nodelay = false;
  size_t chunk = 64 * 1024;         // bytes per application send()/recv() call
  // Called once B listens and before A connects (tests: inject a SYN flood).
  std::function<void()> on_listening;
};

// A bound that grows with the bytes to move and with what the link allows: the
// bandwidth limit, and for loss the Mathis et al. estimate of TCP's throughput
// (MSS / RTT × 1.22 / sqrt(p)) with a wide margin, plus two minutes for handshakes,
// RTO backoff and the close.
base::Duration default_tcp_timeout(const TwoHostsOptions& hosts, const TcpWorkloadOptions& options);

// Runs the workload to completion or failure. WorkloadResult::exchanges counts the
// connections verified and closed; bytes_verified every byte any receiver checked
// (echoed bytes are checked twice: by B and again by A); retransmits the TCP
// retrans_segments counters of both hosts; elapsed the simulated time until the
// last connection closed.
WorkloadResult run_tcp(TwoHosts& hosts, const TcpWorkloadOptions& options);

// After run_tcp: runs the clock until idle, past TIME-WAIT (at most 600 s) and checks that neither host
// holds a TCP connection any more: every connection the workload closed is gone, the
// listener included. False, with the reason in `why`, when something is left.
bool tcp_drained(TwoHosts& hosts, std::string& why);

// The bytes at [offset, offset + out.size()) of stream `stream`: a function of
// position only, so a byte delivered twice, late, out of place or into the wrong
// connection shows. Connection i's A->B stream is 2i, its B->A stream 2i + 1.
void fill_stream(uint64_t stream, uint64_t offset, std::span<uint8_t> out);

}  // namespace joyride::sim
