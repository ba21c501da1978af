// The TCP discard service's per-connection byte count and CRC-32, and the record of
// the last discard connection that ended (BuiltinServiceRunner::last_discard, the
// discard_last line of `joyride stat`).
#include <gtest/gtest.h>

#include "joyride/service/chargen_pattern.h"
#include "service_hosts.h"

namespace joyride::service {
namespace {

using base::Duration;
using testing::ClientConn;
using testing::Expect;
using testing::HostsOptions;
using testing::reference_crc32;
using testing::ServiceHosts;
using testing::stream_bytes;
using testing::TcpClient;

constexpr uint64_t kMegabyte = 1'000'000;

// The reference itself: the CRC-32 check value of "123456789" (0xCBF43926, what
// Python's zlib.crc32(b"123456789") gives), and continuation over two pieces.
TEST(ReferenceCrc32, MatchesTheStandardCheckValue) {
  EXPECT_EQ(reference_crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(reference_crc32(""), 0u);
  EXPECT_EQ(reference_crc32("6789", reference_crc32("12345")), 0xCBF43926u);
}

ClientConn discard_conn(uint64_t stream, uint64_t bytes, bool shut = true) {
  ClientConn c;
  c.stream = stream;
  c.to_send = bytes;
  c.expect = Expect::kNothing;
  c.shut_when_sent = shut;
  return c;
}

core::Endpoint client_endpoint(ServiceHosts& h, TcpClient& client, size_t i) {
  auto e = h.client().tcp().local_endpoint(client.conn(i).sock);
  EXPECT_TRUE(e.has_value());
  return e.value_or(core::Endpoint{});
}

bool discard_idle(ServiceHosts& h) {
  return h.runner().last_discard().has_value() && h.counter(Service::kDiscard, ServiceCounter::kTcpActive) == 0;
}

struct FinCase {
  const char* name;
  uint64_t bytes;
};

class DiscardChecksumFin : public ::testing::TestWithParam<FinCase> {};

TEST_P(DiscardChecksumFin, CountAndCrcMatchWhatWasSent) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  EXPECT_FALSE(h.runner().last_discard().has_value());
  TcpClient client(h);
  const uint64_t bytes = GetParam().bytes;
  const size_t i = client.connect(9, discard_conn(5, bytes));
  const core::Endpoint from = client_endpoint(h, client, i);
  ASSERT_TRUE(h.run_until([&] { return discard_idle(h); }, Duration::seconds(60)));
  const DiscardRecord& r = *h.runner().last_discard();
  EXPECT_EQ(r.remote, from);
  EXPECT_EQ(r.bytes, bytes);
  ASSERT_TRUE(r.crc32.has_value());
  EXPECT_EQ(*r.crc32, reference_crc32(stream_bytes(5, bytes)));
  EXPECT_EQ(r.end, DiscardEnd::kFin);
  EXPECT_EQ(h.counter(Service::kDiscard, ServiceCounter::kTcpBytesIn), bytes);
}

INSTANTIATE_TEST_SUITE_P(All, DiscardChecksumFin,
                         ::testing::Values(FinCase{"OneMegabyte", kMegabyte}, FinCase{"Empty", 0},
                                           FinCase{"OneByte", 1}, FinCase{"OddSize", 65'537}),
                         [](const ::testing::TestParamInfo<FinCase>& p) { return std::string(p.param.name); });

// The record is of the connection that ended last, not the one that started last.
TEST(DiscardChecksum, RecordsTheConnectionThatEndedLast) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  const size_t open_one = client.connect(9, discard_conn(1, 20'000, /*shut=*/false));
  const size_t closed_one = client.connect(9, discard_conn(2, 30'000));
  ASSERT_TRUE(h.run_until([&] { return h.runner().last_discard().has_value(); }, Duration::seconds(10)));
  EXPECT_EQ(h.runner().last_discard()->remote, client_endpoint(h, client, closed_one));
  EXPECT_EQ(h.runner().last_discard()->bytes, 30'000u);
  // Now the first one ends: it becomes the record.
  ASSERT_TRUE(h.client().tcp().shutdown(client.conn(open_one).sock, false, true, h.now()));
  ASSERT_TRUE(h.run_until([&] { return h.runner().last_discard()->bytes == 20'000; }, Duration::seconds(10)));
  EXPECT_EQ(h.runner().last_discard()->remote, client_endpoint(h, client, open_one));
  EXPECT_EQ(h.runner().last_discard()->crc32, reference_crc32(stream_bytes(1, 20'000)));
}

TEST(DiscardChecksum, APeerResetEndsWithReset) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  const size_t i = client.connect(9, discard_conn(3, 50'000, /*shut=*/false));
  const core::Endpoint from = client_endpoint(h, client, i);
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kDiscard, ServiceCounter::kTcpBytesIn) == 50'000; },
                          Duration::seconds(10)));
  auto& tcp = h.client().tcp();
  ASSERT_TRUE(tcp.set_linger(client.conn(i).sock, true, Duration::zero()));
  tcp.close(client.conn(i).sock, h.now());
  ASSERT_TRUE(h.run_until([&] { return discard_idle(h); }, Duration::seconds(5)));
  EXPECT_EQ(*h.runner().last_discard(),
            (DiscardRecord{from, 50'000, reference_crc32(stream_bytes(3, 50'000)), DiscardEnd::kReset}));
}

TEST(DiscardChecksum, OperatorCloseEndsWithOperator) {
  for (CloseMode mode : {CloseMode::kGraceful, CloseMode::kReset}) {
    ServiceHosts h(HostsOptions{});
    ASSERT_TRUE(h.start_ok);
    TcpClient client(h);
    const size_t i = client.connect(9, discard_conn(4, 40'000, /*shut=*/false));
    const core::Endpoint from = client_endpoint(h, client, i);
    ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kDiscard, ServiceCounter::kTcpBytesIn) == 40'000; },
                            Duration::seconds(10)));
    EXPECT_EQ(h.runner().close_connections(from, mode, h.now()), 1u);
    ASSERT_TRUE(h.runner().last_discard().has_value());
    EXPECT_EQ(*h.runner().last_discard(),
              (DiscardRecord{from, 40'000, reference_crc32(stream_bytes(4, 40'000)), DiscardEnd::kOperator}));
  }
}

TEST(DiscardChecksum, StopEndsWithStopped) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  client.connect(9, discard_conn(6, 1'000, /*shut=*/false));
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kDiscard, ServiceCounter::kTcpBytesIn) == 1'000; },
                          Duration::seconds(10)));
  h.runner().stop(h.now());
  ASSERT_TRUE(h.runner().last_discard().has_value());
  EXPECT_EQ(h.runner().last_discard()->end, DiscardEnd::kStopped);
  EXPECT_EQ(h.runner().last_discard()->bytes, 1'000u);
}

// discard_checksum = false: the count stays, the CRC is left out and prints as "off".
TEST(DiscardChecksum, OffLeavesTheCrcUnset) {
  HostsOptions o;
  o.services.discard_checksum = false;
  ServiceHosts h(o);
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  const size_t i = client.connect(9, discard_conn(7, 100'000));
  const core::Endpoint from = client_endpoint(h, client, i);
  ASSERT_TRUE(h.run_until([&] { return discard_idle(h); }, Duration::seconds(30)));
  const DiscardRecord& r = *h.runner().last_discard();
  EXPECT_EQ(r.bytes, 100'000u);
  EXPECT_FALSE(r.crc32.has_value());
  EXPECT_EQ(discard_last_line(r),
            "discard_last remote=" + to_string(from) + " bytes=100000 crc32=off end=fin");
}

// Echo and chargen connections are not discard's: they leave no record.
TEST(DiscardChecksum, OtherServicesLeaveNoRecord) {
  ServiceHosts h(HostsOptions{});
  ASSERT_TRUE(h.start_ok);
  TcpClient client(h);
  ClientConn echo;
  echo.stream = 1;
  echo.to_send = 10'000;
  client.connect(7, echo);
  ASSERT_TRUE(h.run_until([&] { return client.all_done(); }, Duration::seconds(10)));
  ASSERT_TRUE(h.run_until([&] { return h.counter(Service::kEcho, ServiceCounter::kTcpActive) == 0; },
                          Duration::seconds(5)));
  EXPECT_FALSE(h.runner().last_discard().has_value());
}

// ---- the text forms -------------------------------------------------------------------------

TEST(DiscardLastLine, Formats) {
  const core::Endpoint e{wire::Ipv4Address::from_octets(198, 18, 0, 2), 40312};
  EXPECT_EQ(discard_last_line(std::nullopt), "discard_last none");
  EXPECT_EQ(discard_last_line(DiscardRecord{e, 1073741824, 0x1a2b3c4du, DiscardEnd::kFin}),
            "discard_last remote=198.18.0.2:40312 bytes=1073741824 crc32=0x1a2b3c4d end=fin");
  // Leading zeros are kept: always eight hex digits.
  EXPECT_EQ(discard_last_line(DiscardRecord{e, 0, 0u, DiscardEnd::kOperator}),
            "discard_last remote=198.18.0.2:40312 bytes=0 crc32=0x00000000 end=operator");
  EXPECT_EQ(discard_last_line(DiscardRecord{e, 5, std::nullopt, DiscardEnd::kReset}),
            "discard_last remote=198.18.0.2:40312 bytes=5 crc32=off end=reset");
  EXPECT_EQ(to_string(DiscardEnd::kError), "error");
  EXPECT_EQ(to_string(DiscardEnd::kStopped), "stopped");
}

struct EndpointCase {
  const char* text;
  std::optional<core::Endpoint> want;
};

TEST(ParseEndpoint, Table) {
  const auto a = wire::Ipv4Address::from_octets(198, 18, 0, 2);
  const EndpointCase cases[] = {
      {"198.18.0.2:40312", core::Endpoint{a, 40312}},
      {"198.18.0.2:0", core::Endpoint{a, 0}},
      {"198.18.0.2:65535", core::Endpoint{a, 65535}},
      {"198.18.0.2:65536", std::nullopt},
      {"198.18.0.2:", std::nullopt},
      {"198.18.0.2", std::nullopt},
      {":9", std::nullopt},
      {"198.18.0.2:9x", std::nullopt},
      {"198.18.0.2:-1", std::nullopt},
      {"198.18.0:9", std::nullopt},
      {"", std::nullopt},
  };
  for (const EndpointCase& c : cases) EXPECT_EQ(parse_endpoint(c.text), c.want) << c.text;
  EXPECT_EQ(to_string(core::Endpoint{a, 9}), "198.18.0.2:9");
}

// The shared RFC 864 generator against the line-by-line reference.
TEST(ChargenPatternTest, MatchesTheReferenceFromAnyOffset) {
  ChargenPattern p;
  const std::string ref = testing::chargen_reference(2 * ChargenPattern::kPeriod + ChargenPattern::kWindow);
  for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{73}, uint64_t{7029}, uint64_t{7030}, uint64_t{10'000}}) {
    const auto got = p.from(offset);
    ASSERT_EQ(got.size(), ChargenPattern::kWindow);
    // The same bytes as the stream from `offset` itself: the pattern repeats.
    EXPECT_EQ(std::string(got.begin(), got.end()), ref.substr(offset, ChargenPattern::kWindow)) << offset;
    EXPECT_EQ(ChargenPattern::at(offset), static_cast<uint8_t>(ref[offset])) << offset;
  }
}

}  // namespace
}  // namespace joyride::service
