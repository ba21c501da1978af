// HeapPacketPool: accounting, exhaustion without leaks, failure counters, alloc_burst,
// and the report when packets outlive their pool.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <vector>

#include "joyride/buf/heap_pool.h"

namespace joyride::buf {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes pattern(size_t n) {
  Bytes b(n);
  std::iota(b.begin(), b.end(), uint8_t{0});
  return b;
}

Bytes contents(const Packet& p) {
  Bytes out(p.len());
  EXPECT_TRUE(p.copy_out(0, out));
  return out;
}

void expect_full(const HeapPacketPool& pool) {
  EXPECT_EQ(pool.available_segments(), pool.total_segments());
  EXPECT_EQ(pool.available_descriptors(), pool.total_descriptors());
}

TEST(HeapPacketPoolTest, StartsFullWithRequestedShape) {
  HeapPacketPool pool(4, 256, 3);
  EXPECT_EQ(pool.total_segments(), 4u);
  EXPECT_EQ(pool.total_descriptors(), 3u);
  EXPECT_EQ(pool.segment_capacity(), 256u);
  expect_full(pool);
  EXPECT_EQ(pool.alloc_failures(), 0u);
}

TEST(HeapPacketPoolTest, DefaultCapacityIsAnMbufDataRoom) {
  HeapPacketPool pool(1);
  EXPECT_EQ(pool.segment_capacity(), 2048u + 128u);
  Packet p = pool.alloc(128);
  EXPECT_EQ(p.head()->tailroom(), 2048u);
}

TEST(HeapPacketPoolTest, AllocatedBlocksDoNotOverlap) {
  HeapPacketPool pool(3, 100);
  std::array<Packet, 3> p;
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = pool.alloc(0);
    std::fill_n(p[i].append(100), 100, static_cast<uint8_t>(i));
  }
  for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(contents(p[i]), Bytes(100, static_cast<uint8_t>(i)));
}

TEST(HeapPacketPoolTest, ExhaustedAllocReturnsEmptyAndCounts) {
  HeapPacketPool pool(2, 64);
  Packet a = pool.alloc(0);
  Packet b = pool.alloc(0);
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(pool.available_segments(), 0u);
  Packet c = pool.alloc(0);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(pool.segment_alloc_failures(), 1u);
  EXPECT_EQ(pool.alloc_failures(), 1u);
  a.reset();
  EXPECT_FALSE(pool.alloc(0).empty());  // recycled
  b.reset();
  expect_full(pool);
}

TEST(HeapPacketPoolTest, HeadroomLargerThanCapacityFails) {
  HeapPacketPool pool(2, 64);
  EXPECT_TRUE(pool.alloc(65).empty());
  EXPECT_EQ(pool.segment_alloc_failures(), 1u);
  Packet p = pool.alloc(64);  // all headroom, no tailroom
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p.head()->tailroom(), 0u);
}

TEST(HeapPacketPoolTest, AppendBytesOnExhaustionLeavesPacketUnchangedAndLeaksNothing) {
  HeapPacketPool pool(3, 64);
  Packet p = pool.alloc(8);
  ASSERT_TRUE(p.append_bytes(pattern(20), pool));
  const Bytes before = contents(p);
  // Needs 36 more in the head, then three more segments: only two are left.
  EXPECT_FALSE(p.append_bytes(pattern(36 + 64 * 2 + 1), pool));
  EXPECT_EQ(p.len(), 20u);
  EXPECT_EQ(p.segment_count(), 1u);
  EXPECT_EQ(p.head()->tailroom(), 36u);
  EXPECT_EQ(contents(p), before);
  EXPECT_EQ(pool.available_segments(), 2u);
  EXPECT_EQ(pool.segment_alloc_failures(), 1u);
  // Exactly what fits still succeeds.
  EXPECT_TRUE(p.append_bytes(pattern(36 + 64 * 2), pool));
  EXPECT_EQ(p.len(), 20u + 36 + 128);
  EXPECT_EQ(pool.available_segments(), 0u);
  p.reset();
  expect_full(pool);
}

TEST(HeapPacketPoolTest, AppendBytesToEmptyHandleOnExhaustionStaysEmpty) {
  HeapPacketPool pool(1, 64);
  Packet p;
  EXPECT_FALSE(p.append_bytes(pattern(65), pool));
  EXPECT_TRUE(p.empty());
  expect_full(pool);
  HeapPacketPool none(0, 64);
  EXPECT_FALSE(p.append_bytes(pattern(1), none));
  EXPECT_TRUE(p.empty());
}

