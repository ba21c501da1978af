// OutOfOrderQueue: overlap trimming on every side (table), D-SACK ranges, drain, the
// wrap at 2^32, limits, SACK block order (RFC 2018 §4-5), and a seeded random arrival
// order checked against a byte-set model. Every test returns all packets to its pool.
#include "joyride/core/tcp/ooo_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "joyride/base/random.h"
#include "joyride/buf/heap_pool.h"

namespace joyride::core::tcp {
namespace {

using base::SeqNum;
using wire::SackBlock;
using Bytes = std::vector<uint8_t>;

// The byte the stream carries at sequence number s: any change of position shows.
uint8_t stream_byte(SeqNum s) { return static_cast<uint8_t>(s.value() * 131u + (s.value() >> 8)); }

struct Range {
  uint32_t left;  // offsets from the test's base sequence number
  uint32_t right;
  bool operator==(const Range&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Range& r) { return os << "[" << r.left << "," << r.right << ")"; }

class OooQueueTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kSegCap = 32;  // small, so payloads are chains and trims cross segments

  void TearDown() override { expect_pool_full(); }

  SeqNum at(uint32_t off) const { return base_ + off; }
  uint32_t off(SeqNum s) const { return static_cast<uint32_t>(s - base_); }

  buf::Packet make(uint32_t left, uint32_t right) {
    Bytes bytes(right - left);
    for (uint32_t i = 0; i < bytes.size(); ++i) bytes[i] = stream_byte(at(left + i));
    buf::Packet p = pool_.alloc(0);
    EXPECT_FALSE(p.empty());
    EXPECT_TRUE(p.append_bytes(bytes, pool_));
    return p;
  }
  OooInsertResult insert(OutOfOrderQueue& q, uint32_t left, uint32_t right) {
    return q.insert(at(left), make(left, right));
  }

  std::vector<Range> sack(const OutOfOrderQueue& q, size_t max = 64) {
    std::vector<SackBlock> blocks(max);
    blocks.resize(q.sack_blocks(blocks));
    std::vector<Range> out;
    for (const SackBlock& b : blocks) out.push_back({off(b.left), off(b.right)});
    return out;
  }
  std::vector<Range> sorted_ranges(const OutOfOrderQueue& q) {
    std::vector<Range> r = sack(q);
    std::sort(r.begin(), r.end(), [](const Range& a, const Range& b) { return a.left < b.left; });
    return r;
  }

  // Empties the queue range by range and returns the packets it held as ranges,
  // checking every byte. This is how tests see how the queue split its packets.
  std::vector<Range> drain_layout(OutOfOrderQueue& q) {
    std::vector<Range> layout;
    for (const Range& r : sorted_ranges(q)) {
      uint32_t next = r.left;
      const SeqNum end = q.drain(at(r.left), [&](buf::Packet p) {
        expect_stream(p, next);
        layout.push_back({next, next + static_cast<uint32_t>(p.len())});
        next += static_cast<uint32_t>(p.len());
      });
      EXPECT_EQ(off(end), r.right);
    }
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.bytes(), 0u);
    return layout;
  }

  void expect_stream(const buf::Packet& p, uint32_t left) {
    Bytes got(p.len());
    ASSERT_TRUE(p.copy_out(0, got));
    for (uint32_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], stream_byte(at(left + i))) << "byte at offset " << left + i;
    }
  }

  void expect_pool_full() { EXPECT_EQ(pool_.available_segments(), pool_.total_segments()) << "packets leaked"; }

  SeqNum base_{1000};
  buf::HeapPacketPool pool_{1024, kSegCap};
};

// ---------------------------------------------------------------------------------
// Overlaps on every side. Held: [100,200) and [300,400) (two packets).

struct OverlapCase {
  const char* name;
  Range insert;
  uint32_t new_bytes;
  std::optional<Range> duplicate;
  std::vector<Range> ranges;  // SACK ranges afterwards, sorted
  std::vector<Range> layout;  // packets afterwards
};
void PrintTo(const OverlapCase& c, std::ostream* os) { *os << c.name; }

