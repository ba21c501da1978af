// Starting, stopping, disabled services, the connection limit and the counters'
// names.
#include <gtest/gtest.h>

#include <set>

#include "service_hosts.h"

namespace joyride::service {
namespace {

using base::Duration;
using testing::ClientConn;
using testing::Expect;
using testing::HostsOptions;
using testing::kServerAddress;
using testing::ServiceHosts;
using testing::TcpClient;

ClientConn idle_conn(Expect expect) {
  ClientConn c;
  c.expect = expect;
  c.shut_when_sent = false;
  return c;
}

TEST(BuiltinCounters, EveryCounterHasAUniqueName) {
  std::set<std::string_view> names;
  base::CounterSet<BuiltinCounter> c;
  c.for_each([&](std::string_view name, uint64_t) { names.insert(name); });
  EXPECT_EQ(names.size(), static_cast<size_t>(BuiltinCounter::kCount));
  EXPECT_EQ(counter_names(BuiltinCounter{})[static_cast<size_t>(BuiltinCounter::kDiscardTcpBytesIn)],
            "discard_tcp_bytes_in");
  EXPECT_EQ(counter_names(BuiltinCounter{})[static_cast<size_t>(
                builtin_counter(Service::kChargen, ServiceCounter::kUdpDatagramsOut))],
            "chargen_udp_datagrams_out");
}

TEST(BuiltinLifecycle, DisabledServiceAnswersRstAndPortUnreachable) {
  HostsOptions o;
  o.services.echo = false;
  ServiceHosts h(o);
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  const size_t refused = client.connect(7, idle_conn(Expect::kNothing));
  const size_t served = client.connect(9, idle_conn(Expect::kNothing));
  ASSERT_TRUE(h.run_until([&] { return client.conn(refused).done(); }, Duration::seconds(5)));
  EXPECT_EQ(client.conn(refused).error, core::RecvError::kConnectionRefused);
  EXPECT_EQ(h.client().tcp().state(client.conn(served).sock), core::TcpState::kEstablished);
  EXPECT_EQ(h.server().tcp().counters()[core::TcpCounter::kOutRsts], 1u);

  // UDP: ICMP port unreachable, which a connected socket reports as ECONNREFUSED.
  auto& udp = h.client().udp();
  auto s = udp.open();
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(udp.connect(*s, {kServerAddress, 7}, h.now()).ok());
  const uint8_t hello[] = {'h', 'i'};
  ASSERT_TRUE(udp.send_to(*s, hello, std::nullopt, h.now()).ok());
  std::array<uint8_t, 16> in;
  std::optional<core::RecvError> error;
  ASSERT_TRUE(h.run_until(
      [&] {
        auto r = udp.recv_from(*s, in);
        if (!r && r.error() != core::RecvError::kWouldBlock) error = r.error();
        return error.has_value();
      },
      Duration::seconds(5)));
  EXPECT_EQ(error, core::RecvError::kConnectionRefused);
  EXPECT_EQ(h.server().udp().counters()[core::UdpCounter::kDropNoSocket], 1u);
  udp.close(*s);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kUdpDatagramsIn), 0u);
}

TEST(BuiltinLifecycle, StopResetsEstablishedConnections) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  ClientConn echo = idle_conn(Expect::kEcho);
  echo.to_send = 5000;
  client.connect(7, echo);
  client.connect(9, idle_conn(Expect::kNothing));
  client.connect(19, idle_conn(Expect::kChargen));
  ASSERT_TRUE(h.run_until(
      [&] {
        return client.conn(0).received == 5000 && client.conn(2).received > 100'000 &&
               h.counter(Service::kDiscard, ServiceCounter::kTcpActive) == 1;
      },
      Duration::seconds(10)));

  h.runner().stop(h.now());
  EXPECT_FALSE(h.runner().running());
  for (Service s : {Service::kEcho, Service::kDiscard, Service::kChargen})
    EXPECT_EQ(h.counter(s, ServiceCounter::kTcpActive), 0u);
  ASSERT_TRUE(h.run_until([&] { return client.all_done(); }, Duration::seconds(5)));
  EXPECT_EQ(client.failures(), "");
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(client.conn(i).error, core::RecvError::kConnectionReset) << i;
  // The listeners are gone as well: nothing is left on the server.
  EXPECT_EQ(h.server().tcp().connections(), 0u);
  size_t udp_sockets = 0;
  h.server().udp().for_each_socket([&](const core::UdpSocketView&) { ++udp_sockets; });
  EXPECT_EQ(udp_sockets, 0u);
  const size_t late = client.connect(7, idle_conn(Expect::kNothing));
  ASSERT_TRUE(h.run_until([&] { return client.conn(late).done(); }, Duration::seconds(5)));
  EXPECT_EQ(client.conn(late).error, core::RecvError::kConnectionRefused);

  // And it starts again.
  ASSERT_TRUE(h.runner().start(h.now()).ok());
  ClientConn again = idle_conn(Expect::kEcho);
  again.to_send = 1000;
  again.shut_when_sent = true;
  const size_t k = client.connect(7, again);
  ASSERT_TRUE(h.run_until([&] { return client.conn(k).done(); }, Duration::seconds(5)));
  EXPECT_TRUE(client.conn(k).eof);
  EXPECT_EQ(client.conn(k).received, 1000u);
}

