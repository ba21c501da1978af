// Address types: parsing, printing, classification, CIDR arithmetic, hashing.
#include "joyride/wire/address.h"

#include <gtest/gtest.h>

#include <unordered_set>

namespace joyride::wire {
namespace {

TEST(MacAddressTest, ParseAndPrint) {
  const auto m = MacAddress::parse("02:00:5E:10:00:ff");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "02:00:5e:10:00:ff");
  EXPECT_TRUE(m->is_unicast());
  EXPECT_FALSE(m->is_multicast());
  EXPECT_FALSE(MacAddress::parse("02:00:5e:10:00"));
  EXPECT_FALSE(MacAddress::parse("02-00-5e-10-00-ff"));
  EXPECT_FALSE(MacAddress::parse("02:00:5e:10:00:fg"));
}

TEST(MacAddressTest, Classification) {
  EXPECT_TRUE(MacAddress::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddress::broadcast().is_multicast());
  const MacAddress mcast{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
  EXPECT_TRUE(mcast.is_multicast());
  EXPECT_FALSE(mcast.is_broadcast());
  const uint8_t raw[6] = {1, 2, 3, 4, 5, 6};
  const MacAddress m = MacAddress::from_bytes(raw);
  uint8_t out[6] = {};
  m.write(out);
  EXPECT_EQ(0, std::memcmp(raw, out, 6));
}

TEST(Ipv4AddressTest, ParseValid) {
  struct Case {
    const char* text;
    uint32_t value;
  };
  const Case cases[] = {
      {"0.0.0.0", 0},
      {"255.255.255.255", 0xffffffff},
      {"198.18.0.1", 0xc6120001},
      {"10.1.2.3", 0x0a010203},
  };
  for (const auto& c : cases) {
    const auto a = Ipv4Address::parse(c.text);
    ASSERT_TRUE(a) << c.text;
    EXPECT_EQ(a->value(), c.value) << c.text;
    EXPECT_EQ(a->to_string(), c.text);
  }
}

TEST(Ipv4AddressTest, ParseInvalid) {
  for (const char* s : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "1.2.3.4 ", " 1.2.3.4",
                        "a.b.c.d", "1.2.3.-4", "1.2.3.+4", "1234.1.1.1", "1.2.3.4/"}) {
    EXPECT_FALSE(Ipv4Address::parse(s)) << s;
  }
}

TEST(Ipv4AddressTest, BytesAndClassification) {
  const uint8_t raw[4] = {192, 168, 1, 2};
  const auto a = Ipv4Address::from_bytes(raw);
  EXPECT_EQ(a, Ipv4Address::from_octets(192, 168, 1, 2));
  uint8_t out[4] = {};
  a.write(out);
  EXPECT_EQ(0, std::memcmp(raw, out, 4));
  EXPECT_TRUE(Ipv4Address().is_unspecified());
  EXPECT_TRUE(Ipv4Address::broadcast().is_broadcast());
  EXPECT_TRUE(Ipv4Address::from_octets(224, 0, 0, 1).is_multicast());
  EXPECT_TRUE(Ipv4Address::from_octets(239, 255, 255, 255).is_multicast());
  EXPECT_FALSE(Ipv4Address::from_octets(240, 0, 0, 1).is_multicast());
  EXPECT_TRUE(Ipv4Address::from_octets(127, 0, 0, 1).is_loopback());
  EXPECT_TRUE(Ipv4Address::from_octets(169, 254, 7, 7).is_link_local());
  EXPECT_TRUE(a.is_unicast());
  EXPECT_LT(Ipv4Address::from_octets(10, 0, 0, 1), Ipv4Address::from_octets(10, 0, 0, 2));
}

TEST(Ipv6AddressTest, PrintRfc5952) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},  // first of two equal runs
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single zero group stays
      {"::", "::"},
      {"::1", "::1"},
      {"fe80::", "fe80::"},
      {"2001:DB8::AbCd", "2001:db8::abcd"},
      {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},  // the longer run
      {"::ffff:192.0.2.1", "::ffff:c000:201"},
  };
  for (const auto& c : cases) {
    const auto a = Ipv6Address::parse(c.in);
    ASSERT_TRUE(a) << c.in;
    EXPECT_EQ(a->to_string(), c.out) << c.in;
    EXPECT_EQ(Ipv6Address::parse(a->to_string()), a) << c.in;
  }
}

