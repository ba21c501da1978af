// The congestion window around a loss episode (tcp_recovery.cc), segment by segment:
// Proportional Rate Reduction during fast recovery (RFC 6937, PRR-SSRB as Linux),
// undoing a spurious reduction (D-SACK, RFC 2883/3708; Eifel timestamps, RFC 3522;
// Linux tcp_try_undo_*), the tail loss probe's episode (RFC 8985 §7.4), and D-SACKs
// that arrive with nothing outstanding.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;
using Blocks = std::vector<std::pair<uint32_t, uint32_t>>;

// Offsets (in MSS) of the data segments sent now.
std::vector<uint32_t> sent_segments(Conn& c) {
  std::vector<uint32_t> v;
  while (auto s = c.h.pop_segment()) {
    if (!s->payload.empty()) v.push_back(static_cast<uint32_t>(s->seq() - c.us(0)) / kMss);
  }
  return v;
}

// ---- PRR ---------------------------------------------------------------------------------

struct PrrCase {
  const char* cc;
  uint32_t segments;  // the application's data, in MSS
  uint32_t ssthresh;  // in MSS, after the loss with 10 in flight
  // What each of the nine SACKs (of segments 1..9, one per ACK) lets out.
  std::vector<std::vector<uint32_t>> sent;
};

class TcpPrr : public ::testing::TestWithParam<PrrCase> {};

