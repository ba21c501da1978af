// Packet: headroom/tailroom, chains, trims, reads, clone sharing, chain() and copy().
// A randomized test runs the same operations on a Packet and on a std::vector model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "joyride/base/random.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/buf/packet.h"

namespace joyride::buf {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes pattern(size_t n, uint8_t start = 0) {
  Bytes b(n);
  std::iota(b.begin(), b.end(), start);
  return b;
}

// Bytes [from, to) of pattern(n).
Bytes slice(size_t n, size_t from, size_t to) {
  const Bytes all = pattern(n);
  return Bytes(all.begin() + static_cast<ptrdiff_t>(from), all.begin() + static_cast<ptrdiff_t>(to));
}

Bytes contents(const Packet& p) {
  Bytes out(p.len());
  EXPECT_TRUE(p.copy_out(0, out));
  return out;
}

// The chain's bookkeeping agrees with itself: pkt_len is the sum of data_len.
size_t chain_len(const Packet& p) {
  size_t n = 0;
  p.for_each_segment([&](std::span<const uint8_t> s) { n += s.size(); });
  return n;
}

class PacketTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kCap = 64;
  HeapPacketPool pool_{32, kCap, 32};

  Packet make(const Bytes& bytes, uint32_t headroom = 0) {
    Packet p = pool_.alloc(headroom);
    EXPECT_FALSE(p.empty());
    EXPECT_TRUE(p.append_bytes(bytes, pool_));
    return p;
  }
  void expect_pool_full() {
    EXPECT_EQ(pool_.available_segments(), pool_.total_segments());
    EXPECT_EQ(pool_.available_descriptors(), pool_.total_descriptors());
  }
};

TEST_F(PacketTest, FreshPacketHasRequestedHeadroomAndRestAsTailroom) {
  Packet p = pool_.alloc(16);
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p.len(), 0u);
  EXPECT_EQ(p.head()->headroom(), 16u);
  EXPECT_EQ(p.head()->tailroom(), kCap - 16);
  EXPECT_TRUE(p.is_contiguous());
  EXPECT_EQ(p.segment_count(), 1u);
  EXPECT_TRUE(p.head()->writable());
  EXPECT_FALSE(p.head()->is_indirect());
}

TEST_F(PacketTest, PrependGrowsIntoHeadroom) {
  Packet p = make(pattern(8), 16);
  uint8_t* hdr = p.prepend(4);
  ASSERT_NE(hdr, nullptr);
  EXPECT_EQ(hdr, p.data());
  hdr[0] = 0xaa;
  EXPECT_EQ(p.len(), 12u);
  EXPECT_EQ(p.head_len(), 12u);
  EXPECT_EQ(p.head()->headroom(), 12u);
  EXPECT_EQ(p.data()[0], 0xaa);
  EXPECT_EQ(p.data()[4], 0);  // first byte of the original payload
  ASSERT_NE(p.prepend(12), nullptr);  // exactly all of the headroom
  EXPECT_EQ(p.head()->headroom(), 0u);
  EXPECT_EQ(p.len(), 24u);
}

TEST_F(PacketTest, PrependBeyondHeadroomFailsUnchanged) {
  Packet p = make(pattern(8), 16);
  const Bytes before = contents(p);
  EXPECT_EQ(p.prepend(17), nullptr);
  EXPECT_EQ(p.len(), 8u);
  EXPECT_EQ(p.head()->headroom(), 16u);
  EXPECT_EQ(contents(p), before);
}

TEST_F(PacketTest, AppendGrowsIntoTailroomAndFailsUnchangedBeyondIt) {
  Packet p = pool_.alloc(16);
  uint8_t* tail = p.append(kCap - 16);
  ASSERT_NE(tail, nullptr);
  EXPECT_EQ(tail, p.data());
  EXPECT_EQ(p.head()->tailroom(), 0u);
  EXPECT_EQ(p.append(1), nullptr);
  EXPECT_EQ(p.len(), kCap - 16);
}

TEST_F(PacketTest, AppendOnChainGrowsTheLastSegment) {
  Packet p = make(pattern(100));  // 64 + 36
  ASSERT_EQ(p.segment_count(), 2u);
  uint8_t* tail = p.append(28);
  ASSERT_NE(tail, nullptr);
  tail[27] = 0xee;
  EXPECT_EQ(p.len(), 128u);
  EXPECT_EQ(p.append(1), nullptr);
  Bytes out(1);
  ASSERT_TRUE(p.copy_out(127, out));
  EXPECT_EQ(out[0], 0xee);
}

