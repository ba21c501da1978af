// Test helper: bytes from a hex string ("4500 003c ..."), spaces ignored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace joyride::wire::testing {

inline std::vector<uint8_t> from_hex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    if (hex[i] == ' ') {
      --i;
      continue;
    }
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

}  // namespace joyride::wire::testing