TEST_P(TcpPrr, SendsFollowPrrAndRecoveryEndsAtSsthresh) {
  // Ten segments out, the first lost. Each ACK SACKs one more; RACK (handshake RTT 0,
  // so no reordering window) sees the loss on the first. While pipe > ssthresh PRR lets
  // out ceil(prr_delivered * ssthresh / RecoverFS) - prr_out; once pipe has come down
  // to ssthresh, the slow-start reduction bound keeps it there. The first ACK always
  // sends the retransmission.
  const PrrCase& k = GetParam();
  Conn c(ConnOptions{.cc = k.cc});
  c.send(k.segments * kMss);
  for (uint32_t i = 0; i < 10; ++i) c.expect_data(i * kMss, kMss);
  for (uint32_t i = 1; i <= 9; ++i) {
    SCOPED_TRACE(::testing::Message() << "SACK of segments 1.." << i);
    c.h.advance(Duration::millis(1));
    c.ack(0, {{kMss, (i + 1) * kMss}});
    EXPECT_EQ(sent_segments(c), k.sent[i - 1]);
    EXPECT_EQ(c.info().ssthresh, k.ssthresh * kMss);
  }
  EXPECT_EQ(c.h.counter("tcp.fast_retrans"), 1u);
  // The retransmission arrives: everything up to the recovery point is acknowledged.
  c.h.advance(Duration::millis(1));
  c.ack(10 * kMss);
  // Recovery ends at ssthresh; the same ACK then grows the window as any ACK of a
  // window in full use does (Linux: tcp_cong_control after tcp_fastretrans_alert),
  // by less than a segment in congestion avoidance.
  EXPECT_GE(c.info().cwnd, c.info().ssthresh);
  EXPECT_LT(c.info().cwnd, c.info().ssthresh + kMss);
  EXPECT_EQ(c.info().ssthresh, k.ssthresh * kMss);
  EXPECT_EQ(c.info().total_retrans, 1u);
  EXPECT_EQ(c.h.counter("tcp.undo_dsack") + c.h.counter("tcp.undo_timestamp"), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Cc, TcpPrr,
    ::testing::Values(
        // CUBIC (beta 0.7): pipe 8 > 7 for three ACKs (1, 1, 1 sent: 0.7 per ACK, rounded
        // up), then 0; at pipe 7 = ssthresh none; then one per ACK keeps pipe at 7. The
        // application has 15 segments, so the last ACK finds nothing to send.
        PrrCase{"cubic", 15, 7, {{0}, {10}, {11}, {}, {}, {12}, {13}, {14}, {}}},
        // NewReno (0.5): one new segment per two delivered while pipe > 5, then the
        // bound lets pipe back up to ssthresh.
        PrrCase{"newreno", 14, 5, {{0}, {}, {10}, {}, {11}, {}, {}, {12}, {13}}}),
    [](const auto& i) { return std::string(i.param.cc); });

// ---- undo --------------------------------------------------------------------------------

struct Ack {
  uint32_t ack;
  Blocks sacks;
};

struct DsackUndoCase {
  const char* name;
  std::vector<Ack> acks;  // after the fast retransmission of segment 0
  bool undo;
  uint32_t cwnd_after_undo = 0;  // in MSS
};

class TcpDsackUndo : public ::testing::TestWithParam<DsackUndoCase> {};

TEST_P(TcpDsackUndo, OnlyWhenEveryRetransmissionIsDsacked) {
  // A reordered segment 0 looks lost (RACK, no reordering window yet): fast recovery
  // retransmits it and reduces the window. If the peer then reports the retransmission
  // as a duplicate (D-SACK), the reduction was spurious and is undone: cwnd back to
  // what it was (10 + 1 segment the entering ACK had added), ssthresh back to
  // "infinite" (Linux tcp_try_undo_dsack, also after the episode has ended). An ACK
  // that also acknowledges data then grows the window it restored: the flight it
  // covers filled cwnd (RFC 7661).
  const DsackUndoCase& k = GetParam();
  Conn c(ConnOptions{.cc = "cubic"});
  c.send(10 * kMss);
  for (uint32_t i = 0; i < 10; ++i) c.expect_data(i * kMss, kMss);
  c.h.advance(Duration::millis(1));
  c.ack(0, {{kMss, 2 * kMss}});
  EXPECT_EQ(sent_segments(c), std::vector<uint32_t>{0});
  EXPECT_EQ(c.info().ssthresh, 7 * kMss);
  for (const Ack& a : k.acks) {
    c.h.advance(Duration::millis(1));
    c.ack(a.ack, a.sacks);
  }
  EXPECT_EQ(c.h.counter("tcp.dsack_recv"), k.name == std::string("NoDsack") ? 0u : 1u);
  EXPECT_EQ(c.h.counter("tcp.undo_dsack"), k.undo ? 1u : 0u);
  if (k.undo) {
    EXPECT_EQ(c.info().cwnd, k.cwnd_after_undo * kMss);
    EXPECT_EQ(c.info().ssthresh, UINT32_MAX);
  } else {
    // Recovery ended at ssthresh, and the ending ACK grew it by less than a segment
    // (congestion avoidance).
    EXPECT_GE(c.info().cwnd, 7 * kMss);
    EXPECT_LT(c.info().cwnd, 8 * kMss);
    EXPECT_EQ(c.info().ssthresh, 7 * kMss);
  }
  c.h.expect_no_segment();
}

INSTANTIATE_TEST_SUITE_P(
    Acks, TcpDsackUndo,
    ::testing::Values(
        // Restored to 11, then slow start's 2 segments (ABC) for the 10 acknowledged.
        DsackUndoCase{"DsackOfTheRetransmission", {{10 * kMss, {{0, kMss}}}}, true, 13},
        // The full ACK ends recovery at ssthresh; the D-SACK comes after, with nothing
        // outstanding, and still undoes.
        DsackUndoCase{"LateDsackAfterRecovery", {{10 * kMss, {}}, {10 * kMss, {{0, kMss}}}}, true, 11},
        DsackUndoCase{"NoDsack", {{10 * kMss, {}}}, false},
        // A duplicate of a segment sent once (segment 5: a network duplicate) says
        // nothing about the retransmission.
        DsackUndoCase{"DsackOfAnotherSegment", {{10 * kMss, {{5 * kMss, 6 * kMss}}}}, false}),
    [](const auto& i) { return std::string(i.param.name); });

struct EifelCase {
  const char* name;
  bool echo_original;  // the ACK echoes the original's TSval (else the retransmission's)
  bool undo;
};

class TcpEifelUndo : public ::testing::TestWithParam<EifelCase> {};

TEST_P(TcpEifelUndo, AnAckForTheOriginalUndoesTheTimeout) {
  // RFC 3522 / Linux tcp_try_undo_loss: after an RTO, an ACK whose TSecr is older than
  // the retransmission was sent for the original: the timeout was spurious. The
  // window is restored and the rest of the flight is not resent (go-back-N avoided).
  // An ACK echoing the retransmission proves nothing: slow start resends the rest.
  const EifelCase& k = GetParam();
  Conn c(ConnOptions{.sack = false, .ts = true, .cc = "newreno"});
  const uint32_t m = c.info().snd_mss;  // 1448: timestamps take 12 bytes
  c.send(3 * m);
  for (uint32_t i = 0; i < 3; ++i) c.expect_data(i * m, m);
  const uint32_t original = c.echo;
  c.h.advance(Duration::millis(200));
  c.expect_data(0, m);  // RTO
  EXPECT_EQ(c.info().cwnd, m);
  EXPECT_NE(c.echo, original);
  c.h.advance(Duration::millis(50));
  if (k.echo_original) c.echo = original;
  c.ack(m);
  EXPECT_EQ(c.h.counter("tcp.undo_timestamp"), k.undo ? 1u : 0u);
  if (k.undo) {
    EXPECT_EQ(c.info().cwnd, 10 * m);
    EXPECT_EQ(c.info().ssthresh, UINT32_MAX);
    EXPECT_EQ(c.info().lost, 0u);
    c.h.expect_no_segment();
  } else {
    EXPECT_EQ(c.info().ssthresh, 2 * m);  // max(FlightSize / 2, 2 MSS)
    EXPECT_EQ(c.info().cwnd, 2 * m);      // slow start from 1
    c.expect_data(m, m);
    c.expect_data(2 * m, m);
    c.h.expect_no_segment();
  }
}

INSTANTIATE_TEST_SUITE_P(Echo, TcpEifelUndo,
                         ::testing::Values(EifelCase{"EchoesTheOriginal", true, true},
                                           EifelCase{"EchoesTheRetransmission", false, false}),
                         [](const auto& i) { return std::string(i.param.name); });

// ---- TLP episode ---------------------------------------------------------------------------

TEST(TcpTlpEpisode, ProbeFoundSpuriousByDsackLeavesTheWindowAlone) {
  // RFC 8985 §7.4.2: the probe (a retransmission of the last segment) is D-SACKed, so
  // the original and the probe both arrived: no loss, no congestion response.
  Conn c(ConnOptions{.handshake_rtt = Duration::millis(100)});
  c.send(2 * kMss);
  c.expect_data(0, kMss);
  c.expect_data(kMss, kMss);
  c.h.advance(Duration::millis(200));
  c.expect_data(kMss, kMss);  // the probe
  EXPECT_EQ(c.h.counter("tcp.tlp_probes"), 1u);
  c.ack(2 * kMss, {{kMss, 2 * kMss}});
  EXPECT_EQ(c.h.counter("tcp.dsack_recv"), 1u);
  // Later data acknowledged beyond the probe: the episode is over, nothing happens.
  c.send(kMss);
  c.expect_data(2 * kMss, kMss);
  c.ack(3 * kMss);
  EXPECT_EQ(c.h.counter("tcp.tlp_recoveries"), 0u);
  EXPECT_EQ(c.info().cwnd, 10 * kMss);
  EXPECT_EQ(c.info().ssthresh, UINT32_MAX);
}

TEST(TcpTlpEpisode, ProbeThatRepairedALossReducesTheWindowOnce) {
  // No D-SACK for the probe: the ACK reaching TLP.end_seq may be the repair, and one
  // beyond it confirms it (Linux tcp_process_tlp_ack): the congestion controller's
  // loss response, once (CUBIC: 0.7 of the window).
  Conn c(ConnOptions{.handshake_rtt = Duration::millis(100)});
  c.send(2 * kMss);
  c.expect_data(0, kMss);
  c.expect_data(kMss, kMss);
  c.h.advance(Duration::millis(200));
  c.expect_data(kMss, kMss);
  c.ack(2 * kMss);
  EXPECT_EQ(c.info().cwnd, 10 * kMss);  // not yet known
  EXPECT_EQ(c.h.counter("tcp.tlp_recoveries"), 0u);
  c.send(kMss);
  c.expect_data(2 * kMss, kMss);
  c.ack(3 * kMss);
  EXPECT_EQ(c.h.counter("tcp.tlp_recoveries"), 1u);
  EXPECT_EQ(c.info().ssthresh, 7 * kMss);
  EXPECT_EQ(c.info().cwnd, 7 * kMss);
  // Once: further ACKs do not reduce again.
  c.send(kMss);
  c.expect_data(3 * kMss, kMss);
  c.ack(4 * kMss);
  EXPECT_EQ(c.h.counter("tcp.tlp_recoveries"), 1u);
  EXPECT_EQ(c.info().ssthresh, 7 * kMss);
}

TEST(TcpTlpEpisode, ProbeOfNewDataNeedsNoResponse) {
  // With data the window allows, the probe is new data (RFC 8985 §7.3); its ACK says
  // nothing about a loss.
  Conn c(ConnOptions{.handshake_rtt = Duration::millis(100)});
  c.send(11 * kMss);
  for (uint32_t i = 0; i < 10; ++i) c.expect_data(i * kMss, kMss);
  c.h.expect_no_segment();  // cwnd full
  c.h.advance(Duration::millis(200));
  c.expect_data(10 * kMss, kMss);
  EXPECT_EQ(c.h.counter("tcp.retrans_segments"), 0u);
  c.ack(11 * kMss);
  c.send(kMss);
  c.expect_data(11 * kMss, kMss);
  c.ack(12 * kMss);
  EXPECT_EQ(c.h.counter("tcp.tlp_recoveries"), 0u);
  EXPECT_EQ(c.info().ssthresh, UINT32_MAX);
}

// ---- D-SACK with nothing outstanding -------------------------------------------------------

TEST(TcpDsack, WithNothingOutstandingIsCountedAndHarmless) {
  // Everything is acknowledged; then a D-SACK reports a duplicate of segment 0 (a
  // network duplicate). Linux still reads it (tcp_ack's no_queue path): counted, no
  // retransmission, the window untouched, the connection goes on.
  Conn c;
  c.send(2 * kMss);
  c.expect_data(0, kMss);
  c.expect_data(kMss, kMss);
  c.ack(2 * kMss);
  const TcpInfo before = c.info();
  c.ack(2 * kMss, {{0, kMss}});
  EXPECT_EQ(c.h.counter("tcp.dsack_recv"), 1u);
  EXPECT_EQ(c.h.counter("tcp.undo_dsack"), 0u);
  c.h.expect_no_segment();
  EXPECT_EQ(c.info().cwnd, before.cwnd);
  EXPECT_EQ(c.info().ssthresh, before.ssthresh);
  EXPECT_EQ(c.info().state, TcpState::kEstablished);
  // A block that is not a D-SACK (not below the ACK) is ignored.
  c.ack(2 * kMss, {{2 * kMss, 3 * kMss}});
  EXPECT_EQ(c.h.counter("tcp.dsack_recv"), 1u);
  c.send(kMss);
  c.expect_data(2 * kMss, kMss);
  c.ack(3 * kMss);
  c.h.advance(Duration::seconds(5));
  c.h.expect_no_segment();
}

}  // namespace
}  // namespace joyride::core::testing
