#include "joyride/core/tcp/retransmit_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "joyride/base/random.h"

namespace joyride::core::tcp {
namespace {

using base::Duration;
using base::Instant;
using base::SeqNum;
using wire::SackBlock;

constexpr uint32_t kIss = 1'000'000;
constexpr uint32_t kMss = 1000;
constexpr Instant kT0 = Instant::from_nanos(1'000'000'000);
const Duration kNoMinRtt = Duration::max();

SeqNum S(uint32_t off, uint32_t base = kIss) { return SeqNum(base + off); }
Instant T(int64_t ms) { return kT0 + Duration::millis(ms); }
Duration ms(int64_t n) { return Duration::millis(n); }

// Sends n MSS-sized segments from base + kMss * first, one per millisecond.
void send_n(RetransmitQueue& q, int first, int n, uint32_t base = kIss, int64_t t0_ms = 0) {
  for (int i = first; i < first + n; ++i) {
    q.on_send(S(i * kMss, base), S((i + 1) * kMss, base), T(t0_ms + i));
  }
}

AckResult ack(RetransmitQueue& q, uint32_t ack_off, std::vector<SackBlock> sacks = {},
              Instant now = T(100), uint32_t base = kIss) {
  for (SackBlock& b : sacks) {
    b.left = SeqNum(b.left.value() + base);
    b.right = SeqNum(b.right.value() + base);
  }
  return q.on_ack(S(ack_off, base), sacks, now, kNoMinRtt);
}
SackBlock blk(uint32_t l, uint32_t r) { return {SeqNum(l), SeqNum(r)}; }

struct Rec {
  uint32_t begin, end;  // offsets from base
  bool sacked, lost, retransmitted;
  bool operator==(const Rec&) const = default;
};
std::vector<Rec> records(const RetransmitQueue& q, uint32_t base = kIss) {
  std::vector<Rec> out;
  q.for_each([&](const SentSegment& s) {
    out.push_back({s.begin.value() - base, s.end.value() - base, s.sacked, s.lost, s.retransmitted});
  });
  return out;
}
std::ostream& operator<<(std::ostream& os, const Rec& r) {
  return os << "[" << r.begin << "," << r.end << ")" << (r.sacked ? "S" : "") << (r.lost ? "L" : "")
            << (r.retransmitted ? "R" : "");
}

// Recomputes every counter from the records (RFC 6675 pipe per record) and checks the
// structural invariants.
void expect_consistent(const RetransmitQueue& q) {
  uint32_t sacked = 0, lost = 0, retrans = 0, pipe = 0, sacked_segs = 0;
  std::optional<SeqNum> prev_end, highest;
  const SentSegment* first_lost = nullptr;
  q.for_each([&](const SentSegment& s) {
    const uint32_t len = s.len();
    EXPECT_GT(len, 0u);
    if (prev_end) {
      EXPECT_EQ(s.begin, *prev_end) << "records not contiguous";
    }
    prev_end = s.end;
    if (s.sacked) {
      EXPECT_FALSE(s.lost || s.retransmitted) << "sacked record with lost/retransmitted";
      sacked += len;
      ++sacked_segs;
      highest = s.end;
      return;
    }
    if (s.retransmitted) {
      EXPECT_TRUE(s.ever_retransmitted);
    }
    if (s.lost) lost += len;
    if (s.retransmitted) retrans += len;
    pipe += (s.lost ? 0 : len) + (s.retransmitted ? len : 0);
    if (!first_lost && s.lost && !s.retransmitted) first_lost = &s;
  });
  ASSERT_EQ(q.empty(), !prev_end.has_value());
  if (!q.empty()) {
    EXPECT_EQ(q.first()->begin, q.snd_una());
    EXPECT_EQ(q.last()->end, q.snd_nxt());
  }
  EXPECT_EQ(q.sacked_bytes(), sacked);
  EXPECT_EQ(q.sacked_segments(), sacked_segs);
  EXPECT_EQ(q.lost_bytes(), lost);
  EXPECT_EQ(q.retrans_bytes(), retrans);
  EXPECT_EQ(q.in_flight(), pipe);
  EXPECT_EQ(q.highest_sacked(), highest);
  EXPECT_EQ(q.next_lost(), first_lost);
}

TEST(RetransmitQueueTest, SendAppendsRecords) {
  RetransmitQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.first(), nullptr);
  EXPECT_EQ(q.last(), nullptr);
  EXPECT_EQ(q.in_flight(), 0u);
  send_n(q, 0, 5);
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(q.in_flight(), 5000u);
  EXPECT_EQ(q.first()->begin, S(0));
  EXPECT_EQ(q.last()->end, S(5000));
  EXPECT_EQ(q.last()->sent_at, T(4));
  expect_consistent(q);
}

TEST(RetransmitQueueTest, CumulativeAckRemovesAndTrims) {
  RetransmitQueue q;
  send_n(q, 0, 5);
  AckResult r = ack(q, 2000);
  EXPECT_EQ(r.acked_bytes, 2000u);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.snd_una(), S(2000));
  EXPECT_EQ(q.in_flight(), 3000u);

