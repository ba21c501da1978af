// RegionBuffers: the buddy allocator that carves an application's socket buffers
// from its region's buffer area.
#include "joyride/service/region_buffers.h"

#include <sys/mman.h>

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

namespace joyride::service {
namespace {

constexpr size_t kPage = RegionBuffers::kPage;

// A shared anonymous mapping, as the region's memfd is (MADV_REMOVE works on both).
struct Area {
  explicit Area(size_t bytes) : bytes(bytes) {
    base = static_cast<uint8_t*>(::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    EXPECT_NE(base, MAP_FAILED);
  }
  ~Area() { ::munmap(base, bytes); }
  uint8_t* base;
  size_t bytes;
};

TEST(RegionBuffers, SpansAreInsideTheAreaAndTheBudgetIsTheAreasSize) {
  Area a(64 * kPage);
  RegionBuffers b(a.base, a.bytes, 16 * kPage);
  std::vector<std::span<uint8_t>> held;
  for (;;) {
    auto s = b.allocate(3 * kPage);  // rounded up to 4 pages
    if (s.empty()) break;
    EXPECT_EQ(s.size(), 3 * kPage);
    EXPECT_GE(s.data(), a.base);
    EXPECT_LE(s.data() + s.size(), a.base + a.bytes);
    held.push_back(s);
  }
  EXPECT_EQ(held.size(), 16u);
  EXPECT_EQ(b.outstanding_bytes(), a.bytes);
  EXPECT_EQ(b.failures(), 1u);
  // No two spans overlap.
  std::sort(held.begin(), held.end(), [](auto x, auto y) { return x.data() < y.data(); });
  for (size_t i = 1; i < held.size(); ++i) EXPECT_GE(held[i].data(), held[i - 1].data() + 4 * kPage);
  for (auto s : held) b.release(s);
  EXPECT_EQ(b.outstanding_bytes(), 0u);
}

TEST(RegionBuffers, ReleasedBuddiesMergeBackIntoTheLargestBlocks) {
  Area a(32 * kPage);
  RegionBuffers b(a.base, a.bytes, 16 * kPage);
  std::vector<std::span<uint8_t>> small;
  for (int i = 0; i < 32; ++i) small.push_back(b.allocate(100));
  for (auto s : small) ASSERT_FALSE(s.empty());
  EXPECT_TRUE(b.allocate(1).empty());
  // Released in an order that leaves buddies apart until the end.
  for (size_t i = 0; i < small.size(); i += 2) b.release(small[i]);
  EXPECT_TRUE(b.allocate(2 * kPage).empty()) << "every free page's buddy is still held";
  for (size_t i = 1; i < small.size(); i += 2) b.release(small[i]);
  auto big1 = b.allocate(16 * kPage);
  auto big2 = b.allocate(16 * kPage);
  EXPECT_FALSE(big1.empty());
  EXPECT_FALSE(big2.empty());
}

TEST(RegionBuffers, ARequestAboveTheLargestBlockIsRefused) {
  Area a(64 * kPage);
  RegionBuffers b(a.base, a.bytes, 8 * kPage);
  EXPECT_TRUE(b.allocate(8 * kPage + 1).empty());
  EXPECT_FALSE(b.allocate(8 * kPage).empty());
}

TEST(RegionBuffers, ABlockIsZeroWhenHandedOutAgain) {
  Area a(4 * kPage);
  RegionBuffers b(a.base, a.bytes, 4 * kPage);
  auto s = b.allocate(4 * kPage);
  ASSERT_FALSE(s.empty());
  std::fill(s.begin(), s.end(), uint8_t{0xAB});
  b.release(s);
  auto t = b.allocate(4 * kPage);
  ASSERT_EQ(t.data(), s.data());
  EXPECT_TRUE(std::all_of(t.begin(), t.end(), [](uint8_t v) { return v == 0; }));
}

TEST(RegionBuffers, AnAreaThatIsNoPowerOfTwoIsUsedWhole) {
  Area a(48 * kPage);  // a 32-page block and a 16-page block
  RegionBuffers b(a.base, a.bytes, 32 * kPage);
  auto x = b.allocate(16 * kPage);
  auto y = b.allocate(32 * kPage);
  EXPECT_FALSE(x.empty());
  EXPECT_FALSE(y.empty());
  EXPECT_EQ(b.outstanding_bytes(), 48 * kPage);
}

}  // namespace
}  // namespace joyride::service
