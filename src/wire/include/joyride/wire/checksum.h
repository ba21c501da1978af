// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's
// complement sum of the data taken as big-endian 16-bit words, an odd final byte
// padded with a zero byte on the right.
//
// Work is split into partial sums so a checksum can cover data that is not contiguous
// (pseudo header + header + a payload scattered over several buffers):
//
//   uint32_t sum = pseudo_header_v4(src, dst, IpProtocol::kUdp, len);
//   sum = checksum_accumulate(header, sum);
//   sum = checksum_accumulate(payload, sum);
//   store_be<uint16_t>(p, kChecksumOffset, checksum_fold(sum));
//
// A partial sum is a uint32_t whose value, folded, is the one's complement sum in
// network order. Partial sums may be added with checksum_combine().
//
// Offsets. checksum_accumulate() assumes the span starts at an EVEN offset of the
// checksummed data: its first byte is the high byte of a 16-bit word. When a span
// follows one of odd length (a chained buffer split mid-word), use
// checksum_accumulate_at(span, offset, sum) with that span's offset within the whole;
// at an odd offset every byte swaps its half of the word, and RFC 1071 §2(B) ("byte
// order independence") means the span's own sum just needs its two bytes swapped.
//
// Verifying. A received header or message is intact when the sum over all of it,
// checksum field included (and the pseudo header where one applies), folds to 0:
// checksum_fold(sum) == 0, or checksum_verify(bytes, pseudo_sum).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "joyride/wire/address.h"

