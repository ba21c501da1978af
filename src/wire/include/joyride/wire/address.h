// Link and network addresses as small value types.
//
// Ipv4Address holds its value in host byte order so that comparisons, masks and
// hashing are plain integer operations; the conversion to network order happens only
// in from_bytes()/write(). MAC and IPv6 addresses are kept as the bytes on the wire,
// since nothing does arithmetic on them.
//
// to_string() and parse() are for configuration, logs and tests; they are not used on
// the packet path (to_string allocates).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace joyride::wire {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  static constexpr MacAddress broadcast() { return MacAddress{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  static MacAddress from_bytes(const uint8_t* p) {
    MacAddress m;
    std::memcpy(m.bytes.data(), p, 6);
    return m;
  }
  // "aa:bb:cc:dd:ee:ff" (hex digits in either case); nullopt on anything else.
  static std::optional<MacAddress> parse(std::string_view s);

  void write(uint8_t* p) const { std::memcpy(p, bytes.data(), 6); }

  constexpr bool is_broadcast() const { return *this == broadcast(); }
  // IEEE 802: the I/G bit, least significant bit of the first octet. Broadcast is a
  // multicast address too.
  constexpr bool is_multicast() const { return (bytes[0] & 0x01) != 0; }
  constexpr bool is_unicast() const { return !is_multicast(); }

  std::string to_string() const;
  constexpr bool operator==(const MacAddress&) const = default;
};

class Ipv4Address {
 public:
  static constexpr size_t kLen = 4;

  constexpr Ipv4Address() = default;
  constexpr explicit Ipv4Address(uint32_t host_order) : value_(host_order) {}
  static constexpr Ipv4Address from_octets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Address((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
  }
  // Reads 4 bytes in network order.
  static Ipv4Address from_bytes(const uint8_t* p) { return from_octets(p[0], p[1], p[2], p[3]); }
  static constexpr Ipv4Address any() { return Ipv4Address(0); }
  static constexpr Ipv4Address broadcast() { return Ipv4Address(0xffffffff); }
  // Dotted quad, exactly four decimal octets 0..255 without leading '+' or spaces.
  static std::optional<Ipv4Address> parse(std::string_view s);

  constexpr uint32_t value() const { return value_; }
  constexpr uint8_t octet(int i) const { return static_cast<uint8_t>(value_ >> (24 - 8 * i)); }
  // Writes 4 bytes in network order.
  void write(uint8_t* p) const {
    p[0] = octet(0);
    p[1] = octet(1);
    p[2] = octet(2);
    p[3] = octet(3);
  }

  constexpr bool is_unspecified() const { return value_ == 0; }
  constexpr bool is_broadcast() const { return value_ == 0xffffffff; }
  constexpr bool is_multicast() const { return (value_ >> 28) == 0xe; }      // 224.0.0.0/4
  constexpr bool is_loopback() const { return (value_ >> 24) == 127; }       // 127.0.0.0/8
  constexpr bool is_link_local() const { return (value_ >> 16) == 0xa9fe; }  // 169.254.0.0/16
  constexpr bool is_unicast() const { return !is_unspecified() && !is_broadcast() && !is_multicast(); }

  std::string to_string() const;
  constexpr auto operator<=>(const Ipv4Address&) const = default;
  constexpr bool operator==(const Ipv4Address&) const = default;

 private:
  uint32_t value_ = 0;
};

struct Ipv6Address {
  static constexpr size_t kLen = 16;
  std::array<uint8_t, 16> bytes{};

  static Ipv6Address from_bytes(const uint8_t* p) {
    Ipv6Address a;
    std::memcpy(a.bytes.data(), p, 16);
    return a;
  }
  // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
  static Ipv6Address v4_mapped(Ipv4Address v4);
  // RFC 4291 §2.2 text forms, including "::" and a trailing dotted quad.
  static std::optional<Ipv6Address> parse(std::string_view s);

  void write(uint8_t* p) const { std::memcpy(p, bytes.data(), 16); }
  uint16_t group(int i) const { return static_cast<uint16_t>((bytes[2 * i] << 8) | bytes[2 * i + 1]); }

  bool is_unspecified() const { return *this == Ipv6Address{}; }
  bool is_loopback() const;
  bool is_multicast() const { return bytes[0] == 0xff; }                              // ff00::/8
  bool is_link_local() const { return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80; }  // fe80::/10
  bool is_v4_mapped() const;

  // RFC 5952: lower case, leading zeros dropped, the longest run (first if tied) of two
  // or more zero groups replaced by "::".
  std::string to_string() const;
  constexpr auto operator<=>(const Ipv6Address&) const = default;
  constexpr bool operator==(const Ipv6Address&) const = default;
};

enum class IpFamily : uint8_t { kV4, kV6 };

// Either address family, for code (sockets, pseudo headers) that handles both.
class IpAddress {
 public:
  constexpr IpAddress() = default;  // 0.0.0.0
  constexpr IpAddress(Ipv4Address v4) : family_(IpFamily::kV4), v4_(v4) {}  // NOLINT: implicit by design
  constexpr IpAddress(const Ipv6Address& v6) : family_(IpFamily::kV6), v6_(v6) {}  // NOLINT
  // Either family's text form.
  static std::optional<IpAddress> parse(std::string_view s);

