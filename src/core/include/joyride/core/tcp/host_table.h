// The host-wide part of TCP, one per host and shared by the TcpLayer of every stack
// instance on it (stack.h): the demux table that maps a 4-tuple to its connection, the
// port table of bound sockets and listeners, the ephemeral port allocator, and the
// secrets for ISNs, timestamp offsets and SYN cookies.
//
// One table for all instances is what makes binding across applications follow
// Linux's rules between processes (EADDRINUSE, SO_REUSEADDR: TcpLayer::port_in_use
// sees every instance's sockets), and what lets a received segment find its
// connection with one lookup, whichever instance owns it: every Tcb names its owner
// (Tcb::layer), and the host's TcpLayer hands the segment over (TcpLayer::deliver).
// Sequence spaces of successive connections on one 4-tuple stay apart across
// instances too, since the ISN clock and key are the host's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "joyride/base/random.h"
#include "joyride/core/tcp/isn.h"
#include "joyride/core/tcp/port_allocator.h"
#include "joyride/core/tcp/syn_cookie.h"
#include "joyride/core/tcp/tcp_types.h"

namespace joyride::core {

struct FourTupleHash {
  size_t operator()(const tcp::FourTuple& t) const {
    uint64_t h = (uint64_t{t.local.value()} << 32) ^ t.remote.value();
    h ^= (uint64_t{t.local_port} << 16 | t.remote_port) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    return static_cast<size_t>(h * 0xbf58476d1ce4e5b9ull);
  }
};

namespace tcp {

struct Tcb;

struct HostTable {
  // The draws from `random` are the ISN key, the cookie secrets, then the port
  // allocator's keys, in that order (a stack's random sequence, and so the simulator's
  // snapshots, depend on it).
  HostTable(base::RandomSource& random, uint16_t ephemeral_low, uint16_t ephemeral_high)
      : isn(random), cookies(random), ports(random, ephemeral_low, ephemeral_high) {}
  HostTable(const HostTable&) = delete;
  HostTable& operator=(const HostTable&) = delete;

  IsnGenerator isn;
  SynCookies cookies;
  PortAllocator ports;
  std::unordered_map<FourTuple, Tcb*, FourTupleHash> established;
  std::unordered_map<uint16_t, std::vector<Tcb*>> by_port;  // bound sockets, listeners
  // TcpLayer::lookup()'s last match, in `established` under its tuple. Any change to
  // the table forgets it.
  Tcb* last_lookup = nullptr;
};

}  // namespace tcp
}  // namespace joyride::core
