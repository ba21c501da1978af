// Closing connections, segment by segment (RFC 9293 §3.6 and the state diagram of
// §3.3.2): active close FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT, passive close
// CLOSE_WAIT -> LAST_ACK -> CLOSED, simultaneous close through CLOSING, a FIN that
// rides on data, half-close in both directions, and Linux's close() rules: unread
// data or SO_LINGER 0 resets (RFC 2525 §2.17), an orphan's FIN_WAIT_2 lasts
// tcp_fin_timeout (60 s).
#include <gtest/gtest.h>

#include "tcp_bare_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

constexpr uint32_t kPeerIss = kBarePeerIss;
constexpr uint32_t kPeer = kPeerIss + 1;  // the peer's first data byte

// An accepted connection without options: windows are unscaled, every segment is a
// bare 20-byte header.
class TcpClose : public BareConnTest {
 protected:
  void SetUp() override {
    BareConnTest::SetUp();
    ASSERT_EQ(h.tcp().state(s), TcpState::kEstablished);
    h.expect_no_segment();
  }
  void data_after_close_resets(bool orphan, bool fin_acked);
};

constexpr uint8_t kAck = TcpFlags::kAck;
constexpr uint8_t kFinAck = TcpFlags::kFin | TcpFlags::kAck;
constexpr uint8_t kRstAck = TcpFlags::kRst | TcpFlags::kAck;

// RFC 9293 §3.6 case 1: the local user closes first.
TEST_F(TcpClose, ActiveCloseGoesFinWait1FinWait2TimeWaitClosed) {
  ASSERT_TRUE(h.tcp().shutdown(s, false, true, h.now));
  expect(kFinAck, us(1), kPeer);
  EXPECT_EQ(state(), TcpState::kFinWait1);
  peer(kAck, kPeer, us(2));  // acknowledges our FIN
  h.expect_no_segment();
  EXPECT_EQ(state(), TcpState::kFinWait2);
  peer(kFinAck, kPeer, us(2));
  expect(kAck, us(2), kPeer + 1);  // the FIN is acknowledged at once
  EXPECT_EQ(state(), TcpState::kTimeWait);
  std::array<uint8_t, 4> b{};
  EXPECT_EQ(*h.tcp().recv(s, b, h.now), 0u);  // EOF
  h.advance(Duration::seconds(60) - Duration::millis(1));
  EXPECT_EQ(state(), TcpState::kTimeWait);
  h.advance(Duration::millis(1));
  EXPECT_EQ(state(), TcpState::kClosed);  // still held by the application
  h.expect_no_segment();
  h.tcp().close(s, h.now);
  EXPECT_FALSE(state().has_value());
}

TEST_F(TcpClose, ClosedHandleFinishesAsAnOrphanAndIsFreed) {
  const size_t before = h.tcp().connections();
  h.tcp().close(s, h.now);
  expect(kFinAck, us(1), kPeer);
  EXPECT_EQ(state(), TcpState::kFinWait1);  // the handle is dead; the connection lives on
  std::array<uint8_t, 4> b{};
  EXPECT_EQ(h.tcp().recv(s, b, h.now).error(), RecvError::kBadSocket);
  peer(kFinAck, kPeer, us(2));  // ACK of our FIN and the peer's FIN together
  expect(kAck, us(2), kPeer + 1);
  EXPECT_EQ(state(), TcpState::kTimeWait);
  h.advance(Duration::seconds(60));
  EXPECT_FALSE(state().has_value());
  EXPECT_EQ(h.tcp().connections(), before - 1);
}

// RFC 1122 §4.2.2.13, as Linux (TCPAbortOnData): new data for a connection closed
// for reading is answered with a reset — after close() in FIN_WAIT_1 or FIN_WAIT_2, and
// after shutdown(SHUT_RDWR), where the application sees ECONNRESET. A data-less ACK or
// the peer's FIN closes as usual (the cases above).
void TcpClose::data_after_close_resets(bool orphan, bool fin_acked) {
  if (orphan) h.tcp().close(s, h.now);
  else ASSERT_TRUE(h.tcp().shutdown(s, true, true, h.now));
  expect(kFinAck, us(1), kPeer);
  const uint32_t ack = fin_acked ? us(2) : us(1);
  if (fin_acked) {
    peer(kAck, kPeer, ack);
    h.expect_no_segment();
  }
  EXPECT_EQ(state(), fin_acked ? TcpState::kFinWait2 : TcpState::kFinWait1);
  const uint8_t data[] = {1, 2, 3};
  peer(TcpFlags::kAck | TcpFlags::kPsh, kPeer, ack, data);
  Seg rst = h.expect_segment();
  EXPECT_TRUE(rst.has(TcpFlags::kRst));
  EXPECT_EQ(rst.seq().value(), us(2));
  h.expect_no_segment();
  EXPECT_EQ(h.counter("tcp.abort_on_data"), 1u);
  if (orphan) {
    EXPECT_FALSE(state().has_value()) << "the orphan is freed";
  } else {
    EXPECT_EQ(state(), TcpState::kClosed);
    std::array<uint8_t, 4> b{};
    EXPECT_EQ(h.tcp().recv(s, b, h.now).error(), RecvError::kConnectionReset);
  }
}