  r = ack(q, 2500);  // partial: the head record is trimmed
  EXPECT_EQ(r.acked_bytes, 500u);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.first()->begin, S(2500));
  EXPECT_EQ(q.first()->end, S(3000));
  EXPECT_EQ(q.in_flight(), 2500u);
  expect_consistent(q);

  r = ack(q, 5000);
  EXPECT_EQ(r.acked_bytes, 2500u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.in_flight(), 0u);
  expect_consistent(q);
}

TEST(RetransmitQueueTest, AckOutsideWindowMovesNothing) {
  RetransmitQueue q;
  send_n(q, 0, 3);
  ack(q, 1000);
  for (uint32_t off : {0u, 500u, 1000u, 3001u, 100000u}) {
    AckResult r = ack(q, off);
    EXPECT_EQ(r.acked_bytes, 0u) << off;
    EXPECT_EQ(q.snd_una(), S(1000)) << off;
    EXPECT_EQ(q.size(), 2u) << off;
  }
}

TEST(RetransmitQueueTest, SackMarksMiddleRecords) {
  RetransmitQueue q;
  send_n(q, 0, 5);
  AckResult r = ack(q, 0, {blk(2000, 4000)});
  EXPECT_EQ(r.acked_bytes, 0u);
  EXPECT_EQ(r.newly_sacked_bytes, 2000u);
  EXPECT_FALSE(r.dsack);
  EXPECT_EQ(records(q), (std::vector<Rec>{{0, 1000, false, false, false},
                                          {1000, 2000, false, false, false},
                                          {2000, 3000, true, false, false},
                                          {3000, 4000, true, false, false},
                                          {4000, 5000, false, false, false}}));
  EXPECT_EQ(q.sacked_bytes(), 2000u);
  EXPECT_EQ(q.sacked_segments(), 2u);
  EXPECT_EQ(q.in_flight(), 3000u);
  EXPECT_EQ(q.highest_sacked(), S(4000));
  expect_consistent(q);

  // The same ACK again, and an overlapping wider block: only the new bytes count.
  r = ack(q, 0, {blk(2000, 4000)});
  EXPECT_EQ(r.newly_sacked_bytes, 0u);
  r = ack(q, 0, {blk(1000, 5000)});
  EXPECT_EQ(r.newly_sacked_bytes, 2000u);
  EXPECT_EQ(q.sacked_bytes(), 4000u);
  EXPECT_EQ(q.highest_sacked(), S(5000));
  expect_consistent(q);

  // Cumulative ACK of everything below the SACKed range: acked, not newly sacked.
  r = ack(q, 5000);
  EXPECT_EQ(r.acked_bytes, 5000u);
  EXPECT_EQ(r.newly_sacked_bytes, 0u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.highest_sacked(), std::nullopt);
  expect_consistent(q);
}

TEST(RetransmitQueueTest, MultipleBlocksInAnyOrder) {
  RetransmitQueue q;
  send_n(q, 0, 8);
  AckResult r = ack(q, 0, {blk(6000, 7000), blk(2000, 3000), blk(4000, 5000)});
  EXPECT_EQ(r.newly_sacked_bytes, 3000u);
  EXPECT_EQ(q.sacked_segments(), 3u);
  EXPECT_EQ(q.highest_sacked(), S(7000));
  EXPECT_EQ(q.in_flight(), 5000u);
  expect_consistent(q);
}

