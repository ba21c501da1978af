#include "joyride/core/tcp/port_allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "joyride/base/random.h"

namespace joyride::core::tcp {
namespace {

using wire::Ipv4Address;

const Ipv4Address kLocal = Ipv4Address::from_octets(10, 1, 0, 1);
const Ipv4Address kRemote = Ipv4Address::from_octets(203, 0, 113, 5);

auto always = [](uint16_t) { return true; };

// Distance from a to b going up through [low, high], wrapping.
uint32_t forward(const PortAllocator& p, uint16_t a, uint16_t b) {
  return (uint32_t{b} + p.range() - a) % p.range();
}

TEST(PortAllocatorTest, NormalisesItsRange) {
  struct Case {
    uint16_t low, high;
    uint16_t want_low, want_high;
  };
  const Case cases[] = {
      {32768, 60999, 32768, 60999}, {1000, 1009, 1000, 1009}, {5000, 5000, 5000, 5000},
      {2000, 1000, 1000, 2000},     {0, 10, 1, 10},           {1, 65535, 1, 65535},
      {0, 0, 1, 1},
  };
  for (const Case& c : cases) {
    base::SeededRandom random(1);
    const PortAllocator p(random, c.low, c.high);
    EXPECT_EQ(p.low(), c.want_low) << c.low << "-" << c.high;
    EXPECT_EQ(p.high(), c.want_high) << c.low << "-" << c.high;
    EXPECT_EQ(p.range(), uint32_t{c.want_high} - c.want_low + 1u);
  }
  base::SeededRandom random(1);
  const PortAllocator defaults(random);
  EXPECT_EQ(defaults.low(), 32768);
  EXPECT_EQ(defaults.high(), 60999);
}

TEST(PortAllocatorTest, StaysWithinTheRange) {
  struct Case {
    uint16_t low, high;
    size_t table_size;
  };
  const Case cases[] = {{32768, 60999, 256}, {1000, 1009, 256}, {5000, 5000, 16},
                        {1, 65535, 1},       {65500, 65535, 0}, {2000, 1000, 7}};
  for (const Case& c : cases) {
    base::SeededRandom random(2);
    PortAllocator p(random, c.low, c.high, c.table_size);
    base::SeededRandom dests(3);
    for (int i = 0; i < 2000; ++i) {
      const Ipv4Address remote(dests.next_u32());
      const auto remote_port = static_cast<uint16_t>(dests.next_u32());
      const std::optional<uint16_t> port = p.pick(kLocal, remote, remote_port, always);
      ASSERT_TRUE(port.has_value());
      ASSERT_GE(*port, p.low());
      ASSERT_LE(*port, p.high());
      ASSERT_NE(*port, 0);
    }
  }
}

TEST(PortAllocatorTest, FindsTheOnlyUsablePortAnywhereInTheRange) {
  for (auto [low, high] : {std::pair<uint16_t, uint16_t>{40000, 40999}, {32768, 60999}}) {
    base::SeededRandom random(4);
    PortAllocator p(random, low, high);
    const uint16_t targets[] = {low, high, static_cast<uint16_t>(low + (high - low) / 2),
                                static_cast<uint16_t>(low + 1), static_cast<uint16_t>(high - 1)};
    for (uint16_t target : targets) {
      std::set<uint16_t> probed;
      size_t calls = 0;
      const std::optional<uint16_t> port = p.pick(kLocal, kRemote, 443, [&](uint16_t candidate) {
        ++calls;
        probed.insert(candidate);
        return candidate == target;
      });
      EXPECT_EQ(port, std::optional<uint16_t>(target));
      EXPECT_EQ(probed.size(), calls);  // no port asked about twice
      EXPECT_LE(calls, p.range());
    }
  }
}

TEST(PortAllocatorTest, AllRefusedProbesEveryPortOnceThenFails) {
  base::SeededRandom random(5);
  PortAllocator p(random, 40000, 40999);
  std::vector<uint16_t> probed;
  const std::optional<uint16_t> port = p.pick(kLocal, kRemote, 443, [&](uint16_t candidate) {
    probed.push_back(candidate);
    return false;
  });
  EXPECT_FALSE(port.has_value());
  ASSERT_EQ(probed.size(), 1000u);
  const std::set<uint16_t> distinct(probed.begin(), probed.end());
  EXPECT_EQ(distinct.size(), 1000u);
  EXPECT_EQ(*distinct.begin(), 40000);
  EXPECT_EQ(*distinct.rbegin(), 40999);
  // Linear probing: each probe is the previous port plus one, wrapping at high.
  for (size_t i = 1; i < probed.size(); ++i) ASSERT_EQ(forward(p, probed[i - 1], probed[i]), 1u) << i;
}

TEST(PortAllocatorTest, SequentialConnectsToOneDestinationGetDifferentPorts) {
  base::SeededRandom random(6);
  PortAllocator p(random);
  std::vector<uint16_t> ports;
  for (int i = 0; i < 1000; ++i) ports.push_back(*p.pick(kLocal, kRemote, 443, always));
  EXPECT_EQ(std::set<uint16_t>(ports.begin(), ports.end()).size(), ports.size());
  // Algorithm 4: each connection starts one past the previous one's port.
  for (size_t i = 1; i < ports.size(); ++i) ASSERT_EQ(forward(p, ports[i - 1], ports[i]), 1u) << i;
}

TEST(PortAllocatorTest, SmallRangeCyclesThroughEveryPort) {
  base::SeededRandom random(7);
  PortAllocator p(random, 1000, 1009);
  std::set<uint16_t> seen;
  for (int i = 0; i < 10; ++i) seen.insert(*p.pick(kLocal, kRemote, 443, always));
  EXPECT_EQ(seen.size(), 10u);
}

TEST(PortAllocatorTest, NextPickStartsAfterThePortHandedOut) {
  base::SeededRandom random(8);
  PortAllocator p(random, 40000, 40999);
  const uint16_t first = *p.pick(kLocal, kRemote, 443, always);
  // Refuse the next four ports: the pick lands five past `first`...
  size_t refused = 0;
  const uint16_t second = *p.pick(kLocal, kRemote, 443, [&](uint16_t) { return ++refused > 4; });
  EXPECT_EQ(forward(p, first, second), 5u);
  // ...and the one after starts just past it.
  const uint16_t third = *p.pick(kLocal, kRemote, 443, always);
  EXPECT_EQ(forward(p, second, third), 1u);
}

TEST(PortAllocatorTest, DestinationsStartAtUnrelatedPorts) {
  base::SeededRandom random(9);
  PortAllocator p(random);
  std::set<uint16_t> firsts;
  for (uint16_t rport = 1; rport <= 200; ++rport) firsts.insert(*p.pick(kLocal, kRemote, rport, always));
  // 200 draws from 28232 ports: a handful of collisions at most.
  EXPECT_GE(firsts.size(), 195u);
  // The local address matters too.
  base::SeededRandom again(9);
  PortAllocator q(again);
  const uint16_t a = *q.pick(kLocal, kRemote, 443, always);
  base::SeededRandom again2(9);
  PortAllocator r(again2);
  const uint16_t b = *r.pick(Ipv4Address::from_octets(10, 1, 0, 2), kRemote, 443, always);
  EXPECT_NE(a, b);
}

TEST(PortAllocatorTest, SeedDecidesThePorts) {
  base::SeededRandom a1(10);
  base::SeededRandom a2(10);
  base::SeededRandom b(11);
  PortAllocator pa1(a1);
  PortAllocator pa2(a2);
  PortAllocator pb(b);
  int same_seed_equal = 0;
  int other_seed_equal = 0;
  for (uint16_t rport = 1; rport <= 50; ++rport) {
    const uint16_t x = *pa1.pick(kLocal, kRemote, rport, always);
    same_seed_equal += x == *pa2.pick(kLocal, kRemote, rport, always);
    other_seed_equal += x == *pb.pick(kLocal, kRemote, rport, always);
  }
  EXPECT_EQ(same_seed_equal, 50);
  EXPECT_LE(other_seed_equal, 2);
}

TEST(PortAllocatorTest, OneBucketSharesItsCounter) {
  // With a single table entry every destination shares the counter, so a connection to
  // A moves B's next start on by one as well.
  base::SeededRandom random(12);
  PortAllocator p(random, 32768, 60999, 1);
  const Ipv4Address other = Ipv4Address::from_octets(198, 51, 100, 1);
  const uint16_t b1 = *p.pick(kLocal, kRemote, 443, always);
  (void)*p.pick(kLocal, other, 80, always);
  const uint16_t b2 = *p.pick(kLocal, kRemote, 443, always);
  EXPECT_EQ(forward(p, b1, b2), 2u);
}

TEST(PortAllocatorTest, OtherBucketsAreNotDisturbed) {
  base::SeededRandom random(13);
  PortAllocator p(random, 32768, 60999, 256);
  const uint16_t b1 = *p.pick(kLocal, kRemote, 443, always);
  // Many connections elsewhere touch at most a few of the 256 buckets; one of these
  // destinations may share B's bucket, so count how many moved B on.
  base::SeededRandom dests(14);
  int shared = 0;
  uint16_t prev = b1;
  for (int i = 0; i < 20; ++i) {
    (void)*p.pick(kLocal, Ipv4Address(dests.next_u32()), 80, always);
    const uint16_t b = *p.pick(kLocal, kRemote, 443, always);
    const uint32_t step = forward(p, prev, b);
    ASSERT_TRUE(step == 1 || step == 2) << i;
    shared += step == 2;
    prev = b;
  }
  EXPECT_LE(shared, 2);
}

}  // namespace
}  // namespace joyride::core::tcp
