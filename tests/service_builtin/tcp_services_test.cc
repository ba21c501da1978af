// The built-in services over TCP (RFC 862, 863, 864) between two simulated hosts.
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

constexpr uint64_t kMegabyte = 1'000'000;

ClientConn echo_conn(uint64_t stream, uint64_t bytes) {
  ClientConn c;
  c.stream = stream;
  c.to_send = bytes;
  c.expect = Expect::kEcho;
  return c;
}

// Runs every connection to its end (EOF or error) and checks the echoed bytes.
void expect_echoed(ServiceHosts& h, TcpClient& client, Duration limit) {
  ASSERT_TRUE(h.run_until([&] { return client.all_done(); }, limit));
  EXPECT_EQ(client.failures(), "");
  for (size_t i = 0; i < client.size(); ++i) {
    const ClientConn& c = client.conn(i);
    EXPECT_FALSE(c.error.has_value()) << "connection " << i;
    EXPECT_TRUE(c.eof) << "connection " << i;
    EXPECT_EQ(c.sent, c.to_send) << "connection " << i;
    EXPECT_EQ(c.received, c.to_send) << "connection " << i;
  }
}

TEST(TcpEcho, ReturnsOneMegabyteExactlyThenCloses) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  client.connect(7, echo_conn(1, kMegabyte));
  expect_echoed(h, client, Duration::seconds(60));
  // The server's side ends too once its FIN is acknowledged: nothing is left in the table.
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kEcho, ServiceCounter::kTcpActive) == 0; },
                          Duration::seconds(5)));
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpAccepted), 1u);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpBytesIn), kMegabyte);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpBytesOut), kMegabyte);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpErrors), 0u);
  EXPECT_EQ(h.unclaimed_server_events, 0u);
}

TEST(TcpEcho, FiftyConcurrentConnections) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  constexpr uint64_t kBytes = 64 * 1024;
  for (uint64_t i = 0; i < 50; ++i) client.connect(7, echo_conn(i, kBytes));
  expect_echoed(h, client, Duration::seconds(120));
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpAccepted), 50u);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpBytesIn), 50 * kBytes);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpBytesOut), 50 * kBytes);
}

TEST(TcpEcho, ExactUnderLoss) {
  HostsOptions o;
  o.link.loss = 0.02;
  o.link.seed = 42;
  ServiceHosts h(o);
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  for (uint64_t i = 0; i < 3; ++i) client.connect(7, echo_conn(100 + i, 256 * 1024));
  expect_echoed(h, client, Duration::seconds(600));
  EXPECT_GT(h.net().counters(0, dev::sim::LinkDir::kAtoB)[dev::sim::LinkCounter::kDroppedLoss] +
                h.net().counters(0, dev::sim::LinkDir::kBtoA)[dev::sim::LinkCounter::kDroppedLoss],
            0u);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpBytesOut), 3 * 256 * 1024u);
}

// A client that sends without reading: echo stops reading once it cannot send, so the
// backlog reaches the client as a closed window instead of piling up in the service.
TEST(TcpEcho, RespectsFlowControlWhenThePeerDoesNotRead) {
  HostsOptions o;
  // Small socket buffers, so a few megabytes fill every buffer on the way.
  o.base.tcp.rcvbuf_max = o.base.tcp.sndbuf_max = 256 * 1024;
  ServiceHosts h(o);
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  constexpr uint64_t kBytes = 4 * kMegabyte;
  ClientConn c = echo_conn(7, kBytes);
  c.reading = false;
  const size_t i = client.connect(7, c);
  uint64_t max_held = 0;
  h.run_until(
      [&] {
        const uint64_t held = h.counter(Service::kEcho, ServiceCounter::kTcpBytesIn) -
                              h.counter(Service::kEcho, ServiceCounter::kTcpBytesOut);
        max_held = std::max(max_held, held);
        return false;
      },
      Duration::seconds(20));
  // The client is stuck: its own buffers and the service's are full, and the
  // service holds no more than its per-connection buffer.
  EXPECT_LT(client.conn(i).sent, kBytes);
  EXPECT_GT(client.conn(i).sent, 0u);
  EXPECT_LE(max_held, o.limits.echo_buffer);
  const uint64_t stalled_at = client.conn(i).sent;
  h.run_for(Duration::seconds(20));
  EXPECT_EQ(client.conn(i).sent, stalled_at);

  // Reading resumes everything, byte-exact.
  client.conn(i).reading = true;
  client.process(client.conn(i));
  expect_echoed(h, client, Duration::seconds(600));
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpBytesOut), kBytes);
}