TEST(RetransmitQueueTest, PartialRecordSackSplits) {
  struct Case {
    const char* name;
    SackBlock block;
    std::vector<Rec> want;
    uint32_t newly;
  };
  // One 3000-byte record [0, 3000) (a TSO-sized send), SACKed in pieces.
  const Case cases[] = {
      {"middle", blk(1000, 2000),
       {{0, 1000, false, false, false}, {1000, 2000, true, false, false},
        {2000, 3000, false, false, false}},
       1000},
      {"tail", blk(2500, 3000),
       {{0, 2500, false, false, false}, {2500, 3000, true, false, false}},
       500},
      {"from_inside_to_end", blk(1, 3000),
       {{0, 1, false, false, false}, {1, 3000, true, false, false}},
       2999},
  };
  for (const Case& c : cases) {
    RetransmitQueue q;
    q.on_send(S(0), S(3000), T(0));
    AckResult r = ack(q, 0, {c.block});
    EXPECT_EQ(records(q), c.want) << c.name;
    EXPECT_EQ(r.newly_sacked_bytes, c.newly) << c.name;
    expect_consistent(q);
  }
}

TEST(RetransmitQueueTest, BlockEdgesInsideRecordsSackOnlyWholeBytes) {
  // Block [1500, 3500) over records of 1000: [1000,2000) and [3000,4000) are split.
  RetransmitQueue q;
  send_n(q, 0, 5);
  AckResult r = ack(q, 0, {blk(1500, 3500)});
  EXPECT_EQ(r.newly_sacked_bytes, 2000u);
  EXPECT_EQ(records(q), (std::vector<Rec>{{0, 1000, false, false, false},
                                          {1000, 1500, false, false, false},
                                          {1500, 2000, true, false, false},
                                          {2000, 3000, true, false, false},
                                          {3000, 3500, true, false, false},
                                          {3500, 4000, false, false, false},
                                          {4000, 5000, false, false, false}}));
  // A block starting inside a SACKed record does not split it again.
  r = ack(q, 0, {blk(1700, 4000)});
  EXPECT_EQ(r.newly_sacked_bytes, 500u);
  EXPECT_EQ(q.size(), 7u);
  expect_consistent(q);
}

TEST(RetransmitQueueTest, SackBlocksOutsideWindowIgnored) {
  struct Case {
    const char* name;
    SackBlock block;
  };
  // Window after ack 1000: snd_una = 1000, snd_nxt = 5000. A valid first block
  // [4000, 5000) keeps these from being read as D-SACKs.
  const Case cases[] = {
      {"starts_at_snd_una", blk(1000, 2000)},
      {"straddles_snd_una", blk(500, 2000)},
      {"below_snd_una", blk(0, 1000)},
      {"beyond_snd_nxt", blk(4500, 5001)},
      {"entirely_beyond", blk(6000, 7000)},
      {"empty", blk(2000, 2000)},
      {"reversed", blk(3000, 2000)},
      {"wrapped_half_space_away", blk(1000 + (1u << 31), 2000 + (1u << 31))},
  };
  for (const Case& c : cases) {
    RetransmitQueue q;
    send_n(q, 0, 5);
    ack(q, 1000);
    AckResult r = ack(q, 1000, {blk(4000, 5000), c.block});
    EXPECT_EQ(r.newly_sacked_bytes, 1000u) << c.name;
    EXPECT_EQ(q.sacked_bytes(), 1000u) << c.name;
    EXPECT_FALSE(r.dsack) << c.name;
    expect_consistent(q);
  }
}

