// Ephemeral port choice for TCP connect(): RFC 6056 §3.3.4, Algorithm 4 ("double-hash
// port selection"), the scheme Linux's __inet_hash_connect follows.
//
//   offset = F(local, remote, remote_port, key1)   SipHash-2-4, reduced mod range
//   index  = G(local, remote, remote_port, key2)   SipHash-2-4, reduced mod table size
//   probe i = 0, 1, ...: port = low + (offset + table[index] + i) mod range
//
// F gives each destination its own unpredictable starting point, so an off-path
// attacker cannot guess the port of a connection to someone else (RFC 6056 §1); the
// per-bucket counter table[index] moves that point on with every connection, so
// consecutive connections to one destination get consecutive, different ports (and a
// reused 4-tuple is avoided for as long as possible, RFC 6056 §2.3), while
// destinations in other buckets are not disturbed. As in the RFC, table[index] grows by
// one per probe: when the i-th probe is taken it grows by i + 1, so the next
// connection to the destination starts just after the port handed out. Table entries
// start random and are kept reduced mod range.
//
// The caller decides what "usable" means (no connection on the resulting 4-tuple, not
// reserved, ...). Every port of [low, high] is probed at most once per pick().
//
// The table is allocated once, in the constructor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "joyride/base/random.h"
#include "joyride/base/siphash.h"
#include "joyride/wire/address.h"

namespace joyride::core::tcp {

class PortAllocator {
 public:
  // Defaults: Linux's net.ipv4.ip_local_port_range and a 256-entry table. low and high
  // are swapped if given the wrong way round; port 0 is never handed out (low >= 1);
  // table_size 0 is taken as 1. Draws two SipHash keys and the table from `random`.
  PortAllocator(base::RandomSource& random, uint16_t low = 32768, uint16_t high = 60999,
                size_t table_size = 256);

  // usable(uint16_t port) -> bool. Returns the first usable port in probe order, or
  // nullopt when every port in [low, high] is refused.
  template <typename F>
  std::optional<uint16_t> pick(wire::Ipv4Address local, wire::Ipv4Address remote, uint16_t remote_port,
                               F&& usable);

  uint16_t low() const { return low_; }
  uint16_t high() const { return high_; }
  uint32_t range() const { return range_; }

 private:
  struct Start {
    uint32_t first;  // probe 0's distance from low, < range
    size_t index;    // bucket of the table
  };
  Start start(wire::Ipv4Address local, wire::Ipv4Address remote, uint16_t remote_port) const;
  void advance(size_t index, uint32_t probes);

  base::SipKey offset_key_;
  base::SipKey index_key_;
  uint16_t low_;
  uint16_t high_;
  uint32_t range_;               // high - low + 1, in 1..65535
  std::vector<uint32_t> table_;  // each < range_
};

template <typename F>
std::optional<uint16_t> PortAllocator::pick(wire::Ipv4Address local, wire::Ipv4Address remote,
                                            uint16_t remote_port, F&& usable) {
  const Start s = start(local, remote, remote_port);
  uint32_t pos = s.first;
  for (uint32_t i = 0; i < range_; ++i) {
    const auto port = static_cast<uint16_t>(low_ + pos);
    if (usable(port)) {
      advance(s.index, i + 1);
      return port;
    }
    if (++pos == range_) pos = 0;
  }
  advance(s.index, range_);
  return std::nullopt;
}

}  // namespace joyride::core::tcp
