// The receiving half of data transfer, segment by segment: when ACKs go out (RFC 1122
// §4.2.3.2 and RFC 5681 §4.2 with Linux's 40 ms delayed ACK), the window we advertise
// (RFC 9293 §3.8.6: shrinking as data queues, never moving its right edge left; the
// receiver's silly window avoidance of §3.8.6.2.2; the window update after a read,
// Linux tcp_cleanup_rbuf), what happens to data beyond the window, and the
// out-of-order queue (SACK blocks of RFC 2018, its bounds).
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;
using base::SeqNum;


using Blocks = std::vector<std::pair<uint32_t, uint32_t>>;

TEST(TcpReceive, OneSegmentIsAcknowledgedAfterTheDelayedAckTimeout) {
  // RFC 1122 §4.2.3.2: an ACK may be delayed, by less than 500 ms; Linux: 40 ms.
  Conn c;
  c.data(0, kMss);
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(39));
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(1));
  c.expect_ack(kMss);
  EXPECT_EQ(c.h.counter("tcp.delayed_acks"), 1u);
  c.h.advance(Duration::seconds(1));
  c.h.expect_no_segment();
}

TEST(TcpReceive, SecondFullSegmentIsAcknowledgedAtOnce) {
  // RFC 5681 §4.2: an ACK for at least every second full-sized segment.
  Conn c;
  for (int round = 0; round < 3; ++round) {
    c.data(2 * round * kMss, kMss);
    c.h.expect_no_segment();
    c.data((2 * round + 1) * kMss, kMss);
    c.expect_ack((2 * round + 2) * kMss);
    c.h.expect_no_segment();
  }
  EXPECT_EQ(c.h.counter("tcp.delayed_acks"), 0u);
}

TEST(TcpReceive, SmallSegmentsDoNotCountAsFullOnes) {
  // Two small segments are not "two full-sized segments": the ACK waits for the timer.
  Conn c;
  c.data(0, kMss);  // teaches the receiver the peer's segment size
  c.h.advance(Duration::millis(40));
  c.expect_ack(kMss);
  c.data(kMss, 100);
  c.data(kMss + 100, 100);
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(40));
  c.expect_ack(kMss + 200);
}

TEST(TcpReceive, OutOfOrderDataIsAcknowledgedAtOnceWithSackBlocksMostRecentFirst) {
  // RFC 5681 §4.2 (immediate ACK for out-of-order data), RFC 2018 §4 (the first block
  // holds the most recently received segment; earlier blocks are repeated).
  Conn c;
  c.data(kMss, kMss);
  Seg a1 = c.expect_ack(0);
  EXPECT_EQ(c.sacks(a1), (Blocks{{kMss, 2 * kMss}}));
  c.data(4 * kMss, kMss);
  Seg a2 = c.expect_ack(0);
  EXPECT_EQ(c.sacks(a2), (Blocks{{4 * kMss, 5 * kMss}, {kMss, 2 * kMss}}));
  c.data(2 * kMss, kMss);  // extends the first range: it is the most recent again
  Seg a3 = c.expect_ack(0);
  EXPECT_EQ(c.sacks(a3), (Blocks{{kMss, 3 * kMss}, {4 * kMss, 5 * kMss}}));
  c.h.expect_no_segment();
}

TEST(TcpReceive, FillingAGapIsAcknowledgedAtOnce) {
  Conn c;
  c.data(kMss, kMss);
  c.expect_ack(0);
  c.data(3 * kMss, kMss);
  c.expect_ack(0);
  // The first hole fills: ACK at once, the remaining block still reported.
  c.data(0, kMss);
  Seg a = c.expect_ack(2 * kMss);
  EXPECT_EQ(c.sacks(a), (Blocks{{3 * kMss, 4 * kMss}}));
  // The last hole fills: everything is acknowledged, no SACK blocks left.
  c.data(2 * kMss, kMss);
  Seg b = c.expect_ack(4 * kMss);
  EXPECT_TRUE(b.h.options.sacks().empty());
  EXPECT_EQ(c.info().bytes_received, 4u * kMss);
  c.h.expect_no_segment();
  // The bytes reached the application in order.
  Bytes got(4 * kMss);
  auto r = c.h.tcp().recv(c.s, got, c.h.now);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(*r, 4u * kMss);
  for (uint32_t i = 0; i < 4; ++i) {
    Bytes want = pattern(kMss, static_cast<uint8_t>(i * kMss));
    EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin() + i * kMss)) << "segment " << i;
  }
}

