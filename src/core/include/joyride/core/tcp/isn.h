// Initial sequence numbers (RFC 6528) and per-connection timestamp offsets (RFC 7323 §7.1).
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
// Timestamp offset (RFC 7323 §7.1, Linux tcp_v4_init_ts_off). A TSval that is the raw
// clock tells every peer our uptime, and two connections whose TSvals differ by the
// time between them are visibly from one host (fingerprinting hosts behind a NAT or
// load balancer). RFC 7323 §7.1 suggests what RFC 6528 does for ISNs: add to the clock
// a keyed hash of the connection's 4-tuple, so each connection's timestamp clock starts
// at an unpredictable point and two connections' clocks are unrelated. The same
// 4-tuple always gets the same offset, so its TSvals stay monotonic across
// incarnations, which is what PAWS needs when a SYN or a connect() reuses a TIME-WAIT
// pair (the only TSval state kept across connections here is per 4-tuple). Linux 4.10
// did the same; Linux 4.12 went back to one offset per address pair for peers that
// still ran tcp_tw_recycle, a per-host TSval cache (removed from Linux in 4.12): we do
// not cater for it. The offset uses its own key, independent of the ISN key, so one
// leaks nothing about the other.
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
  // Added to our clock's TSval on every segment of the connection `t`.
  uint32_t ts_offset(const FourTuple& t) const;

 private:
  base::SipKey isn_key_;
  base::SipKey ts_key_;
};

}  // namespace joyride::core::tcp
