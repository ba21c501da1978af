// RACK (RFC 8985 §6.2) over the RetransmitQueue: loss by time, the reorder timeout,
// and the reordering window with its D-SACK adaptation.
#include <gtest/gtest.h>

#include <vector>

#include "joyride/core/tcp/retransmit_queue.h"

namespace joyride::core::tcp {
namespace {

using base::Duration;
using base::Instant;
using base::SeqNum;
using wire::SackBlock;

constexpr uint32_t kIss = 0x7FFF'FF00;  // arbitrary; crosses 2^31 on the way
constexpr Instant kT0 = Instant::from_nanos(1'000'000'000);
const Duration kNoMinRtt = Duration::max();

SeqNum S(uint32_t off) { return SeqNum(kIss + off); }
Instant T(int64_t ms) { return kT0 + Duration::millis(ms); }
Duration ms(int64_t n) { return Duration::millis(n); }

// Segment i is [1000 i, 1000 (i+1)).
void send(RetransmitQueue& q, int i, int64_t at_ms) {
  q.on_send(S(1000 * i), S(1000 * (i + 1)), T(at_ms));
}
AckResult sack(RetransmitQueue& q, uint32_t ack_off, std::vector<std::pair<uint32_t, uint32_t>> blocks,
               int64_t at_ms, Duration min_rtt = kNoMinRtt) {
  std::vector<SackBlock> b;
  for (auto [l, r] : blocks) b.push_back({S(l), S(r)});
  return q.on_ack(S(ack_off), b, T(at_ms), min_rtt);
}
std::vector<bool> lost_flags(const RetransmitQueue& q) {
  std::vector<bool> out;
  q.for_each([&](const SentSegment& s) { out.push_back(s.lost); });
  return out;
}

TEST(RackTest, NothingDeliveredNothingLost) {
  RetransmitQueue q;
  send(q, 0, 0);
  send(q, 1, 10);
  Instant timeout;
  EXPECT_EQ(q.rack_detect_loss(T(10'000), Duration::zero(), &timeout), 0u);
  EXPECT_TRUE(timeout.is_never());
  EXPECT_FALSE(q.rack_valid());
}

TEST(RackTest, LaterDeliveryMarksEarlierLostAfterRttPlusReoWnd) {
  RetransmitQueue q;
  send(q, 0, 0);
  send(q, 1, 10);
  sack(q, 0, {{1000, 2000}}, 110);
  ASSERT_TRUE(q.rack_valid());
  EXPECT_EQ(q.rack_rtt(), ms(100));
  EXPECT_EQ(q.rack_xmit_ts(), T(10));
  EXPECT_EQ(q.rack_end_seq(), S(2000));

  // Segment 0 (sent at 0) is lost at 0 + rack.rtt + reo_wnd = 125 ms, not before.
  const Duration reo = ms(25);
  Instant timeout;
  EXPECT_EQ(q.rack_detect_loss(T(110), reo, &timeout), 0u);
  EXPECT_EQ(timeout, T(125));
  EXPECT_EQ(q.rack_detect_loss(T(125) - Duration::nanos(1), reo, &timeout), 0u);
  EXPECT_EQ(timeout, T(125));
  EXPECT_EQ(q.lost_bytes(), 0u);

  EXPECT_EQ(q.rack_detect_loss(T(125), reo, &timeout), 1000u);
  EXPECT_TRUE(timeout.is_never());
  EXPECT_EQ(lost_flags(q), (std::vector<bool>{true, false}));
  EXPECT_EQ(q.total_lost_segments(), 1u);
  EXPECT_EQ(q.next_lost()->begin, S(0));
  EXPECT_EQ(q.in_flight(), 0u);

  // Already lost: not marked (or counted) again.
  EXPECT_EQ(q.rack_detect_loss(T(500), reo, &timeout), 0u);
  EXPECT_EQ(q.total_lost_segments(), 1u);
}

TEST(RackTest, ZeroReoWndMarksImmediatelyWhenRttElapsed) {
  RetransmitQueue q;
  send(q, 0, 0);
  send(q, 1, 10);
  sack(q, 0, {{1000, 2000}}, 110);
  Instant timeout;
  // Sent at 0, rack.rtt 100: overdue since 100 ms.
  EXPECT_EQ(q.rack_detect_loss(T(110), Duration::zero(), &timeout), 1000u);
  EXPECT_TRUE(timeout.is_never());
}

TEST(RackTest, TimeoutIsEarliestRemainingDeadline) {
  RetransmitQueue q;
  send(q, 0, 0);
  send(q, 1, 5);
  send(q, 2, 10);
  send(q, 3, 20);
  send(q, 4, 30);  // after the RACK point: never a candidate
  sack(q, 0, {{3000, 4000}}, 120);  // rack.rtt = 100, rack.xmit_ts = 20
  const Duration reo = ms(50);
  Instant timeout;
  EXPECT_EQ(q.rack_detect_loss(T(120), reo, &timeout), 0u);
  EXPECT_EQ(timeout, T(150));
  EXPECT_EQ(q.rack_detect_loss(T(150), reo, &timeout), 1000u);
  EXPECT_EQ(timeout, T(155));
  EXPECT_EQ(q.rack_detect_loss(T(160), reo, &timeout), 2000u);
  EXPECT_TRUE(timeout.is_never()) << "segment 4 was sent after the delivered one";
  EXPECT_EQ(lost_flags(q), (std::vector<bool>{true, true, true, false, false}));
  EXPECT_EQ(q.rack_detect_loss(T(100'000), reo, &timeout), 0u);
}

TEST(RackTest, SameSendTimeOrderedByEndSeq) {
  // A burst sent at one instant: only segments with a lower end than the delivered
  // one count as sent before it (RACK_sent_after's tie-break).
  RetransmitQueue q;
  send(q, 0, 0);
  send(q, 1, 0);
  send(q, 2, 0);
  sack(q, 0, {{1000, 2000}}, 100);
  Instant timeout;
  EXPECT_EQ(q.rack_detect_loss(T(100), Duration::zero(), &timeout), 1000u);
  EXPECT_EQ(lost_flags(q), (std::vector<bool>{true, false, false}));

  // The pieces of a split record share the send time.
  RetransmitQueue big;
  big.on_send(S(0), S(3000), T(0));
  sack(big, 0, {{2000, 3000}}, 100);
  EXPECT_EQ(big.rack_end_seq(), S(3000));
  EXPECT_EQ(big.rack_detect_loss(T(100), Duration::zero(), &timeout), 2000u);
}

TEST(RackTest, RttComesFromMostRecentlySentDelivered) {
  RetransmitQueue q;
  send(q, 0, 0);
  send(q, 1, 10);
  send(q, 2, 20);
  sack(q, 0, {{1000, 3000}}, 100);
  EXPECT_EQ(q.rack_rtt(), ms(80));
  EXPECT_EQ(q.rack_xmit_ts(), T(20));
  EXPECT_EQ(q.rack_end_seq(), S(3000));
  // A late delivery of an older segment updates rack.rtt but not the RACK point.
  sack(q, 3000, {}, 200);
  EXPECT_EQ(q.rack_rtt(), ms(200));
  EXPECT_EQ(q.rack_xmit_ts(), T(20));
}

TEST(RackTest, RetransmissionNewerThanRackPointIsNotACandidate) {
  RetransmitQueue q;
  send(q, 0, 0);
  send(q, 1, 10);
  send(q, 2, 20);
  sack(q, 0, {{1000, 2000}}, 110);
  Instant timeout;
  EXPECT_EQ(q.rack_detect_loss(T(110), Duration::zero(), &timeout), 1000u);
  q.on_retransmit(S(0), S(1000), T(115));
  EXPECT_EQ(q.in_flight(), 2000u);

  // Segment 2 (sent at 20) delivered: the retransmission at 115 is newer.
  sack(q, 0, {{1000, 3000}}, 125);
  EXPECT_EQ(q.rack_detect_loss(T(1000), Duration::zero(), &timeout), 0u);
  EXPECT_TRUE(timeout.is_never());
  EXPECT_TRUE(q.first()->retransmitted);

  // New data sent at 130 and delivered at 230: now the retransmission (115 + 100 <=
  // 230) is lost again.
  send(q, 3, 130);
  sack(q, 0, {{1000, 4000}}, 230);
  EXPECT_EQ(q.rack_detect_loss(T(230), Duration::zero(), &timeout), 1000u);
  EXPECT_TRUE(q.first()->lost);
  EXPECT_FALSE(q.first()->retransmitted);
  EXPECT_EQ(q.retrans_bytes(), 0u);
  EXPECT_EQ(q.total_lost_segments(), 2u);
  EXPECT_EQ(q.next_lost()->begin, S(0));
}

TEST(RackTest, RetransmittedRecordAfterRackPointDoesNotStopScan) {
  // Segment 0 is retransmitted (TLP) after everything else, so it is not before the
  // RACK point; segments 1..3 behind it still are.
  for (int64_t retransmit_at : {35, 45}) {
    SCOPED_TRACE(retransmit_at);
    RetransmitQueue q;
    for (int i = 0; i < 5; ++i) send(q, i, 10 * i);
    q.on_retransmit(S(0), S(1000), T(retransmit_at));
    sack(q, 0, {{4000, 5000}}, 140);  // rack.xmit_ts = 40, rtt 100
    Instant timeout;
    const uint32_t lost = q.rack_detect_loss(T(140), Duration::zero(), &timeout);
    if (retransmit_at < 40) {
      EXPECT_EQ(lost, 4000u);
      EXPECT_EQ(lost_flags(q), (std::vector<bool>{true, true, true, true, false}));
    } else {
      EXPECT_EQ(lost, 3000u);
      EXPECT_EQ(lost_flags(q), (std::vector<bool>{false, true, true, true, false}));
    }
  }
}

TEST(RackTest, SpuriousCheckIgnoresAckFasterThanMinRtt) {
  // RFC 8985 §6.2 step 2: a retransmitted segment acked sooner than min_rtt after the
  // retransmission was delivered by an earlier transmission.
  struct Case {
    Duration min_rtt;
    bool updates;
  };
  for (const Case& c : {Case{ms(50), false}, Case{ms(5), true}, Case{kNoMinRtt, false}}) {
    RetransmitQueue q;
    send(q, 0, 0);
    send(q, 1, 10);
    q.mark_head_lost();
    q.on_retransmit(S(0), S(1000), T(100));
    AckResult r = sack(q, 1000, {}, 105, c.min_rtt);
    EXPECT_TRUE(r.acked_retransmitted);
    EXPECT_FALSE(r.rtt);
    EXPECT_EQ(q.rack_valid(), c.updates) << c.min_rtt.as_millis();
    if (c.updates) {
      EXPECT_EQ(q.rack_xmit_ts(), T(100));
      EXPECT_EQ(q.rack_rtt(), ms(5));
    }
  }
}

TEST(RackTest, ReorderingSeenWhenLowerSegmentDeliveredLater) {
  // Segment 0 arrives after segment 1 without having been retransmitted: reordering.
  {
    RetransmitQueue q;
    send(q, 0, 0);
    send(q, 1, 10);
    sack(q, 0, {{1000, 2000}}, 100);
    EXPECT_FALSE(q.reordering_seen());
    sack(q, 1000, {}, 105);
    EXPECT_TRUE(q.reordering_seen());
  }
  // Same order of delivery, but segment 0 was retransmitted: that is repair, not reordering.
  {
    RetransmitQueue q;
    send(q, 0, 0);
    send(q, 1, 10);
    sack(q, 0, {{1000, 2000}}, 100);
    q.mark_head_lost();
    q.on_retransmit(S(0), S(1000), T(101));
    sack(q, 2000, {}, 200);
    EXPECT_FALSE(q.reordering_seen());
  }
  // In order, and several blocks in one ACK in any order: no reordering.
  {
    RetransmitQueue q;
    for (int i = 0; i < 6; ++i) send(q, i, i);
    sack(q, 1000, {}, 100);
    sack(q, 1000, {{4000, 5000}, {2000, 3000}}, 101);
    EXPECT_FALSE(q.reordering_seen());
  }
}

TEST(RackTest, ReoWndRules) {
  struct Case {
    const char* name;
    bool reordering;
    int sacked_segments;
    bool in_recovery;
    Duration min_rtt, srtt;
    Duration want;
  };
  const Case cases[] = {
      {"quarter_min_rtt", false, 0, false, ms(40), ms(100), ms(10)},
      {"two_sacked", false, 2, false, ms(40), ms(100), ms(10)},
      {"dupthresh_sacked", false, 3, false, ms(40), ms(100), Duration::zero()},
      {"in_recovery", false, 0, true, ms(40), ms(100), Duration::zero()},
      {"reordering_in_recovery", true, 0, true, ms(40), ms(100), ms(10)},
      {"reordering_many_sacked", true, 3, false, ms(40), ms(100), ms(10)},
      {"capped_at_srtt", false, 0, false, ms(400), ms(50), ms(50)},
      {"no_min_rtt_sample", false, 0, false, kNoMinRtt, ms(30), ms(30)},
      {"no_samples_at_all", false, 0, false, kNoMinRtt, Duration::zero(), Duration::zero()},
  };
  for (const Case& c : cases) {
    RetransmitQueue q;
    for (int i = 0; i < 10; ++i) send(q, i, i);
    if (c.reordering) {
      sack(q, 0, {{8000, 9000}}, 50);
      sack(q, 1000, {}, 51);  // segment 0 delivered after 8: reordering
    }
    for (int k = 0; k < c.sacked_segments; ++k) {
      sack(q, q.snd_una() - S(0), {{2000 + 2000 * k, 3000 + 2000 * k}}, 60);
    }
    ASSERT_EQ(q.reordering_seen(), c.reordering) << c.name;
    EXPECT_EQ(q.sacked_segments(), static_cast<uint32_t>(c.sacked_segments + (c.reordering ? 1 : 0)))
        << c.name;
    EXPECT_EQ(q.rack_reo_wnd(c.min_rtt, c.srtt, c.in_recovery, q.snd_una(), q.snd_nxt()), c.want)
        << c.name;
  }
}

TEST(RackTest, DsackGrowsReoWndOncePerRoundAndDecaysAfter16Recoveries) {
  const Duration min_rtt = ms(40), srtt = ms(200);
  RetransmitQueue q;
  for (int i = 0; i < 10; ++i) send(q, i, i);
  auto reo = [&] { return q.rack_reo_wnd(min_rtt, srtt, false, q.snd_una(), q.snd_nxt()); };
  EXPECT_EQ(reo(), ms(10));

  // First D-SACK: round until snd_una reaches 10000 (snd_nxt now).
  AckResult r = sack(q, 2000, {{0, 1000}}, 100);
  ASSERT_TRUE(r.dsack);
  EXPECT_EQ(q.reo_wnd_mult(), 2u);
  EXPECT_EQ(reo(), ms(20));
  // More D-SACKs in the same round, from on_ack or directly: no further growth.
  r = sack(q, 3000, {{1000, 2000}}, 101);
  ASSERT_TRUE(r.dsack);
  q.on_dsack(q.snd_nxt());
  EXPECT_EQ(q.reo_wnd_mult(), 2u);

  // The round ends once snd_una passes 10000; the next D-SACK grows the window again.
  for (int i = 10; i < 12; ++i) send(q, i, 100 + i);
  r = sack(q, 10000, {{9000, 10000}}, 200);
  ASSERT_TRUE(r.dsack);
  EXPECT_EQ(q.reo_wnd_mult(), 3u);
  EXPECT_EQ(reo(), ms(30));

  // Capped by srtt however large the multiplier.
  EXPECT_EQ(q.rack_reo_wnd(min_rtt, ms(25), false, q.snd_una(), q.snd_nxt()), ms(25));

  // It persists 16 recoveries without a D-SACK, then resets.
  for (int i = 0; i < 15; ++i) q.on_recovery_end();
  EXPECT_EQ(q.reo_wnd_mult(), 3u);
  q.on_recovery_end();
  EXPECT_EQ(q.reo_wnd_mult(), 1u);
  EXPECT_EQ(reo(), ms(10));
  q.on_recovery_end();
  EXPECT_EQ(q.reo_wnd_mult(), 1u);
}

TEST(RackTest, DsackRoundEndsThroughReoWndQuery) {
  RetransmitQueue q;
  for (int i = 0; i < 4; ++i) send(q, i, i);
  sack(q, 2000, {{0, 1000}}, 100);  // round until 4000
  EXPECT_EQ(q.reo_wnd_mult(), 2u);
  // The connection reports snd_una past the round (e.g. the queue was emptied).
  q.rack_reo_wnd(ms(40), ms(100), false, S(4000), S(4000));
  q.on_dsack(S(4000));
  EXPECT_EQ(q.reo_wnd_mult(), 3u);
}

TEST(RackTest, PersistRestartsOnEveryNewDsackRound) {
  RetransmitQueue q;
  for (int i = 0; i < 4; ++i) send(q, i, i);
  sack(q, 1000, {{0, 1000}}, 100);
  for (int i = 0; i < 10; ++i) q.on_recovery_end();
  sack(q, 4000, {{0, 1000}}, 200);  // round over: a new one, persistence back to 16
  EXPECT_EQ(q.reo_wnd_mult(), 3u);
  for (int i = 0; i < 15; ++i) q.on_recovery_end();
  EXPECT_EQ(q.reo_wnd_mult(), 3u);
  q.on_recovery_end();
  EXPECT_EQ(q.reo_wnd_mult(), 1u);
}

TEST(RackTest, ReorderedDeliveryWithinReoWndIsNotLoss) {
  // End to end: segment 0 is merely late. With reo_wnd = min_rtt/4 it arrives before
  // the reorder timer, and nothing is marked lost; then reordering_seen keeps the
  // window open even during recovery.
  RetransmitQueue q;
  for (int i = 0; i < 3; ++i) send(q, i, i);
  const Duration min_rtt = ms(100), srtt = ms(100);
  sack(q, 0, {{1000, 3000}}, 102, min_rtt);  // rack.rtt = 100, xmit_ts = 2
  Duration reo = q.rack_reo_wnd(min_rtt, srtt, false, q.snd_una(), q.snd_nxt());
  EXPECT_EQ(reo, ms(25));
  Instant timeout;
  EXPECT_EQ(q.rack_detect_loss(T(102), reo, &timeout), 0u);
  EXPECT_EQ(timeout, T(125));
  sack(q, 3000, {}, 110, min_rtt);
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.reordering_seen());
  EXPECT_EQ(q.rack_detect_loss(T(125), reo, &timeout), 0u);
  EXPECT_EQ(q.rack_reo_wnd(min_rtt, srtt, true, q.snd_una(), q.snd_nxt()), ms(25));
}

}  // namespace
}  // namespace joyride::core::tcp