TEST(TcpReceive, WindowShrinksAsDataQueuesAndItsRightEdgeNeverMovesLeft) {
  // RFC 9293 §3.8.6: the window shrinks by what the application has not read, and
  // the right edge we advertised is never taken back.
  Conn c(ConnOptions{.rcvbuf = 8192});
  EXPECT_EQ(c.synack.h.window, 8192);
  const struct {
    uint32_t queued;
    uint16_t window;
  } steps[] = {{2 * kMss, 8192 - 2 * kMss}, {4 * kMss, 8192 - 4 * kMss}};
  uint32_t off = 0;
  for (const auto& st : steps) {
    while (off < st.queued) {
      c.data(off, kMss);
      off += kMss;
    }
    Seg a = c.expect_ack(st.queued);
    EXPECT_EQ(a.h.window, st.window);
    EXPECT_EQ(a.ack() + a.h.window, c.them(8192)) << "right edge";
  }
  EXPECT_EQ(c.info().rcv_wnd, 8192u - 4 * kMss);
}

TEST(TcpReceive, FullBufferAdvertisesZeroAndDataBeyondTheWindowIsDropped) {
  Conn c(ConnOptions{.rcvbuf = 8192});
  for (uint32_t off = 0; off < 5 * kMss; off += kMss) c.data(off, kMss);
  c.expect_ack(2 * kMss);
  c.expect_ack(4 * kMss);
  c.data(5 * kMss, 8192 - 5 * kMss);  // fills the buffer exactly
  c.h.advance(Duration::millis(40));
  Seg full = c.expect_ack(8192);
  EXPECT_EQ(full.h.window, 0);
  // A segment at RCV.NXT into a zero window: acceptable for its ACK, its data is
  // dropped and the ACK repeats the zero window (RFC 9293 §3.10.7.4).
  c.data(8192, 100);
  Seg z = c.expect_ack(8192);
  EXPECT_EQ(z.h.window, 0);
  EXPECT_EQ(c.h.counter("tcp.drop_rcvbuf_full"), 1u);
  // Beyond the window altogether: not acceptable, answered with an ACK.
  c.data(8192 + 1000, 100);
  Seg n = c.expect_ack(8192);
  EXPECT_EQ(n.h.window, 0);
  EXPECT_EQ(c.h.counter("tcp.drop_not_acceptable"), 1u);
  EXPECT_EQ(c.info().bytes_received, 8192u);
}

TEST(TcpReceive, SegmentOverrunningTheWindowIsTrimmedToIt) {
  Conn c(ConnOptions{.rcvbuf = 8192});
  for (uint32_t off = 0; off < 5 * kMss; off += kMss) c.data(off, kMss);
  c.expect_ack(2 * kMss);
  c.expect_ack(4 * kMss);
  c.h.advance(Duration::millis(40));
  Seg a = c.expect_ack(5 * kMss);
  ASSERT_EQ(a.h.window, 8192 - 5 * kMss);
  // 1460 bytes into a 892-byte window: the first 892 are kept, the rest trimmed.
  c.data(5 * kMss, kMss);
  c.h.advance(Duration::millis(40));
  Seg b = c.expect_ack(8192);
  EXPECT_EQ(b.h.window, 0);
  EXPECT_EQ(c.info().bytes_received, 8192u);
  EXPECT_EQ(c.h.counter("tcp.drop_rcvbuf_full"), 1u);
}

TEST(TcpReceive, ReadingAnnouncesTheWindowOnlyWhenItGrewEnough) {
  // Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): the right edge moves only by
  // min(RCV.BUFF/2, MSS) or more; and a read sends a window update when the window at
  // least doubled and grew by a full segment (Linux tcp_cleanup_rbuf).
  Conn c(ConnOptions{.rcvbuf = 8192});
  for (uint32_t off = 0; off < 5 * kMss; off += kMss) c.data(off, kMss);
  c.expect_ack(2 * kMss);
  c.expect_ack(4 * kMss);
  c.data(5 * kMss, 8192 - 5 * kMss);
  c.h.advance(Duration::millis(40));
  ASSERT_EQ(c.expect_ack(8192).h.window, 0);
  // 100 bytes read: opening a 100-byte window would be silly. Nothing is sent.
  EXPECT_EQ(c.read(100), 100u);
  c.h.expect_no_segment();
  // Up to 1459: still less than an MSS.
  EXPECT_EQ(c.read(1359), 1359u);
  c.h.expect_no_segment();
  // A zero-window probe meanwhile is answered with the zero window still.
  c.h.inject(c.seg(TcpFlags::kAck, c.them(8191).value(), c.us(0).value()));
  EXPECT_EQ(c.expect_ack(8192).h.window, 0);
  // One more byte makes a full MSS: the update goes out at once.
  EXPECT_EQ(c.read(1), 1u);
  Seg up = c.expect_ack(8192);
  EXPECT_EQ(up.h.window, kMss);
  // 1000 more read: the right edge would move by less than an MSS, so it stays.
  EXPECT_EQ(c.read(1000), 1000u);
  c.h.expect_no_segment();
  // Reading the rest: 8192 free, from 1460: an update.
  EXPECT_EQ(c.read(8192), 8192u - 2460u);
  Seg up2 = c.expect_ack(8192);
  EXPECT_EQ(up2.h.window, 8192);
}