TEST_F(TcpClose, DataAfterCloseInFinWait1IsAnsweredWithAReset) { data_after_close_resets(true, false); }
TEST_F(TcpClose, DataAfterCloseInFinWait2IsAnsweredWithAReset) { data_after_close_resets(true, true); }
TEST_F(TcpClose, DataAfterShutdownBothWaysIsAnsweredWithAReset) { data_after_close_resets(false, true); }

// RFC 9293 §3.6 case 2: the remote closes first.
TEST_F(TcpClose, PassiveCloseGoesCloseWaitLastAckClosed) {
  peer(kFinAck, kPeer, us(1));
  expect(kAck, us(1), kPeer + 1);
  EXPECT_EQ(state(), TcpState::kCloseWait);
  std::array<uint8_t, 4> b{};
  EXPECT_EQ(*h.tcp().recv(s, b, h.now), 0u);
  EXPECT_TRUE(h.tcp().readiness(s) & kReadable);
  EXPECT_TRUE(h.tcp().readiness(s) & kWritable);  // CLOSE_WAIT may still send
  ASSERT_TRUE(h.tcp().shutdown(s, false, true, h.now));
  expect(kFinAck, us(1), kPeer + 1);
  EXPECT_EQ(state(), TcpState::kLastAck);
  // An ACK that does not cover the FIN changes nothing.
  peer(kAck, kPeer + 1, us(1));
  EXPECT_EQ(state(), TcpState::kLastAck);
  peer(kAck, kPeer + 1, us(2));
  h.expect_no_segment();
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_FALSE(h.tcp().tcb(s)->reset);
}

// A FIN the peer retransmits in CLOSE-WAIT (our ACK of it was lost) is below RCV.NXT:
// RFC 9293 §3.10.7.4 answers an unacceptable segment with <SEQ=SND.NXT><ACK=RCV.NXT>
// <CTL=ACK>, and Linux's tcp_rcv_state_process hands CLOSE_WAIT's segment before
// rcv_nxt to tcp_data_queue, whose "A retransmit ... Force an immediate ack" answers
// every copy at once: it occupies sequence space, so tcp_oow_rate_limited's budget for
// pure ACKs does not apply. Each copy is acknowledged; the state does not change.
TEST_F(TcpClose, RetransmittedFinInCloseWaitIsAcknowledgedEveryTime) {
  peer(kFinAck, kPeer, us(1));
  expect(kAck, us(1), kPeer + 1);
  ASSERT_EQ(state(), TcpState::kCloseWait);
  for (int copy = 0; copy < 3; ++copy) {
    peer(kFinAck, kPeer, us(1));
    expect(kAck, us(1), kPeer + 1);
    h.expect_no_segment();
    EXPECT_EQ(state(), TcpState::kCloseWait) << "copy " << copy;
  }
  h.advance(Duration::millis(100));
  peer(kFinAck, kPeer, us(1));
  expect(kAck, us(1), kPeer + 1);
  EXPECT_EQ(state(), TcpState::kCloseWait);
}

TEST_F(TcpClose, LastAckFinIsRetransmittedUntilAcknowledged) {
  peer(kFinAck, kPeer, us(1));
  expect(kAck, us(1), kPeer + 1);
  h.tcp().close(s, h.now);
  expect(kFinAck, us(1), kPeer + 1);
  const Duration rto = h.tcp().info(s)->rto;
  EXPECT_EQ(rto, Duration::millis(200));  // RTT ~0 from the handshake: RTO is TCP_RTO_MIN
  h.advance(rto - Duration::millis(1));
  h.expect_no_segment();
  h.advance(Duration::millis(1));
  expect(kFinAck, us(1), kPeer + 1);  // the same FIN again
  peer(kAck, kPeer + 1, us(2));
  EXPECT_FALSE(state().has_value());  // orphan: freed on the last ACK
}

