#include "joyride/core/routing.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace joyride::core {
namespace {

using wire::Ipv4Address;
using wire::Ipv4Cidr;

Ipv4Address ip(const char* s) { return *Ipv4Address::parse(s); }
Ipv4Cidr cidr(const char* s) { return *Ipv4Cidr::parse(s); }

// One route per prefix length, each on its own ifindex so the winner is visible.
class LongestPrefixTest : public ::testing::Test {
 protected:
  LongestPrefixTest() {
    table.add(Route{cidr("0.0.0.0/0"), ip("192.0.2.1"), 0, 0});
    table.add(Route{cidr("10.0.0.0/8"), std::nullopt, 8, 0});
    table.add(Route{cidr("10.1.0.0/16"), std::nullopt, 16, 0});
    table.add(Route{cidr("10.1.2.0/24"), std::nullopt, 24, 0});
    table.add(Route{cidr("10.1.2.3/32"), ip("10.1.2.254"), 32, 0});
  }
  RoutingTable table;
};

struct LpmCase {
  const char* dst;
  uint32_t ifindex;
};

TEST_F(LongestPrefixTest, PicksTheLongestMatchingPrefix) {
  const LpmCase cases[] = {
      {"10.1.2.3", 32},   {"10.1.2.4", 24},   {"10.1.2.255", 24}, {"10.1.2.0", 24},
      {"10.1.3.3", 16},   {"10.1.255.255", 16}, {"10.2.2.3", 8},  {"10.255.0.1", 8},
      {"11.1.2.3", 0},    {"9.255.255.255", 0}, {"255.255.255.255", 0}, {"0.0.0.0", 0},
  };
  for (const auto& c : cases) {
    auto r = table.lookup(ip(c.dst));
    ASSERT_TRUE(r.has_value()) << c.dst;
    EXPECT_EQ(r->ifindex, c.ifindex) << c.dst;
  }
  EXPECT_EQ(table.size(), 5u);
}

TEST_F(LongestPrefixTest, RemovingALengthFallsBackToTheNextShorter) {
  EXPECT_TRUE(table.remove(cidr("10.1.2.3/32")));
  EXPECT_EQ(table.lookup(ip("10.1.2.3"))->ifindex, 24u);
  EXPECT_TRUE(table.remove(cidr("10.1.2.0/24")));
  EXPECT_EQ(table.lookup(ip("10.1.2.3"))->ifindex, 16u);
  EXPECT_TRUE(table.remove(cidr("10.1.0.0/16")));
  EXPECT_EQ(table.lookup(ip("10.1.2.3"))->ifindex, 8u);
  EXPECT_TRUE(table.remove(cidr("10.0.0.0/8")));
  EXPECT_EQ(table.lookup(ip("10.1.2.3"))->ifindex, 0u);
  EXPECT_TRUE(table.remove(cidr("0.0.0.0/0")));
  EXPECT_FALSE(table.lookup(ip("10.1.2.3")).has_value());
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.routes().empty());
}

TEST_F(LongestPrefixTest, RemoveOfAnAbsentPrefixFails) {
  EXPECT_FALSE(table.remove(cidr("10.1.2.0/23")));  // same network bits, other length
  EXPECT_FALSE(table.remove(cidr("172.16.0.0/12")));
  EXPECT_EQ(table.size(), 5u);
}

TEST_F(LongestPrefixTest, RemoveUsesTheNetworkNotTheHostBits) {
  // 10.1.2.77/24 names the same prefix as 10.1.2.0/24.
  EXPECT_TRUE(table.remove(cidr("10.1.2.77/24")));
  EXPECT_EQ(table.lookup(ip("10.1.2.4"))->ifindex, 16u);
}

