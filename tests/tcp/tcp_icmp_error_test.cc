// ICMP time exceeded (type 11) and parameter problem (type 12) for TCP, as Linux's
// tcp_v4_err handles them (RFC 1122 §3.2.2.2 and §3.2.2.5 pass both to the transport):
// time exceeded is EHOSTUNREACH and parameter problem EPROTO, whatever the code; they
// abort a connection in SYN-SENT or an active open's SYN-RECEIVED, drop a passive
// open's embryonic connection (tcp_req_err, quoting our SYN-ACK only), and are soft
// errors on a synchronized one: reported if it times out, or by take_error()
// (SO_ERROR, which returns and clears the soft error too). Destination unreachable is
// in tcp_misc_test.cc.
#include <gtest/gtest.h>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"
#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

// The IPv4 datagram of a frame we sent (IP header onwards, at most 60 bytes), as an
// ICMP error quotes it, with `seq_delta` added to the quoted TCP sequence number.
Bytes quote_of(const TxFrame& f, int32_t seq_delta = 0) {
  const size_t eth = 14;
  Bytes q(f.bytes.begin() + static_cast<std::ptrdiff_t>(eth),
          f.bytes.begin() + static_cast<std::ptrdiff_t>(std::min(f.bytes.size(), eth + 20 + 40)));
  const uint32_t seq = base::load_be<uint32_t>(q.data(), 20 + 4) + static_cast<uint32_t>(seq_delta);
  base::store_be<uint32_t>(q.data(), 20 + 4, seq);
  return q;
}

enum class Kind { kTimeExceeded, kParameterProblem };

// An ICMP time exceeded or parameter problem from a router on the path.
void inject_error(TcpHarness& h, Kind kind, uint8_t code, const Bytes& quoted) {
  if (kind == Kind::kTimeExceeded) {
    wire::Icmpv4Repr m;
    m.type = wire::Icmpv4Type::kTimeExceeded;
    m.code = code;
    m.data = quoted;
    h.inject_icmp(m);
    return;
  }
  // Parameter problem (RFC 792): type 12, code, checksum, pointer, 3 unused bytes, the
  // quoted datagram. The wire layer does not build it, so it is built here.
  Bytes m(8 + quoted.size(), 0);
  m[0] = kIcmpv4ParameterProblem;
  m[1] = code;
  m[4] = 9;  // the octet in error: the quoted header's protocol field, say
  std::copy(quoted.begin(), quoted.end(), m.begin() + 8);
  base::store_be<uint16_t>(m.data(), 2, wire::internet_checksum(m));
  h.inject_ipv4(ip_header(kPeerIp, kOurIp, wire::IpProtocol::kIcmp), m);
}

struct ErrorCase {
  const char* name;
  Kind kind;
  uint8_t code;
  RecvError error;
};
// Linux tcp_v4_err: ICMP_TIME_EXCEEDED -> EHOSTUNREACH (TTL or reassembly),
// ICMP_PARAMETERPROB -> EPROTO (pointer, missing option, bad length).
const ErrorCase kErrors[] = {
    {"time exceeded, TTL", Kind::kTimeExceeded, 0, RecvError::kHostUnreachable},
    {"time exceeded, reassembly", Kind::kTimeExceeded, 1, RecvError::kHostUnreachable},
    {"parameter problem, pointer", Kind::kParameterProblem, 0, RecvError::kProtocolError},
    {"parameter problem, missing option", Kind::kParameterProblem, 1, RecvError::kProtocolError},
    {"parameter problem, bad length", Kind::kParameterProblem, 2, RecvError::kProtocolError},
};

TEST(TcpIcmpError, AbortsAConnectInSynSentWithItsErrno) {
  for (const ErrorCase& k : kErrors) {
    SCOPED_TRACE(k.name);
    TcpHarness h;
    auto s = h.tcp().open();
    ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
    auto syn = h.pop_tx();
    ASSERT_TRUE(syn.has_value());
    inject_error(h, k.kind, k.code, quote_of(*syn));
    h.expect_no_segment();
    EXPECT_EQ(h.tcp().state(*s), TcpState::kClosed);
    EXPECT_TRUE(h.tcp().readiness(*s) & kError);
    EXPECT_EQ(h.counter("tcp.attempt_fails"), 1u);
    EXPECT_EQ(h.counter(k.kind == Kind::kTimeExceeded ? "icmp.rx_time_exceeded" : "icmp.rx_parameter_problem"), 1u);
    const std::array<uint8_t, 1> one{1};
    auto w = h.tcp().send(*s, one, h.now);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error(), send_error_for(k.error));
  }
}