// RFC 9293 §3.6 case 3 (figure 13): both sides close at once.
TEST_F(TcpClose, SimultaneousCloseGoesThroughClosing) {
  ASSERT_TRUE(h.tcp().shutdown(s, false, true, h.now));
  expect(kFinAck, us(1), kPeer);
  // The peer's FIN crosses ours: it does not acknowledge our FIN.
  peer(kFinAck, kPeer, us(1));
  expect(kAck, us(2), kPeer + 1);
  EXPECT_EQ(state(), TcpState::kClosing);
  peer(kAck, kPeer + 1, us(2));
  h.expect_no_segment();
  EXPECT_EQ(state(), TcpState::kTimeWait);
  h.advance(Duration::seconds(60));
  EXPECT_EQ(state(), TcpState::kClosed);
}

TEST_F(TcpClose, PeerFinWithDataDeliversTheDataThenEof) {
  const Bytes data = pattern(5);
  peer(kFinAck | TcpFlags::kPsh, kPeer, us(1), data);
  expect(kAck, us(1), kPeer + 5 + 1);  // data and FIN acknowledged together, at once
  EXPECT_EQ(state(), TcpState::kCloseWait);
  std::array<uint8_t, 16> b{};
  EXPECT_EQ(*h.tcp().recv(s, b, h.now), 5u);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), b.begin()));
  EXPECT_EQ(*h.tcp().recv(s, b, h.now), 0u);
}

TEST_F(TcpClose, OurFinRidesOnTheLastDataSegment) {
  // Corked, the partial segment waits; shutdown() sends it with the FIN in one segment.
  ASSERT_TRUE(h.tcp().set_cork(s, true, h.now));
  const Bytes data = pattern(100);
  ASSERT_EQ(*h.tcp().send(s, data, h.now), 100u);
  h.expect_no_segment();
  ASSERT_TRUE(h.tcp().shutdown(s, false, true, h.now));
  Seg x = h.expect_segment();
  EXPECT_EQ(x.h.flags, TcpFlags::kFin | TcpFlags::kAck | TcpFlags::kPsh);
  EXPECT_EQ(x.seq().value(), us(1));
  EXPECT_EQ(x.payload, data);
  EXPECT_EQ(state(), TcpState::kFinWait1);
  // An ACK of the data alone leaves us in FIN_WAIT_1; the FIN's own byte moves on.
  peer(kAck, kPeer, us(101));
  EXPECT_EQ(state(), TcpState::kFinWait1);
  peer(kAck, kPeer, us(102));
  EXPECT_EQ(state(), TcpState::kFinWait2);
  EXPECT_EQ(h.tcp().send(s, data, h.now).error(), SendError::kBrokenPipe);
}

TEST_F(TcpClose, HalfCloseKeepsReceivingInFinWait2) {
  ASSERT_TRUE(h.tcp().shutdown(s, false, true, h.now));
  expect(kFinAck, us(1), kPeer);
  peer(kAck, kPeer, us(2));
  ASSERT_EQ(state(), TcpState::kFinWait2);
  const Bytes data = pattern(10);
  peer(kAck | TcpFlags::kPsh, kPeer, us(2), data);
  h.advance(Duration::millis(40));  // delayed ACK (TCP_DELACK_MAX)
  expect(kAck, us(2), kPeer + 10);
  std::array<uint8_t, 16> b{};
  EXPECT_EQ(*h.tcp().recv(s, b, h.now), 10u);
  // Not an orphan: FIN_WAIT_2 lasts as long as the peer keeps the connection open.
  h.advance(Duration::seconds(300));
  EXPECT_EQ(state(), TcpState::kFinWait2);
  h.expect_no_segment();
  peer(kFinAck, kPeer + 10, us(2));
  expect(kAck, us(2), kPeer + 11);
  EXPECT_EQ(state(), TcpState::kTimeWait);
}

TEST_F(TcpClose, HalfCloseKeepsSendingInCloseWait) {
  peer(kFinAck, kPeer, us(1));
  expect(kAck, us(1), kPeer + 1);
  const Bytes data = pattern(10);
  ASSERT_EQ(*h.tcp().send(s, data, h.now), 10u);
  expect(kAck | TcpFlags::kPsh, us(1), kPeer + 1, 10);
  peer(kAck, kPeer + 1, us(11));
  h.tcp().close(s, h.now);
  expect(kFinAck, us(11), kPeer + 1);
  EXPECT_EQ(state(), TcpState::kLastAck);
}

