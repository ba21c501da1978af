// The built-in services over UDP (RFC 862, 863, 864) between two simulated hosts.
#include <gtest/gtest.h>

#include <set>

#include "service_hosts.h"

namespace joyride::service {
namespace {

using base::Duration;
using testing::HostsOptions;
using testing::kServerAddress;
using testing::ServiceHosts;

class UdpClient {
 public:
  explicit UdpClient(ServiceHosts& h, uint16_t local_port = 0) : h_(h), in_(65536) {
    auto& udp = h_.client().udp();
    auto s = udp.open();
    EXPECT_TRUE(s.ok());
    sock_ = *s;
    EXPECT_TRUE(udp.bind(sock_, {wire::Ipv4Address(), local_port}).ok());
  }
  ~UdpClient() { h_.client().udp().close(sock_); }

  void send(uint16_t port, std::span<const uint8_t> payload) {
    auto r = h_.client().udp().send_to(sock_, payload, core::Endpoint{kServerAddress, port}, h_.now());
    ASSERT_TRUE(r.ok()) << core::to_string(r.error());
  }
  // The next datagram within `limit`, or nothing.
  std::optional<std::vector<uint8_t>> receive(Duration limit, core::Endpoint* from = nullptr) {
    std::optional<std::vector<uint8_t>> got;
    h_.run_until(
        [&] {
          auto r = h_.client().udp().recv_from(sock_, in_);
          if (!r) return false;
          if (from != nullptr) *from = r->from;
          got.emplace(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(r->bytes));
          return true;
        },
        limit);
    return got;
  }
  core::SocketId socket() const { return sock_; }

 private:
  ServiceHosts& h_;
  core::SocketId sock_;
  std::vector<uint8_t> in_;
};

std::vector<uint8_t> payload(size_t n, uint64_t stream) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = testing::stream_byte(stream, i);
  return v;
}

TEST(UdpEcho, ReturnsEachDatagramToItsSender) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  UdpClient client(h);
  // Empty, small, one full frame, and fragmented (reassembled both ways).
  const size_t sizes[] = {0, 1, 100, 512, 1472, 1473, 8000, 30000};
  uint64_t bytes = 0;
  for (size_t n : sizes) {
    SCOPED_TRACE(n);
    const auto sent = payload(n, n);
    client.send(7, sent);
    core::Endpoint from;
    auto got = client.receive(Duration::seconds(1), &from);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, sent);
    EXPECT_EQ(from, (core::Endpoint{kServerAddress, 7}));
    bytes += n;
  }
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kUdpDatagramsIn), std::size(sizes));
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kUdpDatagramsOut), std::size(sizes));
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kUdpBytesIn), bytes);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kUdpBytesOut), bytes);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kUdpErrors), 0u);
}

// Datagrams from a built-in service's port are not answered: echo and chargen on two
// hosts would otherwise bounce datagrams between them for ever.
TEST(UdpEcho, DoesNotAnswerAServicePort) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  for (uint16_t port : {7, 9, 19}) {
    SCOPED_TRACE(port);
    UdpClient client(h, port);
    client.send(7, payload(10, 1));
    client.send(19, payload(10, 1));
    EXPECT_FALSE(client.receive(Duration::seconds(1)).has_value());
  }
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kUdpErrors), 3u);
  EXPECT_EQ(h.counter(Service::kChargen, ServiceCounter::kUdpErrors), 3u);
  EXPECT_EQ(h.counter(Service::kEcho, ServiceCounter::kUdpDatagramsOut), 0u);
}

TEST(UdpDiscard, CountsAndAnswersNothing) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  UdpClient client(h);
  uint64_t bytes = 0;
  for (size_t n : {0, 1, 1000, 1472, 5000}) {
    client.send(9, payload(n, 2));
    bytes += n;
  }
  EXPECT_FALSE(client.receive(Duration::seconds(1)).has_value());
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kUdpDatagramsIn), 5u);
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kUdpBytesIn), bytes);
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kUdpDatagramsOut), 0u);
}

// RFC 864: one answer per datagram, of a random length from 0 to 512, of the pattern
// (from its start: there is no continuity between answers). The lengths come from
// the injected RandomSource, uniform(513) per answer.
TEST(UdpChargen, AnswersWithRandomLengthsOfThePattern) {
  HostsOptions o;
  o.runner_seed = 99;
  ServiceHosts h(o);
  ASSERT_TRUE(h.start_ok);
  UdpClient client(h);
  const std::string reference = testing::chargen_reference(512);
  base::SeededRandom expected_lengths(99);
  std::set<size_t> lengths;
  uint64_t bytes = 0;
  for (int i = 0; i < 60; ++i) {
    SCOPED_TRACE(i);
    client.send(19, payload(static_cast<size_t>(i * 7), 3));  // content and size are ignored
    auto got = client.receive(Duration::seconds(1));
    ASSERT_TRUE(got.has_value());
    EXPECT_LE(got->size(), 512u);
    EXPECT_EQ(got->size(), expected_lengths.uniform(513));
    EXPECT_EQ(std::string(got->begin(), got->end()), reference.substr(0, got->size()));
    lengths.insert(got->size());
    bytes += got->size();
  }
  EXPECT_GT(lengths.size(), 30u);
  EXPECT_EQ(h.counter(Service::kChargen, ServiceCounter::kUdpDatagramsOut), 60u);
  EXPECT_EQ(h.counter(Service::kChargen, ServiceCounter::kUdpBytesOut), bytes);
}

}  // namespace
}  // namespace joyride::service