TEST(TcpEcho, APeerResetIsCleanedUp) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  ClientConn c = echo_conn(3, 10'000);
  c.shut_when_sent = false;
  const size_t i = client.connect(7, c);
  ASSERT_TRUE(h.run_until([&] { return client.conn(i).received == 10'000; }, Duration::seconds(10)));
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpActive), 1u);
  auto& tcp = h.client().tcp();
  ASSERT_TRUE(tcp.set_linger(client.conn(i).sock, true, Duration::zero()));
  tcp.close(client.conn(i).sock, h.now());
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kEcho, ServiceCounter::kTcpActive) == 0; },
                          Duration::seconds(5)));
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kTcpErrors), 1u);
  EXPECT_EQ(h.server().tcp().connections(), 3u);  // the three listeners
}

TEST(TcpDiscard, CountsOneMegabyteExactlyAndClosesOnFin) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  ClientConn c;
  c.stream = 9;
  c.to_send = kMegabyte;
  c.expect = Expect::kNothing;
  const size_t i = client.connect(9, c);
  ASSERT_TRUE(h.run_until([&] { return client.all_done(); }, Duration::seconds(60)));
  EXPECT_EQ(client.failures(), "");
  EXPECT_TRUE(client.conn(i).eof);
  EXPECT_FALSE(client.conn(i).error.has_value());
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kDiscard, ServiceCounter::kTcpActive) == 0; },
                          Duration::seconds(5)));
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpBytesIn), kMegabyte);
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpBytesOut), 0u);
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpAccepted), 1u);
}

TEST(TcpChargen, FirstBytesMatchRfc864Exactly) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  ClientConn c;
  c.expect = Expect::kChargen;
  c.shut_when_sent = false;
  c.read_limit = 300'000;  // 42+ periods of the pattern
  c.to_send = 5'000;       // thrown away by the service
  const size_t i = client.connect(19, c);
  ASSERT_TRUE(h.run_until([&] { return client.conn(i).received == 300'000; }, Duration::seconds(30)));
  EXPECT_EQ(client.failures(), "");
  EXPECT_FALSE(client.conn(i).done());
  EXPECT_GE(h.counter(Service::kChargen, ServiceCounter::kTcpBytesOut), 300'000u);
  EXPECT_EQ(h.counter(Service::kChargen, ServiceCounter::kTcpBytesIn), 5'000u);

  // The "rude abort" RFC 864 warns of: the service cleans up.
  auto& tcp = h.client().tcp();
  ASSERT_TRUE(tcp.set_linger(client.conn(i).sock, true, Duration::zero()));
  tcp.close(client.conn(i).sock, h.now());
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kChargen, ServiceCounter::kTcpActive) == 0; },
                          Duration::seconds(5)));
  EXPECT_EQ(h.counter(Service::kChargen, ServiceCounter::kTcpErrors), 1u);
}

TEST(TcpChargen, ThePeersFinClosesTheConnection) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  ClientConn c;
  c.expect = Expect::kChargen;
  c.to_send = 0;  // FIN at once
  const size_t i = client.connect(19, c);
  // The client reads on until the service's FIN arrives after what it had queued.
  ASSERT_TRUE(h.run_until([&] { return client.conn(i).done(); }, Duration::seconds(30)));
  EXPECT_EQ(client.failures(), "");
  EXPECT_TRUE(client.conn(i).eof);
  EXPECT_EQ(client.conn(i).received, h.counter(Service::kChargen, ServiceCounter::kTcpBytesOut));
  EXPECT_EQ(h.counter(Service::kChargen, ServiceCounter::kTcpActive), 0u);
  EXPECT_EQ(h.counter(Service::kChargen, ServiceCounter::kTcpErrors), 0u);
}

// A reader taking 1 KB per millisecond: the service blocks and resumes thousands of
// times, mid-line, and the stream stays one continuous pattern.
TEST(TcpChargen, SlowReaderGetsAContinuousPattern) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  ClientConn c;
  c.expect = Expect::kChargen;
  c.shut_when_sent = false;
  c.reading = false;
  const size_t i = client.connect(19, c);
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kChargen, ServiceCounter::kTcpActive) == 1; },
                          Duration::seconds(5)));
  for (int step = 0; step < 3000; ++step) {
    client.read(client.conn(i), 1024);
    h.run_for(Duration::millis(1));
  }
  EXPECT_EQ(client.failures(), "");
  EXPECT_FALSE(client.conn(i).done());
  EXPECT_GE(client.conn(i).received, 2900u * 1024);
  EXPECT_LE(client.conn(i).received, 3000u * 1024);
  // Flow control held the service back: it sent no more than the reader took plus
  // what the two sockets' buffers hold.
  const uint64_t out = h.counter(Service::kChargen, ServiceCounter::kTcpBytesOut);
  EXPECT_LE(out, client.conn(i).received + core::TcpConfig{}.rcvbuf_max + core::TcpConfig{}.sndbuf_max);
}

}  // namespace
}  // namespace joyride::service