TEST_F(LongestPrefixTest, OtherPrefixesOfTheSameLengthStillMatch) {
  table.add(Route{cidr("10.1.9.0/24"), std::nullopt, 99, 0});
  EXPECT_TRUE(table.remove(cidr("10.1.2.0/24")));
  EXPECT_EQ(table.lookup(ip("10.1.9.1"))->ifindex, 99u);  // length 24 still in use
  EXPECT_EQ(table.lookup(ip("10.1.2.4"))->ifindex, 16u);
}

TEST(RoutingTableTest, AddReplacesTheRouteForTheSamePrefix) {
  RoutingTable t;
  t.add(Route{cidr("198.18.0.0/24"), std::nullopt, 1, 0});
  t.add(Route{cidr("198.18.0.9/24"), ip("198.18.0.254"), 2, 5});  // host bits ignored
  EXPECT_EQ(t.size(), 1u);
  auto r = t.lookup(ip("198.18.0.1"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ifindex, 2u);
  EXPECT_EQ(r->gateway, ip("198.18.0.254"));
  EXPECT_EQ(r->metric, 5u);
  EXPECT_EQ(t.routes().size(), 1u);
}

TEST(RoutingTableTest, NextHopIsTheGatewayOrTheDestination) {
  RoutingTable t;
  t.add(Route{cidr("198.18.0.0/24"), std::nullopt, 3, 0});
  t.add(Route{cidr("0.0.0.0/0"), ip("198.18.0.254"), 3, 0});
  t.add(Route{cidr("203.0.113.0/24"), ip("198.18.0.253"), 4, 0});

  auto connected = t.next_hop(ip("198.18.0.77"));
  ASSERT_TRUE(connected);
  EXPECT_EQ(connected->address, ip("198.18.0.77"));
  EXPECT_EQ(connected->ifindex, 3u);

  auto via_default = t.next_hop(ip("8.8.8.8"));
  ASSERT_TRUE(via_default);
  EXPECT_EQ(via_default->address, ip("198.18.0.254"));

  auto via_specific = t.next_hop(ip("203.0.113.9"));
  ASSERT_TRUE(via_specific);
  EXPECT_EQ(via_specific->address, ip("198.18.0.253"));
  EXPECT_EQ(via_specific->ifindex, 4u);
}

TEST(RoutingTableTest, EmptyTableHasNoRoute) {
  RoutingTable t;
  EXPECT_FALSE(t.lookup(ip("1.2.3.4")));
  EXPECT_FALSE(t.next_hop(ip("1.2.3.4")));
}

TEST(RoutingTableTest, HostRouteAndDefaultOnly) {
  // A /32 and a /0 with nothing between: a lookup probes both lengths.
  RoutingTable t;
  t.add(Route{cidr("192.0.2.7/32"), std::nullopt, 7, 0});
  t.add(Route{cidr("0.0.0.0/0"), ip("192.0.2.1"), 1, 0});
  EXPECT_EQ(t.lookup(ip("192.0.2.7"))->ifindex, 7u);
  EXPECT_EQ(t.lookup(ip("192.0.2.6"))->ifindex, 1u);
  EXPECT_EQ(t.lookup(ip("192.0.2.8"))->ifindex, 1u);
}

TEST(RoutingTableTest, EveryPrefixLengthMatchesItsOwnRange) {
  // For each length L, a table with only 10.128.0.0-ish/L: an address inside the
  // prefix matches, the first address beyond it does not.
  for (int len = 1; len <= 32; ++len) {
    RoutingTable t;
    const Ipv4Address base = ip("10.170.85.170");
    const Ipv4Cidr prefix(base, static_cast<uint8_t>(len));
    t.add(Route{prefix, std::nullopt, static_cast<uint32_t>(len), 0});
    EXPECT_TRUE(t.lookup(prefix.network())) << len;
    EXPECT_TRUE(t.lookup(prefix.broadcast())) << len;
    const Ipv4Address beyond(prefix.broadcast().value() + 1);
    EXPECT_FALSE(t.lookup(beyond)) << len;
  }
}

}  // namespace
}  // namespace joyride::core