  constexpr IpFamily family() const { return family_; }
  constexpr bool is_v4() const { return family_ == IpFamily::kV4; }
  constexpr bool is_v6() const { return family_ == IpFamily::kV6; }
  // Only meaningful for the matching family (the other returns the zero address).
  constexpr Ipv4Address v4() const { return v4_; }
  constexpr const Ipv6Address& v6() const { return v6_; }
  // IPv4 addresses as ::ffff:a.b.c.d, IPv6 as themselves.
  Ipv6Address to_v6_mapped() const { return is_v4() ? Ipv6Address::v4_mapped(v4_) : v6_; }

  bool is_unspecified() const { return is_v4() ? v4_.is_unspecified() : v6_.is_unspecified(); }
  bool is_multicast() const { return is_v4() ? v4_.is_multicast() : v6_.is_multicast(); }

  std::string to_string() const { return is_v4() ? v4_.to_string() : v6_.to_string(); }
  // Ordered by family first, so every IPv4 address sorts before every IPv6 one.
  constexpr auto operator<=>(const IpAddress&) const = default;
  constexpr bool operator==(const IpAddress&) const = default;

 private:
  // Both members are always initialised (the unused one to zero) so defaulted
  // comparison and hashing stay well defined without a union.
  IpFamily family_ = IpFamily::kV4;
  Ipv4Address v4_;
  Ipv6Address v6_;
};

// An IPv4 address with a prefix length: an interface address ("198.18.0.1/24") or a
// route. The host bits are kept; network() clears them.
class Ipv4Cidr {
 public:
  constexpr Ipv4Cidr() = default;
  // prefix_len above 32 is clamped to 32.
  constexpr Ipv4Cidr(Ipv4Address address, uint8_t prefix_len)
      : address_(address), prefix_len_(prefix_len > 32 ? 32 : prefix_len) {}
  // "a.b.c.d/n" with n in 0..32; nullopt otherwise.
  static std::optional<Ipv4Cidr> parse(std::string_view s);

  constexpr Ipv4Address address() const { return address_; }
  constexpr uint8_t prefix_len() const { return prefix_len_; }
  constexpr Ipv4Address netmask() const {
    // Shifting a 32-bit value by 32 is undefined, hence the special case.
    return Ipv4Address(prefix_len_ == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len_));
  }
  constexpr Ipv4Address network() const { return Ipv4Address(address_.value() & netmask().value()); }
  constexpr Ipv4Address broadcast() const { return Ipv4Address(address_.value() | ~netmask().value()); }
  constexpr bool contains(Ipv4Address a) const {
    return (a.value() & netmask().value()) == network().value();
  }

  std::string to_string() const;
  constexpr bool operator==(const Ipv4Cidr&) const = default;

 private:
  Ipv4Address address_;
  uint8_t prefix_len_ = 0;
};

}  // namespace joyride::wire

template <>
struct std::hash<joyride::wire::MacAddress> {
  size_t operator()(const joyride::wire::MacAddress& m) const noexcept {
    uint64_t v = 0;
    std::memcpy(&v, m.bytes.data(), 6);
    return std::hash<uint64_t>{}(v);
  }
};

template <>
struct std::hash<joyride::wire::Ipv4Address> {
  size_t operator()(joyride::wire::Ipv4Address a) const noexcept {
    // Multiplicative mixing: std::hash<uint32_t> is the identity on libstdc++, which
    // clusters badly for addresses in one subnet.
    return static_cast<size_t>(uint64_t{a.value()} * 0x9e3779b97f4a7c15ULL >> 16);
  }
};

template <>
struct std::hash<joyride::wire::Ipv6Address> {
  size_t operator()(const joyride::wire::Ipv6Address& a) const noexcept {
    uint64_t hi;
    uint64_t lo;
    std::memcpy(&hi, a.bytes.data(), 8);
    std::memcpy(&lo, a.bytes.data() + 8, 8);
    return static_cast<size_t>((hi * 0x9e3779b97f4a7c15ULL) ^ (lo + 0x7f4a7c159e3779b9ULL + (hi << 6)));
  }
};

template <>
struct std::hash<joyride::wire::IpAddress> {
  size_t operator()(const joyride::wire::IpAddress& a) const noexcept {
    return a.is_v4() ? std::hash<joyride::wire::Ipv4Address>{}(a.v4())
                     : std::hash<joyride::wire::Ipv6Address>{}(a.v6());
  }
};