TEST(RetransmitQueueTest, DsackBelowCumulativeAck) {
  // RFC 2883 §4.1.1: a duplicate of already acknowledged data.
  RetransmitQueue q;
  send_n(q, 0, 5);
  ack(q, 3000);
  AckResult r = ack(q, 3000, {blk(1000, 2000)});
  ASSERT_TRUE(r.dsack);
  EXPECT_EQ(*r.dsack, (SackBlock{S(1000), S(2000)}));
  EXPECT_EQ(r.newly_sacked_bytes, 0u);
  EXPECT_EQ(q.reo_wnd_mult(), 2u);

  // Below this ACK's own cumulative ack counts too, together with the advance.
  RetransmitQueue q2;
  send_n(q2, 0, 5);
  r = ack(q2, 2000, {blk(1000, 2000), blk(3000, 4000)});
  ASSERT_TRUE(r.dsack);
  EXPECT_EQ(r.acked_bytes, 2000u);
  EXPECT_EQ(r.newly_sacked_bytes, 1000u);  // the second block still counts
  expect_consistent(q2);
}

TEST(RetransmitQueueTest, DsackInsideSecondBlock) {
  // RFC 2883 §4.1.2: a duplicate above the cumulative ack, reported inside the block
  // that contains it.
  RetransmitQueue q;
  send_n(q, 0, 6);
  AckResult r = ack(q, 0, {blk(3000, 4000), blk(2000, 5000)});
  ASSERT_TRUE(r.dsack);
  EXPECT_EQ(*r.dsack, (SackBlock{S(3000), S(4000)}));
  EXPECT_EQ(r.newly_sacked_bytes, 3000u);
  expect_consistent(q);
}

TEST(RetransmitQueueTest, NotDsackWhenFirstBlockStandsAlone) {
  struct Case {
    const char* name;
    std::vector<SackBlock> blocks;
  };
  const Case cases[] = {
      {"single_above_ack", {blk(3000, 4000)}},
      {"overlapping_second", {blk(3000, 4500), blk(4000, 5000)}},
      {"disjoint_second", {blk(3000, 4000), blk(1500, 2000)}},
      {"starts_at_ack", {blk(1000, 2000)}},
  };
  for (const Case& c : cases) {
    RetransmitQueue q;
    send_n(q, 0, 6);
    AckResult r = ack(q, 1000, c.blocks);
    EXPECT_FALSE(r.dsack) << c.name;
    EXPECT_EQ(q.reo_wnd_mult(), 1u) << c.name;
  }
}

TEST(RetransmitQueueTest, KarnNoSampleFromRetransmittedSegment) {
  RetransmitQueue q;
  send_n(q, 0, 3);  // sent at 0, 1, 2 ms
  q.on_retransmit(S(0), S(1000), T(50));
  EXPECT_TRUE(q.first()->retransmitted);
  EXPECT_TRUE(q.first()->ever_retransmitted);
  EXPECT_EQ(q.first()->sent_at, T(50));

  AckResult r = q.on_ack(S(1000), {}, T(100), kNoMinRtt);
  EXPECT_FALSE(r.rtt) << "ambiguous: original or retransmission?";
  EXPECT_TRUE(r.acked_retransmitted);

  // The next ACK covers two never-retransmitted segments: the sample comes from the
  // most recently sent one (sent at 2 ms).
  r = q.on_ack(S(3000), {}, T(120), kNoMinRtt);
  ASSERT_TRUE(r.rtt);
  EXPECT_EQ(*r.rtt, ms(118));
  EXPECT_FALSE(r.acked_retransmitted);
}

TEST(RetransmitQueueTest, KarnSampleFromSackedSegmentAndMixedAck) {
  RetransmitQueue q;
  send_n(q, 0, 4);
  q.on_retransmit(S(3000), S(4000), T(30));
  // The retransmitted record 3 is the most recently sent, but only record 1 may give
  // a sample.
  std::vector<SackBlock> sacks{{S(1000), S(2000)}, {S(3000), S(4000)}};
  AckResult r = q.on_ack(S(0), sacks, T(60), kNoMinRtt);
  ASSERT_TRUE(r.rtt);
  EXPECT_EQ(*r.rtt, ms(59));
  EXPECT_TRUE(r.acked_retransmitted);
  EXPECT_EQ(r.newly_sacked_bytes, 2000u);
  expect_consistent(q);
}

