// BuiltinServiceRunner::close_connections, joyrided's `close <ip>:<port> [reset]`:
// the service closes the connections of a peer, gracefully (the peer reads to EOF,
// whatever the service sent before the FIN intact) or by a reset (ECONNRESET).
#include <gtest/gtest.h>

#include "service_hosts.h"

namespace joyride::service {
namespace {

using base::Duration;
using testing::ClientConn;
using testing::Expect;
using testing::HostsOptions;
using testing::ServiceHosts;
using testing::TcpClient;

struct CloseCase {
  const char* name;
  Service service;
  uint16_t port;
  CloseMode mode;
};

// A connection that stays open: the client sends some bytes and no FIN, and reads
// (and checks) whatever comes back.
ClientConn open_conn(Service s) {
  ClientConn c;
  c.stream = 11;
  c.to_send = 30'000;
  c.shut_when_sent = false;
  c.expect = s == Service::kEcho ? Expect::kEcho : s == Service::kChargen ? Expect::kChargen : Expect::kNothing;
  return c;
}

class OperatorClose : public ::testing::TestWithParam<CloseCase> {};

TEST_P(OperatorClose, ThePeerSeesFinOrReset) {
  const CloseCase& p = GetParam();
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  const size_t i = client.connect(p.port, open_conn(p.service));
  // Established, the client's bytes read by the service (echo: and sent back).
  ASSERT_TRUE(h.run_until(
      [&] {
        return h.counter(p.service, ServiceCounter::kTcpBytesIn) == 30'000 &&
               (p.service != Service::kEcho || client.conn(i).received == 30'000) &&
               (p.service != Service::kChargen || client.conn(i).received > 100'000);
      },
      Duration::seconds(10)));
  const auto from = h.client().tcp().local_endpoint(client.conn(i).sock);
  ASSERT_TRUE(from.has_value());

  EXPECT_EQ(h.runner().close_connections(*from, p.mode, h.now()), 1u);
  EXPECT_EQ(h.counter(p.service, ServiceCounter::kTcpActive), 0u);
  ASSERT_TRUE(h.run_until([&] { return client.conn(i).done(); }, Duration::seconds(10)));
  EXPECT_EQ(client.failures(), "");  // what came before the FIN is the service's stream, intact
  if (p.mode == CloseMode::kGraceful) {
    EXPECT_TRUE(client.conn(i).eof);
    EXPECT_FALSE(client.conn(i).error.has_value());
    // The client may close its side too; the connection then ends cleanly on both.
    ASSERT_TRUE(h.client().tcp().shutdown(client.conn(i).sock, false, true, h.now()));
    // The service closed first: its end waits in TIME_WAIT, the client's is CLOSED.
    auto server_state = [&] {
      std::optional<core::TcpState> st;
      h.server().tcp().for_each_connection([&](core::SocketId, const core::TcpInfo& info, const core::tcp::FourTuple& t) {
        if (core::Endpoint{t.remote, t.remote_port} == *from) st = info.state;
      });
      return st;
    };
    ASSERT_TRUE(h.run_until(
        [&] {
          return server_state() == core::TcpState::kTimeWait &&
                 h.client().tcp().state(client.conn(i).sock) == core::TcpState::kClosed;
        },
        Duration::seconds(10)));
  } else {
    EXPECT_FALSE(client.conn(i).eof);
    EXPECT_EQ(client.conn(i).error, core::RecvError::kConnectionReset);
    EXPECT_EQ(h.server().tcp().connections(), 3u);  // only the listeners are left
  }
  EXPECT_EQ(h.counter(p.service, ServiceCounter::kTcpErrors), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    All, OperatorClose,
    ::testing::Values(CloseCase{"DiscardGraceful", Service::kDiscard, 9, CloseMode::kGraceful},
                      CloseCase{"DiscardReset", Service::kDiscard, 9, CloseMode::kReset},
                      CloseCase{"EchoGraceful", Service::kEcho, 7, CloseMode::kGraceful},
                      CloseCase{"EchoReset", Service::kEcho, 7, CloseMode::kReset},
                      CloseCase{"ChargenGraceful", Service::kChargen, 19, CloseMode::kGraceful},
                      CloseCase{"ChargenReset", Service::kChargen, 19, CloseMode::kReset}),
    [](const ::testing::TestParamInfo<CloseCase>& p) { return std::string(p.param.name); });

// Only the named endpoint: another port of the same host, another address, and the
// service's own end of the connection match nothing.
TEST(OperatorCloseMatching, ANonMatchingEndpointClosesNothing) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  const size_t a = client.connect(9, open_conn(Service::kDiscard));
  const size_t b = client.connect(7, open_conn(Service::kEcho));
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kEcho, ServiceCounter::kTcpBytesOut) == 30'000; },
                          Duration::seconds(10)));
  const core::Endpoint ea = *h.client().tcp().local_endpoint(client.conn(a).sock);
  const core::Endpoint eb = *h.client().tcp().local_endpoint(client.conn(b).sock);
  const uint16_t unused_port = static_cast<uint16_t>(std::max(ea.port, eb.port) + 1);
  for (const core::Endpoint& e : {core::Endpoint{testing::kClientAddress, unused_port},
                                  core::Endpoint{wire::Ipv4Address::from_octets(198, 18, 0, 9), ea.port},
                                  core::Endpoint{testing::kServerAddress, 9}}) {
    EXPECT_EQ(h.runner().close_connections(e, CloseMode::kReset, h.now()), 0u) << to_string(e);
  }
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpActive), 1u);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpActive), 1u);

  // The matching one closes just its connection.
  EXPECT_EQ(h.runner().close_connections(eb, CloseMode::kGraceful, h.now()), 1u);
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpActive), 1u);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpActive), 0u);
  ASSERT_TRUE(h.run_until([&] { return client.conn(b).done(); }, Duration::seconds(10)));
  EXPECT_TRUE(client.conn(b).eof);
  EXPECT_FALSE(client.conn(a).done());
  // A second close of the same endpoint finds nothing.
  EXPECT_EQ(h.runner().close_connections(eb, CloseMode::kGraceful, h.now()), 0u);
}

