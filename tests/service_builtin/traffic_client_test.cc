// The built-in traffic client (traffic_client.h): a job on one host sends to the
// other host's built-in services, and the job's account (bytes, crc32, state) agrees
// with what the discard service counted.
#include <gtest/gtest.h>

#include "joyride/service/traffic_client.h"
#include "service_hosts.h"

namespace joyride::service {
namespace {

using base::Duration;
using testing::HostsOptions;
using testing::kServerAddress;
using testing::reference_crc32;
using testing::ServiceHosts;

constexpr uint64_t kTenMegabytes = 10'000'000;

// Host "client" runs the traffic client; host "server" the services.
struct ClientHosts {
  explicit ClientHosts(const HostsOptions& o = HostsOptions{}) : h(o), traffic(h.client()) {
    h.on_client_event = [this](const core::SocketEvent& e) {
      if (!traffic.on_event(e, h.now())) ++unclaimed_client_events;
    };
  }
  ~ClientHosts() { traffic.stop(h.now()); }

  TrafficJobStatus status(uint64_t id) {
    auto s = traffic.status(id, h.now());
    EXPECT_TRUE(s.has_value());
    return s.value_or(TrafficJobStatus{});
  }
  // Runs until the job is no longer running; the states seen on the way.
  std::vector<JobState> run_job(uint64_t id, Duration limit) {
    std::vector<JobState> seen{status(id).state};
    h.run_until(
        [&] {
          const JobState st = status(id).state;
          if (st != seen.back()) seen.push_back(st);
          return st != JobState::kRunning;
        },
        limit);
    return seen;
  }