TEST(HeapPacketPoolTest, CloneWithoutEnoughDescriptorsReturnsEmptyAndReleasesPartial) {
  HeapPacketPool pool(4, 64, 2);
  Packet p = pool.alloc(0);
  ASSERT_TRUE(p.append_bytes(pattern(150), pool));  // three segments
  Packet c = p.clone(pool);                          // needs three descriptors
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(pool.descriptor_alloc_failures(), 1u);
  EXPECT_EQ(pool.segment_alloc_failures(), 0u);
  EXPECT_EQ(pool.available_descriptors(), 2u);
  // The refcounts taken by the partial clone were given back.
  for (const Segment* s = p.head(); s != nullptr; s = s->next) EXPECT_EQ(s->refcnt, 1u);
  EXPECT_NE(p.prepend(0), nullptr);
  EXPECT_TRUE(p.head()->writable());
  p.reset();
  expect_full(pool);
}

TEST(HeapPacketPoolTest, CloneWithNoDescriptorsAtAll) {
  HeapPacketPool pool(1, 64);
  Packet p = pool.alloc(0);
  EXPECT_TRUE(p.clone(pool).empty());
  EXPECT_EQ(pool.descriptor_alloc_failures(), 1u);
  EXPECT_TRUE(p.head()->writable());
}

TEST(HeapPacketPoolTest, CloneDescriptorsFromAnotherPool) {
  HeapPacketPool blocks(2, 64);
  HeapPacketPool descriptors(0, 64, 4);
  {
    Packet p = blocks.alloc(0);
    ASSERT_TRUE(p.append_bytes(pattern(100), blocks));
    Packet c = p.clone(descriptors);
    ASSERT_FALSE(c.empty());
    EXPECT_EQ(descriptors.available_descriptors(), 2u);
    p.reset();
    EXPECT_EQ(blocks.available_segments(), 0u);  // still used by the clone
    EXPECT_EQ(contents(c), pattern(100));
  }
  expect_full(blocks);
  expect_full(descriptors);
}

TEST(HeapPacketPoolTest, CopyOnExhaustionReturnsEmptyAndLeaksNothing) {
  HeapPacketPool pool(4, 64);
  Packet p = pool.alloc(0);
  ASSERT_TRUE(p.append_bytes(pattern(150), pool));  // three segments, one left
  Packet q = p.copy(pool, 0);                        // needs three
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pool.available_segments(), 1u);
  EXPECT_GE(pool.segment_alloc_failures(), 1u);
  p.trim_back(100);                      // one segment now, two free
  Packet r = p.copy(pool, 0);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(contents(r), pattern(50));
  Packet s = p.copy(pool, 65);           // headroom larger than a block
  EXPECT_TRUE(s.empty());
  p.reset();
  r.reset();
  expect_full(pool);
}

TEST(HeapPacketPoolTest, AllocBurstFillsUntilExhausted) {
  HeapPacketPool pool(5, 64);
  std::array<Packet, 3> first;
  EXPECT_EQ(pool.alloc_burst(first, 16), 3u);
  for (const Packet& p : first) {
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(p.head()->headroom(), 16u);
  }
  std::array<Packet, 4> second;
  PacketPool& base = pool;  // through the interface
  EXPECT_EQ(base.alloc_burst(second, 0), 2u);
  EXPECT_FALSE(second[1].empty());
  EXPECT_TRUE(second[2].empty());
  EXPECT_TRUE(second[3].empty());
  EXPECT_EQ(base.alloc_failures(), 1u);
  EXPECT_EQ(pool.alloc_burst({}, 0), 0u);
}

TEST(HeapPacketPoolTest, ReleaseOrderDoesNotMatterAcrossManyClones) {
  HeapPacketPool pool(8, 64, 32);
  Packet p = pool.alloc(0);
  ASSERT_TRUE(p.append_bytes(pattern(200), pool));  // four segments
  std::vector<Packet> clones;
  for (int i = 0; i < 4; ++i) clones.push_back(p.clone(pool));
  EXPECT_EQ(pool.available_descriptors(), 16u);
  clones[1].trim_front(100);
  clones[2].trim_back(150);
  p.reset();
  clones[0].reset();
  EXPECT_EQ(pool.available_segments(), 4u);
  clones[3].reset();
  clones[1].reset();
  EXPECT_EQ(contents(clones[2]), pattern(50));
  clones[2].reset();
  expect_full(pool);
}

TEST(HeapPacketPoolDeathTest, ReportsPacketsThatOutliveThePool) {
  auto outlive = [] {
    Segment* leaked = nullptr;
    {
      HeapPacketPool pool(2, 64, 1);
      Packet p = pool.alloc(0);
      leaked = p.release();  // never handed back
    }
    (void)leaked;
  };
#ifdef NDEBUG
  ::testing::internal::CaptureStderr();
  outlive();  // reports and carries on
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("1 of 2 segments"), std::string::npos);
#else
  EXPECT_DEATH(outlive(), "1 of 2 segments and 0 of 1 clone descriptors still in use");
#endif
}

}  // namespace
}  // namespace joyride::buf
