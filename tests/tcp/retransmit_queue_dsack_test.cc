// RetransmitQueue's D-SACK detection at a block edge (RFC 2883 §4, Linux
// tcp_check_dsack): the first block is a D-SACK when it lies below the cumulative ACK
// or inside the second block, edges included. The general cases are in
// retransmit_queue_test.cc.
#include <gtest/gtest.h>

#include <vector>

#include "joyride/core/tcp/retransmit_queue.h"

namespace joyride::core::tcp {
namespace {

using base::Duration;
using base::Instant;
using base::SeqNum;
using wire::SackBlock;

constexpr uint32_t kIss = 1'000'000;
constexpr uint32_t kMss = 1000;
constexpr Instant kT0 = Instant::from_nanos(1'000'000'000);

SeqNum S(uint32_t off) { return SeqNum(kIss + off); }

AckResult ack(RetransmitQueue& q, uint32_t ack_off, std::vector<std::pair<uint32_t, uint32_t>> blocks) {
  std::vector<SackBlock> sacks;
  for (auto [l, r] : blocks) sacks.push_back(SackBlock{S(l), S(r)});
  return q.on_ack(S(ack_off), sacks, kT0 + Duration::millis(100), Duration::max());
}

// RFC 2883 §4: "If the D-SACK block reports a duplicate contiguous sequence from a
// (possibly larger) block of data in the receiver's data queue above the cumulative
// acknowledgement, then the second SACK block in that SACK option should specify that
// (possibly larger) block of data." Linux tcp_check_dsack takes the first block as a
// D-SACK when !after(end_seq_0, end_seq_1) && !before(start_seq_0, start_seq_1): a
// duplicate at the left (or right) edge of the block holding it is one, and is not
// counted as newly SACKed data; the second block is.
TEST(RetransmitQueueDsackTest, DsackSharingAnEdgeOfTheBlockContainingItIsADsack) {
  const std::pair<uint32_t, uint32_t> dups[] = {{2000, 3000}, {4000, 5000}};
  for (const auto& dup : dups) {
    SCOPED_TRACE(::testing::Message() << "D-SACK [" << dup.first << "," << dup.second << ") in [2000,5000)");
    RetransmitQueue q;
    for (uint32_t i = 0; i < 6; ++i) q.on_send(S(i * kMss), S((i + 1) * kMss), kT0 + Duration::millis(i));
    AckResult r = ack(q, 0, {dup, {2000, 5000}});
    ASSERT_TRUE(r.dsack);
    EXPECT_EQ(*r.dsack, (SackBlock{S(dup.first), S(dup.second)}));
    EXPECT_EQ(r.newly_sacked_bytes, 3000u);
    EXPECT_EQ(q.sacked_bytes(), 3000u);
  }
}

}  // namespace
}  // namespace joyride::core::tcp