TEST_F(PacketTest, EmptyHandleIsSafe) {
  Packet p;
  EXPECT_TRUE(p.empty());
  EXPECT_FALSE(p);
  EXPECT_EQ(p.len(), 0u);
  EXPECT_EQ(p.segment_count(), 0u);
  EXPECT_TRUE(p.is_contiguous());
  EXPECT_EQ(p.prepend(1), nullptr);
  EXPECT_EQ(p.append(1), nullptr);
  EXPECT_TRUE(p.trim_front(0));
  EXPECT_TRUE(p.trim_back(0));
  EXPECT_FALSE(p.trim_front(1));
  EXPECT_FALSE(p.trim_back(1));
  EXPECT_TRUE(p.copy_out(0, {}));
  uint8_t scratch[1];
  EXPECT_EQ(p.read(0, 1, scratch), nullptr);
  EXPECT_TRUE(p.clone(pool_).empty());
  EXPECT_TRUE(p.copy(pool_, 0).empty());
  expect_pool_full();
}

TEST_F(PacketTest, AppendBytesBuildsChainAcrossManySegments) {
  const Bytes data = pattern(1000, 7);
  Packet p = make(data, 10);
  EXPECT_EQ(p.len(), 1000u);
  EXPECT_EQ(chain_len(p), 1000u);
  // 54 bytes in the head (after 10 of headroom), then 64 per segment.
  EXPECT_EQ(p.segment_count(), 1u + (1000 - 54 + kCap - 1) / kCap);
  EXPECT_FALSE(p.is_contiguous());
  EXPECT_EQ(p.head_len(), 54u);
  EXPECT_EQ(contents(p), data);
  EXPECT_EQ(pool_.available_segments(), pool_.total_segments() - p.segment_count());
  p.reset();
  expect_pool_full();
}

TEST_F(PacketTest, AppendBytesToEmptyHandleAllocatesAHead) {
  Packet p;
  ASSERT_TRUE(p.append_bytes(pattern(70), pool_));
  EXPECT_EQ(p.len(), 70u);
  EXPECT_EQ(p.head()->headroom(), 0u);
  EXPECT_EQ(contents(p), pattern(70));
  EXPECT_TRUE(p.append_bytes({}, pool_));
  EXPECT_EQ(p.len(), 70u);
}

TEST_F(PacketTest, TrimFrontWithinAndAcrossSegments) {
  Packet p = make(pattern(200));  // 64 64 64 8
  ASSERT_EQ(p.segment_count(), 4u);
  const uint32_t avail = pool_.available_segments();
  ASSERT_TRUE(p.trim_front(10));
  EXPECT_EQ(p.segment_count(), 4u);
  EXPECT_EQ(p.head()->headroom(), 10u);
  ASSERT_TRUE(p.trim_front(54));  // exactly the rest of the head: it is freed
  EXPECT_EQ(p.segment_count(), 3u);
  EXPECT_EQ(pool_.available_segments(), avail + 1);
  ASSERT_TRUE(p.trim_front(100));  // one whole segment and 36 bytes of the next
  EXPECT_EQ(p.segment_count(), 2u);
  EXPECT_EQ(p.len(), 36u);
  EXPECT_EQ(chain_len(p), 36u);
  EXPECT_EQ(contents(p), slice(200, 164, 200));
}

TEST_F(PacketTest, TrimFrontToExactlyZeroKeepsOneEmptySegment) {
  Packet p = make(pattern(200));
  ASSERT_TRUE(p.trim_front(200));
  EXPECT_FALSE(p.empty());
  EXPECT_EQ(p.len(), 0u);
  EXPECT_EQ(p.segment_count(), 1u);
  EXPECT_EQ(pool_.available_segments(), pool_.total_segments() - 1);
  // Still usable.
  ASSERT_TRUE(p.append_bytes(pattern(5), pool_));
  EXPECT_EQ(contents(p), pattern(5));
}

TEST_F(PacketTest, TrimBackWithinAndAcrossSegments) {
  Packet p = make(pattern(200));  // 64 64 64 8
  const uint32_t avail = pool_.available_segments();
  ASSERT_TRUE(p.trim_back(8));  // the last segment empties and is freed
  EXPECT_EQ(p.segment_count(), 3u);
  EXPECT_EQ(pool_.available_segments(), avail + 1);
  ASSERT_TRUE(p.trim_back(64 + 1));
  EXPECT_EQ(p.segment_count(), 2u);
  EXPECT_EQ(p.len(), 127u);
  EXPECT_EQ(chain_len(p), 127u);
  EXPECT_EQ(contents(p), pattern(127));
  // The shortened last segment has tailroom again.
  EXPECT_NE(p.append(1), nullptr);
}