  ServiceHosts h;
  TrafficClient traffic;
  uint64_t unclaimed_client_events = 0;
};

std::string pattern_bytes(uint64_t n) { return testing::chargen_reference(n); }

class TrafficToDiscard : public ::testing::TestWithParam<uint32_t> {};

TEST_P(TrafficToDiscard, TenMegabytesArriveAndTheCrcsAgree) {
  const uint32_t k = GetParam();
  ClientHosts c;
  ASSERT_TRUE(c.h.start_ok);
  auto id = c.traffic.start(TrafficJobSpec{{kServerAddress, 9}, kTenMegabytes, k}, c.h.now());
  ASSERT_TRUE(id.ok());
  const base::Instant started = c.h.now();
  EXPECT_EQ(c.traffic.running_jobs(), 1u);

  const std::vector<JobState> seen = c.run_job(*id, Duration::seconds(120));
  EXPECT_EQ(seen, (std::vector<JobState>{JobState::kRunning, JobState::kDone}));
  const base::Instant finished = c.h.now();
  const TrafficJobStatus s = c.status(*id);
  EXPECT_EQ(s.error, "");
  EXPECT_EQ(s.bytes_sent, kTenMegabytes);
  EXPECT_GT(s.elapsed, Duration::zero());
  EXPECT_LE(s.elapsed, finished - started);
  // Connection 0 sent the pattern from its start: 10 MB / k bytes of it.
  EXPECT_EQ(s.crc32, reference_crc32(pattern_bytes(kTenMegabytes / k)));
  EXPECT_EQ(c.traffic.running_jobs(), 0u);

  // The services' side: every connection accepted, every byte counted, and the last
  // connection's CRC is the job's (10 MB splits evenly, so every connection carries
  // the same bytes).
  ASSERT_TRUE(c.h.run_until(
      [&] { return c.h.counter(Service::kDiscard, ServiceCounter::kTcpActive) == 0; }, Duration::seconds(10)));
  EXPECT_EQ(c.h.counter(Service::kDiscard, ServiceCounter::kTcpAccepted), k);
  EXPECT_EQ(c.h.counter(Service::kDiscard, ServiceCounter::kTcpBytesIn), s.bytes_sent);
  EXPECT_EQ(c.h.counter(Service::kDiscard, ServiceCounter::kTcpErrors), 0u);
  ASSERT_TRUE(c.h.runner().last_discard().has_value());
  const DiscardRecord& r = *c.h.runner().last_discard();
  EXPECT_EQ(r.bytes, kTenMegabytes / k);
  EXPECT_EQ(r.crc32, s.crc32);
  EXPECT_EQ(r.end, DiscardEnd::kFin);
  EXPECT_EQ(c.unclaimed_client_events, 0u);
}

INSTANTIATE_TEST_SUITE_P(Connections, TrafficToDiscard, ::testing::Values(1u, 4u));

// An uneven split: the first bytes % k connections carry one byte more.
TEST(TrafficClientTest, UnevenSplitSendsEveryByte) {
  ClientHosts c;
  ASSERT_TRUE(c.h.start_ok);
  auto id = c.traffic.start(TrafficJobSpec{{kServerAddress, 9}, 100'003, 4}, c.h.now());
  ASSERT_TRUE(id.ok());
  c.run_job(*id, Duration::seconds(30));
  const TrafficJobStatus s = c.status(*id);
  EXPECT_EQ(s.state, JobState::kDone);
  EXPECT_EQ(s.bytes_sent, 100'003u);
  EXPECT_EQ(s.crc32, reference_crc32(pattern_bytes(25'001)));
  ASSERT_TRUE(c.h.run_until(
      [&] { return c.h.counter(Service::kDiscard, ServiceCounter::kTcpActive) == 0; }, Duration::seconds(10)));
  EXPECT_EQ(c.h.counter(Service::kDiscard, ServiceCounter::kTcpBytesIn), 100'003u);
}

// Fewer bytes than connections, down to none: the empty connections still connect
// and close.
TEST(TrafficClientTest, EmptyConnectionsConnectAndClose) {
  ClientHosts c;
  ASSERT_TRUE(c.h.start_ok);
  auto id = c.traffic.start(TrafficJobSpec{{kServerAddress, 9}, 2, 3}, c.h.now());
  ASSERT_TRUE(id.ok());
  c.run_job(*id, Duration::seconds(10));
  EXPECT_EQ(c.status(*id).state, JobState::kDone);
  EXPECT_EQ(c.status(*id).bytes_sent, 2u);
  EXPECT_EQ(c.h.counter(Service::kDiscard, ServiceCounter::kTcpAccepted), 3u);
}

TEST(TrafficClientTest, AClosedPortFailsWithConnectionRefused) {
  ClientHosts c;
  ASSERT_TRUE(c.h.start_ok);
  auto id = c.traffic.start(TrafficJobSpec{{kServerAddress, 4321}, 1'000'000, 2}, c.h.now());
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(c.run_job(*id, Duration::seconds(10)), (std::vector<JobState>{JobState::kRunning, JobState::kFailed}));
  const TrafficJobStatus s = c.status(*id);
  EXPECT_EQ(s.error, "connection refused");
  EXPECT_EQ(s.bytes_sent, 0u);
  EXPECT_NE(job_status_line(s).find(" state=failed bytes=0 "), std::string::npos) << job_status_line(s);
  EXPECT_TRUE(job_status_line(s).ends_with(" error=connection-refused")) << job_status_line(s);
  // Nothing is left open on the client.
  c.h.run_for(Duration::seconds(1));
  EXPECT_EQ(c.h.client().tcp().connections(), 0u);
}

// The service resets the job's connection mid-transfer (the operator's `close ...
// reset`): the job fails with the reset and its other connection is reset too.
TEST(TrafficClientTest, AResetMidTransferFailsTheJob) {
  ClientHosts c;
  ASSERT_TRUE(c.h.start_ok);
  auto id = c.traffic.start(TrafficJobSpec{{kServerAddress, 9}, kTenMegabytes, 2}, c.h.now());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(c.h.run_until([&] { return c.h.counter(Service::kDiscard, ServiceCounter::kTcpBytesIn) > 1'000'000; },
                            Duration::seconds(30)));
  std::optional<core::Endpoint> victim;
  c.h.server().tcp().for_each_connection([&](core::SocketId, const core::TcpInfo&, const core::tcp::FourTuple& t) {
    if (t.local_port == 9 && t.remote_port != 0 && !victim) victim = core::Endpoint{t.remote, t.remote_port};
  });
  ASSERT_TRUE(victim.has_value());
  EXPECT_EQ(c.h.runner().close_connections(*victim, CloseMode::kReset, c.h.now()), 1u);
  c.run_job(*id, Duration::seconds(10));
  const TrafficJobStatus s = c.status(*id);
  EXPECT_EQ(s.state, JobState::kFailed);
  EXPECT_EQ(s.error, "connection reset");
  EXPECT_LT(s.bytes_sent, kTenMegabytes);
  ASSERT_TRUE(c.h.run_until(
      [&] { return c.h.counter(Service::kDiscard, ServiceCounter::kTcpActive) == 0; }, Duration::seconds(10)));
}

// An echo service as the remote: what comes back is read and dropped, and the job
// still finishes (its close does not reset for unread data).
TEST(TrafficClientTest, EchoAsTheRemoteWorks) {
  ClientHosts c;
  ASSERT_TRUE(c.h.start_ok);
  auto id = c.traffic.start(TrafficJobSpec{{kServerAddress, 7}, 1'000'000, 2}, c.h.now());
  ASSERT_TRUE(id.ok());
  c.run_job(*id, Duration::seconds(60));
  EXPECT_EQ(c.status(*id).state, JobState::kDone) << c.status(*id).error;
  ASSERT_TRUE(c.h.run_until(
      [&] { return c.h.counter(Service::kEcho, ServiceCounter::kTcpActive) == 0; }, Duration::seconds(10)));
  EXPECT_EQ(c.h.counter(Service::kEcho, ServiceCounter::kTcpBytesOut), 1'000'000u);
  EXPECT_EQ(c.h.counter(Service::kEcho, ServiceCounter::kTcpErrors), 0u);
}

TEST(TrafficClientTest, BadSpecsAndUnknownIds) {
  ClientHosts c;
  EXPECT_FALSE(c.traffic.start(TrafficJobSpec{{kServerAddress, 9}, 10, 0}, c.h.now()).ok());
  EXPECT_FALSE(c.traffic.start(TrafficJobSpec{{kServerAddress, 9}, 10, 1025}, c.h.now()).ok());
  EXPECT_FALSE(c.traffic.status(0, c.h.now()).has_value());
  EXPECT_FALSE(c.traffic.status(1, c.h.now()).has_value());
  // No route: the job exists and has failed at once.
  auto id = c.traffic.start(TrafficJobSpec{{wire::Ipv4Address::from_octets(203, 0, 113, 1), 9}, 10, 1}, c.h.now());
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(c.status(*id).state, JobState::kFailed);
  EXPECT_EQ(c.status(*id).error, "no route");
}

// The table keeps the newest finished jobs; a table of running jobs refuses more.
TEST(TrafficClientTest, KeepsABoundedNumberOfJobs) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TrafficClient traffic(h.client(), TrafficClientLimits{.max_connections = 4, .kept_jobs = 2});
  h.on_client_event = [&](const core::SocketEvent& e) { traffic.on_event(e, h.now()); };
  auto a = traffic.start(TrafficJobSpec{{kServerAddress, 9}, 1000, 1}, h.now());
  auto b = traffic.start(TrafficJobSpec{{kServerAddress, 9}, 1000, 1}, h.now());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(traffic.start(TrafficJobSpec{{kServerAddress, 9}, 1000, 1}, h.now()).ok());  // both running
  EXPECT_FALSE(traffic.start(TrafficJobSpec{{kServerAddress, 9}, 1000, 5}, h.now()).ok());  // over max_connections
  ASSERT_TRUE(h.run_until([&] { return traffic.running_jobs() == 0; }, Duration::seconds(10)));
  auto d = traffic.start(TrafficJobSpec{{kServerAddress, 9}, 1000, 1}, h.now());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, *b + 1);  // ids are not reused
  EXPECT_FALSE(traffic.status(*a, h.now()).has_value());  // the oldest made room
  EXPECT_TRUE(traffic.status(*b, h.now()).has_value());
  ASSERT_TRUE(h.run_until([&] { return traffic.running_jobs() == 0; }, Duration::seconds(10)));
  EXPECT_EQ(traffic.status(*d, h.now())->state, JobState::kDone);
}

TEST(JobStatusLine, Formats) {
  TrafficJobStatus s;
  s.id = 3;
  s.state = JobState::kDone;
  s.bytes_sent = 10'000'000;
  s.elapsed = Duration::micros(81'234);
  s.crc32 = 0x1a2b3c4d;
  EXPECT_EQ(job_status_line(s), "job 3 state=done bytes=10000000 seconds=0.081234 crc32=0x1a2b3c4d error=none");
  s.state = JobState::kRunning;
  s.crc32 = 0xab;
  s.elapsed = Duration::seconds(2);
  EXPECT_EQ(job_status_line(s), "job 3 state=running bytes=10000000 seconds=2.000000 crc32=0x000000ab error=none");
  s.state = JobState::kFailed;
  s.error = "connection refused";
  EXPECT_EQ(job_status_line(s), "job 3 state=failed bytes=10000000 seconds=2.000000 crc32=0x000000ab "
                                "error=connection-refused");
}

}  // namespace
}  // namespace joyride::service
