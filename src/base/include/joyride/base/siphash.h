// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed
// pseudorandom function with a 128-bit key and a 64-bit output, fast on inputs of a few
// bytes. TCP uses it where an off-path attacker must not be able to predict a value
// derived from the connection's addresses: initial sequence numbers (RFC 6528),
// timestamp offsets, SYN cookies and ephemeral ports (RFC 6056). It is what Linux uses
// for the same jobs. It is a PRF, not a collision-resistant hash: its strength rests on
// the key staying secret, so keys come from the host's RandomSource, never a constant.
//
// "2-4": two SipRounds per 8-byte message block, four in finalisation. Message bytes
// are read as little-endian 64-bit words; the last word carries the message length
// (mod 256) in its top byte. Output matches the paper's and the reference
// implementation's: the 64-bit value whose little-endian bytes are the published digest.
#pragma once

#include <cstdint>
#include <span>

#include "joyride/base/random.h"

namespace joyride::base {

struct SipKey {
  uint64_t k0 = 0;  // key bytes 0..7, little-endian
  uint64_t k1 = 0;  // key bytes 8..15, little-endian

  // 128 fresh bits from the host's randomness.
  static SipKey from(RandomSource& random);
  // The paper's byte-string form of a key (tests and configuration).
  static SipKey from_bytes(std::span<const uint8_t, 16> bytes);
};

uint64_t siphash24(const SipKey& key, std::span<const uint8_t> data);

// The same function over 32-bit words taken as their little-endian bytes, i.e.
// siphash24(key, LE bytes of words) — the shape every TCP input has (addresses, ports,
// sequence numbers, counters), hashed without building a byte buffer.
uint64_t siphash24_words(const SipKey& key, std::span<const uint32_t> words);

}  // namespace joyride::base
