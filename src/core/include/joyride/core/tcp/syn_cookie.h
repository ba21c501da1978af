// SYN cookies (RFC 4987 §3.6): under a SYN flood a listener answers a SYN without
// keeping any state, encoding what it needs in its own ISN; the ACK that completes the
// handshake returns the ISN (as ack - 1) and the connection is rebuilt from it. The
// encoding follows Linux's (net/ipv4/syncookies.c, read for understanding) in shape,
// with the changes listed below.
//
// Our ISN, 32 bits:
//   isn = H1(tuple, peer_isn) + (count << 24) + (mac << 2 | mss_index)
//   mac = H2(tuple, peer_isn, count, mss_index) mod 2^22
// where count is a minute counter (floor(now / 60 s); its low 8 bits are carried),
// mss_index a 2-bit index into kMssTable, and H1, H2 are SipHash-2-4 under two keys
// drawn from the host's RandomSource, truncated to 32 bits. H1 hides the counter from
// observers. Checking undoes it: subtract H1 to recover the counter's low 8 bits,
// reject unless the counter is the current or the previous one (Linux's
// MAX_SYNCOOKIE_AGE = 2 counter values), then recompute the 22-bit mac for that counter
// and the carried index. A blind guess passes with probability 2/256 (counter) times
// 2^-22 (mac) = 2^-29, the same as Linux's 2/256 * 4/2^24.
//
// Two departures from Linux, both making the check exact rather than additive:
//   - Linux adds the peer's ISN to the cookie; here it goes into both hashes.
//   - Linux stores (hash + mss_index) mod 2^24; here the index is in the clear and
//     covered by the mac.
// With Linux's additive form, a cookie or peer ISN that is off by a little still passes
// and decodes as a neighbouring MSS index; here any change is a rejection (up to the
// 2^-22 forgery chance).
//
// Age rule: a cookie is accepted while the minute counter is the one it was made in or
// the next one. So every cookie is accepted for at least one minute after it was made
// and none is ever accepted at two minutes old or later (how much of the window is left
// depends on where in its minute the cookie was made), as in Linux.
//
// MSS: the largest table entry <= the peer's MSS; a peer MSS below 536 encodes as 536
// (entry 0), as Linux does: 536 is TCP's default MSS for IPv4 (RFC 9293 §3.7.1); a
// listener that must honour smaller MSS values should not answer those SYNs with cookies.
//
// Options: without cookies the SYN's window scale, SACK-permitted and ECN setup would be
// kept in the (now absent) request state. When the peer sent timestamps, Linux hides
// them in the low 6 bits of the SYN-ACK's TSval, which the peer echoes in the ACK's
// TSecr (RFC 7323): bits 0-3 the peer's window scale or 0xf for none, bit 4 SACK
// permitted, bit 5 ECN. Without timestamps a cookie connection has none of them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "joyride/base/random.h"
#include "joyride/base/siphash.h"
#include "joyride/base/time.h"
#include "joyride/core/tcp/isn.h"

namespace joyride::core::tcp {

struct SynCookieOptions {
  uint16_t mss = 536;             // from check_isn: the table value <= the peer's MSS (536 if below)
  std::optional<uint8_t> wscale;  // peer's window scale (only when timestamps)
  bool sack = false;              // only when timestamps
  bool ecn = false;               // only when timestamps
};

class SynCookies {
 public:
  static constexpr std::array<uint16_t, 4> kMssTable = {536, 1300, 1440, 1460};  // Linux msstab
  static constexpr int kMssIndexBits = 2;
  static_assert(kMssTable.size() == (1u << kMssIndexBits));
  static constexpr base::Duration kCounterPeriod = base::Duration::seconds(60);
  static constexpr uint32_t kMaxAge = 2;  // counter values a cookie stays valid for
  // TSval low bits (Linux's TS_OPT_WSCALE_MASK, TS_OPT_SACK, TS_OPT_ECN).
  static constexpr uint32_t kTsWscaleMask = 0xf;  // also the "no window scale" value
  static constexpr uint32_t kTsSack = 1u << 4;
  static constexpr uint32_t kTsEcn = 1u << 5;
  static constexpr uint32_t kTsBits = 6;
  static constexpr uint8_t kMaxWscale = 14;  // RFC 7323 §2.3

  // Draws two SipHash keys from `random` (four next_u64 calls).
  explicit SynCookies(base::RandomSource& random);

  // Our ISN for a SYN from `t` (local = our address) with the peer's ISN; `peer_mss`
  // is rounded down to a table entry (536 when below every entry).
  uint32_t make_isn(const FourTuple& t, uint32_t peer_isn, uint16_t peer_mss, base::Instant now) const;
  // The ACK completing the handshake: our_isn = ack - 1, peer_isn = seq - 1. Returns the
  // encoded MSS when the cookie is genuine for this tuple and peer ISN and was made in
  // the current or the previous minute counter, else nullopt.
  std::optional<uint16_t> check_isn(const FourTuple& t, uint32_t peer_isn, uint32_t our_isn,
                                    base::Instant now) const;

  // TSval for the SYN-ACK with `o` (mss ignored) in its low 6 bits: the latest value
  // at or before `tsval`, in modulo-2^32 order, whose low bits are the options; so the
  // result is in [tsval - 63, tsval] (mod 2^32). It may be up to 63 ticks behind the
  // clock, never ahead: the SYN-ACK is the connection's first TSval, every later one
  // is taken from the clock and so is >= it, and a TSval ahead of the clock could run
  // ahead of what a later segment sends (PAWS would drop that one). A window scale
  // above 14 is encoded as 14 (RFC 7323 §2.3).
  static uint32_t encode_ts(uint32_t tsval, const SynCookieOptions& o);
  // From the ACK's TSecr: the options (mss left at its default), or nullopt when the
  // encoding is invalid. With Linux's layout every 6-bit pattern is a valid encoding
  // (0..14 a window scale, 15 none, and two flags), so this never returns nullopt; the
  // optional is kept so a layout with a check bit can be adopted without changing callers.
  static std::optional<SynCookieOptions> decode_ts(uint32_t tsecr);

  static size_t mss_index(uint16_t peer_mss);
  static uint32_t counter(base::Instant now);

 private:
  uint32_t hash1(const FourTuple& t, uint32_t peer_isn) const;
  uint32_t mac(const FourTuple& t, uint32_t peer_isn, uint32_t count, uint32_t index) const;

  base::SipKey key1_;
  base::SipKey key2_;
};

}  // namespace joyride::core::tcp