namespace joyride::wire {



// One's complement addition of two partial sums.
constexpr uint32_t checksum_combine(uint32_t a, uint32_t b) {
  const uint64_t s = uint64_t{a} + b;
  return static_cast<uint32_t>((s & 0xffffffff) + (s >> 32));
}

namespace checksum_detail {
// A 64-bit one's complement sum folded to 16 bits (not complemented). Adding a word to
// itself rotated by half its width leaves the end-around sum of its halves in the upper
// half: the carry out of the lower half lands exactly where end-around wants it.
constexpr uint16_t fold16(uint64_t sum) {
  const auto s32 = static_cast<uint32_t>((sum + std::rotr(sum, 32)) >> 32);
  return static_cast<uint16_t>((s32 + std::rotr(s32, 16)) >> 16);
}

// Any length, out of line (checksum.cc): AVX2 from 128 bytes when the CPU has it.
uint32_t accumulate_any(std::span<const uint8_t> data, uint32_t sum);

// A header (n a multiple of 4, at most 60: IPv4, TCP, UDP), inline: a call and the
// general loop cost more than the sum itself. Eight bytes per add into a 64-bit sum
// whose carries are counted apart (add + adc), the adds unrolled by a jump on the word
// count. Words are summed in native order, which RFC 1071 §2(B) allows: only the folded
// result needs its bytes swapped.
inline uint32_t accumulate_header(const uint8_t* p, size_t n, uint32_t sum) {
  uint64_t s = 0;
  // Unrolled: headers are 20-60 bytes, and a loop costs more per word than the add.
#pragma GCC unroll 15
  for (size_t i = 0; i < n; i += 4) {
    uint32_t w;
    std::memcpy(&w, p + i, sizeof w);
    s += w;
  }
  uint16_t folded = fold16(s);
  if constexpr (std::endian::native == std::endian::little) folded = static_cast<uint16_t>(__builtin_bswap16(folded));
  return checksum_combine(sum, folded);
}
}  // namespace checksum_detail

// Adds data to a partial sum. Unaligned data is fine (every load is a memcpy), so the
// start address may have any alignment. See "Offsets" above.
inline uint32_t checksum_accumulate(std::span<const uint8_t> data, uint32_t sum = 0) {
  if (data.size() <= 60 && data.size() % 4 == 0) {
    return checksum_detail::accumulate_header(data.data(), data.size(), sum);
  }
  return checksum_detail::accumulate_any(data, sum);
}

namespace checksum_detail {
uint32_t accumulate_at_odd_offset(std::span<const uint8_t> data, uint32_t sum);
}

// As checksum_accumulate, for a span that starts at `offset` within the checksummed
// data (only the parity of offset matters).
inline uint32_t checksum_accumulate_at(std::span<const uint8_t> data, size_t offset, uint32_t sum = 0) {
  if ((offset & 1) == 0) return checksum_accumulate(data, sum);
  return checksum_detail::accumulate_at_odd_offset(data, sum);
}

// Folds a sum to 16 bits with end-around carries and returns its one's complement:
// the value to store in a checksum field (0 for a valid received header).
constexpr uint16_t checksum_fold(uint64_t sum) { return static_cast<uint16_t>(~checksum_detail::fold16(sum)); }

// checksum_fold(checksum_accumulate(data)).
uint16_t internet_checksum(std::span<const uint8_t> data);

namespace checksum_detail {
// checksum_verify for a header (n a multiple of 4, at most 60), inline and with one
// fold: the words are summed in native order, and so is `initial`. Swapping a 16-bit
// word's bytes multiplies it by 256 modulo 2^16 - 1 (256 * (256a + b) = 65536a + 256b,
// and 65536 = 1), so on a little-endian host the network-order partial sum enters the
// native sum as initial << 8. A sum that folds to all ones (-0) is valid in either
// byte order, so the folded result needs no swap either.
// `initial` may be any partial sum below 2^40 (pseudo_header_v4_wide's), not only a
// 32-bit one: shifted, it and fifteen words stay far below 2^64.
inline bool verify_header(const uint8_t* p, size_t n, uint64_t initial) {
  uint64_t s = std::endian::native == std::endian::little ? initial << 8 : initial;
#pragma GCC unroll 15
  for (size_t i = 0; i < n; i += 4) {
    uint32_t w;
    std::memcpy(&w, p + i, sizeof w);
    s += w;
  }
  return fold16(s) == 0xffff;
}
}  // namespace checksum_detail

// True when data (checksum field included) plus the partial sum `initial` folds to 0.
inline bool checksum_verify(std::span<const uint8_t> data, uint32_t initial = 0) {
  if (data.size() <= 60 && data.size() % 4 == 0) {
    return checksum_detail::verify_header(data.data(), data.size(), initial);
  }
  return checksum_fold(checksum_accumulate(data, initial)) == 0;
}

// The sum's two implementations, for tests: the portable one (an adc chain on x86-64)
// and the AVX2 one that checksum_accumulate takes for 128 bytes or more when the CPU
// has AVX2 (the portable one again when it does not). Both return folded_sum's value:
// the folded, uncomplemented sum in network order.
namespace checksum_detail {
bool avx2_available();
uint16_t folded_sum_portable(std::span<const uint8_t> data);
uint16_t folded_sum_avx2(std::span<const uint8_t> data);
}  // namespace checksum_detail

// The plain RFC 1071 loop, one 16-bit word at a time. Slow; the oracle for tests.
uint16_t checksum_reference(std::span<const uint8_t> data);

// Partial sums of the pseudo headers TCP and UDP checksum over.
// RFC 768 / RFC 9293 §3.1: src, dst, zero, protocol, TCP/UDP length (16 bits).
inline uint32_t pseudo_header_v4(Ipv4Address src, Ipv4Address dst, uint8_t protocol, uint16_t length) {
  // At most six 16-bit terms: no overflow of 32 bits is possible.
  return (src.value() >> 16) + (src.value() & 0xffff) + (dst.value() >> 16) + (dst.value() & 0xffff) + protocol +
         length;
}
// The same sum unfolded, as a 64-bit partial sum (each address counts as a whole
// 32-bit word: 2^32 = 1 modulo 2^16 - 1): three adds. For checking a received header
// with packet_checksum_verify; below 2^35.
constexpr uint64_t pseudo_header_v4_wide(Ipv4Address src, Ipv4Address dst, uint8_t protocol, uint16_t length) {
  return uint64_t{src.value()} + dst.value() + protocol + length;
}
// RFC 8200 §8.1: src, dst, upper-layer length (32 bits), zeros, next header.
uint32_t pseudo_header_v6(const Ipv6Address& src, const Ipv6Address& dst, uint8_t next_header,
                          uint32_t length);
// Picks the family of src. Mixed families are a caller bug; both are then treated as
// IPv6 (IPv4 as v4-mapped) so the result is at least deterministic.
uint32_t pseudo_header(const IpAddress& src, const IpAddress& dst, uint8_t protocol, uint32_t length);

// RFC 1624 eqn. 3, incremental update when one 16-bit word of the covered data changes
// from old_value to new_value:  HC' = ~(~HC + ~m + m').
// It agrees with recomputation except when the covered data becomes all zeros (a sum
// of +0, checksum 0xFFFF, that the old checksum cannot distinguish from -0); no real
// header is all zeros.
uint16_t checksum_update16(uint16_t old_checksum, uint16_t old_value, uint16_t new_value);
// The same for an aligned 32-bit field (an address, a sequence number): two words.
uint16_t checksum_update32(uint16_t old_checksum, uint32_t old_value, uint32_t new_value);

}  // namespace joyride::wire
