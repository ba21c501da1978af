// A whole string as one number, for command lines and control requests: nullopt for
// an empty string, a sign or digits the type cannot hold, or anything after the digits.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace joyride::base {

template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace joyride::base
