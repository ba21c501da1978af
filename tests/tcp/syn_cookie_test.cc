#include "joyride/core/tcp/syn_cookie.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

#include "joyride/base/random.h"
#include "joyride/base/seq.h"

namespace joyride::core::tcp {
namespace {

using base::Duration;
using base::Instant;
using wire::Ipv4Address;

constexpr FourTuple kTuple{Ipv4Address::from_octets(192, 0, 2, 10), Ipv4Address::from_octets(198, 51, 100, 20),
                           443, 51000};
constexpr uint32_t kPeerIsn = 0x1234'5678;
// A minute-counter boundary well away from the Instant epoch.
constexpr Instant kMinute = Instant::from_nanos(int64_t{1'000} * 60 * 1'000'000'000);

TEST(SynCookiesTest, MssIndexRoundsDownToATableEntry) {
  struct Case {
    uint16_t peer_mss;
    uint16_t expected;
  };
  const Case cases[] = {
      {0, 536},       {88, 536},      {535, 536},     {536, 536},   {537, 536},   {1299, 536},
      {1300, 1300},   {1301, 1300},   {1439, 1300},   {1440, 1440}, {1441, 1440}, {1459, 1440},
      {1460, 1460},   {1461, 1460},   {8960, 1460},   {65535, 1460},
  };
  base::SeededRandom random(1);
  const SynCookies cookies(random);
  for (const Case& c : cases) {
    EXPECT_EQ(SynCookies::kMssTable[SynCookies::mss_index(c.peer_mss)], c.expected) << c.peer_mss;
    const uint32_t isn = cookies.make_isn(kTuple, kPeerIsn, c.peer_mss, kMinute);
    EXPECT_EQ(cookies.check_isn(kTuple, kPeerIsn, isn, kMinute), std::optional<uint16_t>(c.expected))
        << c.peer_mss;
  }
}

TEST(SynCookiesTest, EveryTableEntryRoundTripsForManyTuples) {
  base::SeededRandom random(2);
  const SynCookies cookies(random);
  base::SeededRandom tuples(3);
  for (int i = 0; i < 200; ++i) {
    const FourTuple t{Ipv4Address(tuples.next_u32()), Ipv4Address(tuples.next_u32()),
                      static_cast<uint16_t>(tuples.next_u32()), static_cast<uint16_t>(tuples.next_u32())};
    const uint32_t peer_isn = tuples.next_u32();
    const Instant now = kMinute + Duration::millis(tuples.uniform(60'000));
    for (uint16_t mss : SynCookies::kMssTable) {
      const uint32_t isn = cookies.make_isn(t, peer_isn, mss, now);
      ASSERT_EQ(cookies.check_isn(t, peer_isn, isn, now), std::optional<uint16_t>(mss)) << i;
    }
  }
}

TEST(SynCookiesTest, RejectedWhenAnyInputChanges) {
  base::SeededRandom random(4);
  const SynCookies cookies(random);
  const Instant now = kMinute + Duration::seconds(10);
  for (uint16_t mss : SynCookies::kMssTable) {
    const uint32_t isn = cookies.make_isn(kTuple, kPeerIsn, mss, now);
    ASSERT_TRUE(cookies.check_isn(kTuple, kPeerIsn, isn, now).has_value());

    FourTuple variants[4] = {kTuple, kTuple, kTuple, kTuple};
    variants[0].local = Ipv4Address::from_octets(192, 0, 2, 11);
    variants[1].remote = Ipv4Address::from_octets(198, 51, 100, 21);
    variants[2].local_port = 444;
    variants[3].remote_port = 51001;
    for (const FourTuple& v : variants) EXPECT_FALSE(cookies.check_isn(v, kPeerIsn, isn, now)) << mss;
    // The peer's ISN: off by one either way (an ACK with a wrong seq), or by a counter step.
    for (uint32_t delta : {1u, 0xFFFF'FFFFu, 2u, 1u << 24, 0xFF00'0000u}) {
      EXPECT_FALSE(cookies.check_isn(kTuple, kPeerIsn + delta, isn, now)) << mss << " +" << delta;
    }
    // Our ISN (the ACK's ack - 1) off by a little (which changes the MSS index bits) or
    // by a counter step.
    for (uint32_t delta : {1u, 0xFFFF'FFFFu, 2u, 3u, 1u << 24, 0xFF00'0000u}) {
      EXPECT_FALSE(cookies.check_isn(kTuple, kPeerIsn, isn + delta, now)) << mss << " +" << delta;
    }
  }
}

TEST(SynCookiesTest, ForgedCookiesAreRejected) {
  base::SeededRandom random(5);
  const SynCookies cookies(random);
  base::SeededRandom guesses(6);
  // A blind guess succeeds with probability 2^-29; 20000 guesses expect 4e-5 successes.
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) accepted += cookies.check_isn(kTuple, kPeerIsn, guesses.next_u32(), kMinute).has_value();
  EXPECT_EQ(accepted, 0);
}

TEST(SynCookiesTest, OtherKeysRejectTheCookie) {
  base::SeededRandom r1(7);
  base::SeededRandom r2(8);
  const SynCookies a(r1);
  const SynCookies b(r2);
  for (uint16_t mss : SynCookies::kMssTable) {
    const uint32_t isn = a.make_isn(kTuple, kPeerIsn, mss, kMinute);
    EXPECT_NE(isn, b.make_isn(kTuple, kPeerIsn, mss, kMinute));
    EXPECT_FALSE(b.check_isn(kTuple, kPeerIsn, isn, kMinute));
  }
}

TEST(SynCookiesTest, MadeAtTheStartOfAMinuteValidForTwoMinutes) {
  base::SeededRandom random(9);
  const SynCookies cookies(random);
  const uint32_t isn = cookies.make_isn(kTuple, kPeerIsn, 1460, kMinute);
  struct Case {
    Duration age;
    bool accepted;
  };
  const Case cases[] = {
      {Duration::zero(), true},
      {Duration::seconds(59), true},
      {Duration::seconds(60), true},  // the next counter value
      {Duration::seconds(119), true},
      {Duration::seconds(120) - Duration::nanos(1), true},
      {Duration::seconds(120), false},  // two counter values on
      {Duration::seconds(180), false},
      {Duration::seconds(3600), false},
      {Duration::seconds(60) * 256, false},      // counter's 8 bits match again; the hash does not
      {Duration::seconds(60) * 257, false},
      {Duration::zero() - Duration::nanos(1), false},  // "made" in the future: the previous minute
      {Duration::zero() - Duration::seconds(60), false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(cookies.check_isn(kTuple, kPeerIsn, isn, kMinute + c.age).has_value(), c.accepted)
        << c.age.as_nanos() << " ns";
  }
}

TEST(SynCookiesTest, AcrossACounterBoundary) {
  base::SeededRandom random(10);
  const SynCookies cookies(random);
  // Made 0.1 s before the counter ticks: it is accepted across the tick and for the
  // whole next minute, then rejected although it is only just over a minute old.
  const Instant made = kMinute - Duration::millis(100);
  const uint32_t isn = cookies.make_isn(kTuple, kPeerIsn, 1300, made);
  EXPECT_EQ(cookies.check_isn(kTuple, kPeerIsn, isn, made + Duration::millis(99)), std::optional<uint16_t>(1300));
  EXPECT_EQ(cookies.check_isn(kTuple, kPeerIsn, isn, made + Duration::millis(200)), std::optional<uint16_t>(1300));
  EXPECT_EQ(cookies.check_isn(kTuple, kPeerIsn, isn, kMinute + Duration::seconds(60) - Duration::nanos(1)),
            std::optional<uint16_t>(1300));
  EXPECT_FALSE(cookies.check_isn(kTuple, kPeerIsn, isn, kMinute + Duration::seconds(60)));
}

TEST(SynCookiesTest, NeverAcceptedAtTwoMinutesAlwaysWithinOne) {
  base::SeededRandom random(11);
  const SynCookies cookies(random);
  // Cookies made every 5 s across a minute, checked every second for three minutes.
  for (int made_s = 0; made_s < 60; made_s += 5) {
    const Instant made = kMinute + Duration::seconds(made_s) + Duration::millis(500);
    const uint32_t isn = cookies.make_isn(kTuple, kPeerIsn, 536, made);
    for (int age_s = 0; age_s <= 180; ++age_s) {
      const Instant now = made + Duration::seconds(age_s);
      const bool accepted = cookies.check_isn(kTuple, kPeerIsn, isn, now).has_value();
      const uint32_t counter_steps = SynCookies::counter(now) - SynCookies::counter(made);
      EXPECT_EQ(accepted, counter_steps < SynCookies::kMaxAge) << made_s << " + " << age_s;
      if (age_s < 60) {
        EXPECT_TRUE(accepted) << made_s << " + " << age_s;
      }
      if (age_s >= 120) {
        EXPECT_FALSE(accepted) << made_s << " + " << age_s;
      }
    }
  }
}

TEST(SynCookiesTest, CounterIsMinutesSinceTheEpochFloored) {
  EXPECT_EQ(SynCookies::counter(Instant::from_nanos(0)), 0u);
  EXPECT_EQ(SynCookies::counter(Instant::from_nanos(59'999'999'999)), 0u);
  EXPECT_EQ(SynCookies::counter(Instant::from_nanos(60'000'000'000)), 1u);
  EXPECT_EQ(SynCookies::counter(Instant::from_nanos(-1)), 0xFFFF'FFFFu);
  EXPECT_EQ(SynCookies::counter(Instant::from_nanos(-60'000'000'000)), 0xFFFF'FFFFu);
  EXPECT_EQ(SynCookies::counter(Instant::from_nanos(-60'000'000'001)), 0xFFFF'FFFEu);
}

TEST(SynCookiesTest, ValidAcrossTheInstantEpoch) {
  base::SeededRandom random(12);
  const SynCookies cookies(random);
  const Instant made = Instant::from_nanos(-1'000'000'000);
  const uint32_t isn = cookies.make_isn(kTuple, kPeerIsn, 1440, made);
  EXPECT_EQ(cookies.check_isn(kTuple, kPeerIsn, isn, Instant::from_nanos(30'000'000'000)),
            std::optional<uint16_t>(1440));
}

// --- Timestamp option encoding -------------------------------------------------------

SynCookieOptions opts(std::optional<uint8_t> wscale, bool sack, bool ecn) {
  SynCookieOptions o;
  o.wscale = wscale;
  o.sack = sack;
  o.ecn = ecn;
  return o;
}

TEST(SynCookiesTest, TsRoundTripsEveryOptionCombination) {
  const uint32_t tsvals[] = {0, 5, 63, 64, 1000, 0x1234'5678, 0xFFFF'FFC0, 0xFFFF'FFFF};
  for (uint32_t tsval : tsvals) {
    for (int ws = -1; ws <= 14; ++ws) {
      for (int flags = 0; flags < 4; ++flags) {
        const std::optional<uint8_t> wscale = ws < 0 ? std::nullopt : std::optional<uint8_t>(ws);
        const SynCookieOptions o = opts(wscale, (flags & 1) != 0, (flags & 2) != 0);
        const uint32_t ts = SynCookies::encode_ts(tsval, o);
        // Never ahead of the clock, at most 63 ticks behind it (mod 2^32).
        const int32_t behind = base::SeqNum(tsval) - base::SeqNum(ts);
        ASSERT_GE(behind, 0) << tsval << " " << ws << " " << flags;
        ASSERT_LE(behind, 63) << tsval << " " << ws << " " << flags;
        const std::optional<SynCookieOptions> d = SynCookies::decode_ts(ts);
        ASSERT_TRUE(d.has_value());
        EXPECT_EQ(d->wscale, wscale) << tsval << " " << ws;
        EXPECT_EQ(d->sack, o.sack);
        EXPECT_EQ(d->ecn, o.ecn);
      }
    }
  }
}

TEST(SynCookiesTest, TsEncodingIsLinuxLayout) {
  struct Case {
    uint32_t tsval;
    SynCookieOptions o;
    uint32_t expected;
  };
  const Case cases[] = {
      {0x1000, opts(std::nullopt, false, false), 0x1000 - 64 + 0x0f},  // 0x0f > 0x00: previous block
      {0x103f, opts(std::nullopt, false, false), 0x100f},
      {0x103f, opts(7, false, false), 0x1007},
      {0x103f, opts(7, true, false), 0x1017},
      {0x103f, opts(7, false, true), 0x1027},
      {0x103f, opts(std::nullopt, true, true), 0x103f},  // exactly tsval
      {0x1020, opts(0, false, true), 0x1020},
      {0x1020, opts(1, false, true), 0x0fe1},
      {5, opts(std::nullopt, false, true), 0xFFFF'FFEF},  // wraps below zero, still "before"
      {0, opts(0, false, false), 0},
  };
  for (const Case& c : cases) EXPECT_EQ(SynCookies::encode_ts(c.tsval, c.o), c.expected) << c.tsval;
}

TEST(SynCookiesTest, TsWindowScaleAbove14IsSentAs14) {
  for (uint8_t ws : {15, 16, 200, 255}) {
    const uint32_t ts = SynCookies::encode_ts(0x10000, opts(ws, false, false));
    EXPECT_EQ(SynCookies::decode_ts(ts)->wscale, std::optional<uint8_t>(14)) << int{ws};
  }
}

TEST(SynCookiesTest, TsDecodeReadsOnlyTheLowSixBits) {
  base::SeededRandom random(13);
  // Every 6-bit pattern is a valid encoding in Linux's layout (wscale 0..14, 15 = none,
  // two flags), so no TSecr is rejected; the clock bits above never matter.
  for (uint32_t low = 0; low < 64; ++low) {
    const std::optional<SynCookieOptions> d = SynCookies::decode_ts(low);
    ASSERT_TRUE(d.has_value()) << low;
    EXPECT_EQ(d->wscale.has_value(), (low & 0xf) != 0xf);
    if (d->wscale) {
      EXPECT_EQ(*d->wscale, low & 0xf);
    }
    EXPECT_EQ(d->sack, (low & 0x10) != 0);
    EXPECT_EQ(d->ecn, (low & 0x20) != 0);
    EXPECT_EQ(d->mss, 536);  // not carried in the timestamp
    for (int i = 0; i < 8; ++i) {
      const uint32_t tsecr = (random.next_u32() & ~0x3Fu) | low;
      const std::optional<SynCookieOptions> e = SynCookies::decode_ts(tsecr);
      ASSERT_TRUE(e.has_value());
      EXPECT_EQ(e->wscale, d->wscale);
      EXPECT_EQ(e->sack, d->sack);
      EXPECT_EQ(e->ecn, d->ecn);
    }
  }
}

TEST(SynCookiesTest, HandshakeRebuildsTheSynsOptions) {
  base::SeededRandom random(14);
  const SynCookies cookies(random);
  const Instant syn_time = kMinute + Duration::seconds(42);
  // SYN: seq = peer ISN, MSS 1400, wscale 9, SACK permitted, ECN setup, timestamps.
  const uint32_t our_isn = cookies.make_isn(kTuple, kPeerIsn, 1400, syn_time);
  const uint32_t tsval = SynCookies::encode_ts(777'777, opts(9, true, true));
  // ACK 3 s later: seq = peer ISN + 1, ack = our ISN + 1, TSecr = our TSval.
  const uint32_t ack_seq = kPeerIsn + 1;
  const uint32_t ack_ack = our_isn + 1;
  const Instant ack_time = syn_time + Duration::seconds(3);
  const std::optional<uint16_t> mss = cookies.check_isn(kTuple, ack_seq - 1, ack_ack - 1, ack_time);
  ASSERT_EQ(mss, std::optional<uint16_t>(1300));
  const std::optional<SynCookieOptions> o = SynCookies::decode_ts(tsval);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->wscale, std::optional<uint8_t>(9));
  EXPECT_TRUE(o->sack);
  EXPECT_TRUE(o->ecn);
}

}  // namespace
}  // namespace joyride::core::tcp
