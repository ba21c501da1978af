// The ISNs the layer actually uses (RFC 6528), seen on the wire: a connect()'s SYN
// and a listener's SYN-ACK. IsnGenerator is tested alone in isn_test.cc; these
// check it is wired in, so that a constant or clock-less ISN in either path fails.
//
// The stack gets a RandomSource that always returns the same word, so whatever
// order its layers draw keys in, an IsnGenerator built on the same source holds
// the same ISN key and predicts the layer's ISN for a tuple and time.
#include <gtest/gtest.h>

#include "joyride/core/tcp/isn.h"
#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

class ConstantRandom final : public base::RandomSource {
 public:
  uint64_t next_u64() override { return 0x5eed'1234'abcd'9876; }
};

// 1 s is 250,000 ticks of the 4 µs ISN clock.
constexpr uint32_t kTicksPerSecond = 250'000;

struct IsnWiring : ::testing::Test {
  ConstantRandom random;
  TcpHarness h{HarnessOptions{.random = &random}};
  ConstantRandom random_copy;
  tcp::IsnGenerator expected{random_copy};

  // Our SYN's ISN for a connect() from kOurIp:local_port to the peer's port 80.
  uint32_t connect_isn(uint16_t local_port) {
    auto s = h.tcp().open();
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, local_port}).ok());
    EXPECT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
    Seg syn = h.expect_segment();
    EXPECT_EQ(syn.h.flags, TcpFlags::kSyn);
    h.tcp().close(*s, h.now);  // in SYN-SENT: gone at once, the tuple free again
    h.expect_no_segment();
    return syn.seq().value();
  }
  // Our SYN-ACK's ISN for a SYN from the peer's port to our port 80; the request
  // is then reset away so the tuple can be used again.
  uint32_t listener_isn(uint16_t peer_port) {
    auto syn = h.peer_segment(TcpFlags::kSyn, 1000, 0);
    syn.src_port = peer_port;
    h.inject(syn);
    Seg sa = h.expect_segment();
    EXPECT_EQ(sa.h.flags, TcpFlags::kSyn | TcpFlags::kAck);
    auto rst = h.peer_segment(TcpFlags::kRst, 1001, 0);
    rst.src_port = peer_port;
    h.inject(rst);
    h.expect_no_segment();
    return sa.seq().value();
  }
  uint32_t predicted(uint16_t local_port, uint16_t remote_port) const {
    return expected.isn(tcp::FourTuple{kOurIp, kPeerIp, local_port, remote_port}, h.now);
  }
};

TEST_F(IsnWiring, ConnectUsesTheKeyedIsnOfItsTupleAndTime) {
  const uint32_t a = connect_isn(5000);
  const uint32_t b = connect_isn(5001);
  EXPECT_NE(a, b) << "two tuples, one instant: only F(tuple) tells them apart";
  EXPECT_EQ(a, predicted(5000, 80));
  EXPECT_EQ(b, predicted(5001, 80));
  h.advance(Duration::seconds(1));
  const uint32_t a2 = connect_isn(5000);
  EXPECT_EQ(a2, predicted(5000, 80));
  EXPECT_EQ(a2 - a, kTicksPerSecond) << "the same tuple a second later: M moved on";
}

TEST_F(IsnWiring, ListenerUsesTheKeyedIsnOfItsTupleAndTime) {
  h.listen(80);
  const uint32_t a = listener_isn(40000);
  const uint32_t b = listener_isn(40001);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, predicted(80, 40000));
  EXPECT_EQ(b, predicted(80, 40001));
  h.advance(Duration::seconds(1));
  const uint32_t a2 = listener_isn(40000);
  EXPECT_EQ(a2, predicted(80, 40000));
  EXPECT_EQ(a2 - a, kTicksPerSecond);
}

// The other seed-dependent half: two stacks with different randomness pick
// different ISNs for the same tuple at the same time (the key is secret and
// per-host, not a constant of the code).
TEST(IsnWiringKeys, DifferentHostsDifferentIsns) {
  uint32_t isn[2];
  for (int i = 0; i < 2; ++i) {
    TcpHarness h(HarnessOptions{.seed = static_cast<uint64_t>(i + 1)});
    auto s = h.tcp().open();
    ASSERT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, 5000}).ok());
    ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
    isn[i] = h.expect_segment().seq().value();
  }
  EXPECT_NE(isn[0], isn[1]);
}

}  // namespace
}  // namespace joyride::core::testing