class OooOverlapTest : public OooQueueTest, public ::testing::WithParamInterface<OverlapCase> {};

TEST_P(OooOverlapTest, TrimsKeepingHeldBytes) {
  const OverlapCase& c = GetParam();
  OutOfOrderQueue q(100000, 100);
  ASSERT_EQ(insert(q, 100, 200).new_bytes, 100u);
  ASSERT_EQ(insert(q, 300, 400).new_bytes, 100u);

  const OooInsertResult r = insert(q, c.insert.left, c.insert.right);
  EXPECT_FALSE(r.dropped);
  EXPECT_EQ(r.new_bytes, c.new_bytes);
  ASSERT_EQ(r.duplicate.has_value(), c.duplicate.has_value());
  if (c.duplicate) {
    EXPECT_EQ(off(r.duplicate->left), c.duplicate->left);
    EXPECT_EQ(off(r.duplicate->right), c.duplicate->right);
  }
  EXPECT_EQ(q.bytes(), 200u + c.new_bytes);
  EXPECT_EQ(q.segments(), c.layout.size());
  EXPECT_EQ(off(*q.highest_end()), c.ranges.back().right);
  EXPECT_EQ(sorted_ranges(q), c.ranges);
  EXPECT_EQ(drain_layout(q), c.layout);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, OooOverlapTest,
    ::testing::Values(
        OverlapCase{"disjoint_in_gap", {220, 250}, 30, std::nullopt,
                    {{100, 200}, {220, 250}, {300, 400}}, {{100, 200}, {220, 250}, {300, 400}}},
        OverlapCase{"disjoint_before_all", {10, 50}, 40, std::nullopt,
                    {{10, 50}, {100, 200}, {300, 400}}, {{10, 50}, {100, 200}, {300, 400}}},
        OverlapCase{"disjoint_after_all", {450, 460}, 10, std::nullopt,
                    {{100, 200}, {300, 400}, {450, 460}}, {{100, 200}, {300, 400}, {450, 460}}},
        OverlapCase{"adjacent_after_first", {200, 250}, 50, std::nullopt,
                    {{100, 250}, {300, 400}}, {{100, 200}, {200, 250}, {300, 400}}},
        OverlapCase{"adjacent_before_second", {250, 300}, 50, std::nullopt,
                    {{100, 200}, {250, 400}}, {{100, 200}, {250, 300}, {300, 400}}},
        OverlapCase{"fills_gap_exactly", {200, 300}, 100, std::nullopt,
                    {{100, 400}}, {{100, 200}, {200, 300}, {300, 400}}},
        OverlapCase{"overlaps_left_side", {50, 150}, 50, Range{100, 150},
                    {{50, 200}, {300, 400}}, {{50, 100}, {100, 200}, {300, 400}}},
        OverlapCase{"overlaps_right_side", {150, 250}, 50, Range{150, 200},
                    {{100, 250}, {300, 400}}, {{100, 200}, {200, 250}, {300, 400}}},
        OverlapCase{"bridges_both", {150, 350}, 100, Range{150, 200},
                    {{100, 400}}, {{100, 200}, {200, 300}, {300, 400}}},
        OverlapCase{"inside", {120, 180}, 0, Range{120, 180},
                    {{100, 200}, {300, 400}}, {{100, 200}, {300, 400}}},
        OverlapCase{"inside_touching_left", {100, 150}, 0, Range{100, 150},
                    {{100, 200}, {300, 400}}, {{100, 200}, {300, 400}}},
        OverlapCase{"inside_touching_right", {150, 200}, 0, Range{150, 200},
                    {{100, 200}, {300, 400}}, {{100, 200}, {300, 400}}},
        OverlapCase{"exact_duplicate", {300, 400}, 0, Range{300, 400},
                    {{100, 200}, {300, 400}}, {{100, 200}, {300, 400}}},
        OverlapCase{"covers_one", {50, 250}, 100, Range{100, 200},
                    {{50, 250}, {300, 400}}, {{50, 250}, {300, 400}}},
        OverlapCase{"covers_one_exactly_on_left", {100, 250}, 50, Range{100, 200},
                    {{100, 250}, {300, 400}}, {{100, 200}, {200, 250}, {300, 400}}},
        OverlapCase{"covers_both", {50, 450}, 200, Range{100, 200},
                    {{50, 450}}, {{50, 450}}},
        OverlapCase{"covers_one_overlaps_next", {50, 350}, 150, Range{100, 200},
                    {{50, 400}}, {{50, 300}, {300, 400}}},
        OverlapCase{"overlaps_first_covers_second", {150, 450}, 150, Range{150, 200},
                    {{100, 450}}, {{100, 200}, {200, 450}}}),
    [](const ::testing::TestParamInfo<OverlapCase>& p) { return std::string(p.param.name); });