// Only an error quoting a sequence number we have outstanding counts (RFC 5927 §4.1),
// and an active open's SYN-RECEIVED (simultaneous open) aborts as SYN-SENT does.
TEST(TcpIcmpError, OpeningConnectionChecksTheQuotedSequence) {
  struct Case {
    const char* name;
    bool simultaneous;
    int32_t seq_delta;
    bool aborts;
  };
  const Case cases[] = {
      {"SYN-SENT, the SYN", false, 0, true},
      {"SYN-SENT, ISS - 1", false, -1, false},
      {"SYN-RECEIVED (simultaneous), the SYN", true, 0, true},
      {"SYN-RECEIVED (simultaneous), far off", true, 100000, false},
  };
  for (Kind kind : {Kind::kTimeExceeded, Kind::kParameterProblem}) {
    for (const Case& k : cases) {
      SCOPED_TRACE(::testing::Message() << k.name << (kind == Kind::kTimeExceeded ? ", time exceeded" : ", param"));
      TcpHarness h;
      auto s = h.tcp().open();
      ASSERT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, 80}).ok());
      ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, h.now).ok());
      auto syn = h.pop_tx();
      ASSERT_TRUE(syn.has_value());
      if (k.simultaneous) {
        h.inject(h.peer_segment(TcpFlags::kSyn, 7000, 0));
        ASSERT_EQ(h.tcp().state(*s), TcpState::kSynReceived);
        h.expect_segment();
      }
      inject_error(h, kind, 0, quote_of(*syn, k.seq_delta));
      const TcpState opening = k.simultaneous ? TcpState::kSynReceived : TcpState::kSynSent;
      EXPECT_EQ(h.tcp().state(*s), k.aborts ? TcpState::kClosed : opening);
      if (k.aborts) {
        std::array<uint8_t, 4> b{};
        auto r = h.tcp().recv(*s, b, h.now);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error(), kind == Kind::kTimeExceeded ? RecvError::kHostUnreachable : RecvError::kProtocolError);
      }
    }
  }
}

// A passive open still in SYN-RECEIVED (Linux's request socket, tcp_req_err): time
// exceeded and parameter problem drop it silently, as net and host unreachable do,
// when they quote our SYN-ACK's sequence number.
TEST(TcpIcmpError, DropsAPassiveOpenQuotingOurSynAck) {
  struct Case {
    const char* name;
    Kind kind;
    int32_t seq_delta;
    bool dropped;
  };
  const Case cases[] = {
      {"time exceeded", Kind::kTimeExceeded, 0, true},
      {"parameter problem", Kind::kParameterProblem, 0, true},
      {"time exceeded, not our ISS", Kind::kTimeExceeded, 1, false},
      {"parameter problem, not our ISS", Kind::kParameterProblem, -1, false},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    TcpHarness h;
    SocketId l = h.listen(80);
    h.inject(h.peer_segment(TcpFlags::kSyn, 7000, 0));
    auto sa = h.pop_tx();
    ASSERT_TRUE(sa.has_value());
    const size_t conns = h.tcp().connections();
    inject_error(h, k.kind, 0, quote_of(*sa, k.seq_delta));
    h.expect_no_segment();
    EXPECT_EQ(h.tcp().connections(), k.dropped ? conns - 1 : conns);
    EXPECT_EQ(h.tcp().accept(l).error(), AcceptError::kWouldBlock);
  }
}