// Unsent echo bytes are dropped by a graceful close: the peer gets fewer bytes than it
// sent, then EOF, never a reset. The client does not read until the close, so the
// echo has bytes it could not send.
TEST(OperatorCloseMatching, GracefulEchoDropsWhatItCouldNotSend) {
  HostsOptions o;
  o.base.tcp.rcvbuf_max = o.base.tcp.sndbuf_max = 64 * 1024;
  ServiceHosts h(o);
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  ClientConn c = open_conn(Service::kEcho);
  c.to_send = 1'000'000;
  c.reading = false;
  const size_t i = client.connect(7, c);
  h.run_for(Duration::seconds(5));
  const uint64_t in = h.counter(Service::kEcho, ServiceCounter::kTcpBytesIn);
  ASSERT_GT(in, h.counter(Service::kEcho, ServiceCounter::kTcpBytesOut));  // held in the echo buffer
  const core::Endpoint e = *h.client().tcp().local_endpoint(client.conn(i).sock);
  EXPECT_EQ(h.runner().close_connections(e, CloseMode::kGraceful, h.now()), 1u);
  client.conn(i).reading = true;
  client.process(client.conn(i));
  ASSERT_TRUE(h.run_until([&] { return client.conn(i).done(); }, Duration::seconds(30)));
  EXPECT_EQ(client.failures(), "");
  EXPECT_TRUE(client.conn(i).eof);
  EXPECT_EQ(client.conn(i).received, h.counter(Service::kEcho, ServiceCounter::kTcpBytesOut));
  EXPECT_LT(client.conn(i).received, client.conn(i).sent);
}

}  // namespace
}  // namespace joyride::service