TEST(RetransmitQueueTest, InFlightThroughTransitions) {
  RetransmitQueue q;
  send_n(q, 0, 6);
  EXPECT_EQ(q.in_flight(), 6000u);
  ack(q, 0, {blk(3000, 4000)});
  EXPECT_EQ(q.in_flight(), 5000u);  // sacked leaves the pipe
  q.mark_head_lost();
  EXPECT_EQ(q.lost_bytes(), 1000u);
  EXPECT_EQ(q.in_flight(), 4000u);  // lost leaves the pipe
  q.on_retransmit(S(0), S(1000), T(20));
  EXPECT_EQ(q.retrans_bytes(), 1000u);
  EXPECT_EQ(q.lost_bytes(), 1000u) << "the original stays lost";
  EXPECT_EQ(q.in_flight(), 5000u);  // the retransmission is in flight
  // A retransmission of a segment not deemed lost (TLP) counts twice.
  q.on_retransmit(S(5000), S(6000), T(21));
  EXPECT_EQ(q.in_flight(), 6000u);
  // A block starting at snd_una is not valid (those bytes would have been acked).
  ack(q, 0, {blk(0, 1000)});
  EXPECT_EQ(q.in_flight(), 6000u);
  // SACK of the probed segment: both its copies leave the pipe.
  ack(q, 0, {blk(5000, 6000)});
  EXPECT_EQ(q.retrans_bytes(), 1000u);
  EXPECT_EQ(q.in_flight(), 4000u);
  // Cumulative ACK of the lost+retransmitted head.
  ack(q, 1000);
  EXPECT_EQ(q.lost_bytes(), 0u);
  EXPECT_EQ(q.retrans_bytes(), 0u);
  EXPECT_EQ(q.in_flight(), 3000u);
  expect_consistent(q);
}

TEST(RetransmitQueueTest, MarkHeadLostSkipsSackedAndIsIdempotent) {
  RetransmitQueue q;
  send_n(q, 0, 3);
  q.mark_head_lost();
  q.mark_head_lost();
  EXPECT_EQ(q.lost_bytes(), 1000u);
  EXPECT_EQ(q.total_lost_segments(), 1u);
  ASSERT_NE(q.next_lost(), nullptr);
  EXPECT_EQ(q.next_lost()->begin, S(0));
  q.on_retransmit(S(0), S(1000), T(10));
  EXPECT_EQ(q.next_lost(), nullptr);
  // NewReno partial ACK: the new head is lost next.
  ack(q, 1000);
  q.mark_head_lost();
  ASSERT_NE(q.next_lost(), nullptr);
  EXPECT_EQ(q.next_lost()->begin, S(1000));
  EXPECT_EQ(q.total_lost_segments(), 2u);
  expect_consistent(q);
}

TEST(RetransmitQueueTest, MarkAllLostThenRetransmitInOrder) {
  RetransmitQueue q;
  send_n(q, 0, 6);
  ack(q, 0, {blk(2000, 3000)});
  q.on_retransmit(S(4000), S(5000), T(10));  // a probe in flight when the RTO fires
  q.mark_all_lost();
  EXPECT_EQ(q.lost_bytes(), 5000u);
  EXPECT_EQ(q.retrans_bytes(), 0u) << "RTO: retransmissions deemed lost too";
  EXPECT_EQ(q.in_flight(), 0u);
  EXPECT_EQ(q.total_lost_segments(), 5u);
  expect_consistent(q);

  std::vector<uint32_t> order;
  int64_t t = 20;
  while (const SentSegment* s = q.next_lost()) {
    order.push_back(s->begin.value() - kIss);
    q.on_retransmit(s->begin, s->end, T(t++));
    expect_consistent(q);
  }
  EXPECT_EQ(order, (std::vector<uint32_t>{0, 1000, 3000, 4000, 5000}));
  EXPECT_EQ(q.in_flight(), 5000u);

  // A second RTO counts every retransmission as lost again.
  q.mark_all_lost();
  EXPECT_EQ(q.total_lost_segments(), 10u);
  EXPECT_EQ(q.next_lost()->begin, S(0));
}

