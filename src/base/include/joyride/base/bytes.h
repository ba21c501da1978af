// Byte-order-explicit loads and stores at an offset. Wire formats are big-endian;
// nothing in Joyride casts a header struct over packet bytes (../shared/STYLE.md).
// Callers check bounds once (a view's new_checked) and then use these freely.
#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace joyride::base {

template <std::unsigned_integral T>
constexpr T byteswap_if_little(T v) {
  if constexpr (std::endian::native == std::endian::big || sizeof(T) == 1) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return static_cast<T>(__builtin_bswap16(v));
  } else if constexpr (sizeof(T) == 4) {
    return static_cast<T>(__builtin_bswap32(v));
  } else {
    return static_cast<T>(__builtin_bswap64(v));
  }
}

template <std::unsigned_integral T>
inline T load_be(const uint8_t* bytes, size_t offset) {
  T v;
  std::memcpy(&v, bytes + offset, sizeof(T));
  return byteswap_if_little(v);
}

template <std::unsigned_integral T>
inline void store_be(uint8_t* bytes, size_t offset, T value) {
  const T v = byteswap_if_little(value);
  std::memcpy(bytes + offset, &v, sizeof(T));
}

}  // namespace joyride::base
