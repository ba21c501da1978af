#include "joyride/wire/checksum.h"

#include <bit>
#include <cstring>

namespace joyride::wire {
namespace {

// 64-bit one's complement addition: a carry out of bit 63 wraps around to bit 0.
// (s + 1 cannot overflow again: after an overflow s <= 2^64 - 2.)
inline uint64_t add_end_around(uint64_t a, uint64_t b) {
  uint64_t s;
  if (__builtin_add_overflow(a, b, &s)) ++s;
  return s;
}

inline uint64_t load_native64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The one's complement sum of data as big-endian 16-bit words, folded to 16 bits (not
// complemented), assuming data starts at an even offset.
//
// Words are summed in native byte order, 8 bytes at a time. That is valid because one's
// complement addition commutes with byte swapping (RFC 1071 §2(B)): summing
// little-endian words gives the byte-swapped big-endian sum, and a 64-bit sum folded
// modulo 2^16 - 1 equals the sum of its four 16-bit lanes. So only the final 16-bit
// result needs swapping.
#if defined(__x86_64__)
// The bulk of the sum, 64 bytes per iteration, as one add-with-carry chain: the carry
// out of each 64-bit add goes into the next (end-around only once, at the end). That
// is ~1.4 instructions per 8 bytes against ~4 for add + overflow test in C, and the
// checksum is most of what a data segment costs (bench/README.md). `lea` and `dec`
// leave the carry flag alone, so the chain runs across iterations.
inline uint64_t sum_blocks64(const uint8_t*& p, size_t blocks, uint64_t acc) {
  if (blocks == 0) return acc;
  asm("clc\n"
      "1:\n\t"
      "adcq 0(%[p]), %[acc]\n\t"
      "adcq 8(%[p]), %[acc]\n\t"
      "adcq 16(%[p]), %[acc]\n\t"
      "adcq 24(%[p]), %[acc]\n\t"
      "adcq 32(%[p]), %[acc]\n\t"
      "adcq 40(%[p]), %[acc]\n\t"
      "adcq 48(%[p]), %[acc]\n\t"
      "adcq 56(%[p]), %[acc]\n\t"
      "leaq 64(%[p]), %[p]\n\t"
      "decq %[n]\n\t"
      "jnz 1b\n\t"
      "adcq $0, %[acc]"
      : [acc] "+r"(acc), [p] "+r"(p), [n] "+r"(blocks)
      :
      : "cc", "memory");
  return acc;
}
#endif

uint16_t folded_sum(std::span<const uint8_t> data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  // Two accumulators break the carry dependency chain between consecutive adds.
  uint64_t a = 0;
  uint64_t b = 0;
#if defined(__x86_64__)
  a = sum_blocks64(p, n / 64, a);
  n %= 64;
#endif
  while (n >= 32) {
    a = add_end_around(a, load_native64(p));
    b = add_end_around(b, load_native64(p + 8));
    a = add_end_around(a, load_native64(p + 16));
    b = add_end_around(b, load_native64(p + 24));
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    a = add_end_around(a, load_native64(p));
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    // The tail keeps each byte at its position within a zero-filled word, so an odd
    // last byte is the high byte of its 16-bit word, padded on the right with zero.
    uint64_t tail = 0;
    std::memcpy(&tail, p, n);
    b = add_end_around(b, tail);
  }
  uint64_t s = add_end_around(a, b);
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  const auto folded = static_cast<uint16_t>(s);
  if constexpr (std::endian::native == std::endian::little) {
    return static_cast<uint16_t>(__builtin_bswap16(folded));
  } else {
    return folded;
  }
}

}  // namespace

uint32_t checksum_accumulate(std::span<const uint8_t> data, uint32_t sum) {
  return checksum_combine(sum, folded_sum(data));
}

uint32_t checksum_accumulate_at(std::span<const uint8_t> data, size_t offset, uint32_t sum) {
  const uint16_t s = folded_sum(data);
  // At an odd offset every byte sits in the other half of its word than folded_sum()
  // assumed; swapping the folded sum moves them all back (RFC 1071 §2(B)).
  return checksum_combine(sum, (offset & 1) ? static_cast<uint16_t>(__builtin_bswap16(s)) : s);
}

uint16_t internet_checksum(std::span<const uint8_t> data) {
  return checksum_fold(checksum_accumulate(data));
}

bool checksum_verify(std::span<const uint8_t> data, uint32_t initial) {
  return checksum_fold(checksum_accumulate(data, initial)) == 0;
}

uint16_t checksum_reference(std::span<const uint8_t> data) {
  uint64_t sum = 0;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) {
    sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  }
  if (i < data.size()) sum += static_cast<uint32_t>(data[i] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

uint32_t pseudo_header_v6(const Ipv6Address& src, const Ipv6Address& dst, uint8_t next_header,
                          uint32_t length) {
  uint32_t sum = 0;
  for (int i = 0; i < 8; ++i) sum += uint32_t{src.group(i)} + dst.group(i);
  return sum + (length >> 16) + (length & 0xffff) + next_header;
}

uint32_t pseudo_header(const IpAddress& src, const IpAddress& dst, uint8_t protocol, uint32_t length) {
  if (src.is_v4() && dst.is_v4()) {
    // An IPv4 length never exceeds 16 bits; the truncation only affects caller bugs.
    return pseudo_header_v4(src.v4(), dst.v4(), protocol, static_cast<uint16_t>(length));
  }
  return pseudo_header_v6(src.to_v6_mapped(), dst.to_v6_mapped(), protocol, length);
}

uint16_t checksum_update16(uint16_t old_checksum, uint16_t old_value, uint16_t new_value) {
  // RFC 1624 §3: HC' = ~(~HC + ~m + m'); checksum_fold supplies the outer complement.
  const uint32_t sum = uint32_t{static_cast<uint16_t>(~old_checksum)} +
                       static_cast<uint16_t>(~old_value) + new_value;
  return checksum_fold(sum);
}

uint16_t checksum_update32(uint16_t old_checksum, uint32_t old_value, uint32_t new_value) {
  const uint16_t c = checksum_update16(old_checksum, static_cast<uint16_t>(old_value >> 16),
                                       static_cast<uint16_t>(new_value >> 16));
  return checksum_update16(c, static_cast<uint16_t>(old_value), static_cast<uint16_t>(new_value));
}

}  // namespace joyride::wire