TEST(RetransmitQueueTest, RetransmitSplitsWhenMssShrank) {
  RetransmitQueue q;
  q.on_send(S(0), S(1500), T(0));
  q.on_send(S(1500), S(3000), T(1));
  q.mark_all_lost();
  q.on_retransmit(S(0), S(1000), T(10));
  EXPECT_EQ(records(q), (std::vector<Rec>{{0, 1000, false, true, true},
                                          {1000, 1500, false, true, false},
                                          {1500, 3000, false, true, false}}));
  EXPECT_EQ(q.next_lost()->begin, S(1000));
  // A retransmission spanning two records, ending inside the second.
  q.on_retransmit(S(1000), S(2000), T(11));
  EXPECT_EQ(records(q), (std::vector<Rec>{{0, 1000, false, true, true},
                                          {1000, 1500, false, true, true},
                                          {1500, 2000, false, true, true},
                                          {2000, 3000, false, true, false}}));
  EXPECT_EQ(q.next_lost()->begin, S(2000));
  expect_consistent(q);
}

TEST(RetransmitQueueTest, RetransmitSkipsSackedRecords) {
  RetransmitQueue q;
  send_n(q, 0, 3);
  ack(q, 0, {blk(1000, 2000)});
  q.on_retransmit(S(0), S(3000), T(10));
  EXPECT_EQ(records(q), (std::vector<Rec>{{0, 1000, false, false, true},
                                          {1000, 2000, true, false, false},
                                          {2000, 3000, false, false, true}}));
  expect_consistent(q);
}

TEST(RetransmitQueueTest, SequenceWrapAt2To32) {
  const uint32_t base = 0xFFFFFFFFu - 2500;  // snd_nxt wraps inside the third segment
  RetransmitQueue q;
  send_n(q, 0, 6, base);
  EXPECT_LT(q.last()->end.value(), q.first()->begin.value());
  EXPECT_EQ(q.in_flight(), 6000u);
  AckResult r = ack(q, 0, {blk(3000, 5000)}, T(100), base);
  EXPECT_EQ(r.newly_sacked_bytes, 2000u);
  r = ack(q, 0, {blk(2200, 2800), blk(3000, 5000)}, T(100), base);  // across the wrap
  EXPECT_EQ(r.newly_sacked_bytes, 600u);
  EXPECT_EQ(q.highest_sacked(), S(5000, base));
  q.mark_all_lost();
  EXPECT_EQ(q.next_lost()->begin, S(0, base));
  r = ack(q, 2500, {}, T(110), base);  // a partial ACK right past zero
  EXPECT_EQ(r.acked_bytes, 2500u);
  EXPECT_EQ(q.first()->begin, S(2500, base));
  EXPECT_EQ(q.next_lost()->begin, S(2800, base));
  expect_consistent(q);
  r = ack(q, 6000, {}, T(120), base);
  EXPECT_TRUE(q.empty());
}

TEST(RetransmitQueueTest, RingGrowsAndKeepsOrderThroughSplits) {
  RetransmitQueue q(4);
  EXPECT_EQ(q.capacity(), 4u);
  send_n(q, 0, 3);
  ack(q, 2000);  // move the ring head so later growth has to unwrap
  send_n(q, 3, 200);
  EXPECT_GE(q.capacity(), 201u);
  // Splits near the head and near the tail (both shift directions).
  ack(q, 2000, {blk(2500, 3000), blk(200500, 201000), blk(100100, 100200)});
  EXPECT_EQ(q.size(), 201u + 4u);  // the middle block splits twice
  expect_consistent(q);
  const size_t cap = q.capacity();
  ack(q, 203000);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.capacity(), cap) << "never shrinks";
  send_n(q, 203, 150);
  EXPECT_EQ(q.capacity(), cap) << "steady state: no growth";
  expect_consistent(q);
}

TEST(RetransmitQueueTest, ClearForgetsEverything) {
  RetransmitQueue q;
  send_n(q, 0, 4);
  ack(q, 0, {blk(2000, 3000)});
  q.mark_all_lost();
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.in_flight(), 0u);
  EXPECT_EQ(q.sacked_bytes(), 0u);
  EXPECT_EQ(q.lost_bytes(), 0u);
  EXPECT_EQ(q.total_lost_segments(), 0u);
  EXPECT_EQ(q.next_lost(), nullptr);
  EXPECT_FALSE(q.rack_valid());
  // A fresh start anywhere; the old SACK cache must not leak in.
  send_n(q, 0, 4, 77);
  AckResult r = ack(q, 0, {blk(2000, 3000)}, T(100), 77);
  EXPECT_EQ(r.newly_sacked_bytes, 1000u);
  expect_consistent(q);
}

