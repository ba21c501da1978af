// Socket buffer auto-tuning, seen through TcpInfo's sndbuf/rcvbuf: the receive buffer
// grows by dynamic right-sizing (Linux tcp_rcv_space_adjust: at most once per RTT, when
// the application read more than half of it), the send buffer with the congestion
// window (tcp_sndbuf_expand), both within TcpConfig's maxima (tcp_rmem/tcp_wmem[2]);
// SO_RCVBUF/SO_SNDBUF set by the application turn auto-tuning off (SOCK_*BUF_LOCK).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

constexpr Duration kRtt = Duration::millis(10);

// The peer sends `segments` full segments from offset `off`; our ACKs are discarded.
void peer_sends(Conn& c, uint32_t off, uint32_t segments) {
  for (uint32_t i = 0; i < segments; ++i) c.data(off + i * kMss, kMss);
  while (c.h.pop_segment()) {
  }
}

struct RcvCase {
  const char* name;
  size_t so_rcvbuf;    // 0: not set
  size_t rcvbuf_max;   // tcp_rmem[2]
  size_t after;        // the buffer after one RTT in which 50 segments were read
};

class TcpRcvAutotune : public ::testing::TestWithParam<RcvCase> {};

TEST_P(TcpRcvAutotune, GrowsWhenTheApplicationDrainsMoreThanHalfPerRtt) {
  const RcvCase& k = GetParam();
  ConnOptions o{.ws = 7, .rcvbuf = k.so_rcvbuf, .handshake_rtt = kRtt};
  o.harness.configure = [&](StackConfig& sc) { sc.tcp.rcvbuf_max = k.rcvbuf_max; };
  Conn c(o);
  EXPECT_EQ(c.info().rcvbuf, 131072u);
  // 73000 bytes, more than half the 128 KiB buffer, read within one RTT.
  peer_sends(c, 0, 50);
  c.h.advance(kRtt);
  EXPECT_EQ(c.read(50 * kMss), 50 * kMss);
  // Linux doubles, or sizes it to 4x what was read if that is more: 292000 bytes.
  EXPECT_EQ(c.info().rcvbuf, k.after);
  EXPECT_LE(c.info().rcvbuf, k.rcvbuf_max);
}

INSTANTIATE_TEST_SUITE_P(
    Bounds, TcpRcvAutotune,
    ::testing::Values(RcvCase{"Auto", 0, 6 * 1024 * 1024, 4 * 50 * kMss},
                      RcvCase{"CappedByRmemMax", 0, 200000, 200000},
                      RcvCase{"LockedBySoRcvbuf", 131072, 6 * 1024 * 1024, 131072}),
    [](const auto& i) { return std::string(i.param.name); });

TEST(TcpRcvAutotune, AtMostOncePerRttAndOnlyWhenMostOfTheBufferWasRead) {
  Conn c(ConnOptions{.ws = 7, .handshake_rtt = kRtt});
  // Less than half the buffer read in an RTT: no growth.
  peer_sends(c, 0, 40);  // 58400 < 65536
  c.h.advance(kRtt);
  EXPECT_EQ(c.read(40 * kMss), 40 * kMss);
  EXPECT_EQ(c.info().rcvbuf, 131072u);
  // More than half, but read within the same RTT as the last measurement: wait.
  peer_sends(c, 40 * kMss, 50);
  c.h.advance(kRtt / 2);
  EXPECT_EQ(c.read(50 * kMss), 50 * kMss);
  EXPECT_EQ(c.info().rcvbuf, 131072u);
  // The RTT is over at the next read: it counts everything read since.
  peer_sends(c, 90 * kMss, 1);
  c.h.advance(kRtt / 2);
  EXPECT_EQ(c.read(kMss), kMss);
  EXPECT_EQ(c.info().rcvbuf, 4 * 51 * kMss);
  // Once per RTT: an immediate second drain does not grow it again.
  peer_sends(c, 91 * kMss, 100);
  EXPECT_EQ(c.read(100 * kMss), 100 * kMss);
  EXPECT_EQ(c.info().rcvbuf, 4 * 51 * kMss);
}

struct SndCase {
  const char* name;
  size_t so_sndbuf;
  size_t sndbuf_max;  // tcp_wmem[2]
  std::vector<size_t> sizes;  // the buffer sizes seen, in order
};

class TcpSndAutotune : public ::testing::TestWithParam<SndCase> {};

TEST_P(TcpSndAutotune, GrowsWithTheCongestionWindow) {
  // A bulk sender that keeps its buffer full; each round every segment sent is
  // acknowledged, so slow start adds 2 MSS per round. The buffer doubles whenever
  // twice cwnd exceeds it, up to the maximum.
  const SndCase& k = GetParam();
  ConnOptions o{.ws = 7, .sndbuf = k.so_sndbuf, .cc = "newreno"};
  o.harness.configure = [&](StackConfig& sc) { sc.tcp.sndbuf_max = k.sndbuf_max; };
  Conn c(o);
  std::vector<size_t> sizes{c.info().sndbuf};
  const Bytes chunk = pattern(1 << 20);
  uint32_t sent = 0;
  for (int round = 0; round < 40; ++round) {
    const size_t before = c.info().sndbuf;
    const uint32_t cwnd = c.info().cwnd;
    (void)c.h.tcp().send(c.s, chunk, c.h.now);
    while (auto g = c.h.pop_segment()) {
      sent = std::max<uint32_t>(sent, static_cast<uint32_t>(g->seq() - c.us(0)) + static_cast<uint32_t>(g->payload.size()));
    }
    c.ack(sent);
    const size_t after = c.info().sndbuf;
    if (after != before) {
      sizes.push_back(after);
      EXPECT_GT(2 * size_t{std::max(cwnd, c.info().cwnd)}, before) << "grew before cwnd needed it";
    }
    EXPECT_LE(after, k.sndbuf_max);
  }
  EXPECT_EQ(sizes, k.sizes);
}

INSTANTIATE_TEST_SUITE_P(
    Bounds, TcpSndAutotune,
    ::testing::Values(SndCase{"Auto", 0, 262144, {65536, 131072, 262144}},
                      SndCase{"CappedByWmemMax", 0, 100000, {65536, 100000}},
                      SndCase{"LockedBySoSndbuf", 65536, 262144, {65536}}),
    [](const auto& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace joyride::core::testing