TEST(BuiltinLifecycle, ConnectionLimitIsHonouredAndCounted) {
  HostsOptions o;
  o.limits.max_connections = 3;
  ServiceHosts h(o);
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  for (int i = 0; i < 5; ++i) client.connect(9, idle_conn(Expect::kNothing));
  h.run_for(Duration::seconds(2));
  size_t closed = 0;
  size_t open_index = SIZE_MAX;
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_FALSE(client.conn(i).error.has_value());
    if (client.conn(i).eof) ++closed;
    else open_index = i;
  }
  EXPECT_EQ(closed, 2u);  // accepted and closed at once
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpOverLimit), 2u);
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpAccepted), 3u);
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpActive), 3u);
  // Per service: echo still has room.
  ClientConn echo = idle_conn(Expect::kEcho);
  echo.to_send = 100;
  echo.shut_when_sent = true;
  const size_t e = client.connect(7, echo);
  ASSERT_TRUE(h.run_until([&] { return client.conn(e).done(); }, Duration::seconds(5)));
  EXPECT_EQ(client.conn(e).received, 100u);

  // One leaves (its FIN closes it on the service's side); a newcomer fits.
  ASSERT_NE(open_index, SIZE_MAX);
  client.conn(open_index).to_send = 0;
  client.conn(open_index).shut_when_sent = true;
  client.process(client.conn(open_index));
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kDiscard, ServiceCounter::kTcpActive) == 2; },
                          Duration::seconds(5)));
  const size_t n = client.connect(9, idle_conn(Expect::kNothing));
  h.run_for(Duration::seconds(1));
  EXPECT_FALSE(client.conn(n).done());
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpActive), 3u);
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpAccepted), 4u);
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpOverLimit), 2u);
}

// The runner shares its stack with other sockets: their events are not its.
TEST(BuiltinLifecycle, OtherSocketsEventsAreNotClaimed) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  auto& tcp = h.server().tcp();
  auto l = tcp.open();
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(tcp.bind(*l, {wire::Ipv4Address(), 5000}).ok());
  ASSERT_TRUE(tcp.listen(*l, 10).ok());
  TcpClient client(h);
  client.connect(5000, idle_conn(Expect::kNothing));
  ASSERT_TRUE(h.run_until([&] { return h.unclaimed_server_events > 0; }, Duration::seconds(5)));
  EXPECT_FALSE(h.runner().on_event(core::SocketEvent{*l, core::kReadable}, h.now()));
  auto child = tcp.accept(*l);
  ASSERT_TRUE(child.ok());
  EXPECT_FALSE(h.runner().on_event(core::SocketEvent{*child, core::kWritable}, h.now()));
  for (Service s : {Service::kEcho, Service::kDiscard, Service::kChargen})
    EXPECT_EQ(h.counter(s, ServiceCounter::kTcpAccepted), 0u);

  // A service connection's handle is claimed while it lives, and not once the
  // service has closed it (a stale event), even when its slot has been reused.
  ClientConn d = idle_conn(Expect::kNothing);
  const size_t k = client.connect(9, d);
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kDiscard, ServiceCounter::kTcpActive) == 1; },
                          Duration::seconds(5)));
  core::SocketId served;
  tcp.for_each_connection([&](core::SocketId id, const core::TcpInfo&, const core::tcp::FourTuple& t) {
    if (t.local_port == 9 && t.remote_port != 0) served = id;
  });
  ASSERT_TRUE(served.valid());
  EXPECT_TRUE(h.runner().on_event(core::SocketEvent{served, core::kReadable}, h.now()));
  client.conn(k).shut_when_sent = true;
  client.process(client.conn(k));
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kDiscard, ServiceCounter::kTcpActive) == 0; },
                          Duration::seconds(5)));
  EXPECT_FALSE(h.runner().on_event(core::SocketEvent{served, core::kReadable}, h.now()));
  core::SocketId stale = served;
  stale.generation += 1;
  EXPECT_FALSE(h.runner().on_event(core::SocketEvent{stale, core::kReadable}, h.now()));
  tcp.close(*child, h.now());
  tcp.close(*l, h.now());
}

TEST(BuiltinLifecycle, StartReportsEverySocketItCouldNotSetUp) {
  HostsOptions o;
  o.start = false;
  ServiceHosts h(o);
  // Somebody else holds discard's TCP port and chargen's UDP port.
  auto& tcp = h.server().tcp();
  auto t = tcp.open();
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(tcp.bind(*t, {wire::Ipv4Address(), 9}).ok());
  ASSERT_TRUE(tcp.listen(*t, 10).ok());
  auto& udp = h.server().udp();
  auto u = udp.open();
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE(udp.bind(*u, {wire::Ipv4Address(), 19}).ok());

  auto started = h.runner().start(h.now());
  ASSERT_FALSE(started.ok());
  const StartError& error = started.error();
  ASSERT_EQ(error.count, 2u);
  EXPECT_EQ(error.list()[0].service, Service::kDiscard);
  EXPECT_EQ(error.list()[0].transport, Transport::kTcp);
  EXPECT_EQ(error.list()[1].service, Service::kChargen);
  EXPECT_EQ(error.list()[1].transport, Transport::kUdp);
  EXPECT_EQ(error.to_string(), "discard/tcp port 9: bind: address in use; chargen/udp port 19: bind: address in use");

  // The rest serve.
  EXPECT_TRUE(h.runner().running());
  TcpClient client(h);
  ClientConn echo = idle_conn(Expect::kEcho);
  echo.to_send = 100;
  echo.shut_when_sent = true;
  const size_t e = client.connect(7, echo);
  ClientConn gen = idle_conn(Expect::kChargen);
  gen.read_limit = 1000;
  const size_t g = client.connect(19, gen);
  ASSERT_TRUE(h.run_until([&] { return client.conn(e).done() && client.conn(g).received == 1000; },
                          Duration::seconds(5)));
  EXPECT_EQ(client.conn(e).received, 100u);
  EXPECT_EQ(client.failures(), "");
  h.runner().stop(h.now());
  udp.close(*u);
  tcp.close(*t, h.now());
}

}  // namespace
}  // namespace joyride::service