TEST_F(PacketTest, TrimBackToExactlyZeroKeepsTheHead) {
  Packet p = make(pattern(200), 4);
  ASSERT_TRUE(p.trim_back(200));
  EXPECT_EQ(p.len(), 0u);
  EXPECT_EQ(p.segment_count(), 1u);
  EXPECT_EQ(p.head()->headroom(), 4u);
  EXPECT_EQ(pool_.available_segments(), pool_.total_segments() - 1);
}

TEST_F(PacketTest, TrimMoreThanLengthFailsUnchanged) {
  Packet p = make(pattern(100));
  EXPECT_FALSE(p.trim_front(101));
  EXPECT_FALSE(p.trim_back(101));
  EXPECT_EQ(p.len(), 100u);
  EXPECT_EQ(p.segment_count(), 2u);
  EXPECT_EQ(contents(p), pattern(100));
}

TEST_F(PacketTest, CopyOutAcrossBoundariesAndOutOfRange) {
  Packet p = make(pattern(150));
  Bytes out(100);
  ASSERT_TRUE(p.copy_out(30, out));
  EXPECT_EQ(out, slice(150, 30, 130));
  EXPECT_TRUE(p.copy_out(150, {}));
  Bytes one(1);
  EXPECT_FALSE(p.copy_out(150, one));
  EXPECT_FALSE(p.copy_out(151, {}));
  Bytes big(151);
  EXPECT_FALSE(p.copy_out(0, big));
}

TEST_F(PacketTest, ReadPointsIntoSegmentWhenContiguousElseUsesScratch) {
  Packet p = make(pattern(150));
  uint8_t scratch[32] = {};
  const uint8_t* r = p.read(64, 20, scratch);  // wholly in the second segment
  EXPECT_EQ(r, p.head()->next->data());
  r = p.read(60, 8, scratch);  // straddles the first boundary
  EXPECT_EQ(r, scratch);
  EXPECT_EQ(Bytes(r, r + 8), slice(150, 60, 68));
  EXPECT_EQ(p.read(140, 11, scratch), nullptr);
  EXPECT_NE(p.read(150, 0, scratch), nullptr);
}

TEST_F(PacketTest, CloneSharesStorageReadOnly) {
  Packet p = make(pattern(100), 16);
  Packet c = p.clone(pool_);
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c.len(), 100u);
  EXPECT_EQ(c.segment_count(), 2u);
  EXPECT_EQ(c.data(), p.data());  // same bytes, no copy
  EXPECT_TRUE(c.head()->is_indirect());
  EXPECT_EQ(p.head()->refcnt, 2u);
  EXPECT_EQ(pool_.available_descriptors(), pool_.total_descriptors() - 2);
  EXPECT_EQ(contents(c), pattern(100));
  // Neither handle may write the shared bytes.
  for (Packet* h : {&p, &c}) {
    EXPECT_FALSE(h->head()->writable());
    EXPECT_EQ(h->prepend(1), nullptr);
    EXPECT_EQ(h->append(1), nullptr);
    EXPECT_EQ(h->len(), 100u);
  }
  // append_bytes does not write into the shared tail: it chains a fresh segment.
  ASSERT_TRUE(c.append_bytes(pattern(3, 200), pool_));
  EXPECT_EQ(c.segment_count(), 3u);
  EXPECT_EQ(contents(p), pattern(100));
  EXPECT_EQ(c.len(), 103u);
}

TEST_F(PacketTest, CloneTrimsIndependently) {
  Packet p = make(pattern(150));
  Packet c = p.clone(pool_);
  ASSERT_TRUE(c.trim_front(70));  // frees the clone's first descriptor only
  ASSERT_TRUE(c.trim_back(10));
  EXPECT_EQ(c.len(), 70u);
  EXPECT_EQ(contents(c), slice(150, 70, 140));
  EXPECT_EQ(p.len(), 150u);
  EXPECT_EQ(contents(p), pattern(150));
  EXPECT_TRUE(p.head()->writable());  // the clone no longer uses the first block
  ASSERT_TRUE(p.trim_front(20));
  EXPECT_EQ(contents(c), slice(150, 70, 140));
}