TEST_F(OooQueueTest, DuplicateRunSpansAdjacentHeldPackets) {
  OutOfOrderQueue q(100000, 100);
  insert(q, 100, 200);
  insert(q, 200, 300);
  insert(q, 400, 500);
  // [150,300) is held in two packets: one run. Then new bytes [300,400), then held again.
  OooInsertResult r = insert(q, 150, 450);
  EXPECT_EQ(r.new_bytes, 100u);
  ASSERT_TRUE(r.duplicate);
  EXPECT_EQ(off(r.duplicate->left), 150u);
  EXPECT_EQ(off(r.duplicate->right), 300u) << "only the first run of duplicate bytes";
  // Entirely held, across two packets: a full duplicate reported as one block.
  r = insert(q, 120, 280);
  EXPECT_EQ(r.new_bytes, 0u);
  ASSERT_TRUE(r.duplicate);
  EXPECT_EQ(off(r.duplicate->left), 120u);
  EXPECT_EQ(off(r.duplicate->right), 280u);
  EXPECT_EQ(q.bytes(), 400u);
  q.clear();
}

TEST_F(OooQueueTest, ExactlyCoveringAdjacentPacketsIsADuplicateAndChangesNothing) {
  OutOfOrderQueue q(100000, 100);
  insert(q, 100, 200);
  insert(q, 200, 300);
  const OooInsertResult r = insert(q, 100, 300);
  EXPECT_EQ(r.new_bytes, 0u);
  ASSERT_TRUE(r.duplicate);
  EXPECT_EQ(off(r.duplicate->left), 100u);
  EXPECT_EQ(off(r.duplicate->right), 300u);
  EXPECT_EQ(q.segments(), 2u);
  EXPECT_EQ(drain_layout(q), (std::vector<Range>{{100, 200}, {200, 300}}));
}

TEST_F(OooQueueTest, EmptyPayloadIsIgnored) {
  OutOfOrderQueue q(100, 10);
  const OooInsertResult r = q.insert(at(5), pool_.alloc(0));
  EXPECT_EQ(r.new_bytes, 0u);
  EXPECT_FALSE(r.dropped);
  EXPECT_FALSE(r.duplicate);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.highest_end());
}

// ---------------------------------------------------------------------------------
// Drain.

TEST_F(OooQueueTest, DrainDeliversOnlyWhatContinuesRcvNxt) {
  OutOfOrderQueue q(100000, 100);
  insert(q, 200, 300);
  insert(q, 300, 350);
  insert(q, 500, 600);
  int calls = 0;
  EXPECT_EQ(off(q.drain(at(100), [&](buf::Packet) { ++calls; })), 100u) << "gap before 200";
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(q.bytes(), 250u);

  // The gap [100,200) was filled by in-order data the caller delivered itself.
  std::vector<Range> got;
  uint32_t next = 200;
  EXPECT_EQ(off(q.drain(at(200), [&](buf::Packet p) {
              expect_stream(p, next);
              got.push_back({next, next + static_cast<uint32_t>(p.len())});
              next += static_cast<uint32_t>(p.len());
            })),
            350u);
  EXPECT_EQ(got, (std::vector<Range>{{200, 300}, {300, 350}}));
  EXPECT_EQ(q.bytes(), 100u);
  EXPECT_EQ(q.segments(), 1u);
  EXPECT_EQ(sack(q), (std::vector<Range>{{500, 600}}));
  q.clear();
}

