#include "joyride/wire/checksum.h"

#include <algorithm>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace joyride::wire {
namespace {

// 64-bit one's complement addition: a carry out of bit 63 wraps around to bit 0.
// (s + 1 cannot overflow again: after an overflow s <= 2^64 - 2.)
inline uint64_t add_end_around(uint64_t a, uint64_t b) {
  uint64_t s;
  if (__builtin_add_overflow(a, b, &s)) ++s;
  return s;
}

template <typename T>
inline T load_native(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The last n < 8 bytes as one native 64-bit word, each byte at its position within a
// zero-filled word, so an odd last byte is the high byte of its 16-bit word, padded on
// the right with zero. Three fixed-size loads rather than a memcpy call of variable
// length, which costs more than the rest of a header's sum.
inline uint64_t load_tail(const uint8_t* p, size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    uint64_t tail = 0;
    unsigned shift = 0;
    if (n & 4) {
      tail = load_native<uint32_t>(p);
      p += 4;
      shift = 32;
    }
    if (n & 2) {
      tail |= uint64_t{load_native<uint16_t>(p)} << shift;
      p += 2;
      shift += 16;
    }
    if (n & 1) tail |= uint64_t{*p} << shift;
    return tail;
  } else {
    uint64_t tail = 0;
    std::memcpy(&tail, p, n);
    return tail;
  }
}

// Bytes [0, n) with n < 64, summed 8 at a time into acc.
inline uint64_t sum_short(const uint8_t* p, size_t n, uint64_t acc) {
  while (n >= 8) {
    acc = add_end_around(acc, load_native<uint64_t>(p));
    p += 8;
    n -= 8;
  }
  if (n > 0) acc = add_end_around(acc, load_tail(p, n));
  return acc;
}

// Words are summed in native byte order. That is valid because one's complement
// addition commutes with byte swapping (RFC 1071 §2(B)): summing little-endian words
// gives the byte-swapped big-endian sum, and a 64-bit sum folded modulo 2^16 - 1 equals
// the sum of its four 16-bit lanes. So only the final 16-bit result needs swapping.
inline uint16_t to_network_order(uint16_t folded) {
  if constexpr (std::endian::native == std::endian::little) {
    return static_cast<uint16_t>(__builtin_bswap16(folded));
  } else {
    return folded;
  }
}

#if defined(__x86_64__)
// The bulk of a sum, 64 bytes per iteration, as one add-with-carry chain: the carry
// out of each 64-bit add goes into the next (end-around only once, at the end). That
// is ~1.4 instructions per 8 bytes against ~4 for add + overflow test in C. `lea` and
// `dec` leave the carry flag alone, so the chain runs across iterations.
inline uint64_t sum_blocks64(const uint8_t* p, size_t blocks, uint64_t acc) {
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

// With AVX2, 32 bytes take three instructions instead of four adc: vpmaddwd adds
// adjacent 16-bit words into 32-bit lanes, but as SIGNED words; flipping each word's
// top bit first (xor 0x8000) makes every word exactly 32768 less than its unsigned
// value, and that known offset (32768 per word) is added back at the end.
//
// The lanes of both accumulators are summed in 32 bits. A 32-byte chunk is 16 words,
// each offset by at most 32768, so r chunks total at most r * 2^19 in magnitude (every
// partial sum too): under 2^31 for r < 4096. Longer data takes several runs of 128 KiB.
constexpr size_t kAvx2ChunksPerRun = 4095;

// One chunk into accumulator ACC (an asm operand name), through scratch register T:
// flip, multiply-add, add. Three instructions per 32 bytes, the load folded into vpxor.
#define JOYRIDE_CHUNK(OFF, T, ACC)                       \
  "vpxor " #OFF "(%[p]), %[flip], %[" #T "]\n\t"        \
  "vpmaddwd %[ones], %[" #T "], %[" #T "]\n\t"          \
  "vpaddd %[" #T "], %[" #ACC "], %[" #ACC "]\n\t"

// The sum of `chunks` 32-byte chunks at p (at most kAvx2ChunksPerRun), into acc.
// In asm because gcc 12 re-materialises the constants in every branch and copies the
// accumulators each iteration (~40 instructions of 240 for a 1,480-byte segment):
// here a 1,480-byte run is 164 instructions, 138 of them the three per chunk. Two
// accumulators, so consecutive adds do not wait on each other; 256 bytes per
// iteration, then the rest (< 8 chunks) by its bits.
__attribute__((target("avx2"), always_inline)) inline uint64_t sum_run_avx2(const uint8_t* p, size_t chunks,
                                                                               uint64_t acc, __m256i flip,
                                                                               __m256i ones) {
  __m256i a;
  __m256i b;
  __m256i t0;
  __m256i t1;
  size_t blocks = chunks / 8;
  asm("vpxor %[a], %[a], %[a]\n\t"
      "vpxor %[b], %[b], %[b]\n\t"
      "test %[blocks], %[blocks]\n\t"
      "jz 2f\n"
      "1:\n\t"
      JOYRIDE_CHUNK(0, t0, a) JOYRIDE_CHUNK(32, t1, b) JOYRIDE_CHUNK(64, t0, a) JOYRIDE_CHUNK(96, t1, b)
      JOYRIDE_CHUNK(128, t0, a) JOYRIDE_CHUNK(160, t1, b) JOYRIDE_CHUNK(192, t0, a) JOYRIDE_CHUNK(224, t1, b)
      "addq $256, %[p]\n\t"
      "decq %[blocks]\n\t"
      "jnz 1b\n"
      "2:\n\t"
      "testb $4, %b[rest]\n\t"
      "jz 3f\n\t"
      JOYRIDE_CHUNK(0, t0, a) JOYRIDE_CHUNK(32, t1, b) JOYRIDE_CHUNK(64, t0, a) JOYRIDE_CHUNK(96, t1, b)
      "addq $128, %[p]\n"
      "3:\n\t"
      "testb $2, %b[rest]\n\t"
      "jz 4f\n\t"
      JOYRIDE_CHUNK(0, t0, a) JOYRIDE_CHUNK(32, t1, b)
      "addq $64, %[p]\n"
      "4:\n\t"
      "testb $1, %b[rest]\n\t"
      "jz 5f\n\t"
      JOYRIDE_CHUNK(0, t0, a)
      "5:\n\t"
      "vpaddd %[b], %[a], %[a]"
      : [a] "=&x"(a), [b] "=&x"(b), [t0] "=&x"(t0), [t1] "=&x"(t1), [p] "+r"(p), [blocks] "+r"(blocks)
      : [rest] "q"(chunks), [flip] "x"(flip), [ones] "x"(ones)
      : "cc", "memory");
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));  // lanes 2,3 onto 0,1
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));  // lane 1 onto 0
  const int64_t biased = _mm_cvtsi128_si32(s);
  // 16 words per chunk, each 32768 short: the true sum is never negative.
  return add_end_around(acc, static_cast<uint64_t>(biased + static_cast<int64_t>(chunks) * 16 * 32768));
}
#undef JOYRIDE_CHUNK