TEST_F(TcpClose, ShutdownReadReturnsEofAndDiscardsLaterData) {
  ASSERT_TRUE(h.tcp().shutdown(s, true, false, h.now));
  std::array<uint8_t, 16> b{};
  EXPECT_EQ(*h.tcp().recv(s, b, h.now), 0u);
  EXPECT_EQ(state(), TcpState::kEstablished);
  h.expect_no_segment();  // SHUT_RD sends nothing
  // Linux keeps acknowledging what arrives, but the application never sees it.
  peer(kAck | TcpFlags::kPsh, kPeer, us(1), pattern(10));
  expect(kAck, us(1), kPeer + 10);
  EXPECT_EQ(*h.tcp().recv(s, b, h.now), 0u);
  // The write side still works.
  ASSERT_EQ(*h.tcp().send(s, pattern(3), h.now), 3u);
  expect(kAck | TcpFlags::kPsh, us(1), kPeer + 10, 3);
}

// Linux tcp_close (RFC 2525 §2.17): closing with unread data resets, so the peer
// knows the data was lost. <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>.
TEST_F(TcpClose, CloseWithUnreadDataSendsRst) {
  peer(kAck | TcpFlags::kPsh, kPeer, us(1), pattern(5));
  h.expect_no_segment();  // the ACK is delayed
  const uint64_t rsts = h.counter("tcp.out_rsts");
  h.tcp().close(s, h.now);
  expect(kRstAck, us(1), kPeer + 5);
  h.expect_no_segment();  // no FIN, no delayed ACK afterwards
  h.advance(Duration::seconds(1));
  h.expect_no_segment();
  EXPECT_FALSE(state().has_value());
  EXPECT_EQ(h.counter("tcp.out_rsts"), rsts + 1);
  // The pair is gone: the peer's next segment is answered as for a closed port.
  peer(kAck, kPeer + 5, us(1));
  expect(TcpFlags::kRst, us(1), 0);
}

TEST_F(TcpClose, CloseAfterReadingEverythingIsGraceful) {
  peer(kAck | TcpFlags::kPsh, kPeer, us(1), pattern(5));
  std::array<uint8_t, 16> b{};
  ASSERT_EQ(*h.tcp().recv(s, b, h.now), 5u);
  h.tcp().close(s, h.now);
  expect(kFinAck, us(1), kPeer + 5);
}

TEST_F(TcpClose, LingerZeroResetsInsteadOfClosing) {
  struct Case {
    const char* name;
    bool on;
    Duration time;
    uint8_t flags;
  };
  const Case cases[] = {
      {"SO_LINGER 0", true, Duration::zero(), kRstAck},
      {"SO_LINGER 5 s", true, Duration::seconds(5), kFinAck},
      {"linger off, zero time", false, Duration::zero(), kFinAck},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TcpHarness h2;
    SocketId l = h2.listen(80);
    auto [c2, iss2] = h2.accept_connection(l, kPeerIss, wire::TcpOptions{});
    ASSERT_TRUE(h2.tcp().set_linger(c2, c.on, c.time));
    h2.tcp().close(c2, h2.now);
    Seg x = h2.expect_segment();
    EXPECT_EQ(TcpFlags::to_string(x.h.flags), TcpFlags::to_string(c.flags));
    EXPECT_EQ(x.seq().value(), iss2 + 1);
    EXPECT_EQ(x.ack().value(), kPeer);
    EXPECT_EQ(h2.tcp().state(c2).has_value(), c.flags == kFinAck);
  }
}

// Linux tcp_fin_timeout: an orphan whose peer never sends its FIN is dropped after
// 60 s in FIN_WAIT_2, silently.
TEST_F(TcpClose, OrphanFinWait2TimesOutAfterFinTimeout) {
  h.tcp().close(s, h.now);
  expect(kFinAck, us(1), kPeer);
  peer(kAck, kPeer, us(2));
  ASSERT_EQ(state(), TcpState::kFinWait2);
  h.advance(Duration::seconds(60) - Duration::millis(1));
  EXPECT_EQ(state(), TcpState::kFinWait2);
  h.advance(Duration::millis(1));
  EXPECT_FALSE(state().has_value());
  h.expect_no_segment();
  // Afterwards the peer's FIN finds no connection.
  peer(kFinAck, kPeer, us(2));
  expect(TcpFlags::kRst, us(2), 0);
}

TEST_F(TcpClose, CloseInFinWait2StartsTheFinTimeout) {
  ASSERT_TRUE(h.tcp().shutdown(s, false, true, h.now));
  expect(kFinAck, us(1), kPeer);
  peer(kAck, kPeer, us(2));
  ASSERT_EQ(state(), TcpState::kFinWait2);
  h.advance(Duration::seconds(100));
  EXPECT_EQ(state(), TcpState::kFinWait2);
  h.tcp().close(s, h.now);
  h.advance(Duration::seconds(60) - Duration::millis(1));
  EXPECT_EQ(state(), TcpState::kFinWait2);
  h.advance(Duration::millis(1));
  EXPECT_FALSE(state().has_value());
}

}  // namespace
}  // namespace joyride::core::testing