TEST(Ipv6AddressTest, ParseInvalid) {
  for (const char* s : {"", ":", ":::", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "12345::",
                        "g::", "1:2:3:4:5:6:7:8::", "::1.2.3", "1.2.3.4::"}) {
    EXPECT_FALSE(Ipv6Address::parse(s)) << s;
  }
}

TEST(Ipv6AddressTest, Classification) {
  EXPECT_TRUE(Ipv6Address::parse("::1")->is_loopback());
  EXPECT_TRUE(Ipv6Address::parse("::")->is_unspecified());
  EXPECT_TRUE(Ipv6Address::parse("ff02::1")->is_multicast());
  EXPECT_TRUE(Ipv6Address::parse("fe80::1")->is_link_local());
  EXPECT_FALSE(Ipv6Address::parse("fec0::1")->is_link_local());
  const auto mapped = Ipv6Address::v4_mapped(Ipv4Address::from_octets(192, 0, 2, 1));
  EXPECT_TRUE(mapped.is_v4_mapped());
  EXPECT_EQ(mapped, *Ipv6Address::parse("::ffff:192.0.2.1"));
}

TEST(IpAddressTest, FamiliesCompareAndHash) {
  const IpAddress v4 = Ipv4Address::from_octets(10, 0, 0, 1);
  const IpAddress v6 = *Ipv6Address::parse("2001:db8::1");
  EXPECT_TRUE(v4.is_v4());
  EXPECT_TRUE(v6.is_v6());
  EXPECT_EQ(v4.v4(), Ipv4Address::from_octets(10, 0, 0, 1));
  EXPECT_NE(v4, v6);
  EXPECT_NE(IpAddress(Ipv4Address()), IpAddress(Ipv6Address()));
  EXPECT_EQ(v4.to_string(), "10.0.0.1");
  EXPECT_EQ(v6.to_string(), "2001:db8::1");
  EXPECT_EQ(IpAddress::parse("10.0.0.1"), v4);
  EXPECT_EQ(IpAddress::parse("2001:db8::1"), v6);
  EXPECT_FALSE(IpAddress::parse("10.0.0"));
  std::unordered_set<IpAddress> set{v4, v6, v4};
  EXPECT_EQ(set.size(), 2u);
  std::unordered_set<Ipv4Address> set4;
  for (uint32_t i = 0; i < 1000; ++i) set4.insert(Ipv4Address(0x0a000000 + i));
  EXPECT_EQ(set4.size(), 1000u);
  std::unordered_set<MacAddress> macs{MacAddress::broadcast(), MacAddress{}};
  EXPECT_EQ(macs.size(), 2u);
}

TEST(Ipv4CidrTest, Arithmetic) {
  const auto c = Ipv4Cidr::parse("198.18.0.1/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address(), Ipv4Address::from_octets(198, 18, 0, 1));
  EXPECT_EQ(c->prefix_len(), 24);
  EXPECT_EQ(c->netmask(), Ipv4Address::from_octets(255, 255, 255, 0));
  EXPECT_EQ(c->network(), Ipv4Address::from_octets(198, 18, 0, 0));
  EXPECT_EQ(c->broadcast(), Ipv4Address::from_octets(198, 18, 0, 255));
  EXPECT_TRUE(c->contains(Ipv4Address::from_octets(198, 18, 0, 200)));
  EXPECT_FALSE(c->contains(Ipv4Address::from_octets(198, 18, 1, 1)));
  EXPECT_EQ(c->to_string(), "198.18.0.1/24");
}

TEST(Ipv4CidrTest, EdgePrefixes) {
  const Ipv4Cidr all(Ipv4Address::from_octets(1, 2, 3, 4), 0);
  EXPECT_EQ(all.netmask().value(), 0u);
  EXPECT_TRUE(all.contains(Ipv4Address::broadcast()));
  const Ipv4Cidr host(Ipv4Address::from_octets(1, 2, 3, 4), 32);
  EXPECT_EQ(host.netmask().value(), 0xffffffffu);
  EXPECT_TRUE(host.contains(Ipv4Address::from_octets(1, 2, 3, 4)));
  EXPECT_FALSE(host.contains(Ipv4Address::from_octets(1, 2, 3, 5)));
  EXPECT_EQ(Ipv4Cidr(Ipv4Address(), 40).prefix_len(), 32);
  for (const char* s : {"1.2.3.4", "1.2.3.4/33", "1.2.3.4/", "1.2.3/8", "1.2.3.4/-1", "1.2.3.4/024"}) {
    EXPECT_FALSE(Ipv4Cidr::parse(s)) << s;
  }
}

}  // namespace
}  // namespace joyride::wire