bool detect_avx2() {
  __builtin_cpu_init();  // may run before libgcc's own constructor has
  return __builtin_cpu_supports("avx2");
}
// Read once at start-up: a CPU does not gain or lose AVX2 while a process runs.
const bool kHaveAvx2 = detect_avx2();

// Below this the AVX2 set-up and reduction (~20 instructions) cost more than they save.
constexpr size_t kAvx2MinBytes = 128;

// The last n < 32 bytes: a 16- and an 8-byte step by the bits of n, then the < 8 left.
inline uint64_t sum_tail32(const uint8_t* p, size_t n, uint64_t acc) {
  if ((n & 16) != 0) {
    acc = add_end_around(acc, load_native<uint64_t>(p));
    acc = add_end_around(acc, load_native<uint64_t>(p + 8));
    p += 16;
  }
  if ((n & 8) != 0) {
    acc = add_end_around(acc, load_native<uint64_t>(p));
    p += 8;
  }
  if ((n & 7) != 0) acc = add_end_around(acc, load_tail(p, n & 7));
  return acc;
}

// The sum of data (at least 32 bytes) plus `acc`, a partial sum in native word order,
// folded and in network order.
__attribute__((target("avx2"), always_inline)) inline uint16_t folded_sum_avx2_inline(std::span<const uint8_t> data,
                                                                                       uint64_t acc) {
  // The constants from all-ones in three instructions (_mm256_set1_epi16 takes three
  // each): 0x8000 and 1 in every 16-bit lane.
  __m256i flip;
  __m256i ones;
  asm("vpcmpeqw %[ones], %[ones], %[ones]\n\t"
      "vpsllw $15, %[ones], %[flip]\n\t"
      "vpsrlw $15, %[ones], %[ones]"
      : [ones] "=x"(ones), [flip] "=&x"(flip));
  const uint8_t* p = data.data();
  size_t chunks = data.size() / 32;
  // Whole runs first: only data of 128 KiB or more has more than one.
  for (; chunks > kAvx2ChunksPerRun; chunks -= kAvx2ChunksPerRun, p += kAvx2ChunksPerRun * 32) {
    acc = sum_run_avx2(p, kAvx2ChunksPerRun, acc, flip, ones);
  }
  acc = sum_run_avx2(p, chunks, acc, flip, ones);
  p += chunks * 32;
  return to_network_order(checksum_detail::fold16(sum_tail32(p, data.size() % 32, acc)));
}