TEST_F(PacketTest, FreeOriginalFirstThenClone) {
  Packet p = make(pattern(150));
  Packet c = p.clone(pool_);
  p.reset();
  // The blocks stay with the clone; the clone is now their only user.
  EXPECT_EQ(pool_.available_segments(), pool_.total_segments() - 3);
  EXPECT_EQ(contents(c), pattern(150));
  EXPECT_TRUE(c.head()->writable());
  EXPECT_TRUE(c.trim_back(100));  // frees two indirect descriptors and their blocks
  EXPECT_EQ(pool_.available_segments(), pool_.total_segments() - 1);
  c.reset();
  expect_pool_full();
}

TEST_F(PacketTest, FreeCloneFirstThenOriginal) {
  Packet p = make(pattern(150));
  Packet c = p.clone(pool_);
  c.reset();
  EXPECT_EQ(pool_.available_descriptors(), pool_.total_descriptors());
  EXPECT_TRUE(p.head()->writable());
  EXPECT_NE(p.append(1), nullptr);
  p.reset();
  expect_pool_full();
}

TEST_F(PacketTest, CloneOfCloneSharesTheSameStorage) {
  Packet p = make(pattern(10));
  Packet c1 = p.clone(pool_);
  Packet c2 = c1.clone(pool_);
  EXPECT_EQ(p.head()->refcnt, 3u);
  EXPECT_EQ(c2.head()->storage, p.head());
  p.reset();
  c2.reset();
  EXPECT_EQ(contents(c1), pattern(10));
  EXPECT_TRUE(c1.head()->writable());
  c1.reset();
  expect_pool_full();
}

TEST_F(PacketTest, ChainJoinsPackets) {
  Packet a = make(pattern(100));
  Packet b = make(pattern(30, 100));
  a.chain(std::move(b));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(a.len(), 130u);
  EXPECT_EQ(chain_len(a), 130u);
  EXPECT_EQ(a.segment_count(), 3u);
  EXPECT_EQ(contents(a), pattern(130));
  a.chain(Packet());  // no-op
  EXPECT_EQ(a.len(), 130u);
  Packet empty;
  empty.chain(std::move(a));
  EXPECT_EQ(empty.len(), 130u);
  EXPECT_TRUE(a.empty());
  // Trimming across the join works.
  ASSERT_TRUE(empty.trim_back(40));
  EXPECT_EQ(contents(empty), pattern(90));
}

TEST_F(PacketTest, CopyIsDeepAndWritable) {
  Packet p = make(pattern(50));
  Packet shared = p.clone(pool_);  // makes p's head read-only
  ASSERT_TRUE(p.append_bytes(pattern(40, 50), pool_));  // so this goes in a new segment
  ASSERT_EQ(p.segment_count(), 2u);
  Packet q = p.copy(pool_, 8);
  ASSERT_FALSE(q.empty());
  EXPECT_EQ(q.segment_count(), 2u);  // 8 + 90 > 64
  EXPECT_EQ(q.head()->headroom(), 8u);
  EXPECT_EQ(contents(q), pattern(90));
  EXPECT_NE(q.data(), p.data());
  EXPECT_TRUE(q.head()->writable());
  q.data()[0] = 0xff;
  EXPECT_EQ(p.data()[0], 0);
  // Fits in one segment when small enough.
  ASSERT_TRUE(p.trim_back(40));
  Packet r = p.copy(pool_, 4);
  EXPECT_EQ(r.segment_count(), 1u);
  EXPECT_EQ(contents(r), pattern(50));
}

TEST_F(PacketTest, MoveTransfersOwnership) {
  Packet a = make(pattern(10));
  Packet b = std::move(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.len(), 10u);
  Packet c = make(pattern(100));
  c = std::move(b);  // frees c's old chain
  EXPECT_EQ(c.len(), 10u);
  EXPECT_EQ(pool_.available_segments(), pool_.total_segments() - 1);
}

