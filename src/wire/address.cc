#include "joyride/wire/address.h"

#include <charconv>

namespace joyride::wire {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses a decimal number made only of digits (no sign, no spaces), at most max_digits
// long. from_chars alone would accept a prefix and leave the rest unread.
std::optional<uint32_t> parse_decimal(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

void append_hex16(std::string& out, uint16_t v) {
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const int nibble = (v >> shift) & 0xf;
    if (nibble != 0 || started || shift == 0) {
      out.push_back(kHexDigits[nibble]);
      started = true;
    }
  }
}

// Parses "g:g:...:g" (each 1..4 hex digits), optionally ending in a dotted quad that
// counts as two groups, into out[0..]. Returns the number of groups, or -1.
int parse_v6_groups(std::string_view s, uint16_t* out, int max_groups, bool allow_v4_tail) {
  if (s.empty()) return 0;
  int n = 0;
  while (true) {
    const size_t colon = s.find(':');
    const std::string_view piece = s.substr(0, colon);
    const bool last = colon == std::string_view::npos;
    if (last && allow_v4_tail && piece.find('.') != std::string_view::npos) {
      const auto v4 = Ipv4Address::parse(piece);
      if (!v4 || n + 2 > max_groups) return -1;
      out[n++] = static_cast<uint16_t>(v4->value() >> 16);
      out[n++] = static_cast<uint16_t>(v4->value());
      return n;
    }
    if (piece.empty() || piece.size() > 4 || n >= max_groups) return -1;
    uint16_t g = 0;
    for (char c : piece) {
      const int h = hex_value(c);
      if (h < 0) return -1;
      g = static_cast<uint16_t>((g << 4) | h);
    }
    out[n++] = g;
    if (last) return n;
    s.remove_prefix(colon + 1);
  }
}

}  // namespace

std::optional<MacAddress> MacAddress::parse(std::string_view s) {
  // Exactly "xx:xx:xx:xx:xx:xx".
  if (s.size() != 17) return std::nullopt;
  MacAddress m;
  for (size_t i = 0; i < 6; ++i) {
    const int hi = hex_value(s[3 * i]);
    const int lo = hex_value(s[3 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i < 5 && s[3 * i + 2] != ':') return std::nullopt;
    m.bytes[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return m;
}

std::string MacAddress::to_string() const {
  std::string out;
  out.reserve(17);
  for (size_t i = 0; i < 6; ++i) {
    if (i != 0) out.push_back(':');
    out.push_back(kHexDigits[bytes[i] >> 4]);
    out.push_back(kHexDigits[bytes[i] & 0xf]);
  }
  return out;
}

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view s) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = s.find('.');
    if ((i < 3) == (dot == std::string_view::npos)) return std::nullopt;
    const auto octet = parse_decimal(s.substr(0, dot), 3);
    if (!octet || *octet > 255) return std::nullopt;
    value = (value << 8) | *octet;
    if (i < 3) s.remove_prefix(dot + 1);
  }
  return Ipv4Address(value);
}

std::string Ipv4Address::to_string() const {
  std::string out;
  out.reserve(15);
  for (int i = 0; i < 4; ++i) {
    if (i != 0) out.push_back('.');
    out += std::to_string(octet(i));
  }
  return out;
}

Ipv6Address Ipv6Address::v4_mapped(Ipv4Address v4) {
  Ipv6Address a;
  a.bytes[10] = 0xff;
  a.bytes[11] = 0xff;
  v4.write(a.bytes.data() + 12);
  return a;
}

bool Ipv6Address::is_loopback() const {
  for (size_t i = 0; i < 15; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[15] == 1;
}

bool Ipv6Address::is_v4_mapped() const {
  for (size_t i = 0; i < 10; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[10] == 0xff && bytes[11] == 0xff;
}

std::optional<Ipv6Address> Ipv6Address::parse(std::string_view s) {
  uint16_t groups[8] = {};
  const size_t gap = s.find("::");
  if (gap == std::string_view::npos) {
    if (parse_v6_groups(s, groups, 8, true) != 8) return std::nullopt;
  } else {
    const std::string_view left = s.substr(0, gap);
    const std::string_view right = s.substr(gap + 2);
    if (right.find("::") != std::string_view::npos) return std::nullopt;
    uint16_t right_groups[8] = {};
    const int nl = parse_v6_groups(left, groups, 7, false);
    if (nl < 0) return std::nullopt;
    const int nr = parse_v6_groups(right, right_groups, 7 - nl, true);
    // "::" stands for at least one zero group (RFC 4291 §2.2 item 2).
    if (nr < 0 || nl + nr > 7) return std::nullopt;
    for (int i = 0; i < nr; ++i) groups[8 - nr + i] = right_groups[i];
  }
  Ipv6Address a;
  for (int i = 0; i < 8; ++i) {
    a.bytes[2 * i] = static_cast<uint8_t>(groups[i] >> 8);
    a.bytes[2 * i + 1] = static_cast<uint8_t>(groups[i]);
  }
  return a;
}

std::string Ipv6Address::to_string() const {
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one
  // when runs tie; a single zero group is written as "0".
  int best_start = -1;
  int best_len = 1;
  for (int i = 0; i < 8;) {
    if (group(i) != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && group(j) == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  out.reserve(39);
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (i != 0 && i != best_start + best_len) out.push_back(':');
    append_hex16(out, group(i));
  }
  return out;
}

std::optional<IpAddress> IpAddress::parse(std::string_view s) {
  if (s.find(':') != std::string_view::npos) {
    const auto v6 = Ipv6Address::parse(s);
    if (!v6) return std::nullopt;
    return IpAddress(*v6);
  }
  const auto v4 = Ipv4Address::parse(s);
  if (!v4) return std::nullopt;
  return IpAddress(*v4);
}

std::optional<Ipv4Cidr> Ipv4Cidr::parse(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto address = Ipv4Address::parse(s.substr(0, slash));
  const auto prefix = parse_decimal(s.substr(slash + 1), 2);
  if (!address || !prefix || *prefix > 32) return std::nullopt;
  return Ipv4Cidr(*address, static_cast<uint8_t>(*prefix));
}

std::string Ipv4Cidr::to_string() const {
  return address_.to_string() + "/" + std::to_string(prefix_len_);
}

}  // namespace joyride::wire
