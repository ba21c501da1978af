#include "joyride/base/parse_number.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace joyride::base {
namespace {

TEST(ParseNumber, TakesWholeStringsOfDigitsOnly) {
  EXPECT_EQ(parse_number<uint64_t>("0"), 0u);
  EXPECT_EQ(parse_number<uint64_t>("1073741824"), 1073741824u);
  EXPECT_EQ(parse_number<uint64_t>("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_number<uint32_t>("4294967295"), UINT32_MAX);
  for (const char* bad : {"", " 1", "1 ", "1k", "-1", "+1", "0x10", "18446744073709551616"}) {
    EXPECT_FALSE(parse_number<uint64_t>(bad).has_value()) << '"' << bad << '"';
  }
  EXPECT_FALSE(parse_number<uint32_t>("4294967296").has_value());
  EXPECT_EQ(parse_number<int>("-7"), -7);
}

}  // namespace
}  // namespace joyride::base
