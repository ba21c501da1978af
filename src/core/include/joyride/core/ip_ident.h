// IPv4 identification values (RFC 791 §3.2, RFC 6864, RFC 7739) from a table of
// counters, one picked per flow by a keyed hash (the idea of Linux's ip_idents).
//
// Why not one counter for the host: RFC 6864 §4.1 needs the ID unique only per
// (source, destination, protocol) within the datagram's lifetime, and RFC 7739 §5
// explains what a shared counter costs: anyone who receives two of our datagrams learns
// how many we sent to everybody else in between (idle scans, counting hosts behind a
// NAT, and the off-path fragment-injection and host-tracking attacks of CVE-2019-10638
// and CVE-2019-10639). RFC 7739 §5.3 suggests counters chosen by a hash of the
// (source, destination, protocol) triple under a secret key: traffic to B moves only
// B's counter (and those of the few flows that share its slot), and the key, drawn from
// the host's RandomSource when the stack is built, keeps which flows share a slot
// unknown to anyone outside. Each counter starts at a random value too.
//
// A flow that keeps state (a TCP connection's Ipv4PathCache) computes its slot once
// and takes IDs from it per datagram: a load, an add and a store.
#pragma once

#include <array>
#include <cstdint>

#include "joyride/base/random.h"
#include "joyride/base/siphash.h"
#include "joyride/wire/address.h"

namespace joyride::core {

class IpIdentGenerator {
 public:
  // A few thousand counters (Linux: at least 2048): flows to different destinations
  // rarely share one, and the table (8 KB) stays small.
  static constexpr size_t kSlots = 4096;

  // Draws the hash key and every counter's starting value from `random`.
  explicit IpIdentGenerator(base::RandomSource& random);

  // The counter datagrams from `src` to `dst` of `protocol` take their IDs from.
  uint16_t slot(wire::Ipv4Address dst, wire::Ipv4Address src, uint8_t protocol) const;

  // The ID of the next datagram of a flow whose slot is `slot`; `count` datagrams
  // (a TSO frame's segments, which the device numbers ID, ID+1, ...) use up `count`
  // IDs, as Linux's ip_select_ident_segs.
  uint16_t take(uint16_t slot, uint16_t count = 1) {
    uint16_t& counter = counters_[slot & (kSlots - 1)];
    const uint16_t id = counter;
    counter = static_cast<uint16_t>(id + count);
    return id;
  }

 private:
  static_assert((kSlots & (kSlots - 1)) == 0, "slot() masks the hash");
  base::SipKey key_;
  std::array<uint16_t, kSlots> counters_{};
};

}  // namespace joyride::core