__attribute__((target("avx2"))) uint16_t folded_sum_avx2(std::span<const uint8_t> data) {
  return folded_sum_avx2_inline(data, 0);
}

// accumulate_any's AVX2 case, which it reaches by a tail jump: one call per sum. The
// caller's partial sum (network order) joins the native-order sum from the start:
// swapping a 16-bit word's bytes multiplies it by 256 modulo 2^16 - 1, so `sum << 8`
// is that sum in native order (x86-64 is little-endian), and no combine is needed.
__attribute__((target("avx2"))) uint32_t accumulate_avx2(std::span<const uint8_t> data, uint32_t sum) {
  return folded_sum_avx2_inline(data, uint64_t{sum} << 8);
}
#endif

uint16_t folded_sum_portable(std::span<const uint8_t> data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint64_t acc = 0;
#if defined(__x86_64__)
  acc = sum_blocks64(p, n / 64, acc);
  p += n & ~size_t{63};
  n &= 63;
#else
  // Two accumulators break the carry dependency chain between consecutive adds.
  uint64_t b = 0;
  for (; n >= 64; n -= 64, p += 64) {
    for (int i = 0; i < 64; i += 16) {
      acc = add_end_around(acc, load_native<uint64_t>(p + i));
      b = add_end_around(b, load_native<uint64_t>(p + i + 8));
    }
  }
  acc = add_end_around(acc, b);
#endif
  return to_network_order(checksum_detail::fold16(sum_short(p, n, acc)));
}

// The one's complement sum of data as big-endian 16-bit words, folded to 16 bits (not
// complemented), assuming data starts at an even offset.
inline uint16_t folded_sum(std::span<const uint8_t> data) {
#if defined(__x86_64__)
  if (data.size() >= kAvx2MinBytes && kHaveAvx2) return folded_sum_avx2(data);
#endif
  return folded_sum_portable(data);
}

}  // namespace

namespace checksum_detail {
bool avx2_available() {
#if defined(__x86_64__)
  return kHaveAvx2;
#else
  return false;
#endif
}
uint16_t folded_sum_portable(std::span<const uint8_t> data) { return wire::folded_sum_portable(data); }
uint16_t folded_sum_avx2(std::span<const uint8_t> data) {
#if defined(__x86_64__)
  if (kHaveAvx2) return wire::folded_sum_avx2(data);
#endif
  return wire::folded_sum_portable(data);
}
}  // namespace checksum_detail

uint32_t checksum_detail::accumulate_any(std::span<const uint8_t> data, uint32_t sum) {
#if defined(__x86_64__)
  if (data.size() >= kAvx2MinBytes && kHaveAvx2) return accumulate_avx2(data, sum);
#endif
  return checksum_combine(sum, folded_sum_portable(data));
}

uint32_t checksum_detail::accumulate_at_odd_offset(std::span<const uint8_t> data, uint32_t sum) {
  // At an odd offset every byte sits in the other half of its word than folded_sum()
  // assumed; swapping the folded sum moves them all back (RFC 1071 §2(B)).
  return checksum_combine(sum, static_cast<uint16_t>(__builtin_bswap16(folded_sum(data))));
}

uint16_t internet_checksum(std::span<const uint8_t> data) {
  return checksum_fold(checksum_accumulate(data));
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