// Random sends, ACKs with random (often unaligned, sometimes invalid) SACK blocks,
// retransmissions, loss marking and RACK, near the 2^32 wrap. After every step the
// counters must equal a recount from the records, and which bytes are SACKed must
// equal a byte-level model (every byte inside a valid block since it was sent).
TEST(RetransmitQueueTest, RandomizedMatchesBruteForce) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    base::SeededRandom rng(seed);
    const uint32_t base = 0xFFFFFFFFu - 40'000 - rng.uniform(20'000);
    RetransmitQueue q(8);
    std::vector<bool> model_sacked;  // by offset from base
    uint32_t una = 0, nxt = 0;
    int64_t now_ms = 0;
    for (int step = 0; step < 400; ++step) {
      now_ms += rng.uniform(5);
      const uint32_t op = rng.uniform(100);
      if (op < 30 || nxt == una) {
        const uint32_t len = 1 + rng.uniform(2 * kMss);
        q.on_send(S(nxt, base), S(nxt + len, base), T(now_ms));
        nxt += len;
        model_sacked.resize(nxt, false);
      } else if (op < 70) {
        uint32_t a = una;
        if (rng.chance(0.3)) a = una + rng.uniform(nxt - una + 1);
        std::vector<SackBlock> blocks;
        const uint32_t n = rng.uniform(5);
        for (uint32_t k = 0; k < n; ++k) {
          // Mostly inside the window, sometimes around or outside it.
          uint32_t l = una + rng.uniform(nxt - una + 200);
          if (rng.chance(0.1)) l -= 300;
          uint32_t r = l + 1 + rng.uniform(3 * kMss);
          blocks.push_back({SeqNum(l), SeqNum(r)});
        }
        AckResult res = ack(q, a, blocks, T(now_ms), base);
        // Model: cumulative first, then blocks valid against the new snd_una.
        if (a > una && a <= nxt) una = a;
        size_t first = res.dsack ? 1 : 0;
        uint32_t model_newly = 0;
        for (size_t k = first; k < blocks.size() && k < first + 4; ++k) {
          const uint32_t l = blocks[k].left.value(), r = blocks[k].right.value();
          if (l > una && l < r && r <= nxt) {
            for (uint32_t b = l; b < r; ++b) {
              if (!model_sacked[b]) ++model_newly;
              model_sacked[b] = true;
            }
          }
        }
        EXPECT_EQ(res.newly_sacked_bytes, model_newly);
      } else if (op < 80) {
        if (const SentSegment* s = q.next_lost()) {
          q.on_retransmit(s->begin, s->end, T(now_ms));
        } else {
          // A random range (TLP-like, or unaligned).
          uint32_t l = una + rng.uniform(nxt - una);
          q.on_retransmit(S(l, base), S(l + 1 + rng.uniform(2 * kMss), base), T(now_ms));
        }
      } else if (op < 85) {
        q.mark_all_lost();
      } else if (op < 90) {
        q.mark_head_lost();
      } else {
        Instant timeout;
        q.rack_detect_loss(T(now_ms), ms(rng.uniform(20)), &timeout);
        if (!timeout.is_never()) {
          EXPECT_GT(timeout, T(now_ms));
        }
      }
      ASSERT_EQ(q.snd_una(), S(una, base));
      ASSERT_EQ(q.snd_nxt(), S(nxt, base));
      expect_consistent(q);
      // Byte-level SACK state.
      q.for_each([&](const SentSegment& s) {
        const uint32_t b = s.begin.value() - base, e = s.end.value() - base;
        for (uint32_t x = b; x < e; ++x) {
          if (model_sacked[x] != s.sacked) {
            ADD_FAILURE() << "byte " << x << " model " << model_sacked[x] << " step " << step;
            return;
          }
        }
      });
      if (HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace joyride::core::tcp
