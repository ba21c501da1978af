// The control-socket grammar of close / send / job (control_requests.h), end to end
// on the simulated hosts: the client host runs the traffic client, the server host
// the services.
#include <gtest/gtest.h>

#include "joyride/service/control_requests.h"
#include "service_hosts.h"

namespace joyride::service {
namespace {

using base::Duration;
using testing::HostsOptions;
using testing::ServiceHosts;

struct Fixture {
  Fixture() : traffic(h.client()) {
    h.on_client_event = [this](const core::SocketEvent& e) { traffic.on_event(e, h.now()); };
  }
  ~Fixture() { traffic.stop(h.now()); }
  std::optional<std::string> ask(std::string_view request) {
    return answer_service_request(request, h.runner(), traffic, h.now());
  }

  ServiceHosts h{HostsOptions{}};
  TrafficClient traffic;
};

TEST(ControlRequests, SendThenPollTheJob) {
  Fixture f;
  ASSERT_TRUE(f.h.start_ok);
  EXPECT_EQ(f.ask("send 198.18.0.2:9 1000000 2"), "job 1\n");
  const auto running = f.ask("job 1");
  ASSERT_TRUE(running.has_value());
  EXPECT_TRUE(running->starts_with("job 1 state=running bytes=0 ")) << *running;
  ASSERT_TRUE(f.h.run_until([&] { return f.traffic.running_jobs() == 0; }, Duration::seconds(30)));
  const auto done = f.ask("job 1");
  ASSERT_TRUE(done.has_value());
  char crc[16];
  std::snprintf(crc, sizeof crc, "0x%08x", testing::reference_crc32(testing::chargen_reference(500'000)));
  EXPECT_TRUE(done->starts_with("job 1 state=done bytes=1000000 seconds=")) << *done;
  EXPECT_TRUE(done->ends_with(std::string(" crc32=") + crc + " error=none\n")) << *done;
  // The default is one connection; ids count up.
  EXPECT_EQ(f.ask("send 198.18.0.2:9 10"), "job 2\n");
}

TEST(ControlRequests, CloseGracefulResetAndNothing) {
  Fixture f;
  ASSERT_TRUE(f.h.start_ok);
  testing::TcpClient client(f.h);
  testing::ClientConn c;
  c.to_send = 1000;
  c.shut_when_sent = false;
  c.expect = testing::Expect::kNothing;
  const size_t a = client.connect(9, c);
  const size_t b = client.connect(9, c);
  ASSERT_TRUE(f.h.run_until(
      [&] { return f.h.counter(Service::kDiscard, ServiceCounter::kTcpBytesIn) == 2000; }, Duration::seconds(10)));
  const std::string ea = to_string(*f.h.client().tcp().local_endpoint(client.conn(a).sock));
  const std::string eb = to_string(*f.h.client().tcp().local_endpoint(client.conn(b).sock));
  EXPECT_EQ(f.ask("close 198.18.0.1:1"), "closed 0\n");
  EXPECT_EQ(f.ask("close " + ea), "closed 1\n");
  EXPECT_EQ(f.ask("close  " + eb + "  reset "), "closed 1\n");  // extra spaces are fine
  ASSERT_TRUE(f.h.run_until([&] { return client.all_done(); }, Duration::seconds(10)));
  EXPECT_TRUE(client.conn(a).eof);
  EXPECT_EQ(client.conn(b).error, core::RecvError::kConnectionReset);
  EXPECT_EQ(f.ask("close " + ea), "closed 0\n");
}

TEST(ControlRequests, Malformed) {
  Fixture f;
  const std::pair<const char*, const char*> cases[] = {
      {"close", "error: usage: close <ip>:<port> [reset]\n"},
      {"close 198.18.0.1", "error: usage: close <ip>:<port> [reset]\n"},
      {"close 198.18.0.1:5 rst", "error: usage: close <ip>:<port> [reset]\n"},
      {"close 198.18.0.1:5 reset now", "error: usage: close <ip>:<port> [reset]\n"},
      {"send 198.18.0.2:9", "error: usage: send <ip>:<port> <bytes> [connections]\n"},
      {"send 198.18.0.2:9 -1", "error: usage: send <ip>:<port> <bytes> [connections]\n"},
      {"send 198.18.0.2:9 1e6", "error: usage: send <ip>:<port> <bytes> [connections]\n"},
      {"send 198.18.0.2:0 10", "error: usage: send <ip>:<port> <bytes> [connections]\n"},
      {"send 198.18.0.2:9 10 2 3", "error: usage: send <ip>:<port> <bytes> [connections]\n"},
      {"send 198.18.0.2:9 10 0", "error: connections must be 1..1024\n"},
      {"job", "error: usage: job <id>\n"},
      {"job one", "error: usage: job <id>\n"},
      {"job 99", "error: no job 99\n"},
  };
  for (const auto& [request, answer] : cases) EXPECT_EQ(f.ask(request), answer) << request;
  // Not these requests: joyrided answers them (stat) or rejects them itself.
  for (const char* other : {"stat", "", "   ", "sendx 1", "CLOSE 1.2.3.4:5"})
    EXPECT_EQ(f.ask(other), std::nullopt) << other;
}

}  // namespace
}  // namespace joyride::service
