// HeapBufferProvider: exact sizes, budget refusal and its counter, leak accounting,
// and the grow-and-migrate sequence a TCP socket uses for buffer auto-tuning.
#include "joyride/base/buffer_provider.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "joyride/base/byte_ring.h"

namespace joyride::base {
namespace {

TEST(HeapBufferProviderTest, AllocatesExactZeroedSpansAndAccountsForThem) {
  HeapBufferProvider p;
  const std::span<uint8_t> a = p.allocate(100);
  const std::span<uint8_t> b = p.allocate(7);
  ASSERT_EQ(a.size(), 100u);
  ASSERT_EQ(b.size(), 7u);
  EXPECT_TRUE(std::all_of(a.begin(), a.end(), [](uint8_t v) { return v == 0; }));
  EXPECT_NE(a.data(), b.data());
  EXPECT_EQ(p.outstanding_bytes(), 107u);
  EXPECT_EQ(p.outstanding_buffers(), 2u);
  std::fill(a.begin(), a.end(), 0xab);  // the memory is really ours (ASan would object)
  p.release(a);
  EXPECT_EQ(p.outstanding_bytes(), 7u);
  EXPECT_EQ(p.outstanding_buffers(), 1u);
  p.release(b);
  EXPECT_EQ(p.outstanding_bytes(), 0u);
  EXPECT_EQ(p.outstanding_buffers(), 0u);
  EXPECT_EQ(p.failures(), 0u);
}

TEST(HeapBufferProviderTest, ZeroBytesAndEmptyReleaseAreNoOps) {
  HeapBufferProvider p(10);
  EXPECT_TRUE(p.allocate(0).empty());
  p.release({});
  EXPECT_EQ(p.outstanding_buffers(), 0u);
  EXPECT_EQ(p.failures(), 0u);
}

struct BudgetCase {
  size_t budget;
  std::vector<size_t> requests;
  std::vector<bool> granted;
};

class HeapBufferProviderBudgetTest : public ::testing::TestWithParam<BudgetCase> {};

TEST_P(HeapBufferProviderBudgetTest, RefusesWhatWouldExceedTheBudget) {
  const BudgetCase& c = GetParam();
  HeapBufferProvider p(c.budget);
  size_t held = 0;
  uint64_t refused = 0;
  for (size_t i = 0; i < c.requests.size(); ++i) {
    const std::span<uint8_t> s = p.allocate(c.requests[i]);
    EXPECT_EQ(!s.empty(), c.granted[i]) << "request " << i << " of " << c.requests[i];
    if (!s.empty()) {
      EXPECT_EQ(s.size(), c.requests[i]);
      held += s.size();
    } else {
      ++refused;
    }
    EXPECT_EQ(p.outstanding_bytes(), held);
    EXPECT_EQ(p.failures(), refused);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HeapBufferProviderBudgetTest,
    ::testing::Values(BudgetCase{100, {60, 40, 1}, {true, true, false}},          // exactly full
                      BudgetCase{100, {101, 100}, {false, true}},                  // one too big
                      BudgetCase{100, {50, 51, 50}, {true, false, true}},          // refusal keeps room
                      BudgetCase{100, {SIZE_MAX, 10}, {false, true}},              // no overflow
                      BudgetCase{0, {1 << 20, 1 << 20, 1}, {true, true, true}}));  // unlimited

TEST(HeapBufferProviderTest, ReleasingReturnsBudget) {
  HeapBufferProvider p(100);
  const std::span<uint8_t> a = p.allocate(80);
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(p.allocate(30).empty());
  p.release(a);
  const std::span<uint8_t> b = p.allocate(100);
  EXPECT_EQ(b.size(), 100u);
  EXPECT_EQ(p.failures(), 1u);
  p.release(b);
}

TEST(HeapBufferProviderTest, LeftoversAreFreedByTheDestructor) {
  // Run under ASan: a leak here would be reported at exit.
  HeapBufferProvider p;
  p.allocate(64);
  p.allocate(32);
  EXPECT_EQ(p.outstanding_buffers(), 2u);
}

TEST(HeapBufferProviderDeathTest, ReleasingAForeignOrPartialSpanAsserts) {
  HeapBufferProvider p;
  const std::span<uint8_t> a = p.allocate(16);
  std::vector<uint8_t> foreign(16);
  EXPECT_DEBUG_DEATH(p.release(foreign), "did not hand out");
  EXPECT_DEBUG_DEATH(p.release(a.first(8)), "did not hand out");
  EXPECT_EQ(p.outstanding_buffers(), 1u);
  p.release(a);
}

TEST(HeapBufferProviderTest, GrowARingByMigrating) {
  // What TCP buffer auto-tuning does: bigger span, migrate, release the old one.
  HeapBufferProvider p(64);
  ByteRing ring(p.allocate(8));
  std::vector<uint8_t> data(8);
  std::iota(data.begin(), data.end(), uint8_t{1});
  ASSERT_EQ(ring.write(data), 8u);
  ring.consume(5);
  ASSERT_EQ(ring.write(std::span<const uint8_t>(data).first(4)), 4u);  // wrapped: 6 7 8 1 2 3 4
  const std::span<uint8_t> bigger = p.allocate(32);
  ASSERT_FALSE(bigger.empty());
  p.release(ring.migrate(bigger));
  EXPECT_EQ(p.outstanding_buffers(), 1u);
  EXPECT_EQ(p.outstanding_bytes(), 32u);
  std::vector<uint8_t> out(7);
  EXPECT_EQ(ring.read(out), 7u);
  EXPECT_EQ(out, (std::vector<uint8_t>{6, 7, 8, 1, 2, 3, 4}));
  EXPECT_TRUE(p.allocate(64).empty()) << "the budget counts the live buffer";
  p.release(ring.migrate({}));
  EXPECT_EQ(p.outstanding_bytes(), 0u);
}

}  // namespace
}  // namespace joyride::base