// Linux tcp_cleanup_rbuf: after a read, "Send ACK now, if this read freed lots of space
// in our buffer ... 'Lots' means 'at least twice' here": new_window >= 2 *
// rcv_window_now (the core also wants the growth to be a full segment, its receiver
// SWS rule). Without window scaling, from an open (non-zero) window of 2352 bytes,
// reads that grow it by one MSS and more, but short of 2 x 2352, announce nothing; the
// read that brings it to exactly twice does.
TEST(TcpReceive, ReadAnnouncesAnOpenWindowOnlyOnceItHasDoubled) {
  Conn c(ConnOptions{.rcvbuf = 8192});
  ASSERT_FALSE(c.synack.h.options.window_scale.has_value());
  for (uint32_t off = 0; off < 4 * kMss; off += kMss) c.data(off, kMss);
  c.expect_ack(2 * kMss);
  Seg a = c.expect_ack(4 * kMss);
  const uint32_t open = 8192 - 4 * kMss;  // 2352
  ASSERT_EQ(a.h.window, open);
  // 3812 free: grown by a full MSS, the right edge would move by one, but not doubled.
  EXPECT_EQ(c.read(kMss), kMss);
  c.h.expect_no_segment();
  // 4703 free: one byte short of doubling.
  EXPECT_EQ(c.read(2 * open - 1 - (open + kMss)), 2 * open - 1 - (open + kMss));
  c.h.expect_no_segment();
  // 4704 = 2 x 2352: the update goes out at once with the whole free space.
  EXPECT_EQ(c.read(1), 1u);
  Seg up = c.expect_ack(4 * kMss);
  EXPECT_EQ(up.h.window, 2 * open);
  c.h.expect_no_segment();
}

TEST(TcpReceive, DuplicateSegmentIsAcknowledgedAtOnceWithADsack) {
  // RFC 2883 §4: a duplicate is reported in the first SACK block.
  Conn c;
  c.data(0, kMss);
  c.data(kMss, kMss);
  c.expect_ack(2 * kMss);
  c.data(0, kMss);  // our ACK was lost; the peer retransmitted
  Seg d = c.expect_ack(2 * kMss);
  EXPECT_EQ(c.sacks(d), (Blocks{{0, kMss}}));
  EXPECT_EQ(c.h.counter("tcp.dsack_sent"), 1u);
  // Partly old, partly new: the old part is the D-SACK, the new part is taken.
  c.data(kMss, 2 * kMss);
  c.h.advance(Duration::millis(40));
  Seg p = c.expect_ack(3 * kMss);
  EXPECT_EQ(c.sacks(p), (Blocks{{kMss, 2 * kMss}}));
  // A duplicate of held out-of-order data: D-SACK first, then the held block.
  c.data(5 * kMss, kMss);
  c.expect_ack(3 * kMss);
  c.data(5 * kMss, kMss);
  Seg o = c.expect_ack(3 * kMss);
  EXPECT_EQ(c.sacks(o), (Blocks{{5 * kMss, 6 * kMss}, {5 * kMss, 6 * kMss}}));
}

TEST(TcpReceive, OutOfOrderQueueIsBoundedInSegments) {
  // A peer scattering segments cannot make us hold more than ooo_max_segments of them.
  Conn c(ConnOptions{.harness = HarnessOptions{.configure = [](StackConfig& sc) { sc.tcp.ooo_max_segments = 2; }}});
  c.data(2 * 100, 100);
  c.expect_ack(0);
  c.data(4 * 100, 100);
  c.expect_ack(0);
  c.data(6 * 100, 100);  // refused: the queue holds two segments already
  Seg a = c.expect_ack(0);
  EXPECT_EQ(c.sacks(a), (Blocks{{400, 500}, {200, 300}}));
  EXPECT_EQ(c.h.counter("tcp.drop_ooo_full"), 1u);
  // The gap fills; what was held is delivered, what was refused must come again.
  c.data(0, 200);
  c.expect_ack(300);
  c.data(300, 100);
  c.expect_ack(500);
  EXPECT_EQ(c.info().bytes_received, 500u);
}

}  // namespace
}  // namespace joyride::core::testing