// Runs random operations on a Packet and on a byte vector, comparing after each.
class PacketModelTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(PacketModelTest, MatchesVectorModel) {
  base::SeededRandom rng(GetParam());
  constexpr uint32_t kSegCap = 48;
  HeapPacketPool pool(16, kSegCap, 12);  // small enough to run out often
  Packet p = pool.alloc(16);
  Bytes model;
  uint8_t next_byte = 0;
  size_t max_segments = 0, clones = 0, shared_steps = 0;
  auto fresh = [&](size_t n) {
    Bytes b(n);
    for (auto& x : b) x = next_byte++;
    return b;
  };
  for (int step = 0; step < 2000; ++step) {
    SCOPED_TRACE(step);
    switch (rng.uniform(9)) {
      case 0: {  // append_bytes; all or nothing
        const Bytes b = fresh(rng.uniform(150));
        if (p.append_bytes(b, pool)) {
          model.insert(model.end(), b.begin(), b.end());
        }
        break;
      }
      case 1: {  // prepend
        const size_t n = rng.uniform(20);
        if (uint8_t* h = p.prepend(n)) {
          const Bytes b = fresh(n);
          std::copy(b.begin(), b.end(), h);
          model.insert(model.begin(), b.begin(), b.end());
        }
        break;
      }
      case 2: {  // append
        const size_t n = rng.uniform(20);
        if (uint8_t* t = p.append(n)) {
          const Bytes b = fresh(n);
          std::copy(b.begin(), b.end(), t);
          model.insert(model.end(), b.begin(), b.end());
        }
        break;
      }
      case 3: {
        const size_t n = rng.uniform(static_cast<uint32_t>(model.size() + 10));
        ASSERT_EQ(p.trim_front(n), n <= model.size());
        if (n <= model.size()) model.erase(model.begin(), model.begin() + static_cast<ptrdiff_t>(n));
        break;
      }
      case 4: {
        const size_t n = rng.uniform(static_cast<uint32_t>(model.size() + 10));
        ASSERT_EQ(p.trim_back(n), n <= model.size());
        if (n <= model.size()) model.resize(model.size() - n);
        break;
      }
      case 5: {  // copy_out / read of a random range
        const size_t off = rng.uniform(static_cast<uint32_t>(model.size() + 2));
        const size_t n = rng.uniform(100);
        const bool in_range = off <= model.size() && n <= model.size() - off;
        Bytes out(n), scratch(n + 1);
        ASSERT_EQ(p.copy_out(off, out), in_range);
        const uint8_t* r = p.read(off, n, scratch.data());
        ASSERT_EQ(r != nullptr, in_range);
        if (in_range) {
          const Bytes want(model.begin() + static_cast<ptrdiff_t>(off), model.begin() + static_cast<ptrdiff_t>(off + n));
          ASSERT_EQ(out, want);
          ASSERT_EQ(Bytes(r, r + n), want);
        }
        break;
      }
      case 6: {  // clone, trim the clone, replace the original with it sometimes
        Packet c = p.clone(pool);
        if (c.empty()) break;
        ++clones;
        ASSERT_EQ(contents(c), model);
        if (rng.chance(0.5)) {
          p = std::move(c);  // the original is freed first; the clone carries on
        }
        break;
      }
      case 7: {  // copy, and keep the copy in place of the original sometimes
        Packet c = p.copy(pool, rng.uniform(20));
        if (c.empty()) break;
        ASSERT_EQ(contents(c), model);
        if (rng.chance(0.5)) p = std::move(c);
        break;
      }
      case 8: {  // chain on a freshly built packet
        const Bytes b = fresh(rng.uniform(80));
        Packet t;
        if (!t.append_bytes(b, pool)) break;
        p.chain(std::move(t));
        model.insert(model.end(), b.begin(), b.end());
        break;
      }
    }
    ASSERT_EQ(p.len(), model.size());
    ASSERT_EQ(chain_len(p), model.size());
    ASSERT_EQ(contents(p), model);
    // Nothing else holds blocks or descriptors: whatever is not free is in p.
    size_t indirect = 0;
    for (const Segment* s = p.head(); s != nullptr; s = s->next) indirect += s->is_indirect();
    ASSERT_EQ(pool.available_descriptors(), pool.total_descriptors() - indirect);
    max_segments = std::max(max_segments, p.segment_count());
    shared_steps += indirect > 0;
  }
  // The run reached the states worth testing: long chains, clones, exhaustion.
  EXPECT_GT(max_segments, 5u);
  EXPECT_GT(clones, 10u);
  EXPECT_GT(shared_steps, 100u);
  EXPECT_GT(pool.segment_alloc_failures(), 0u);
  EXPECT_GT(pool.descriptor_alloc_failures(), 0u);
  p.reset();
  EXPECT_EQ(pool.available_segments(), pool.total_segments());
  EXPECT_EQ(pool.available_descriptors(), pool.total_descriptors());
}

INSTANTIATE_TEST_SUITE_P(Seeds, PacketModelTest, ::testing::Values(1, 2, 3, 42, 1234, 99991));

}  // namespace
}  // namespace joyride::buf
