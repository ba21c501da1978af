// Readiness events of a TCP socket (TcpLayer::notify): edge-triggered as epoll's
// EPOLLET. An event is queued when a readiness bit appears or the state changes; a
// change that only clears bits queues nothing but refreshes an event not yet taken;
// readiness() (the level) is always exact. A host that acts until its calls would
// block therefore never misses data, space, a FIN or a state change.
#include <vector>

#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

// The events queued for `s` since the last call (others are dropped).
std::vector<uint32_t> events(Conn& c) {
  std::vector<uint32_t> out;
  SocketEvent ev[16];
  while (size_t n = c.h.stack->take_events(ev)) {
    for (size_t i = 0; i < n; ++i) {
      if (ev[i].socket == c.s) out.push_back(ev[i].readiness);
    }
  }
  return out;
}

using Events = std::vector<uint32_t>;

TEST(TcpReadiness, DataAfterAnEmptyRingIsAnEdgeAndMoreDataIsNot) {
  Conn c;
  events(c);
  c.data(0, 100);
  EXPECT_EQ(events(c), (Events{kReadable | kWritable}));
  // Unread data, more arrives: readable already, no new event.
  c.data(100, 100);
  EXPECT_EQ(events(c), Events{});
  EXPECT_EQ(c.h.tcp().readiness(c.s), kReadable | kWritable);
  // A partial read leaves it readable: no event, the level says so.
  EXPECT_EQ(c.read(150), 150u);
  EXPECT_EQ(events(c), Events{});
  EXPECT_EQ(c.h.tcp().readiness(c.s), kReadable | kWritable);
  // Reading the rest clears the bit: no event for that (nothing to act on) ...
  EXPECT_EQ(c.read(100), 50u);
  EXPECT_EQ(events(c), Events{});
  EXPECT_EQ(c.h.tcp().readiness(c.s), uint32_t{kWritable});
  // ... and data after it is an edge again.
  c.data(200, 100);
  EXPECT_EQ(events(c), (Events{kReadable | kWritable}));
}

TEST(TcpReadiness, APendingEventIsRefreshedWhenABitClears) {
  Conn c;
  events(c);
  c.data(0, 100);
  // The host has not taken the event when the data is read (another thread of its
  // loop, say): the event must not still claim readable.
  EXPECT_EQ(c.read(100), 100u);
  EXPECT_EQ(events(c), (Events{kWritable}));
}

TEST(TcpReadiness, SpaceIsAnEdgeWhenAThirdOfTheBufferFreesAfterItFilled) {
  Conn c(ConnOptions{.sndbuf = 8192});
  events(c);
  ASSERT_EQ(c.info().sndbuf, 8192u);
  // Fill the buffer: 8192 bytes, of which the initial window sends all (cwnd 10 MSS,
  // 5.6 segments): the buffer holds them until acknowledged.
  const Bytes b = pattern(10000);
  auto r = c.h.tcp().send(c.s, b, c.h.now);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 8192u);
  EXPECT_FALSE(c.h.tcp().readiness(c.s) & kWritable);
  EXPECT_EQ(events(c), Events{});  // only a bit cleared
  while (c.h.pop_segment()) {
  }
  // 1460 bytes acknowledged: less than a third free, still not writable.
  c.ack(kMss);
  EXPECT_EQ(events(c), Events{});
  EXPECT_FALSE(c.h.tcp().readiness(c.s) & kWritable);
  // 2920 free (>= 8192 / 3): writable again, one event.
  c.ack(2 * kMss);
  EXPECT_EQ(events(c), (Events{kWritable}));
  // More space while writable is no news.
  c.ack(3 * kMss);
  EXPECT_EQ(events(c), Events{});
  EXPECT_TRUE(c.h.tcp().readiness(c.s) & kWritable);
}

TEST(TcpReadiness, AStateChangeIsAnEventWhateverTheBits) {
  Conn c;
  events(c);
  c.data(0, 100);
  EXPECT_EQ(events(c), (Events{kReadable | kWritable}));
  // The FIN adds no bit (readable already, unread data) but moves the connection to
  // CLOSE-WAIT: the host hears of it.
  c.data(100, 0, TcpFlags::kAck | TcpFlags::kFin);
  EXPECT_EQ(c.h.tcp().state(c.s), TcpState::kCloseWait);
  EXPECT_EQ(events(c), (Events{kReadable | kWritable}));
  // Reading the data leaves EOF readable: no bit cleared, no event.
  EXPECT_EQ(c.read(200), 100u);
  EXPECT_EQ(events(c), Events{});
  EXPECT_TRUE(c.h.tcp().readiness(c.s) & kReadable);
}

TEST(TcpReadiness, AResetIsAnEvent) {
  Conn c;
  events(c);
  c.h.inject(c.seg(TcpFlags::kRst, c.them(0).value(), 0));
  const Events e = events(c);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_TRUE(e[0] & kError);
  EXPECT_TRUE(e[0] & kHangup);
}

}  // namespace
}  // namespace joyride::core::testing
