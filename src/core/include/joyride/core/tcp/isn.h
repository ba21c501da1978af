// Initial sequence numbers (RFC 6528) and per-host-pair timestamp offsets (RFC 7323 §7.1).
//
// ISN. RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey).
//   M ticks every 4 µs — the RFC 793 clock, kept here (Linux instead counts 64 ns
//     ticks of its clock). At 4 µs the 32-bit space wraps every 4.77 hours, so a new
//     incarnation of a connection starts above the old one's sequence numbers as long
//     as the old one sent less than 250 KB/s on average (RFC 793 §3.3's reasoning).
//     M is the Instant in 4 µs units (floor division), taken modulo 2^32.
//   F is SipHash-2-4 of the 4-tuple under a secret 128-bit key drawn once from the
//     host's RandomSource, truncated to 32 bits. An off-path attacker who cannot see
//     our segments cannot predict F, so cannot guess a connection's sequence numbers
//     (the blind-spoofing attack RFC 6528 is about); for one 4-tuple the ISN still
//     advances with the clock, which is what the quiet-time rules rely on.
//   The key is never changed: a new key would throw away the monotonicity for
//   connections that reincarnate across the change (RFC 6528 §3 allows rekeying but
//   does not require it; Linux does not rekey).
//
// Timestamp offset. A TSval that is the raw clock tells every peer our uptime and lets
// observers link connections. Linux adds a per-connection offset to TSval, a keyed hash
// of the address pair (not the ports), so every connection between two hosts shares one
// offset: TSvals a peer sees stay monotonic across our connections to it, which PAWS on
// a reused TIME-WAIT 4-tuple needs. The offset uses its own key, independent of the ISN
// key, so one leaks nothing about the other.
#pragma once

#include <cstdint>
#include <type_traits>

#include "joyride/base/random.h"
#include "joyride/base/siphash.h"
#include "joyride/base/time.h"
#include "joyride/wire/address.h"

namespace joyride::core::tcp {

// A TCP connection's addresses and ports as seen from this host. IPv4 for now. Twelve
// bytes without padding, so it can be hashed or compared as raw bytes.
struct FourTuple {
  wire::Ipv4Address local, remote;
  uint16_t local_port, remote_port;
  bool operator==(const FourTuple&) const = default;
};
static_assert(sizeof(FourTuple) == 12 && std::has_unique_object_representations_v<FourTuple>);

// The ISN of a connection that takes over a TIME_WAIT one's 4-tuple: the old SND.NXT
// + 65535 + 2, never 0. Linux uses it instead of a fresh ISN both when a new SYN
// reopens the pair (tcp_timewait_state_process) and when connect() reuses it
// (tcp_twsk_unique): it starts above every sequence number the old incarnation used
// (RFC 1122 §4.2.2.13's condition for reopening from TIME-WAIT), whatever the clock.
inline uint32_t isn_after_time_wait(uint32_t old_snd_nxt) {
  const uint32_t isn = old_snd_nxt + 65535u + 2u;
  return isn == 0 ? 1u : isn;
}

class IsnGenerator {
 public:
  static constexpr base::Duration kTick = base::Duration::micros(4);

  // Draws the ISN key, then the timestamp-offset key, from `random` (four next_u64 calls).
  explicit IsnGenerator(base::RandomSource& random);

  uint32_t isn(const FourTuple& t, base::Instant now) const;
  // Added to our clock's TSval on every segment of a connection between these addresses.
  uint32_t ts_offset(wire::Ipv4Address local, wire::Ipv4Address remote) const;

 private:
  base::SipKey isn_key_;
  base::SipKey ts_key_;
};

}  // namespace joyride::core::tcp
