#include "joyride/base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace joyride::base {
namespace {

enum class ParseError : uint8_t { kTooShort, kBadChecksum };

Result<int, ParseError> parse(int n) {
  if (n < 0) return Err{ParseError::kTooShort};
  return n * 2;
}

Status<ParseError> check(bool good) {
  if (!good) return Err{ParseError::kBadChecksum};
  return {};
}

TEST(ResultTest, HoldsValue) {
  auto r = parse(21);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  *r = 7;
  EXPECT_EQ(r.value(), 7);
}

TEST(ResultTest, HoldsError) {
  auto r = parse(-1);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error(), ParseError::kTooShort);
}

TEST(ResultTest, ArrowAndMoveOut) {
  Result<std::string, ParseError> r(std::string("hello"));
  EXPECT_EQ(r->size(), 5u);
  const std::string s = std::move(r).value();
  EXPECT_EQ(s, "hello");

  Result<std::unique_ptr<int>, ParseError> p(std::make_unique<int>(5));
  std::unique_ptr<int> owned = std::move(p).value();
  EXPECT_EQ(*owned, 5);
}

TEST(ResultTest, ConstAccess) {
  const Result<int, ParseError> r(3);
  EXPECT_EQ(r.value(), 3);
  EXPECT_EQ(*r, 3);
}

TEST(StatusTest, OkAndError) {
  const Status<ParseError> good = check(true);
  EXPECT_TRUE(good.ok());
  EXPECT_TRUE(static_cast<bool>(good));
  const Status<ParseError> bad = check(false);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), ParseError::kBadChecksum);
  const Status<ParseError> def;
  EXPECT_TRUE(def.ok());
}

}  // namespace
}  // namespace joyride::base
