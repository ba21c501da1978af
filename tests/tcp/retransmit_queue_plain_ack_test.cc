// RetransmitQueue::on_ack's one-pass path for an ACK without SACK blocks on a
// scoreboard with nothing SACKed, lost or retransmitted (on_plain_ack) must leave the
// same state and return the same result as the general path. The general path is
// reached with the same ACK plus one empty SACK block (left == right), which every
// rule ignores: it is no D-SACK (RFC 2883 §4 needs left < right) and not a valid
// block. Random histories (sends with repeated and out-of-order times, splits by
// partial ACKs, retransmissions followed by an undo, so records retransmitted once
// sit among the others) are replayed on two copies, and every ACK is compared.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "joyride/base/random.h"
#include "joyride/core/tcp/retransmit_queue.h"

namespace joyride::core::tcp {
namespace {

using base::Duration;
using base::Instant;
using base::SeqNum;
using wire::SackBlock;

std::string state(const RetransmitQueue& q) {
  std::ostringstream o;
  o << "una=" << q.snd_una().value() << " nxt=" << q.snd_nxt().value() << " flight=" << q.in_flight()
    << " sacked=" << q.sacked_bytes() << " lost=" << q.lost_bytes() << " retrans=" << q.retrans_bytes()
    << " rack=" << q.rack_valid() << "/" << q.rack_xmit_ts().as_nanos() << "/" << q.rack_end_seq().value() << "/"
    << q.rack_rtt().as_nanos() << " reo=" << q.reordering_seen() << " mult=" << q.reo_wnd_mult();
  if (const SentSegment* n = q.next_lost()) o << " next_lost=" << n->begin.value();
  q.for_each([&](const SentSegment& s) {
    o << " [" << s.begin.value() << "," << s.end.value() << ")@" << s.sent_at.as_nanos() << "/"
      << s.first_sent_at.as_nanos() << (s.sacked ? "S" : "") << (s.lost ? "L" : "") << (s.retransmitted ? "R" : "")
      << (s.ever_retransmitted ? "E" : "");
  });
  return o.str();
}

std::string result(const AckResult& r) {
  std::ostringstream o;
  o << "acked=" << r.acked_bytes << " sacked=" << r.newly_sacked_bytes
    << " rtt=" << (r.rtt ? r.rtt->as_nanos() : -1) << " dsack=" << r.dsack.has_value()
    << " acked_retransmitted=" << r.acked_retransmitted;
  return o.str();
}

// Applies an ACK to both queues, one through each path, and compares.
void ack_both(RetransmitQueue& plain, RetransmitQueue& general, SeqNum ack, Instant now, Duration min_rtt) {
  const SackBlock empty{ack, ack};
  const AckResult a = plain.on_ack(ack, {}, now, min_rtt);
  const AckResult b = general.on_ack(ack, std::span<const SackBlock>(&empty, 1), now, min_rtt);
  ASSERT_EQ(result(a), result(b));
  ASSERT_EQ(state(plain), state(general));
}

TEST(RetransmitQueuePlainAck, SameAsTheGeneralPathOnRandomHistories) {
  base::SeededRandom random(7);
  for (int history = 0; history < 300; ++history) {
    SCOPED_TRACE(history);
    // Start near the top of the sequence space now and then: comparisons wrap.
    const uint32_t iss = history % 3 == 0 ? 0xffff0000u + static_cast<uint32_t>(static_cast<uint32_t>(random.next_u64()) % 4096)
                                          : static_cast<uint32_t>(static_cast<uint32_t>(random.next_u64()));
    RetransmitQueue plain(4), general(4);
    SeqNum nxt(iss);
    SeqNum una(iss);
    int64_t clock = 1'000'000'000;
    for (int step = 0; step < 60; ++step) {
      const uint32_t what = static_cast<uint32_t>(random.next_u64()) % 10;
      // Time mostly moves on, sometimes stands still, sometimes goes back (on_send
      // then keeps the order of original sends).
      const uint32_t dt = static_cast<uint32_t>(random.next_u64()) % 4;
      clock += dt == 0 ? 0 : dt == 1 ? -500'000 : static_cast<int64_t>(dt) * 1'000'000;
      const Instant now = Instant::from_nanos(clock);
      const Duration min_rtt = static_cast<uint32_t>(random.next_u64()) % 2 ? Duration::max() : Duration::millis(static_cast<uint32_t>(random.next_u64()) % 5);
      if (what < 5 || una == nxt) {
        const uint32_t len = 1 + static_cast<uint32_t>(random.next_u64()) % 3000;
        plain.on_send(nxt, nxt + len, now);
        general.on_send(nxt, nxt + len, now);
        nxt += len;
      } else if (what < 8) {
        // A cumulative ACK anywhere in (una, nxt]: whole records, or splitting one.
        const uint32_t out = static_cast<uint32_t>(nxt - una);
        const SeqNum ack = una + (1 + static_cast<uint32_t>(random.next_u64()) % out);
        ack_both(plain, general, ack, now, min_rtt);
        una = ack;
      } else if (what == 8) {
        // An ACK that moves nothing (duplicate, or below SND.UNA).
        ack_both(plain, general, una - static_cast<uint32_t>(random.next_u64()) % 2, now, min_rtt);
      } else {
        // A retransmission of part of the queue, then an undo: the records stay
        // ever_retransmitted with no flag set, as after a spurious recovery.
        const uint32_t out = static_cast<uint32_t>(nxt - una);
        const SeqNum b = una + static_cast<uint32_t>(random.next_u64()) % out;
        const SeqNum e = b + (1 + static_cast<uint32_t>(random.next_u64()) % static_cast<uint32_t>(nxt - b));
        for (RetransmitQueue* q : {&plain, &general}) {
          q->mark_head_lost();
          q->on_retransmit(b, e, now);
          q->clear_lost();
        }
        ASSERT_EQ(state(plain), state(general));
      }
      if (HasFatalFailure()) return;
    }
  }
}

// A lone ACK on a queue where the head was retransmitted and undone: the RTT sample
// skips it (Karn) and the result says a retransmitted record was acknowledged.
TEST(RetransmitQueuePlainAck, RetransmittedRecordAmongOriginals) {
  RetransmitQueue plain, general;
  const Instant t0 = Instant::from_nanos(1'000'000'000);
  for (RetransmitQueue* q : {&plain, &general}) {
    for (uint32_t i = 0; i < 4; ++i) q->on_send(SeqNum(1000 * i), SeqNum(1000 * (i + 1)), t0 + Duration::millis(i));
    q->mark_head_lost();
    q->on_retransmit(SeqNum(0), SeqNum(1000), t0 + Duration::millis(10));
    q->clear_lost();
  }
  ack_both(plain, general, SeqNum(2500), t0 + Duration::millis(20), Duration::max());
  const AckResult r = plain.on_ack(SeqNum(4000), {}, t0 + Duration::millis(30), Duration::max());
  EXPECT_EQ(r.acked_bytes, 1500u);
  ASSERT_TRUE(r.rtt.has_value());
  EXPECT_EQ(*r.rtt, Duration::millis(27));  // the last record, sent at 3 ms
}

}  // namespace
}  // namespace joyride::core::tcp