// Synchronized: a soft error (sk_err_soft). Nothing happens at once; a timeout then
// reports it in place of ETIMEDOUT (tcp_write_err).
TEST(TcpIcmpError, IsSoftOnAnEstablishedConnectionAndReportedOnTimeout) {
  for (const ErrorCase& k : kErrors) {
    SCOPED_TRACE(k.name);
    Conn c(ConnOptions{.sack = false});
    c.send(100);
    auto f = c.h.pop_tx();
    ASSERT_TRUE(f.has_value());
    inject_error(c.h, k.kind, k.code, quote_of(*f));
    EXPECT_EQ(c.h.tcp().state(c.s), TcpState::kEstablished);
    EXPECT_FALSE(c.h.tcp().readiness(c.s) & kError);
    c.h.expect_no_segment();
    for (int i = 0; i < 3000 && c.h.tcp().state(c.s) == TcpState::kEstablished; ++i) {
      c.h.advance(Duration::seconds(1));
      while (c.h.pop_tx()) {
      }
    }
    ASSERT_EQ(c.h.tcp().state(c.s), TcpState::kClosed);
    std::array<uint8_t, 4> b{};
    auto r = c.h.tcp().recv(c.s, b, c.h.now);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), k.error);
  }
}

// Only net or host unreachable revert an RTO backoff (RFC 6069, tcp_ld_RTO_revert):
// time exceeded and parameter problem about SND.UNA leave the timer alone.
TEST(TcpIcmpError, DoesNotRevertTheRtoBackoff) {
  for (Kind kind : {Kind::kTimeExceeded, Kind::kParameterProblem}) {
    SCOPED_TRACE(kind == Kind::kTimeExceeded ? "time exceeded" : "parameter problem");
    Conn c(ConnOptions{.sack = false});
    c.send(100);
    c.expect_data(0, 100);
    c.h.advance(Duration::millis(200));
    c.expect_data(0, 100);  // RTO now 400 ms
    c.h.advance(Duration::millis(400));
    auto r2 = c.h.pop_tx();  // RTO now 800 ms
    ASSERT_TRUE(r2.has_value());
    c.h.advance(Duration::millis(100));
    inject_error(c.h, kind, 0, quote_of(*r2));
    c.h.advance(Duration::millis(700) - Duration::millis(1));
    c.h.expect_no_segment();
    c.h.advance(Duration::millis(1));
    c.expect_data(0, 100);
  }
}

// getsockopt(SO_ERROR) is take_error(): the pending error, else the soft error, each
// cleared as it is returned (Linux sock_error, then xchg(&sk->sk_err_soft, 0)). Read
// before the timeout, the soft error is gone and the timeout says ETIMEDOUT.
TEST(TcpIcmpError, TakeErrorReturnsAndClearsTheSoftError) {
  Conn c(ConnOptions{.sack = false});
  EXPECT_EQ(c.h.tcp().take_error(c.s), std::nullopt);
  c.send(100);
  auto f = c.h.pop_tx();
  ASSERT_TRUE(f.has_value());
  inject_error(c.h, Kind::kTimeExceeded, 0, quote_of(*f));
  EXPECT_EQ(c.h.tcp().take_error(c.s), RecvError::kHostUnreachable);
  EXPECT_EQ(c.h.tcp().take_error(c.s), std::nullopt);
  for (int i = 0; i < 3000 && c.h.tcp().state(c.s) == TcpState::kEstablished; ++i) {
    c.h.advance(Duration::seconds(1));
    while (c.h.pop_tx()) {
    }
  }
  ASSERT_EQ(c.h.tcp().state(c.s), TcpState::kClosed);
  EXPECT_TRUE(c.h.tcp().readiness(c.s) & kError);
  EXPECT_EQ(c.h.tcp().take_error(c.s), RecvError::kTimedOut);
  EXPECT_FALSE(c.h.tcp().readiness(c.s) & kError);
  EXPECT_EQ(c.h.tcp().take_error(c.s), std::nullopt);
  EXPECT_EQ(c.h.tcp().take_error(SocketId{}), RecvError::kBadSocket);
}

// A parameter problem too short to quote a datagram is malformed, as any error is.
TEST(TcpIcmpError, TruncatedParameterProblemIsMalformed) {
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
  auto syn = h.pop_tx();
  ASSERT_TRUE(syn.has_value());
  Bytes q = quote_of(*syn);
  q.resize(12);
  inject_error(h, Kind::kParameterProblem, 0, q);
  EXPECT_EQ(h.counter("icmp.drop_malformed"), 1u);
  EXPECT_EQ(h.tcp().state(*s), TcpState::kSynSent);
}

}  // namespace
}  // namespace joyride::core::testing