TEST_F(OooQueueTest, DrainTrimsBelowRcvNxtAndDiscardsOldSegments) {
  OutOfOrderQueue q(100000, 100);
  insert(q, 200, 300);
  insert(q, 400, 500);
  insert(q, 500, 520);
  std::vector<Range> got;
  uint32_t next = 450;
  // rcv_nxt moved past [200,300) and into [400,500) by a segment the caller received.
  EXPECT_EQ(off(q.drain(at(450), [&](buf::Packet p) {
              expect_stream(p, next);
              got.push_back({next, next + static_cast<uint32_t>(p.len())});
              next += static_cast<uint32_t>(p.len());
            })),
            520u);
  EXPECT_EQ(got, (std::vector<Range>{{450, 500}, {500, 520}}));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST_F(OooQueueTest, DrainWithEverythingBelowRcvNxtDiscardsAll) {
  OutOfOrderQueue q(100000, 100);
  insert(q, 200, 300);
  insert(q, 310, 320);
  int calls = 0;
  EXPECT_EQ(off(q.drain(at(400), [&](buf::Packet) { ++calls; })), 400u);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(q.empty());
}

// ---------------------------------------------------------------------------------
// The wrap at 2^32: the same operations with the held data straddling it.

TEST_F(OooQueueTest, WorksAcrossTheSequenceWrap) {
  base_ = SeqNum(0xffffffffu - 249);  // offset 250 is sequence number 0
  OutOfOrderQueue q(100000, 100);
  insert(q, 300, 400);                                 // after the wrap
  EXPECT_EQ(insert(q, 150, 280).new_bytes, 130u);      // straddles 2^32
  OooInsertResult r = insert(q, 200, 350);             // overlaps both, across the wrap
  EXPECT_EQ(r.new_bytes, 20u);
  ASSERT_TRUE(r.duplicate);
  EXPECT_EQ(r.duplicate->left.value(), 0xffffffffu - 49);
  EXPECT_EQ(r.duplicate->right.value(), 30u);  // offset 280
  EXPECT_EQ(q.highest_end()->value(), 150u);
  std::vector<SackBlock> blocks(4);
  ASSERT_EQ(q.sack_blocks(blocks), 1u);
  EXPECT_EQ(blocks[0].left.value(), 0xffffffffu - 99);
  EXPECT_EQ(blocks[0].right.value(), 150u);
  insert(q, 50, 100);  // before the wrap, separate
  EXPECT_EQ(sorted_ranges(q), (std::vector<Range>{{50, 100}, {150, 400}}));
  EXPECT_EQ(drain_layout(q), (std::vector<Range>{{50, 100}, {150, 280}, {280, 300}, {300, 400}}));
}

// ---------------------------------------------------------------------------------
// Limits.

TEST_F(OooQueueTest, SegmentLimitRefusesWholeInsert) {
  OutOfOrderQueue q(100000, 3);
  insert(q, 100, 110);
  insert(q, 200, 210);
  insert(q, 300, 310);
  const size_t free_before = pool_.available_segments();
  OooInsertResult r = insert(q, 400, 410);
  EXPECT_TRUE(r.dropped);
  EXPECT_EQ(r.new_bytes, 0u);
  EXPECT_EQ(q.segments(), 3u);
  EXPECT_EQ(q.bytes(), 30u);
  EXPECT_EQ(pool_.available_segments(), free_before) << "the refused packet was freed";
  // Partly duplicate and refused: the duplicate part is still reported.
  r = insert(q, 205, 250);
  EXPECT_TRUE(r.dropped);
  ASSERT_TRUE(r.duplicate);
  EXPECT_EQ(off(r.duplicate->left), 205u);
  EXPECT_EQ(off(r.duplicate->right), 210u);
  // A full duplicate is not "dropped": nothing new needed storing.
  r = insert(q, 100, 110);
  EXPECT_FALSE(r.dropped);
  // Replacing a held packet leaves the count unchanged, so it is allowed at the limit.
  r = insert(q, 290, 320);
  EXPECT_FALSE(r.dropped);
  EXPECT_EQ(r.new_bytes, 20u);
  EXPECT_EQ(q.segments(), 3u);
  // Replacing two nets one fewer: room for another.
  EXPECT_FALSE(insert(q, 90, 220).dropped);
  EXPECT_EQ(q.segments(), 2u);
  EXPECT_FALSE(insert(q, 400, 410).dropped);
  EXPECT_EQ(sorted_ranges(q), (std::vector<Range>{{90, 220}, {290, 320}, {400, 410}}));
  q.clear();
}

TEST_F(OooQueueTest, ByteLimitRefusesWholeInsert) {
  OutOfOrderQueue q(100, 100);
  insert(q, 100, 160);
  EXPECT_TRUE(insert(q, 200, 241).dropped);
  EXPECT_EQ(q.bytes(), 60u);
  EXPECT_FALSE(insert(q, 200, 240).dropped) << "exactly at the limit";
  EXPECT_EQ(q.bytes(), 100u);
  EXPECT_TRUE(insert(q, 300, 301).dropped);
  // Overlap does not count twice: [150,170) brings only 10 new bytes... still too many.
  EXPECT_TRUE(insert(q, 150, 170).dropped);
  EXPECT_EQ(insert(q, 150, 160).new_bytes, 0u);
  EXPECT_EQ(q.bytes(), 100u);
  EXPECT_TRUE(insert(q, 0, 1000).dropped) << "a single segment bigger than the limit";
  // Replacing a held packet counts only the net growth: [90,170) replaces [100,160)
  // and adds 20 bytes, but 100 + 20 is over the limit.
  EXPECT_TRUE(insert(q, 90, 170).dropped);
  q.drain(at(100), [](buf::Packet) {});
  EXPECT_EQ(q.bytes(), 40u);
  EXPECT_FALSE(insert(q, 300, 360).dropped) << "draining frees room";
  q.clear();
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_TRUE(q.empty());
}

TEST_F(OooQueueTest, ByteLimitCountsReplacedBytesOnce) {
  OutOfOrderQueue q(100, 100);
  insert(q, 100, 150);
  insert(q, 200, 230);
  // Stores [90,160) (70 bytes) in place of [100,150): 30 + 70 = 100, at the limit.
  const OooInsertResult r = insert(q, 90, 160);
  EXPECT_FALSE(r.dropped);
  EXPECT_EQ(r.new_bytes, 20u);
  EXPECT_EQ(q.bytes(), 100u);
  EXPECT_EQ(q.segments(), 2u);
  q.clear();
}

// ---------------------------------------------------------------------------------
// SACK blocks (RFC 2018 §4: first block holds the segment that triggered the ACK, then
// the most recently reported ones).

TEST_F(OooQueueTest, SackBlocksFollowRfc2018Section5Case3) {
  // RFC 2018 §5, case 3: 500-byte segments from 5000, the 1st, 3rd, 5th and 7th lost.
  base_ = SeqNum(0);
  OutOfOrderQueue q(100000, 100);
  insert(q, 5500, 6000);
  EXPECT_EQ(sack(q), (std::vector<Range>{{5500, 6000}}));
  insert(q, 6500, 7000);
  EXPECT_EQ(sack(q), (std::vector<Range>{{6500, 7000}, {5500, 6000}}));
  insert(q, 7500, 8000);
  EXPECT_EQ(sack(q), (std::vector<Range>{{7500, 8000}, {6500, 7000}, {5500, 6000}}));
  insert(q, 8500, 9000);
  EXPECT_EQ(sack(q), (std::vector<Range>{{8500, 9000}, {7500, 8000}, {6500, 7000}, {5500, 6000}}));
  EXPECT_EQ(sack(q, 3), (std::vector<Range>{{8500, 9000}, {7500, 8000}, {6500, 7000}}))
      << "only as many as fit, most recent first";
  // A lost segment is retransmitted and fills a hole: the merged block goes first.
  insert(q, 6000, 6500);
  EXPECT_EQ(sack(q), (std::vector<Range>{{5500, 7000}, {8500, 9000}, {7500, 8000}}));
  q.clear();
}

TEST_F(OooQueueTest, SackOrderAfterExtensionsAndDuplicates) {
  OutOfOrderQueue q(100000, 100);
  insert(q, 100, 200);  // A
  insert(q, 300, 400);  // B
  insert(q, 500, 600);  // C
  EXPECT_EQ(sack(q), (std::vector<Range>{{500, 600}, {300, 400}, {100, 200}}));
  insert(q, 200, 250);  // extends A
  EXPECT_EQ(sack(q), (std::vector<Range>{{100, 250}, {500, 600}, {300, 400}}));
  insert(q, 320, 340);  // a duplicate inside B still triggers the ACK: B first
  EXPECT_EQ(sack(q), (std::vector<Range>{{300, 400}, {100, 250}, {500, 600}}));
  EXPECT_EQ(sack(q, 1), (std::vector<Range>{{300, 400}}));
  EXPECT_EQ(sack(q, 0), (std::vector<Range>{}));
  EXPECT_EQ(insert(q, 700, 701).new_bytes, 1u);
  EXPECT_EQ(sack(q), (std::vector<Range>{{700, 701}, {300, 400}, {100, 250}, {500, 600}}));
  q.drain(at(100), [](buf::Packet) {});  // A delivered: no longer reported
  EXPECT_EQ(sack(q), (std::vector<Range>{{700, 701}, {300, 400}, {500, 600}}));
  q.clear();
  EXPECT_EQ(sack(q), (std::vector<Range>{}));
}

TEST_F(OooQueueTest, RefusedInsertDoesNotChangeSackOrder) {
  OutOfOrderQueue q(100000, 2);
  insert(q, 100, 200);
  insert(q, 300, 400);
  EXPECT_TRUE(insert(q, 500, 600).dropped);
  EXPECT_EQ(sack(q), (std::vector<Range>{{300, 400}, {100, 200}}));
  q.clear();
}

TEST_F(OooQueueTest, DestructionReturnsPacketsToThePool) {
  {
    OutOfOrderQueue q(100000, 100);
    insert(q, 100, 300);
    insert(q, 400, 410);
    EXPECT_LT(pool_.available_segments(), pool_.total_segments());
  }
  expect_pool_full();
}

// ---------------------------------------------------------------------------------
// Random arrival order against a byte-set model: a receiver that delivers in-order
// data itself and queues the rest, as TCP will. Delivered bytes must be exactly the
// stream; new_bytes, duplicate, bytes() and the SACK ranges must match the model.

struct RandomCase {
  uint32_t seed;
  uint32_t start;        // initial sequence number (some just below 2^32)
  size_t max_bytes;
  size_t max_segments;
  bool limits_bite;  // the limits are tight enough that some inserts must be refused
};
void PrintTo(const RandomCase& c, std::ostream* os) {
  *os << "seed " << c.seed << " start " << c.start << " max_bytes " << c.max_bytes << " max_segments "
      << c.max_segments;
}

class OooRandomTest : public OooQueueTest, public ::testing::WithParamInterface<RandomCase> {};

TEST_P(OooRandomTest, DeliversExactlyTheStream) {
  const RandomCase& c = GetParam();
  base_ = SeqNum(c.start);
  constexpr uint32_t kStream = 20000;
  constexpr uint32_t kWindow = 2000;
  base::SeededRandom rng(c.seed);
  OutOfOrderQueue q(c.max_bytes, c.max_segments);
  std::set<uint32_t> held;  // model: offsets held in the queue
  uint32_t rcv_nxt = 0;     // offset
  uint32_t delivered = 0;
  int drops = 0;
  auto deliver = [&](buf::Packet p) {
    expect_stream(p, delivered);
    delivered += static_cast<uint32_t>(p.len());
  };

  for (int step = 0; rcv_nxt < kStream; ++step) {
    ASSERT_LT(step, 200000) << "no progress";
    uint32_t left = rcv_nxt + rng.uniform(kWindow);
    if (rng.chance(0.1)) left = rcv_nxt;  // the hole gets filled now and then
    const uint32_t right = std::min(kStream, std::min(rcv_nxt + kWindow, left + 1 + rng.uniform(300)));
    if (left >= right) continue;

    if (left == rcv_nxt) {  // in order: the caller delivers it, then drains
      buf::Packet p = make(left, right);
      deliver(std::move(p));
      rcv_nxt = right;
      rcv_nxt = off(q.drain(at(rcv_nxt), deliver));
      ASSERT_EQ(delivered, rcv_nxt);
      held.erase(held.begin(), held.lower_bound(rcv_nxt));
    } else {
      // Model: new bytes and the first run of held ones.
      uint32_t expect_new = 0;
      std::optional<Range> dup;
      bool dup_closed = false;
      for (uint32_t s = left; s < right; ++s) {
        if (!held.count(s)) {
          ++expect_new;
          if (dup) dup_closed = true;
        } else if (!dup) {
          dup = Range{s, s + 1};
        } else if (!dup_closed) {
          dup->right = s + 1;
        }
      }
      const size_t bytes_before = q.bytes();
      const OooInsertResult r = insert(q, left, right);
      ASSERT_EQ(r.duplicate.has_value(), dup.has_value()) << "step " << step;
      if (dup) {
        ASSERT_EQ(off(r.duplicate->left), dup->left);
        ASSERT_EQ(off(r.duplicate->right), dup->right);
      }
      if (r.dropped) {
        ++drops;
        ASSERT_GT(expect_new, 0u);
        ASSERT_EQ(r.new_bytes, 0u);
        ASSERT_EQ(q.bytes(), bytes_before);
      } else {
        ASSERT_EQ(r.new_bytes, expect_new) << "step " << step;
        for (uint32_t s = left; s < right; ++s) held.insert(s);
      }
    }
    ASSERT_EQ(q.bytes(), held.size());
    ASSERT_LE(q.bytes(), c.max_bytes);
    ASSERT_LE(q.segments(), c.max_segments);
    if (held.empty()) {
      ASSERT_FALSE(q.highest_end());
    } else {
      ASSERT_EQ(off(*q.highest_end()), *held.rbegin() + 1);
    }
    if (step % 16 == 0) {  // SACK ranges = the model's runs
      std::vector<Range> runs;
      for (uint32_t s : held) {
        if (!runs.empty() && runs.back().right == s) {
          ++runs.back().right;
        } else {
          runs.push_back({s, s + 1});
        }
      }
      ASSERT_EQ(sorted_ranges(q), runs);
    }
  }
  EXPECT_EQ(delivered, kStream);
  if (c.limits_bite) {
    EXPECT_GT(drops, 0);
  } else {
    EXPECT_EQ(drops, 0);
  }
  q.clear();
  EXPECT_TRUE(q.empty());
}

INSTANTIATE_TEST_SUITE_P(Seeds, OooRandomTest,
                         ::testing::Values(RandomCase{1, 0, 1 << 20, 1 << 20, false},
                                           RandomCase{2, 0xffffffffu - 7000, 1 << 20, 1 << 20, false},
                                           RandomCase{3, 0x7fffff00u, 1 << 20, 1 << 20, false},
                                           RandomCase{4, 0xfffffff0u, 600, 1 << 20, true},  // byte-bound
                                           RandomCase{5, 12345, 1 << 20, 4, true},          // segment-bound
                                           RandomCase{6, 0xffffff00u, 800, 6, true}));

}  // namespace
}  // namespace joyride::core::tcp
